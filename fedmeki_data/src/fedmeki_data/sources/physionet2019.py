"""``sepsis`` from the PhysioNet/Computing in Cardiology Challenge 2019, as downloaded.

``--source`` holds ``training_setA/`` and ``training_setB/`` (the two hospital systems, the sites ``setA``
and ``setB``), directly or inside ``training/`` as on PhysioNet (``challenge-2019/1.0.0/training/``); it may
also be one of the two set folders itself. Each ``<patient>.psv`` is one patient: pipe-separated, a header
row, one row per ICU hour, ``NaN`` where not measured, ``SepsisLabel`` last.

Label: 1 if any hour has ``SepsisLabel`` 1. ``SepsisLabel`` already turns 1 six hours before clinical onset,
so the window stops before the first positive hour (a window that reaches it leaks the label) and keeps at
most the last ``options.max_hours`` hours before that; a negative patient's window ends with the stay. A
patient positive from the first hour has no hour to predict from and is skipped.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fedmeki_data.errors import DatasetNotFoundError
from fedmeki_data.schema import CLINICAL_VARIABLES
from fedmeki_data.sources.base import BuildOptions, Record, Skipped
from fedmeki_data.tasks import get_task

TASK = "sepsis"
SETS = {"training_setA": "setA", "training_setB": "setB"}
"""Folder of each hospital system -> its site."""
LABEL_COLUMN = "SepsisLabel"
_COLUMNS = [(variable.physionet2019, index) for index, variable in enumerate(CLINICAL_VARIABLES)
            if variable.physionet2019]
"""PSV column -> index of its canonical variable."""


@dataclass(frozen=True)
class SepsisPatient:
    """One patient file of set A or B."""

    path: str
    site: str

    @property
    def stem(self) -> str:
        return Path(self.path).stem

    @property
    def id(self) -> str:
        return f"physionet2019-{self.stem}"


def list_items(root: Path, options: BuildOptions) -> list[SepsisPatient]:
    """One item per ``.psv`` file, sorted by site and patient.

    Raises
    ------
    DatasetNotFoundError
        If ``root`` holds no ``training_setA``/``training_setB`` folder with ``.psv`` files.
    """
    root = Path(root)
    items = [SepsisPatient(str(path), site) for folder, site in _set_folders(root)
             for path in folder.glob("*.psv") if path.is_file()]
    if not items:
        raise DatasetNotFoundError(f"No training_setA/*.psv or training_setB/*.psv under {root}.",
                                   hint="point --source at the PhysioNet 2019 challenge folder holding training_setA/ "
                                        "and training_setB/ (or their training/ folder)")
    return sorted(items, key=lambda item: (item.site, item.stem))


def load_item(item: SepsisPatient, options: BuildOptions) -> Record | Skipped:
    """The patient's hours before the first positive one (at most the last ``options.max_hours``)."""
    try:
        with open(item.path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle, delimiter="|"))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        return Skipped(item.id, f"unreadable PSV file: {type(error).__name__}")
    parsed = _parse(rows)
    if isinstance(parsed, str):
        return Skipped(item.id, parsed)
    values, labels = parsed
    positive = np.flatnonzero(labels == 1)
    end = int(positive[0]) if positive.size else len(labels)
    if end == 0:
        return Skipped(item.id, "positive from the first hour: no hour before the first positive one")
    label = int(positive.size > 0)
    task = get_task(TASK)
    return Record(id=item.id, group=item.stem, site=item.site, question=task.instruction,
                  answer=task.label_names[label], label=label,
                  inputs={"clinical": values[max(0, end - options.max_hours):end]})


def _set_folders(root: Path) -> list[tuple[Path, str]]:
    if root.name in SETS:
        return [(root, SETS[root.name])]
    for base in (root, root / "training"):
        found = [(base / name, site) for name, site in SETS.items() if (base / name).is_dir()]
        if found:
            return found
    return []


def _parse(rows: list[list[str]]) -> tuple[np.ndarray, np.ndarray] | str:
    """``(hours, V)`` float32 values and the hourly labels of a PSV file, or why it cannot be used.

    Every cell of every row must be a number or ``NaN``, and every label 0 or 1.
    """
    if not rows:
        return "empty PSV file"
    header = [name.strip().lstrip("\ufeff") for name in rows[0]]
    missing = [name for name, _ in _COLUMNS if name not in header] + [LABEL_COLUMN] * (LABEL_COLUMN not in header)
    if missing:
        return f"bad PSV header: no column {', '.join(missing)}"
    positions = [(header.index(name), index) for name, index in _COLUMNS]
    label_at = header.index(LABEL_COLUMN)
    data = [(line, row) for line, row in enumerate(rows[1:], start=2) if row]
    if not data:
        return "no rows"
    values = np.full((len(data), len(CLINICAL_VARIABLES)), np.nan, dtype=np.float32)
    labels = np.zeros(len(data), dtype=np.int64)
    for hour, (line, row) in enumerate(data):
        if len(row) != len(header):
            return f"bad PSV row {line}: {len(row)} fields, expected {len(header)}"
        try:
            numbers = [float(cell) for cell in row]
        except ValueError:
            bad = next(cell for cell in row if not _is_number(cell))
            return f"bad PSV row {line}: not a number: {bad.strip()!r}"
        if any(math.isinf(number) for number in numbers):
            return f"bad PSV row {line}: not a finite number"
        if numbers[label_at] not in (0.0, 1.0):
            return f"bad PSV row {line}: {LABEL_COLUMN} {row[label_at].strip()!r} is not 0 or 1"
        labels[hour] = int(numbers[label_at])
        for position, index in positions:
            values[hour, index] = numbers[position]
    return values, labels


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
