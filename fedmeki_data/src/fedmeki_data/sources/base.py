"""The contract every raw-source module follows, and the records it yields.

A source module (one per raw source, e.g. ``ptbxl.py``) exposes exactly:

- ``TASK``: the task id it builds;
- ``list_items(root: Path, options: BuildOptions) -> list[Item]``: a cheap pass over the source's
  metadata (CSV/JSON rows, file names), **sorted** so seeded shuffles never depend on the file system,
  with records the task does not use already left out (e.g. RSNA's third class). An item is any small
  picklable object (paths, ids, labels), never pixel or signal data;
- ``load_item(item, options: BuildOptions) -> Record | Skipped``: decode one item (DICOM, WFDB, CSV)
  into a :class:`Record`, or say why it cannot be used. It must not raise for a bad record: a broken
  file is a :class:`Skipped` with a reason, so a build can report it (or fail with ``--strict``).

``load_item`` runs in worker processes with ``--num-proc``, so it must be a module-level function and
items must pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class BuildOptions:
    """Options of a build that change what records contain.

    Attributes
    ----------
    image_size : int
        Stored resolution of images (square, grayscale PNG), in pixels.
    hours : int
        ``mortality``: the window from the start of the ICU stay, in hours (48 as mimic3-benchmarks; 24
        reproduces the paper's 24 steps).
    max_hours : int
        ``sepsis``: the longest window kept (it always ends before the first positive hour).
    """

    image_size: int = 224
    hours: int = 48
    max_hours: int = 168


@dataclass(frozen=True)
class Record:
    """One record of a task, ready for the dataset contract.

    Attributes
    ----------
    id : str
        Stable id from the source (``ptbxl-00001``).
    group : str
        The patient: records of one group never land in different splits or clients.
    site : str
        Natural site ("" when the source has none).
    question, answer : str
        The prompt and the target text (``"yes"``/``"no"`` for binary tasks).
    label : int or None
        1 = yes, 0 = no for binary tasks, None for free-text tasks.
    inputs : dict
        Modality columns: ``image`` -> the cell of :func:`fedmeki_data.encoding.image_value` (grayscale
        uint8 resized to ``image_size`` square: :func:`fedmeki_data.sources.images.stored_image`); ``ecg`` -> float32
        ndarray (1000, 12) in mV; ``clinical`` -> float32 ndarray (hours, len(CLINICAL_VARIABLES)) with NaN
        where not measured.
    """

    id: str
    group: str
    site: str
    question: str
    answer: str
    label: int | None
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Skipped:
    """A source record that cannot be used, and why (``unreadable DICOM``, ``truncated WFDB``, ...)."""

    id: str
    reason: str


def error_reason(error: BaseException) -> str:
    """``Type: first line of the message``: how a skip report names a decoding failure."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
