"""The raw clinical sources: mimic3-benchmarks in-hospital mortality and PhysioNet/CinC 2019 sepsis."""

from __future__ import annotations

import pickle
import shutil

import numpy as np
import pytest
from fixtures_clinical import write_mimic3, write_physionet2019

from fedmeki_data.errors import DatasetNotFoundError
from fedmeki_data.schema import CLINICAL_VARIABLE_NAMES, CLINICAL_VARIABLES
from fedmeki_data.sources import mimic3, physionet2019
from fedmeki_data.sources.base import BuildOptions, Record, Skipped
from fedmeki_data.tasks import get_task

V = {name: index for index, name in enumerate(CLINICAL_VARIABLE_NAMES)}


def _load_all(module, root, options=None):
    options = options or BuildOptions()
    items = module.list_items(root, options)
    return items, {item.id: module.load_item(item, options) for item in items}


def _check_records(results, expected, task_id):
    task = get_task(task_id)
    records = {key: value for key, value in results.items() if isinstance(value, Record)}
    skipped = {key: value for key, value in results.items() if isinstance(value, Skipped)}
    assert set(records) == set(expected["labels"])
    assert {key: value.reason.split(":")[0].startswith(expected["skipped"][key]) for key, value in skipped.items()} \
        == dict.fromkeys(expected["skipped"], True), {key: value.reason for key, value in skipped.items()}
    for record_id, record in records.items():
        assert record.id == record_id
        assert record.label == expected["labels"][record_id]
        assert record.answer == ("yes" if record.label else "no")
        assert record.question == task.instruction
        assert record.site == expected["sites"][record_id]
        assert record.group == expected["groups"][record_id]
        clinical = record.inputs["clinical"]
        assert clinical.dtype == np.float32 and clinical.shape[1] == len(CLINICAL_VARIABLES)
    return records


# --- mimic3-benchmarks -------------------------------------------------------------------------------------------

@pytest.fixture
def mimic_root(tmp_path):
    root = tmp_path / "data"
    return root, write_mimic3(root)


def test_mimic3_items_pool_both_listfiles_sorted_and_picklable(mimic_root):
    root, expected = mimic_root
    items = mimic3.list_items(root, BuildOptions())
    assert [item.id for item in items] == expected["ids"]
    assert items == mimic3.list_items(root, BuildOptions())
    assert pickle.loads(pickle.dumps(items)) == items
    assert mimic3.TASK == "mortality"


def test_mimic3_labels_sites_groups_and_skips(mimic_root):
    root, expected = mimic_root
    _, results = _load_all(mimic3, root)
    records = _check_records(results, expected, "mortality")
    assert {key: len(record.inputs["clinical"]) for key, record in records.items()} == expected["hours"][48]
    assert "3 fields" not in results["mimic3-20-episode1"].reason  # one field too many: 19 for 18 columns
    assert results["mimic3-20-episode1"].reason.startswith("bad CSV row 3: 19 fields")


def test_mimic3_hourly_resampling_by_hand(mimic_root):
    root, _ = mimic_root
    _, results = _load_all(mimic3, root)
    x = results["mimic3-10-episode1"].inputs["clinical"]
    assert x.shape == (48, len(CLINICAL_VARIABLES))

    def row(hour):
        return {name: float(x[hour, V[name]]) for name in CLINICAL_VARIABLE_NAMES if not np.isnan(x[hour, V[name]])}

    # Hour 0: Hours 0.25 and 0.75; the heart rate of 0.75 is the last of the bin.
    assert row(0) == pytest.approx({
        "heart_rate": 84.0, "systolic_bp": 118.0, "o2_saturation": 97.0, "fio2": 0.5, "gcs_eye": 4.0,
        "gcs_motor": 6.0, "gcs_verbal": 5.0, "gcs_total": 15.0, "capillary_refill_rate": 0.0, "height": 170.0,
        "weight": 81.2})
    assert row(1) == pytest.approx({"temperature": 37.2, "ph": 7.41, "glucose": 130.0})
    assert row(2) == {}  # nothing charted in [2, 3)
    # Hours 3.1 and 3.9: the blank heart rate at 3.9 does not erase 90; respiratory rate 22 is the last.
    assert row(3) == pytest.approx({"heart_rate": 90.0, "respiratory_rate": 22.0, "mean_bp": 77.0,
                                    "diastolic_bp": 59.0})
    assert row(23) == pytest.approx({"heart_rate": 95.0, "gcs_eye": 3.0, "gcs_motor": 5.0, "gcs_verbal": 4.0,
                                     "gcs_total": 12.0})
    assert row(24) == {"heart_rate": 96.0}  # Hours 24.0 opens bin 24
    assert row(30) == {"heart_rate": 100.0, "gcs_verbal": 1.0}
    assert row(47) == {"heart_rate": 110.0, "gcs_verbal": 1.0, "gcs_eye": 2.0, "gcs_motor": 3.0}
    assert all(row(hour) == {} for hour in set(range(48)) - {0, 1, 3, 23, 24, 30, 47})
    never = [variable.name for variable in CLINICAL_VARIABLES if variable.mimic3 is None]
    assert np.isnan(x[:, [V[name] for name in never]]).all()
    # Episode 2: text-only categories, and the stay ends in hour 10.
    y = results["mimic3-10-episode2"].inputs["clinical"]
    assert y.shape == (11, len(CLINICAL_VARIABLES))
    assert y[0, [V["gcs_eye"], V["gcs_motor"], V["gcs_verbal"], V["gcs_total"]]].tolist() == [1, 2, 2, 5]
    assert y[2, [V["gcs_eye"], V["gcs_motor"], V["gcs_verbal"]]].tolist() == [4, 4, 3]
    assert y[10, [V["heart_rate"], V["gcs_motor"], V["gcs_verbal"]]].tolist() == [130, 2, 3]


def test_mimic3_window_of_24_hours(mimic_root):
    root, expected = mimic_root
    options = BuildOptions(hours=24)
    _, results = _load_all(mimic3, root, options)
    records = {key: value for key, value in results.items() if isinstance(value, Record)}
    assert {key: len(record.inputs["clinical"]) for key, record in records.items()} == expected["hours"][24]
    reasons = {key: value.reason for key, value in results.items() if isinstance(value, Skipped)}
    assert set(reasons) == set(expected["skipped_24h"])
    assert reasons["mimic3-30-episode1"] == "no measurement in the first 24 hours"
    x = records["mimic3-10-episode1"].inputs["clinical"]
    assert x[23, V["heart_rate"]] == 95.0 and 96.0 not in x[:, V["heart_rate"]]
    # The 24-hour window is the start of the 48-hour one.
    full = mimic3.load_item(next(item for item in mimic3.list_items(root, BuildOptions())
                                 if item.id == "mimic3-10-episode1"), BuildOptions()).inputs["clinical"]
    np.testing.assert_array_equal(x, full[:24])


@pytest.mark.parametrize(("column", "text", "score"), [
    (mimic3.GCS_EYE, "4 Spontaneously", 4), (mimic3.GCS_EYE, "Spontaneously", 4),
    (mimic3.GCS_EYE, "3 To speech", 3), (mimic3.GCS_EYE, "To Speech", 3),
    (mimic3.GCS_EYE, "2 To pain", 2), (mimic3.GCS_EYE, "To Pain", 2),
    (mimic3.GCS_EYE, "1 No Response", 1), (mimic3.GCS_EYE, "None", 1),
    (mimic3.GCS_MOTOR, "6 Obeys Commands", 6), (mimic3.GCS_MOTOR, "Obeys Commands", 6),
    (mimic3.GCS_MOTOR, "5 Localizes Pain", 5), (mimic3.GCS_MOTOR, "Localizes Pain", 5),
    (mimic3.GCS_MOTOR, "4 Flex-withdraws", 4), (mimic3.GCS_MOTOR, "Flex-withdraws", 4),
    (mimic3.GCS_MOTOR, "3 Abnorm flexion", 3), (mimic3.GCS_MOTOR, "Abnormal Flexion", 3),
    (mimic3.GCS_MOTOR, "2 Abnorm extensn", 2), (mimic3.GCS_MOTOR, "Abnormal extension", 2),
    (mimic3.GCS_MOTOR, "1 No Response", 1), (mimic3.GCS_MOTOR, "No response", 1),
    (mimic3.GCS_VERBAL, "5 Oriented", 5), (mimic3.GCS_VERBAL, "Oriented", 5),
    (mimic3.GCS_VERBAL, "4 Confused", 4), (mimic3.GCS_VERBAL, "Confused", 4),
    (mimic3.GCS_VERBAL, "3 Inapprop words", 3), (mimic3.GCS_VERBAL, "Inappropriate Words", 3),
    (mimic3.GCS_VERBAL, "2 Incomp sounds", 2), (mimic3.GCS_VERBAL, "Incomprehensible sounds", 2),
    (mimic3.GCS_VERBAL, "1 No Response", 1), (mimic3.GCS_VERBAL, "No Response", 1),
    (mimic3.GCS_VERBAL, "No Response-ETT", 1), (mimic3.GCS_VERBAL, "1.0 ET/Trach", 1),
    (mimic3.GCS_TOTAL, "15", 15), (mimic3.GCS_TOTAL, "3", 3), (mimic3.GCS_TOTAL, "11.0", 11),
    (mimic3.GCS_MOTOR, "  obeys   commands ", 6),
])
def test_gcs_categories_map_to_scores(column, text, score):
    assert mimic3.gcs_score(column, text) == score


@pytest.mark.parametrize(("column", "text"), [
    (mimic3.GCS_EYE, "Eyes closed by swelling"), (mimic3.GCS_EYE, "5 Spontaneously"), (mimic3.GCS_TOTAL, "2"),
    (mimic3.GCS_MOTOR, "Oriented"),
])
def test_gcs_unknown_or_out_of_range_is_rejected(column, text):
    with pytest.raises(ValueError):
        mimic3.gcs_score(column, text)


def test_mimic3_unknown_gcs_category_is_a_bad_row(mimic_root):
    root, _ = mimic_root
    path = root / "in-hospital-mortality" / "train" / "40_episode1_timeseries.csv"
    path.write_text(path.read_text().replace("\n0.1,,,,,", "\n0.1,,,,Eyes closed,"))
    result = mimic3.load_item(next(i for i in mimic3.list_items(root, BuildOptions()) if i.subject == "40"),
                              BuildOptions())
    assert isinstance(result, Skipped) and result.reason.startswith("bad CSV row 2: unknown")


@pytest.mark.parametrize("variant", [
    {"episode_files": False, "unsorted_stays": True}, {"split_root": False}, {"first_careunit": True},
])
def test_mimic3_sites_from_every_stays_layout(tmp_path, variant):
    root = tmp_path / "data"
    expected = write_mimic3(root, **variant)
    _, results = _load_all(mimic3, root)
    _check_records(results, expected, "mortality")


def test_mimic3_without_subject_folders_has_no_sites_and_accepts_the_task_folder(mimic_root):
    root, expected = mimic_root
    shutil.rmtree(root / "root")
    for source in (root, root / "in-hospital-mortality"):
        items, results = _load_all(mimic3, source)
        assert [item.id for item in items] == expected["ids"]
        assert {record.site for record in results.values() if isinstance(record, Record)} == {""}


def test_mimic3_bad_listfile_rows_are_skipped(mimic_root):
    root, _ = mimic_root
    listfile = root / "in-hospital-mortality" / "test" / "listfile.csv"
    listfile.write_text(listfile.read_text() + "99_episode1_timeseries.csv,0\n30_episode2_timeseries.csv,x\n"
                        "notes.txt,1\n9_episode1_timeseries.csv,0\n")
    items, results = _load_all(mimic3, root)
    assert [item.id for item in items] == [  # subjects in numeric order, unrecognised names last
        "mimic3-9-episode1", "mimic3-10-episode1", "mimic3-10-episode2", "mimic3-20-episode1", "mimic3-30-episode1",
        "mimic3-30-episode2", "mimic3-40-episode1", "mimic3-99-episode1", "mimic3-notes.txt-episode0"]
    assert results["mimic3-99-episode1"].reason == "missing timeseries file"
    assert results["mimic3-30-episode2"].reason == "bad label y_true='x'"
    assert results["mimic3-notes.txt-episode0"].reason.startswith("unrecognised stay name")


def test_mimic3_missing_source_raises(tmp_path):
    with pytest.raises(DatasetNotFoundError) as error:
        mimic3.list_items(tmp_path, BuildOptions())
    assert "in-hospital-mortality" in error.value.hint


# --- PhysioNet/CinC 2019 -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("nested", [False, True])
def test_sepsis_items_labels_sites_and_skips(tmp_path, nested):
    expected = write_physionet2019(tmp_path, nested=nested)
    items, results = _load_all(physionet2019, tmp_path)
    assert [item.id for item in items] == expected["ids"]
    assert items == physionet2019.list_items(tmp_path, BuildOptions())
    assert pickle.loads(pickle.dumps(items)) == items
    records = _check_records(results, expected, "sepsis")
    for record_id, hours in expected["hours"].items():
        assert len(records[record_id].inputs["clinical"]) == len(hours)
    assert results["physionet2019-p100001"].reason == "bad PSV row 3: not a number: 'abc'"


def _hours(record):
    """ICU hours of a window: the fixture charts ``HR = 60 + hour``."""
    return (record.inputs["clinical"][:, V["heart_rate"]] - 60).tolist()


def test_sepsis_window_stops_before_the_first_positive_hour(tmp_path):
    expected = write_physionet2019(tmp_path)
    _, results = _load_all(physionet2019, tmp_path)
    positive = results["physionet2019-p000002"]
    assert _hours(positive) == expected["hours"]["physionet2019-p000002"]
    assert _hours(positive)[-1] < expected["first_positive_hour"]["physionet2019-p000002"]
    _, short = _load_all(physionet2019, tmp_path, BuildOptions(max_hours=4))
    assert _hours(short["physionet2019-p000002"]) == [4, 5, 6, 7]  # the last 4 hours before onset
    negative = short["physionet2019-p000001"].inputs["clinical"]
    assert negative.shape == (4, len(CLINICAL_VARIABLES))
    assert negative[:, V["heart_rate"]].tolist() == [67, 68, 69, 70]  # the end of the stay
    assert short["physionet2019-p000003"].reason.startswith("positive from the first hour")


def test_sepsis_columns_map_onto_the_canonical_variables(tmp_path):
    write_physionet2019(tmp_path)
    x = physionet2019.load_item(physionet2019.list_items(tmp_path, BuildOptions())[0], BuildOptions())
    values = x.inputs["clinical"]
    heart_rate = values[:, V["heart_rate"]]
    assert np.isnan(heart_rate[[1, 4]]).all() and heart_rate[0] == 61  # NaN where the PSV says NaN
    assert (values[:, V["temperature"]] == np.float32(36.6)).all()
    assert values[2, V["lactate"]] == np.float32(1.4) and np.isnan(np.delete(values[:, V["lactate"]], 2)).all()
    charted = {V["heart_rate"], V["temperature"], V["lactate"]}
    assert np.isnan(values[:, [i for i in range(len(CLINICAL_VARIABLES)) if i not in charted]]).all()


def test_sepsis_source_may_be_one_set_folder(tmp_path):
    write_physionet2019(tmp_path)
    items = physionet2019.list_items(tmp_path / "training_setB", BuildOptions())
    assert [(item.id, item.site) for item in items] == [("physionet2019-p100001", "setB"),
                                                       ("physionet2019-p100002", "setB")]


def test_sepsis_missing_source_raises(tmp_path):
    (tmp_path / "training").mkdir()
    with pytest.raises(DatasetNotFoundError):
        physionet2019.list_items(tmp_path, BuildOptions())


# --- End to end: raw source -> dataset folder -> datasets.load_dataset ------------------------------------------

def _build(task_id, raw, out, **kwargs):
    build = pytest.importorskip("fedmeki_data.sources.build")
    from fedmeki_data.partition import PartitionConfig

    # One client: the fixtures are too small to give five clients a validation record each.
    manifest = build.build_sources({task_id: raw}, out, partition_config=PartitionConfig(scheme="iid", n_clients=1),
                                   **kwargs)
    return {entry["id"]: entry["reason"] for entry in manifest["build"]["skipped"][task_id]["records"]}


def test_mortality_build_and_load(tmp_path):
    datasets = pytest.importorskip("datasets")
    expected = write_mimic3(tmp_path / "raw", extra_subjects=20)
    labels = {**expected["labels"], **{key: label for key, (label, _) in expected["extra"].items()}}
    sites = {**expected["sites"], **{key: site for key, (_, site) in expected["extra"].items()}}
    reported = _build("mortality", tmp_path / "raw", tmp_path / "data")
    assert set(reported) == set(expected["skipped"])

    splits = datasets.load_dataset(str(tmp_path / "data"), "mortality")
    rows = [row for split in splits.values() for row in split]
    assert sorted(row["id"] for row in rows) == sorted(labels)  # every usable stay once, in one split
    for row in rows:
        assert row["label"] == labels[row["id"]] and row["answer"] == ("yes" if row["label"] else "no")
        assert row["site"] == sites[row["id"]]
        clinical = np.asarray(row["clinical"], dtype=np.float32)
        assert 1 <= clinical.shape[0] <= 48 and clinical.shape[1] == len(CLINICAL_VARIABLES)
    assert len(datasets.load_dataset(str(tmp_path / "data"), "mortality", split="test")) > 0


def test_sepsis_build_and_load(tmp_path):
    datasets = pytest.importorskip("datasets")
    expected = write_physionet2019(tmp_path / "raw")
    reported = _build("sepsis", tmp_path / "raw", tmp_path / "data")
    assert set(reported) == set(expected["skipped"])

    test = datasets.load_dataset(str(tmp_path / "data"), "sepsis", split="test")
    assert sorted(test["id"]) == sorted(expected["labels"])
    _, results = _load_all(physionet2019, tmp_path / "raw")
    for row in test:
        assert row["label"] == expected["labels"][row["id"]] and row["site"] == expected["sites"][row["id"]]
        np.testing.assert_array_equal(np.asarray(row["clinical"], dtype=np.float32),
                                      results[row["id"]].inputs["clinical"])
