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
