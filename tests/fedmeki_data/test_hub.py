"""Hub I/O: loading from a Hub-cache snapshot offline, integrity checks, and the publishing rules."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from fedmeki_data.errors import DatasetIntegrityError, DatasetNotFoundError, PublishRefusedError, UnknownTaskError
from fedmeki_data.hub import load_task, push_dataset, resolve_dataset
from fedmeki_data.manifest import MANIFEST_NAME, read_manifest, verify_files
from fedmeki_data.schema import split_names
from fedmeki_data.tasks import TASKS

REPO = "fedmeki-org/fedmeki-demo"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def hub_cache(tiny_demo, tmp_path_factory):
    """A Hugging Face cache that holds a snapshot of the tiny demo as dataset repo REPO."""
    cache = tmp_path_factory.mktemp("hub-cache")
    repo = cache / f"datasets--{REPO.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    shutil.copytree(tiny_demo, repo / "snapshots" / COMMIT)
    return cache


def test_every_config_and_split_loads_from_the_cache_offline(hub_cache):
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    for task_id, task in TASKS.items():
        for split in split_names(task, 5):
            rows = load_task(REPO, task_id, split=split, cache_dir=hub_cache)
            assert rows.num_rows > 0


def test_cli_resolves_a_repo_id_from_the_cache_offline(hub_cache, tiny_demo):
    env = {**os.environ, "HF_HUB_CACHE": str(hub_cache), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "fedmeki_cli.main", "data", "info", REPO, "--format", "json"],
                            env=env, capture_output=True, text=True, check=True)
    summary = json.loads(result.stdout)
    assert summary["fingerprint"] == read_manifest(tiny_demo)["fingerprint"]
    assert summary["verified"] is True


def test_unknown_repo_offline_is_a_clear_error(hub_cache):
    with pytest.raises(DatasetNotFoundError, match="Cannot resolve dataset repo 'nobody/nothing'"):
        resolve_dataset("nobody/nothing", cache_dir=hub_cache)
    with pytest.raises(DatasetNotFoundError, match="No dataset folder"):
        resolve_dataset("./no/such/folder/here")


def test_unknown_task_or_split_names_what_exists(tiny_demo):
    with pytest.raises(UnknownTaskError, match="has no task 'pneumonia'"):
        load_task(tiny_demo, "pneumonia")
    with pytest.raises(UnknownTaskError, match="has no split 'client_0'"):
        load_task(tiny_demo, "sepsis", split="client_0")


def test_tampered_files_are_detected(tiny_demo, tmp_path):
    copy = shutil.copytree(tiny_demo, tmp_path / "copy")
    verify_files(copy, read_manifest(copy))
    victim = copy / "covid19" / "test-00000-of-00001.parquet"
    victim.write_bytes(victim.read_bytes()[:-10])
    with pytest.raises(DatasetIntegrityError, match="does not match its sha256"):
        verify_files(copy, read_manifest(copy))
    victim.unlink()
    with pytest.raises(DatasetIntegrityError, match="is missing"):
        verify_files(copy, read_manifest(copy))


class RecordingApi:
    """Stands in for huggingface_hub.HfApi at the network boundary and records each call."""

    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def update_repo_settings(self, repo_id, **kwargs):
        self.calls.append(("update_repo_settings", repo_id, kwargs))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs["repo_id"], kwargs))


@pytest.fixture
def credentialed_build(tiny_demo, tmp_path):
    """The tiny demo relabelled as if its mortality task came from MIMIC-III."""
    copy = shutil.copytree(tiny_demo, tmp_path / "mimic")
    manifest = json.loads((copy / MANIFEST_NAME).read_text())
    manifest["tasks"]["mortality"]["credentialed"] = True
    (copy / MANIFEST_NAME).write_text(json.dumps(manifest))
    return copy


def test_open_push_uploads_every_file(tiny_demo):
    api = RecordingApi()
    files = push_dataset(tiny_demo, REPO, api=api)
    assert files == push_dataset(tiny_demo, REPO, dry_run=True)
    assert {"README.md", MANIFEST_NAME, "sepsis/test-00000-of-00001.parquet"} <= set(files)
    assert [call[0] for call in api.calls] == ["create_repo", "upload_folder"]
    assert api.calls[0][2]["private"] is False
    assert api.calls[1][2]["allow_patterns"] == files


def test_credentialed_build_is_refused_unless_private_or_gated(credentialed_build):
    api = RecordingApi()
    with pytest.raises(PublishRefusedError, match="credentialed data openly \\(mortality\\)"):
        push_dataset(credentialed_build, REPO, api=api)
    assert api.calls == []
    push_dataset(credentialed_build, REPO, private=True, api=api)
    assert api.calls[0] == ("create_repo", REPO, {"repo_type": "dataset", "private": True, "exist_ok": True})
    gated = RecordingApi()
    push_dataset(credentialed_build, REPO, gated=True, api=gated)
    assert ("update_repo_settings", REPO, {"repo_type": "dataset", "gated": "manual"}) in gated.calls


def test_push_checks_files_before_uploading(tiny_demo, tmp_path):
    copy = shutil.copytree(tiny_demo, tmp_path / "copy")
    (copy / "sepsis" / "test-00000-of-00001.parquet").write_bytes(b"not parquet")
    api = RecordingApi()
    with pytest.raises(DatasetIntegrityError):
        push_dataset(copy, REPO, api=api)
    assert api.calls == []
