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


class HubCache:
    """An offline Hub cache at ``path``: ``publish`` puts a folder in it as a repo's ``main``.

    The layout is the one huggingface_hub resolves with ``HF_HUB_OFFLINE=1``: ``models--org--name/refs/main``
    holding a commit hash, and the files in ``snapshots/<commit>/``.
    """

    def __init__(self, path):
        self.path = path

    def publish(self, folder, repo_id):
        """Copy ``folder`` into the cache as ``repo_id`` at a commit derived from the id; return the commit."""
        import hashlib
        import shutil

        commit = hashlib.sha1(repo_id.encode()).hexdigest()
        repo = self.path / f"models--{repo_id.replace('/', '--')}"
        shutil.copytree(folder, repo / "snapshots" / commit)
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(commit)
        return commit


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """A :class:`HubCache` that is this process's cache (and, through the environment, that of the processes
    tests start), offline."""
    import huggingface_hub.constants

    cache = HubCache(tmp_path / "hf-cache")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache.path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # huggingface_hub reads both once, at import: this process sees them through its constants.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache.path))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return cache
