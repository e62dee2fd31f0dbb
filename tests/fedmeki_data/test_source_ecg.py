"""The PTB-XL (``ecg_abnormal``) and ECG-QA (``ecg_noise_clarification``) readers on folders laid out as downloaded."""

from __future__ import annotations

import pickle
import shutil

import numpy as np
import pytest
from fixtures_ecg import (
    PRECISION,
    SKIP_REASONS,
    PtbxlFixture,
    ptbxl_id,
    ptbxl_row,
    record_name,
    write_database,
    write_ecgqa,
    write_ptbxl,
    write_record,
)

from fedmeki_data.errors import DatasetNotFoundError
from fedmeki_data.schema import ECG_LEADS, ECG_SAMPLES
from fedmeki_data.sources import ecgqa, ptbxl, source_module
from fedmeki_data.sources.base import BuildOptions, Record, Skipped
from fedmeki_data.tasks import get_task

OPTIONS = BuildOptions()
LEAD = {name: i for i, name in enumerate(ECG_LEADS)}
TOLERANCE = PRECISION + 1e-5  # wfdb's rounding to ADC units, then float32


@pytest.fixture(scope="module")
def ptbxl_source(tmp_path_factory) -> PtbxlFixture:
    return write_ptbxl(tmp_path_factory.mktemp("ptbxl") / "ptb-xl", n=14)


@pytest.fixture(scope="module")
def loaded(ptbxl_source) -> dict[str, Record | Skipped]:
    return {item.id: ptbxl.load_item(item, OPTIONS) for item in ptbxl.list_items(ptbxl_source.root, OPTIONS)}


@pytest.fixture(scope="module")
def ecgqa_source(tmp_path_factory):
    return write_ecgqa(tmp_path_factory.mktemp("ecgqa"), checkout="ecg-qa")


# --- PTB-XL ---------------------------------------------------------------------------------------------------


def test_source_registry_reaches_both_modules():
    assert source_module("ecg_abnormal") is ptbxl and ptbxl.TASK == "ecg_abnormal"
    assert source_module("ecg_noise_clarification") is ecgqa and ecgqa.TASK == "ecg_noise_clarification"


def test_items_are_sorted_cheap_and_deterministic(ptbxl_source):
    items = ptbxl.list_items(ptbxl_source.root, OPTIONS)

    assert [item.id for item in items] == [ptbxl_id(ecg_id) for ecg_id in range(1, 15)]
    assert items == ptbxl.list_items(ptbxl_source.root, OPTIONS)
    assert pickle.loads(pickle.dumps(items)) == items
    assert all(len(pickle.dumps(item)) < 1000 for item in items)


def test_labels_follow_the_norm_likelihood(ptbxl_source, loaded):
    records = {key: value for key, value in loaded.items() if isinstance(value, Record)}

    assert {key: record.label for key, record in records.items()} == ptbxl_source.labels
    assert all(record.answer == ("yes" if record.label else "no") for record in records.values())
    assert all(record.question == get_task("ecg_abnormal").instruction for record in records.values())
    # Rows 1-6 cycle through the scp_codes cases.
    assert records["ptbxl-00001"].label == 0  # {'NORM': 100.0, 'SR': 0.0}
    assert records["ptbxl-00002"].label == 1  # {'NORM': 40.0, 'IMI': 100.0, 'SR': 0.0}
    assert records["ptbxl-00003"].label == 0  # {'NORM': 80.0, ...}
    assert records["ptbxl-00004"].label == 1  # {'LVH': 100.0, 'SR': 0.0}: no NORM at all
    assert records["ptbxl-00005"].label == 1  # {'NORM': 50.0, ...}: 50 is not above 50
    assert records["ptbxl-00006"].label == 1  # {'AFIB': 100.0, 'ASMI': 50.0}


def test_signals_are_what_wfdb_wrote(ptbxl_source, loaded):
    for key, expected in ptbxl_source.signals.items():
        ecg = loaded[key].inputs["ecg"]

        assert ecg.shape == (ECG_SAMPLES, len(ECG_LEADS)) and ecg.dtype == np.float32, key
        np.testing.assert_allclose(ecg, expected, rtol=0, atol=TOLERANCE, err_msg=key)
    assert set(loaded["ptbxl-00001"].inputs) == {"ecg"}


@pytest.mark.parametrize("key", ["ptbxl-00001", "ptbxl-00002"])
def test_real_ecg_leads_come_back_in_schema_order(loaded, key):
    # ECG 1 is pydicom's real ECG; ECG 2 the same ECG shifted, its header listing V1..V6 first. Einthoven's
    # and Goldberger's laws hold only if every lead is where ECG_LEADS says.
    ecg = loaded[key].inputs["ecg"].astype(np.float64)
    lead = {name: ecg[:, i] for name, i in LEAD.items()}

    assert np.abs(lead["II"] - lead["I"] - lead["III"]).max() <= 3 * TOLERANCE
    assert np.abs(lead["aVR"] + (lead["I"] + lead["II"]) / 2).max() <= 3 * TOLERANCE + 1e-3
    assert np.ptp(lead["V5"]) > 1.0  # the real ECG's tallest lead, about 1.9 mV peak to peak


def test_microvolt_records_are_converted_to_millivolts(ptbxl_source, loaded):
    key = ptbxl_id(ptbxl_source.quirks["microvolts"])
    header = (ptbxl_source.root / f"{record_name(ptbxl_source.quirks['microvolts'])}.hea").read_text()

    assert "/uV" in header
    np.testing.assert_allclose(loaded[key].inputs["ecg"], ptbxl_source.signals[key], rtol=0, atol=TOLERANCE)


def test_groups_are_patients_and_sites_recording_sites(ptbxl_source, loaded):
    records = {key: value for key, value in loaded.items() if isinstance(value, Record)}

    assert {key: record.group for key, record in records.items()} == ptbxl_source.groups
    assert {key: record.site for key, record in records.items()} == ptbxl_source.sites
    assert records["ptbxl-00001"].group == records["ptbxl-00003"].group == "15700"  # "15700.0" in the CSV
    assert records["ptbxl-00004"].group == "15701"
    assert records["ptbxl-00005"].site == ""  # blank site
    assert {record.site for record in records.values()} == {"", "site-0", "site-1", "site-2"}


def test_broken_records_are_skipped_with_their_reason(ptbxl_source, loaded):
    skipped = {key: value for key, value in loaded.items() if isinstance(value, Skipped)}

    assert set(skipped) == set(ptbxl_source.skipped)
    for key, prefix in ptbxl_source.skipped.items():
        assert skipped[key].id == key
        assert skipped[key].reason.startswith(prefix), skipped[key].reason
    assert set(ptbxl_source.skipped.values()) == set(SKIP_REASONS.values())
    assert skipped[ptbxl_id(ptbxl_source.quirks["missing"])].reason.endswith("missing 00014_lr.hea")
    assert "V3R" in skipped[ptbxl_id(ptbxl_source.quirks["leads"])].reason


def test_read_record_is_public_and_raises_the_skip_reason(ptbxl_source):
    ecg = ptbxl.read_record(ptbxl_source.root, record_name(1))

    np.testing.assert_allclose(ecg, ptbxl_source.signals["ptbxl-00001"], rtol=0, atol=TOLERANCE)
    with pytest.raises(ptbxl.RecordError, match="^truncated WFDB: records100/00000/00013_lr: "):
        ptbxl.read_record(ptbxl_source.root, record_name(13))
    assert issubclass(ptbxl.RecordError, ValueError)


def test_scp_codes_are_parsed_never_evaluated(tmp_path):
    marker = tmp_path / "evaluated"
    rows = [ptbxl_row(1, 100, 0, f"open({str(marker)!r}, 'w')"), ptbxl_row(2, 100, 0, "['NORM']"),
            ptbxl_row(3, 100, 0, "{'NORM': 'high'}"), ptbxl_row(4, 101, 1, "{'NORM': 100.0}")]
    for ecg_id in range(1, 5):
        write_record(tmp_path, ecg_id, np.zeros((ECG_SAMPLES, len(ECG_LEADS))))
    write_database(tmp_path, rows)

    results = [ptbxl.load_item(item, OPTIONS) for item in ptbxl.list_items(tmp_path, OPTIONS)]

    assert not marker.exists()
    assert [type(result) for result in results] == [Skipped, Skipped, Skipped, Record]
    assert all(result.reason.startswith("unparseable scp_codes") for result in results[:3])


def test_the_ptbxl_folder_is_found_up_to_two_levels_down(ptbxl_source, tmp_path):
    downloads = tmp_path / "downloads"
    shutil.copytree(ptbxl_source.root, downloads / "physionet" / "ptb-xl")

    assert ptbxl.find_ptbxl(downloads) == downloads / "physionet" / "ptb-xl"
    items = ptbxl.list_items(downloads, OPTIONS)
    assert items[0].root == str(downloads / "physionet" / "ptb-xl")
    assert isinstance(ptbxl.load_item(items[0], OPTIONS), Record)
    with pytest.raises(DatasetNotFoundError, match="No ptbxl_database.csv") as raised:
        ptbxl.list_items(tmp_path, OPTIONS)  # three levels up
    assert "records100" in raised.value.hint


def test_a_csv_without_ptbxl_columns_is_refused(tmp_path):
    (tmp_path / "ptbxl_database.csv").write_text("ecg_id,patient_id,filename\n1,2.0,records100/00000/00001_lr\n")

    with pytest.raises(DatasetNotFoundError, match="lacks the columns site, scp_codes, filename_lr"):
        ptbxl.list_items(tmp_path, OPTIONS)


# --- ECG-QA ---------------------------------------------------------------------------------------------------


def test_ecgqa_keeps_single_ecg_noise_questions_of_every_split(ecgqa_source):
    items = ecgqa.list_items(ecgqa_source.root, OPTIONS)

    # Left out: scp_code and heart_axis questions, the two comparison questions (two ecg_ids each) and the
    # paraphrased twin (ecgqa-test-000005). Train and test both have a sample 0.
    assert [item.id for item in items] == [
        "ecgqa-test-000000", "ecgqa-train-000001", "ecgqa-train-000002", "ecgqa-train-000004",
        "ecgqa-train-010000", "ecgqa-train-010001", "ecgqa-valid-000000", "ecgqa-valid-000001"]
    assert items == ecgqa.list_items(ecgqa_source.root, OPTIONS)
    assert pickle.loads(pickle.dumps(items)) == items


def test_ecgqa_records_carry_question_answer_signal_and_patient(ecgqa_source):
    results = {item.id: ecgqa.load_item(item, OPTIONS) for item in ecgqa.list_items(ecgqa_source.root, OPTIONS)}
    records = {key: value for key, value in results.items() if isinstance(value, Record)}
    ptbxl_fixture = ecgqa_source.ptbxl

    assert set(records) == set(ecgqa_source.records)
    for key, (question, answer, ecg_id) in ecgqa_source.records.items():
        record = records[key]
        assert (record.question, record.answer, record.label, record.site) == (question, answer, None, "")
        assert record.group == ptbxl_fixture.groups[ptbxl_id(ecg_id)]
        np.testing.assert_allclose(record.inputs["ecg"], ptbxl_fixture.signals[ptbxl_id(ecg_id)], rtol=0,
                                   atol=TOLERANCE)
    # Answers are ECG-QA's lists joined as the demo joins them.
    assert records["ecgqa-train-000002"].answer == "baseline drift, static noise"
    assert records["ecgqa-train-000004"].answer == "lead I, lead V1"
    assert records["ecgqa-train-010000"].answer == "none"
    assert records["ecgqa-test-000000"].answer == "no"


def test_ecgqa_questions_without_a_usable_ecg_are_skipped(ecgqa_source):
    results = {item.id: ecgqa.load_item(item, OPTIONS) for item in ecgqa.list_items(ecgqa_source.root, OPTIONS)}
    skipped = {key: value.reason for key, value in results.items() if isinstance(value, Skipped)}

    assert set(skipped) == set(ecgqa_source.skipped) == {"ecgqa-valid-000000", "ecgqa-valid-000001"}
    for key, prefix in ecgqa_source.skipped.items():
        assert skipped[key].startswith(prefix), skipped[key]


def test_ecgqa_without_ptbxl_says_where_to_put_it(tmp_path):
    write_ecgqa(tmp_path, with_ptbxl=False)

    with pytest.raises(DatasetNotFoundError, match="No ptbxl_database.csv") as raised:
        ecgqa.list_items(tmp_path, OPTIONS)
    assert "put PTB-XL" in raised.value.hint and str(tmp_path / "ptb-xl") in raised.value.hint


def test_ecgqa_without_questions_is_refused(ptbxl_source):
    with pytest.raises(DatasetNotFoundError, match="No ECG-QA template questions") as raised:
        ecgqa.list_items(ptbxl_source.root, OPTIONS)
    assert "ecgqa/ptbxl/template" in raised.value.hint


def test_ecgqa_checkout_may_sit_in_the_source_folder_itself(tmp_path):
    fixture = write_ecgqa(tmp_path, checkout="")

    assert len(ecgqa.list_items(tmp_path, OPTIONS)) == len(fixture.records) + len(fixture.skipped)


def test_ecgqa_duplicate_sample_ids_are_reported(tmp_path):
    fixture = write_ecgqa(tmp_path)
    first = tmp_path / "ecgqa" / "ptbxl" / "template" / "train" / "00000.json"
    shutil.copy(first, first.with_name("00001.json"))

    items = ecgqa.list_items(tmp_path, OPTIONS)
    results = [ecgqa.load_item(item, OPTIONS) for item in items]

    assert len(items) == len(fixture.records) + len(fixture.skipped) + 3
    duplicates = [result for result in results if isinstance(result, Skipped) and "duplicate" in result.reason]
    assert sorted(result.id for result in duplicates) == [
        "ecgqa-train-000001", "ecgqa-train-000002", "ecgqa-train-000004"]
