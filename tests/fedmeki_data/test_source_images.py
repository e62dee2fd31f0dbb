"""The image source readers (RSNA, COVID-19 Radiography, CheXpert) on small fixtures laid out as downloaded."""

from __future__ import annotations

import csv
import io
import pickle
from collections import Counter

import numpy as np
import pydicom
import pytest
from fixtures_images import LUT_THRESHOLD, RSNA_SIZE, WINDOW, write_chexpert, write_covid, write_rsna
from PIL import Image
from pydicom.data import get_testdata_file

from fedmeki_data.errors import DatasetNotFoundError
from fedmeki_data.sources import chexpert, covid, rsna
from fedmeki_data.sources.base import BuildOptions, Record, Skipped
from fedmeki_data.sources.images import stored_image
from fedmeki_data.tasks import get_task

NATIVE = BuildOptions(image_size=RSNA_SIZE)
"""Stored size equal to the synthetic RSNA images: no resampling, so pixels compare exactly."""
SMALL = BuildOptions(image_size=24)


def load_all(module, root, options=NATIVE):
    items = module.list_items(root, options)
    return items, {item.id: module.load_item(item, options) for item in items}


def records(results):
    return {key: value for key, value in results.items() if isinstance(value, Record)}


def skipped(results):
    return {key: value.reason for key, value in results.items() if isinstance(value, Skipped)}


def pixels(record):
    return np.asarray(Image.open(io.BytesIO(record.inputs["image"]["bytes"])))


def assert_skipped_as(results, expected):
    reasons = skipped(results)
    assert set(reasons) == set(expected)
    for record_id, prefix in expected.items():
        assert reasons[record_id].startswith(prefix), (record_id, reasons[record_id])


def assert_binary_records(results, task_id, site=None):
    task = get_task(task_id)
    for record in records(results).values():
        assert record.question == task.instruction
        assert record.answer == ("yes" if record.label == 1 else "no")
        assert record.label in (0, 1)
        if site is not None:
            assert record.site == site
        assert record.group
        assert set(record.inputs) == {"image"}


# --- RSNA -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsna_source(tmp_path_factory):
    root = tmp_path_factory.mktemp("rsna")
    return root, write_rsna(root)


@pytest.fixture(scope="module")
def rsna_loaded(rsna_source):
    root, expected = rsna_source
    items, results = load_all(rsna, root)
    return items, results, expected


def test_rsna_labels_and_skipped_reasons(rsna_loaded):
    items, results, expected = rsna_loaded
    assert {key: record.label for key, record in records(results).items()} == expected["labels"]
    assert_skipped_as(results, expected["skipped"])
    assert_binary_records(results, "lung_opacity", site="")
    for record in records(results).values():
        assert record.id == f"rsna-{record.group}"


def test_rsna_missing_and_unreadable_reasons(rsna_loaded):
    _, results, _ = rsna_loaded
    reasons = Counter(reason.split(":")[0] for reason in skipped(results).values())
    assert reasons == {"missing image": 1, "unreadable DICOM": 2}
    assert any("less than expected" in reason for reason in skipped(results).values())  # the truncated file


def test_rsna_one_record_per_patient(rsna_source, rsna_loaded):
    root, _ = rsna_source
    items, _, expected = rsna_loaded
    with open(root / "stage_2_detailed_class_info.csv", newline="") as handle:
        rows = Counter(row["patientId"] for row in csv.DictReader(handle))
    assert max(rows.values()) == 3  # the fixture repeats patients, one row per box
    patients = [item.patient_id for item in items]
    assert len(patients) == len(set(patients))
    assert {f"rsna-{patient}": count for patient, count in rows.items()} == expected["boxes"]


def test_rsna_third_class_dropped(rsna_loaded):
    items, _, expected = rsna_loaded
    assert len(expected["dropped"]) == 3
    assert not {item.id for item in items} & set(expected["dropped"])


def test_rsna_items_sorted_deterministic_and_picklable(rsna_source, rsna_loaded, tmp_path):
    root, _ = rsna_source
    items, _, _ = rsna_loaded
    assert rsna.list_items(root, NATIVE) == items
    assert [item.patient_id for item in items] == sorted(item.patient_id for item in items)
    assert pickle.loads(pickle.dumps(items)) == items
    write_rsna(tmp_path, real_image=False, seed=7)  # rows and files written in another order
    others = rsna.list_items(tmp_path, NATIVE)
    real = rsna_loaded[2]["real"]
    assert [(item.id, item.label, item.problem) for item in others] == \
        [(item.id, item.label, item.problem) for item in items if item.id != real]


def test_rsna_monochrome1_is_inverted(rsna_loaded):
    _, results, expected = rsna_loaded
    inverted, plain = results[expected["monochrome1"]], results[expected["monochrome2"]]
    assert inverted.inputs["image"]["bytes"] == plain.inputs["image"]["bytes"]
    reference = stored_image(expected["raw"][expected["monochrome2"]], RSNA_SIZE)
    assert plain.inputs["image"]["bytes"] == reference["bytes"]


def test_rsna_window_applied(rsna_loaded):
    _, results, expected = rsna_loaded
    center, width = WINDOW
    raw = expected["raw"][expected["window"]]
    windowed = np.clip(raw, center - 0.5 - (width - 1) / 2, center - 0.5 + (width - 1) / 2)
    want = np.asarray(Image.open(io.BytesIO(stored_image(windowed, RSNA_SIZE)["bytes"])), dtype=int)
    got = pixels(results[expected["window"]]).astype(int)
    assert np.abs(got - want).max() <= 1
    assert (got == 0).mean() > 0.3 and (got == 255).mean() > 0.3  # a quarter of the range is kept
    unwindowed = pixels(Record("x", "x", "", "", "", 0, {"image": stored_image(raw, RSNA_SIZE)}))
    assert (unwindowed == 0).mean() < 0.05


def test_rsna_voi_lut_applied(rsna_loaded):
    _, results, expected = rsna_loaded
    raw = expected["raw"][expected["lut"]]
    got = pixels(results[expected["lut"]])
    np.testing.assert_array_equal(got, np.where(raw < LUT_THRESHOLD, 0, 255))


def test_rsna_real_radiograph(rsna_loaded):
    """pydicom-data's RG1_UNCR (1955x1841 CR, MONOCHROME1, windowed) is decoded, inverted and resized."""
    _, results, expected = rsna_loaded
    record = results[expected["real"]]
    assert isinstance(record, Record) and record.label == 1
    image = Image.open(io.BytesIO(record.inputs["image"]["bytes"]))
    assert image.format == "PNG" and image.mode == "L" and image.size == (RSNA_SIZE, RSNA_SIZE)
    raw = pydicom.dcmread(get_testdata_file("RG1_UNCR.dcm")).pixel_array.astype(float)
    raw = np.asarray(Image.fromarray(raw).resize((RSNA_SIZE, RSNA_SIZE)))
    stored = np.asarray(image, dtype=float)
    assert stored.std() > 20
    assert np.corrcoef(raw.ravel(), stored.ravel())[0, 1] < -0.5  # MONOCHROME1: high values are dark


def test_rsna_stored_image_size_and_mode(rsna_source):
    root, expected = rsna_source
    items = rsna.list_items(root, SMALL)
    for item in items:
        if item.id in expected["labels"] and item.id != expected["real"]:
            image = Image.open(io.BytesIO(rsna.load_item(item, SMALL).inputs["image"]["bytes"]))
            assert (image.format, image.mode, image.size) == ("PNG", "L", (24, 24))


def test_rsna_conflicting_rows_skip_the_patient(tmp_path):
    expected = write_rsna(tmp_path, real_image=False, conflicting=True)
    items, results = load_all(rsna, tmp_path)
    assert_skipped_as(results, expected["skipped"])
    assert any(reason.startswith("rows disagree on the class") for reason in skipped(results).values())
    assert {key: record.label for key, record in records(results).items()} == expected["labels"]


def test_rsna_unknown_class_is_skipped(tmp_path):
    write_rsna(tmp_path, real_image=False)
    with open(tmp_path / "stage_2_detailed_class_info.csv", "a", newline="") as handle:
        handle.write("0004cfab-14fd-4e49-80ba-63a80b6bddd6,Pneumonia\n")
    item = next(item for item in rsna.list_items(tmp_path, NATIVE) if item.patient_id.startswith("0004cfab"))
    assert rsna.load_item(item, NATIVE) == Skipped(item.id, "unknown class 'Pneumonia'")


def test_rsna_without_class_file(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="stage_2_detailed_class_info.csv"):
        rsna.list_items(tmp_path, NATIVE)


# --- COVID-19 Radiography Database ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def covid_loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("covid")
    expected = write_covid(root)
    items, results = load_all(covid, root, SMALL)
    return root, items, results, expected


def test_covid_labels_sites_and_groups(covid_loaded):
    _, items, results, expected = covid_loaded
    assert {key: record.label for key, record in records(results).items()} == expected["labels"]
    assert {item.id: item.site for item in items} == expected["sites"]
    assert {key: record.site for key, record in records(results).items()} == \
        {key: site for key, site in expected["sites"].items() if key in expected["labels"]}
    assert "unknown" in expected["sites"].values()
    assert_skipped_as(results, expected["skipped"])
    assert_binary_records(results, "covid19")
    for record in records(results).values():
        assert record.id == f"covid-{record.group}"


def test_covid_only_covid_and_normal_images(covid_loaded):
    _, items, _, _ = covid_loaded
    folders = {item.image.split("/")[-3] for item in items}
    assert folders == {"COVID", "Normal"}
    assert all("/images/" in item.image for item in items)


def test_covid_rgb_png_stored_grayscale(covid_loaded):
    _, _, results, expected = covid_loaded
    image = Image.open(io.BytesIO(results[expected["rgb"]].inputs["image"]["bytes"]))
    assert (image.format, image.mode, image.size) == ("PNG", "L", (24, 24))


def test_covid_order_and_nested_root(covid_loaded, tmp_path):
    root, items, _, _ = covid_loaded
    assert covid.list_items(root, SMALL) == items
    assert [item.id for item in items] == sorted(item.id for item in items)
    assert pickle.loads(pickle.dumps(items)) == items
    expected = write_covid(tmp_path, nested=True, seed=3)
    nested = covid.list_items(tmp_path, SMALL)
    assert [(item.id, item.label, item.site) for item in nested] == [(item.id, item.label, item.site) for item in items]
    assert covid.list_items(expected["dataset"], SMALL) == nested


@pytest.mark.parametrize(("url", "site"), [
    ("https://github.com/ml-workgroup/covid-19-image-repository/tree/master/png", "covid-19-image-repository"),
    ("https://github.com/armiro/COVID-CXNet", "covid-cxnet"),
    ("https://www.kaggle.com/paultimothymooney/chest-xray-pneumonia", "chest-xray-pneumonia"),
    ("https://www.kaggle.com/datasets/paultimothymooney/chest-xray-pneumonia", "chest-xray-pneumonia"),
    ("https://www.kaggle.com/competitions/rsna-pneumonia-detection-challenge", "rsna-pneumonia-detection-challenge"),
    ("https://eurorad.org", "eurorad"),
    ("http://www.sirm.org/category/senza-categoria/covid-19/", "sirm"),
    ("https://github.com", "github"),
    ("", "unknown"),
    (None, "unknown"),
])
def test_covid_site_from_url(url, site):
    assert covid.site_from_url(url) == site


def test_covid_without_class_folders(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="COVID/images"):
        covid.list_items(tmp_path, SMALL)


# --- CheXpert ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chexpert_loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("chexpert")
    expected = write_chexpert(root)
    items, results = load_all(chexpert, root, SMALL)
    return root, items, results, expected


def test_chexpert_labels_groups_and_skipped(chexpert_loaded):
    _, items, results, expected = chexpert_loaded
    assert {key: record.label for key, record in records(results).items()} == expected["labels"]
    assert {item.id: item.patient for item in items} == expected["groups"]
    assert {key: record.group for key, record in records(results).items()} == \
        {key: group for key, group in expected["groups"].items() if key in expected["labels"]}
    assert_skipped_as(results, expected["skipped"])
    assert_binary_records(results, "enlarged_cardiomediastinum", site="")
    assert not {item.id for item in items} & set(expected["train_ids"])  # train.csv is not read


def test_chexpert_uncertain_and_blank_are_no(chexpert_loaded):
    _, _, results, _ = chexpert_loaded
    assert results["chexpert-patient64544-study1-view1_frontal"].label == 0  # -1.0
    assert results["chexpert-patient64545-study1-view1_frontal"].label == 0  # blank
    assert results["chexpert-patient64541-study1-view1_frontal"].label == 1


def test_chexpert_both_root_conventions(chexpert_loaded):
    root, items, results, expected = chexpert_loaded
    inside = chexpert.list_items(expected["dataset"], SMALL)
    assert inside == items
    assert chexpert.list_items(root, SMALL) == items
    assert [item.id for item in items] == sorted(item.id for item in items)
    assert pickle.loads(pickle.dumps(items)) == items
    image = Image.open(io.BytesIO(next(iter(records(results).values())).inputs["image"]["bytes"]))
    assert (image.format, image.mode, image.size) == ("PNG", "L", (24, 24))


def test_chexpert_full_resolution_folder_and_write_order(chexpert_loaded, tmp_path):
    _, items, _, _ = chexpert_loaded
    expected = write_chexpert(tmp_path, folder="CheXpert-v1.0", seed=5)
    for root in (tmp_path, expected["dataset"]):
        _, results = load_all(chexpert, root, SMALL)
        assert [result.id for result in results.values()] == [item.id for item in items]
        assert {key: record.label for key, record in records(results).items()} == expected["labels"]


def test_chexpert_unexpected_label_is_skipped(tmp_path):
    expected = write_chexpert(tmp_path)
    with open(expected["dataset"] / "valid.csv", "a", newline="") as handle:
        handle.write("CheXpert-v1.0-small/valid/patient64600/study1/view1_frontal.jpg,Male,50,Frontal,AP,"
                     "0.0,yes" + ",0.0" * 12 + "\n")
    item = next(item for item in chexpert.list_items(tmp_path, SMALL) if item.patient == "patient64600")
    result = chexpert.load_item(item, SMALL)
    assert result == Skipped("chexpert-patient64600-study1-view1_frontal",
                             "unexpected Enlarged Cardiomediastinum value 'yes'")


def test_chexpert_without_csv(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="valid.csv"):
        chexpert.list_items(tmp_path, SMALL)


# --- End to end: raw source -> dataset folder -> datasets.load_dataset ------------------------------------


@pytest.mark.parametrize(("task_id", "writer"), [
    ("lung_opacity", write_rsna), ("covid19", write_covid), ("enlarged_cardiomediastinum", write_chexpert),
])
def test_build_and_load(task_id, writer, tmp_path):
    datasets = pytest.importorskip("datasets")
    build = pytest.importorskip("fedmeki_data.sources.build")
    from fedmeki_data.partition import PartitionConfig

    kwargs = {"real_image": False} if writer is write_rsna else {}
    expected = writer(tmp_path / "raw", **kwargs)
    # One client: the fixtures are too small to give five clients a validation record each.
    manifest = build.build_sources({task_id: tmp_path / "raw"}, tmp_path / "data", options=SMALL,
                                   partition_config=PartitionConfig(scheme="iid", n_clients=1))
    reported = {entry["id"]: entry["reason"] for entry in manifest["build"]["skipped"][task_id]["records"]}
    assert set(reported) == set(expected["skipped"])

    test = datasets.load_dataset(str(tmp_path / "data"), task_id, split="test")
    assert len(test) > 0
    for row in test:
        assert row["label"] == expected["labels"][row["id"]]
        assert row["answer"] == ("yes" if row["label"] else "no")
        assert row["image"].mode == "L" and row["image"].size == (24, 24)
        if task_id == "covid19":
            assert row["site"] == expected["sites"][row["id"]]

    splits = datasets.load_dataset(str(tmp_path / "data"), task_id)
    ids = [row_id for split in splits.values() for row_id in split["id"]]
    assert sorted(ids) == sorted(expected["labels"])  # every usable record once, in one split
