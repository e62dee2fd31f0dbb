"""Sizes of the synthetic demo dataset (a module of its own so the CLI can list them without heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SizeName = Literal["tiny", "small", "medium"]


@dataclass(frozen=True)
class DemoSize:
    """Records per training task, records per validation task, and stored image resolution (pixels)."""

    training: int
    validation: int
    image_size: int


SIZES: dict[str, DemoSize] = {
    "tiny": DemoSize(training=160, validation=60, image_size=64),
    "small": DemoSize(training=1000, validation=300, image_size=128),
    "medium": DemoSize(training=4000, validation=1000, image_size=224),
}
"""``tiny`` for unit tests, ``small`` (the default) for the demo on a laptop CPU, ``medium`` for benchmarks."""
