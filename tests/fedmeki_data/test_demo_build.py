"""The synthetic demo dataset: exact contract, loadable by `datasets`, deterministic, atomic."""

import filecmp
import json

import datasets
import numpy as np
import pytest

from fedmeki_data.errors import OutputExistsError, PartitionError
from fedmeki_data.hub import load_task
from fedmeki_data.manifest import MANIFEST_NAME, read_manifest, sha256_file
from fedmeki_data.partition import PartitionConfig
from fedmeki_data.schema import CLINICAL_VARIABLES, split_names, task_features
from fedmeki_data.synthetic.demo import SIZES, build_demo
from fedmeki_data.tasks import TASKS


def test_every_config_and_split_loads_with_datasets(tiny_demo):
    for task_id, task in TASKS.items():
        loaded = datasets.load_dataset(str(tiny_demo), task_id)
        assert tuple(loaded) == split_names(task, 5)
        for split in loaded.values():
            assert split.features == task_features(task)
        total = sum(split.num_rows for split in loaded.values())
        assert total == (SIZES["tiny"].training if task.role == "training" else SIZES["tiny"].validation)


def test_manifest_records_every_file_and_count(tiny_demo):
    assert tiny_demo.stat().st_mode & 0o777 == 0o755  # readable by others, unlike a bare temporary folder
    manifest = read_manifest(tiny_demo)
    parquet = sorted(p.relative_to(tiny_demo).as_posix() for p in tiny_demo.rglob("*.parquet"))
    assert sorted(manifest["files"]) == parquet
    for relative, digest in manifest["files"].items():
        assert sha256_file(tiny_demo / relative) == digest
    assert len(manifest["fingerprint"]) == 16
    entry = manifest["tasks"]["mortality"]
    loaded = load_task(tiny_demo, "mortality", split="client_2")
    assert entry["splits"]["client_2"]["rows"] == loaded.num_rows
    labels = np.asarray(loaded["label"])
    assert entry["splits"]["client_2"]["label_counts"] == {"no": int((labels == 0).sum()),
                                                           "yes": int((labels == 1).sum())}


def test_every_client_of_every_training_task_has_both_classes(tiny_demo):
    for task_id in ("lung_opacity", "covid19", "ecg_abnormal", "mortality"):
        for k in range(5):
            labels = set(load_task(tiny_demo, task_id, split=f"client_{k}").unique("label"))
            assert labels == {0, 1}, (task_id, k)


def test_columns_hold_what_the_contract_says(tiny_demo):
    shard = load_task(tiny_demo, "ecg_abnormal", split="client_1").with_format("numpy")
    row = shard[0]
    assert row["ecg"].shape == (1000, 12) and row["ecg"].dtype == np.float32
    assert 0.1 < np.abs(row["ecg"]).max() < 10  # millivolts
    assert set(np.asarray(shard["client_id"]).tolist()) == {1}
    assert row["question"] == TASKS["ecg_abnormal"].instruction
    assert row["answer"] == ("yes" if row["label"] == 1 else "no")
    stay = load_task(tiny_demo, "sepsis", split="test").with_format("numpy")[0]["clinical"]
    assert stay.shape[1] == len(CLINICAL_VARIABLES) and np.isnan(stay).any() and not np.isnan(stay).all()
    image = load_task(tiny_demo, "covid19", split="test")[0]["image"]
    assert image.size == (SIZES["tiny"].image_size,) * 2 and image.mode == "L"
    test = load_task(tiny_demo, "covid19", split="test")
    assert set(test["client_id"]) == {-1} and all(site for site in test["site"])
    validation = load_task(tiny_demo, "covid19", split="validation")
    assert set(validation["client_id"]) == set(range(5))
    ids = [row_id for split in datasets.load_dataset(str(tiny_demo), "mortality").values() for row_id in split["id"]]
    assert len(ids) == len(set(ids))


def test_generation_tasks_have_free_text_answers(tiny_demo):
    for task_id in ("medical_vqa", "ecg_noise_clarification"):
        test = load_task(tiny_demo, task_id, split="test")
        assert all(test["question"]) and all(test["answer"])
        assert len(set(test["question"])) > 5 and len(set(test["answer"])) > 3


def test_same_seed_builds_are_byte_identical_and_other_seeds_differ(tmp_path, tiny_demo):
    again = tmp_path / "again"
    build_demo(again, size="tiny")
    comparison = filecmp.dircmp(tiny_demo, again)
    files = [p.relative_to(tiny_demo) for p in tiny_demo.rglob("*") if p.is_file()]
    assert files and all(filecmp.cmp(tiny_demo / f, again / f, shallow=False) for f in files)
    assert not comparison.left_only and not comparison.right_only
    other = tmp_path / "other"
    build_demo(other, size="tiny", partition_config=PartitionConfig(seed=7))
    assert read_manifest(other)["fingerprint"] != read_manifest(tiny_demo)["fingerprint"]


def test_existing_output_is_kept_without_overwrite(tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="already exists"):
        build_demo(out, size="tiny", tasks=["sepsis"])
    with pytest.raises(OutputExistsError, match="not a FedMEKI dataset folder"):
        build_demo(out, size="tiny", tasks=["sepsis"], overwrite=True)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_overwrite_replaces_a_previous_build(tmp_path):
    out = tmp_path / "data"
    build_demo(out, size="tiny", tasks=["sepsis"])
    build_demo(out, size="tiny", tasks=["medical_vqa"], overwrite=True)
    assert list(read_manifest(out)["tasks"]) == ["medical_vqa"]
    assert not (out / "sepsis").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_a_failed_build_leaves_nothing_behind(tmp_path):
    out = tmp_path / "data"

    def fail_midway(task_id, done, total):
        if task_id == "mortality" and done == 10:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        build_demo(out, size="tiny", progress=fail_midway)
    assert list(tmp_path.iterdir()) == []


def test_natural_partition_uses_sites(tmp_path):
    out = tmp_path / "data"
    build_demo(out, size="tiny", tasks=["mortality", "covid19"], partition_config=PartitionConfig(scheme="natural"))
    manifest = read_manifest(out)
    assert manifest["tasks"]["mortality"]["n_clients"] == 5
    for split, info in manifest["tasks"]["mortality"]["splits"].items():
        if split.startswith("client_"):
            assert len(info["sites"]) == 1
    assert [manifest["tasks"]["mortality"]["splits"][f"client_{k}"]["sites"][0] for k in range(5)] == [
        "CCU", "CSRU", "MICU", "SICU", "TSICU"]


def test_natural_partition_refuses_tasks_without_sites(tmp_path):
    with pytest.raises(PartitionError, match="lung_opacity"):
        build_demo(tmp_path / "data", size="tiny", partition_config=PartitionConfig(scheme="natural"))
    assert not (tmp_path / "data").exists()


def test_card_metadata_is_what_the_hub_reads(tiny_demo):
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(tiny_demo / "README.md")
    configs = {c["config_name"]: c for c in card.data.to_dict()["configs"]}
    assert set(configs) == set(TASKS)
    assert {f["split"] for f in configs["lung_opacity"]["data_files"]} == set(split_names("lung_opacity", 5))
    assert card.data.license == "cc0-1.0"
    assert "Intended use and limitations" in card.text and "| `client_0` |" in card.text
    manifest = json.loads((tiny_demo / MANIFEST_NAME).read_text())
    assert manifest["fingerprint"] in card.text
