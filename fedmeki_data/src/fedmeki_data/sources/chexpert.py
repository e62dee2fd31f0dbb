"""``enlarged_cardiomediastinum`` from the CheXpert v1.0 validation set (234 images), as unzipped.

Reads ``CheXpert-v1.0-small/valid.csv`` (``Path, Sex, Age, Frontal/Lateral, AP/PA, No Finding, Enlarged
Cardiomediastinum, ...``). ``Path`` is relative to the folder above the dataset
(``CheXpert-v1.0-small/valid/patient64541/study1/view1_frontal.jpg``); ``--source`` may point at that
parent or at the dataset folder itself. ``Enlarged Cardiomediastinum`` 1.0 -> yes; 0.0, -1.0 (uncertain)
and blank -> no, as the original code did. Frontal and lateral views are both kept. No natural sites.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fedmeki_data.errors import DatasetNotFoundError
from fedmeki_data.sources.base import BuildOptions, Record, Skipped
from fedmeki_data.sources.images import binary_image_record

TASK = "enlarged_cardiomediastinum"
CSV_NAME = "valid.csv"
DATASET_FOLDERS = ("CheXpert-v1.0-small", "CheXpert-v1.0")
"""Dataset folder names (downsampled and full resolution); ``--source`` may be one of them or their parent."""
COLUMN = "Enlarged Cardiomediastinum"
_NEGATIVE = (0.0, -1.0)


@dataclass(frozen=True)
class ChexpertItem:
    """One CheXpert image: its path, patient/study/view folders and label, or why it cannot be used."""

    image: str
    patient: str
    study: str
    view: str
    label: int | None
    problem: str = ""

    @property
    def id(self) -> str:
        return f"chexpert-{self.patient}-{self.study}-{self.view}"


def list_items(root: Path, options: BuildOptions) -> list[ChexpertItem]:
    """One item per ``valid.csv`` row, sorted by id.

    Raises
    ------
    DatasetNotFoundError
        If neither ``root`` nor a CheXpert dataset folder inside it holds a readable ``valid.csv``.
    """
    dataset = _dataset_folder(Path(root))
    path = dataset / CSV_NAME
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            if not {"Path", COLUMN} <= set(header):
                raise DatasetNotFoundError(f"{path} has no Path and {COLUMN} columns.",
                                           hint="point --source at the unzipped CheXpert-v1.0-small folder")
            rows = [{key.strip(): (value or "").strip() for key, value in row.items() if isinstance(key, str)}
                    for row in reader]
    except OSError as error:
        raise DatasetNotFoundError(f"Cannot read {path}: {error.strerror or error}.",
                                   hint="point --source at the unzipped CheXpert-v1.0-small folder") from None
    items = [_item(dataset, row["Path"], row[COLUMN]) for row in rows if row["Path"]]
    return sorted(items, key=lambda item: (item.id, item.image))


def load_item(item: ChexpertItem, options: BuildOptions) -> Record | Skipped:
    """Decode one JPG into a record (grayscale, stored size)."""
    if item.problem:
        return Skipped(item.id, item.problem)
    return binary_image_record(TASK, item.id, item.image, group=item.patient, site="", label=item.label,
                               size=options.image_size)


def _dataset_folder(root: Path) -> Path:
    for candidate in (root, *(root / name for name in DATASET_FOLDERS)):
        if (candidate / CSV_NAME).is_file():
            return candidate
    raise DatasetNotFoundError(f"No {CSV_NAME} in {root} or in {root}/{DATASET_FOLDERS[0]}.",
                               hint="point --source at the unzipped CheXpert-v1.0-small folder or its parent")


def _item(dataset: Path, relative: str, value: str) -> ChexpertItem:
    """The item of one row; ``Path`` loses its first part (the dataset folder, whatever it is named)."""
    path = PurePosixPath(relative.replace("\\", "/"))
    parts = path.parts[1:] if path.parts and path.parts[0].lower().startswith("chexpert") else path.parts
    image = str(dataset.joinpath(*parts))
    if len(parts) < 3:
        return ChexpertItem(image, "", "", path.stem, None, f"Path {relative!r} names no patient/study folders")
    label, problem = _label(value)
    return ChexpertItem(image, parts[-3], parts[-2], path.stem, label, problem)


def _label(value: str) -> tuple[int | None, str]:
    if not value:
        return 0, ""
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if number == 1.0:
        return 1, ""
    if number in _NEGATIVE:
        return 0, ""
    return None, f"unexpected {COLUMN} value {value!r}"

