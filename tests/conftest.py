"""Shared fixtures: one tiny demo build per test session (per xdist worker)."""

from __future__ import annotations

import pytest

from fedmeki_data.synthetic.demo import build_demo


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory):
    """A `tiny` demo build with the default (paper) partition; tests must not modify it."""
    out = tmp_path_factory.mktemp("tiny-demo") / "data"
    build_demo(out, size="tiny")
    return out


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """``publish(folder, repo_id) -> commit``: put a folder into an offline Hub cache as ``repo_id``'s main.

    The cache has the layout huggingface_hub resolves with ``HF_HUB_OFFLINE=1``:
    ``models--org--name/refs/main`` holding a commit hash, and the files in ``snapshots/<commit>/``. It is
    this process's cache (and, through the environment, that of the processes tests start).
    """
    import hashlib
    import shutil

    import huggingface_hub.constants

    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # huggingface_hub reads both once, at import: this process sees them through its constants.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)

    def publish(folder, repo_id):
        commit = hashlib.sha1(repo_id.encode()).hexdigest()
        repo = cache / f"models--{repo_id.replace('/', '--')}"
        shutil.copytree(folder, repo / "snapshots" / commit)
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(commit)
        return commit

    return publish
