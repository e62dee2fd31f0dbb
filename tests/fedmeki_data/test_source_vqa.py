"""The raw medical VQA sources: VQA-RAD (both layouts) and SLAKE 1.0, English questions only."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
from fixtures_vqa import write_data_rad, write_slake, write_vqa_rad
from PIL import Image

from fedmeki_data.errors import DatasetNotFoundError
from fedmeki_data.sources import vqa
from fedmeki_data.sources.base import BuildOptions, Record, Skipped

OPTIONS = BuildOptions(image_size=32)


def _load_all(root):
    items = vqa.list_items(root, OPTIONS)
    return items, {item.id: vqa.load_item(item, OPTIONS) for item in items}


def _check(results, expected, site):
    records = {key: value for key, value in results.items() if isinstance(value, Record)}
    skipped = {key: value.reason for key, value in results.items() if isinstance(value, Skipped)}
    assert {key: (r.group, r.question, r.answer) for key, r in records.items()} == expected["records"]
    assert set(skipped) == set(expected["skipped"])
    for key, prefix in expected["skipped"].items():
        assert skipped[key].startswith(prefix)
    for record in records.values():
        assert record.site == site and record.label is None
        pixels = np.asarray(Image.open(io.BytesIO(record.inputs["image"]["bytes"])))
        assert pixels.shape == (32, 32) and pixels.dtype == np.uint8


def test_vqa_rad_public_release(tmp_path):
    expected = write_vqa_rad(tmp_path)
    items, results = _load_all(tmp_path)
    assert [item.id for item in items] == ["vqarad-0", "vqarad-1", "vqarad-2", "vqarad-3"]
    _check(results, expected, "vqa-rad")
    assert results["vqarad-3"].reason == "missing image synpic99999.jpg"
    assert vqa.TASK == "medical_vqa"


def test_vqa_rad_data_rad_layout_keeps_ids_unique(tmp_path):
    expected = write_data_rad(tmp_path)
    items, results = _load_all(tmp_path)
    assert [item.id for item in items] == ["vqarad-11", "vqarad-11-2", "vqarad-12"]
    _check(results, expected, "vqa-rad")
    # The source may also be the data_RAD folder itself.
    assert vqa.list_items(tmp_path / "data_RAD", OPTIONS) == items


def test_vqa_rad_public_release_wins_over_data_rad(tmp_path):
    write_vqa_rad(tmp_path)
    write_data_rad(tmp_path)
    ids = [item.id for item in vqa.list_items(tmp_path, OPTIONS)]
    assert ids == ["vqarad-0", "vqarad-1", "vqarad-2", "vqarad-3"]


@pytest.mark.parametrize("nested", [True, False])
def test_slake_english_questions_only(tmp_path, nested):
    expected = write_slake(tmp_path, nested=nested)
    items, results = _load_all(tmp_path)
    assert [item.id for item in items] == ["slake-0", "slake-5", "slake-9", "slake-10"]
    assert not set(expected["chinese"]) & set(results)
    _check(results, expected, "slake")
    assert all(record.question.isascii() for record in results.values() if isinstance(record, Record))


def test_both_sources_combined_sorted_unique_and_deterministic(tmp_path):
    rad, slake = write_vqa_rad(tmp_path / "VQA_RAD"), write_slake(tmp_path)
    items, results = _load_all(tmp_path)
    ids = [item.id for item in items]
    assert ids == ["vqarad-0", "vqarad-1", "vqarad-2", "vqarad-3", "slake-0", "slake-5", "slake-9", "slake-10"]
    assert len(set(ids)) == len(ids)
    assert vqa.list_items(tmp_path, OPTIONS) == items
    assert pickle.loads(pickle.dumps(items)) == items
    assert {record.site for record in results.values() if isinstance(record, Record)} == {"vqa-rad", "slake"}
    assert {key for key, value in results.items() if isinstance(value, Record)} == set(rad["records"]) | set(
        slake["records"])
    # Records of one image share a group; the same image always gives the same pixels.
    same_image = [results["slake-5"], results["slake-9"]]
    assert same_image[0].group == same_image[1].group == "xmlab102/source.jpg"
    assert same_image[0].inputs["image"] == same_image[1].inputs["image"]


def test_unreadable_image_is_skipped(tmp_path):
    write_vqa_rad(tmp_path)
    (tmp_path / "VQA_RAD Image Folder" / "synpic29263.jpg").write_bytes(b"\xff\xd8 truncated")
    items = vqa.list_items(tmp_path, OPTIONS)
    result = vqa.load_item(next(item for item in items if item.id == "vqarad-2"), OPTIONS)
    assert isinstance(result, Skipped) and result.reason.startswith("unreadable image synpic29263.jpg")


def test_empty_answers_and_malformed_entries_are_skipped(tmp_path):
    folder = tmp_path / "data_RAD"
    folder.mkdir()
    (folder / "testset.json").write_text('[{"qid": 1, "image_name": "a.jpg", "question": "Q?", "answer": " "}, 7]')
    _, results = _load_all(tmp_path)
    assert results["vqarad-1"].reason == "empty answer"
    assert results["vqarad-testset-row1"].reason.startswith("not a JSON object")


def test_no_source_raises_with_a_hint(tmp_path):
    (tmp_path / "unrelated").mkdir()
    (tmp_path / "train.json").write_text("[]")  # a train.json without imgs/ is not SLAKE
    with pytest.raises(DatasetNotFoundError) as error:
        vqa.list_items(tmp_path, OPTIONS)
    assert "VQA_RAD Dataset Public.json" in error.value.hint and "Slake1.0" in error.value.hint


def test_unreadable_json_raises(tmp_path):
    (tmp_path / "VQA_RAD Dataset Public.json").write_text("[{")
    with pytest.raises(DatasetNotFoundError, match="Cannot read"):
        vqa.list_items(tmp_path, OPTIONS)


def test_build_and_load(tmp_path):
    datasets = pytest.importorskip("datasets")
    build = pytest.importorskip("fedmeki_data.sources.build")
    rad, slake = write_vqa_rad(tmp_path / "raw" / "VQA_RAD"), write_slake(tmp_path / "raw")
    manifest = build.build_sources({"medical_vqa": tmp_path / "raw"}, tmp_path / "data", options=OPTIONS)
    reported = {entry["id"] for entry in manifest["build"]["skipped"]["medical_vqa"]["records"]}
    assert reported == set(rad["skipped"]) | set(slake["skipped"])

    test = datasets.load_dataset(str(tmp_path / "data"), "medical_vqa", split="test")
    expected = {**rad["records"], **slake["records"]}
    assert sorted(test["id"]) == sorted(expected)
    for row in test:
        assert (row["question"], row["answer"]) == expected[row["id"]][1:]
        assert row["site"] == ("vqa-rad" if row["id"].startswith("vqarad-") else "slake")
        assert row["image"].mode == "L" and row["image"].size == (32, 32)
