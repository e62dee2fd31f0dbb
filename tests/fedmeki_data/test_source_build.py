"""All eight source builders end to end: raw layouts -> `fedmeki data build-all` -> load, train, predict, score."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from datasets import load_dataset
from fixtures_clinical import write_mimic3, write_physionet2019
from fixtures_ecg import write_ecgqa, write_ptbxl
from fixtures_images import write_chexpert, write_covid, write_rsna
from fixtures_vqa import write_slake, write_vqa_rad

from fedmeki_data.partition import PartitionConfig
from fedmeki_data.sources.base import BuildOptions
from fedmeki_data.sources.build import build_sources

SOURCES = {"lung_opacity": "rsna", "covid19": "covid", "ecg_abnormal": "ptbxl", "mortality": "mimic3",
           "sepsis": "physionet", "enlarged_cardiomediastinum": "chexpert", "medical_vqa": "vqa",
           "ecg_noise_clarification": "ecgqa"}
OPTIONS = ("--partition", "iid", "--clients", "1", "--image-size", "32")


def fedmeki(*args):
    """The real CLI, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "fedmeki_cli.main", *map(str, args)], capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw")
    write_rsna(root / "rsna")
    write_covid(root / "covid")
    write_ptbxl(root / "ptbxl", n=60)
    write_mimic3(root / "mimic3", extra_subjects=20)
    write_physionet2019(root / "physionet")
    write_chexpert(root / "chexpert")
    write_vqa_rad(root / "vqa")
    write_slake(root / "vqa")
    write_ecgqa(root / "ecgqa")
    (root / "sources.yaml").write_text("".join(f"{task}: {folder}\n" for task, folder in SOURCES.items()))
    return root


@pytest.fixture(scope="module")
def built(raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "data"
    result = fedmeki("data", "build-all", "--sources", raw / "sources.yaml", "--out", out, *OPTIONS,
                     "--format", "json")
    assert result.returncode == 0, result.stderr
    return out, json.loads(result.stdout)


def test_every_task_builds_loads_and_reports_its_skipped_records(built):
    out, summary = built

    assert set(summary["tasks"]) == set(SOURCES)
    for task, entry in summary["tasks"].items():
        for split, info in entry["splits"].items():
            assert len(load_dataset(str(out), task, split=split)) == info["rows"] > 0
    skipped = {task: {record["id"]: record["reason"] for record in report["records"]}
               for task, report in summary["skipped"].items()}
    assert skipped["lung_opacity"] and skipped["ecg_abnormal"] and skipped["sepsis"]
    assert any(reason.startswith("truncated WFDB") for reason in skipped["ecg_abnormal"].values())
    assert summary["tasks"]["mortality"]["credentialed"] and summary["tasks"]["enlarged_cardiomediastinum"][
        "credentialed"]


def test_no_patient_is_in_two_splits(raw, built):
    out, _ = built
    with open(raw / "ptbxl" / "ptbxl_database.csv", encoding="utf-8") as handle:
        patient_of = {f"ptbxl-{int(row['ecg_id']):05d}": row["patient_id"] for row in csv.DictReader(handle)}
    splits_of: dict[str, set] = {}
    for split in ("client_0", "validation", "public", "test"):
        for record in load_dataset(str(out), "ecg_abnormal", split=split)["id"]:
            splits_of.setdefault(patient_of[record], set()).add(split)
    assert len(splits_of) > 5 and all(len(splits) == 1 for splits in splits_of.values())


def test_builds_are_byte_identical_whatever_the_number_of_processes(raw, built, tmp_path):
    _, summary = built
    sources = {task: raw / folder for task, folder in SOURCES.items()}
    config = PartitionConfig(scheme="iid", n_clients=1)

    parallel = build_sources(sources, tmp_path / "parallel", partition_config=config,
                             options=BuildOptions(image_size=32), num_proc=2)

    assert parallel["fingerprint"] == summary["fingerprint"]


def test_strict_fails_on_the_first_unusable_record(raw, tmp_path):
    result = fedmeki("data", "build", "ecg_abnormal", "--source", raw / "ptbxl", "--out", tmp_path / "d", *OPTIONS,
                     "--strict")

    assert result.returncode == 1 and "cannot use record ptbxl-" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "d").exists()


def test_a_built_dataset_trains_predicts_and_scores(built, tmp_path):
    out, _ = built

    trained = fedmeki("train", "--data", out, "--preset", "small", "--rounds", "1", "--batch-size", "8",
                      "--out", tmp_path / "run")
    predicted = fedmeki("predict", "--model", tmp_path / "run", "--data", out, "--out", tmp_path / "sub")
    scored = fedmeki("eval", tmp_path / "sub", "--format", "json")

    assert trained.returncode == 0, trained.stderr
    assert predicted.returncode == 0, predicted.stderr
    assert scored.returncode == 0, scored.stderr
    assert set(json.loads(scored.stdout)["missing_tasks"]) == {
        "sepsis", "enlarged_cardiomediastinum", "medical_vqa", "ecg_noise_clarification"}


def test_push_refuses_a_build_with_credentialed_tasks(built):
    out, _ = built

    refused = fedmeki("data", "push", out, "org/fedmeki", "--dry-run")
    private = fedmeki("data", "push", out, "org/fedmeki", "--dry-run", "--private")

    assert refused.returncode == 2 and "credentialed" in refused.stderr
    assert private.returncode == 0, private.stderr


def test_natural_partition_gives_each_recording_site_its_client(raw, tmp_path):
    result = fedmeki("data", "build", "ecg_abnormal", "--source", raw / "ptbxl", "--out", tmp_path / "sites",
                     "--partition", "natural", "--format", "json")

    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)["tasks"]["ecg_abnormal"]
    clients = [entry["splits"][f"client_{k}"] for k in range(entry["n_clients"])]
    assert entry["n_clients"] >= 2
    # One client per site in sorted order; a patient follows the site of its first record, so a client may
    # also hold later records of its patients from other sites.
    assert len({client["sites"][0] for client in clients}) == entry["n_clients"]
