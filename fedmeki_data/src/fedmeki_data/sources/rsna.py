"""``lung_opacity`` from the RSNA Pneumonia Detection Challenge (Kaggle, stage 2), as unzipped.

Reads ``stage_2_detailed_class_info.csv`` (``patientId,class``, one row per bounding box, so a patient with
three boxes appears three times) and ``stage_2_train_images/<patientId>.dcm``. Each patient is one record:
``Lung Opacity`` -> yes, ``Normal`` -> no, ``No Lung Opacity / Not Normal`` left out. The original code
kept one record per CSV row, so a patient with several boxes could land in both train and test.
RSNA has no natural sites.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pydicom  # noqa: F401  (the [sources] extra; imported here so a missing install is reported up front)

from fedmeki_data.errors import DatasetNotFoundError
from fedmeki_data.sources.base import BuildOptions, Record, Skipped
from fedmeki_data.sources.images import binary_image_record, dicom_file

TASK = "lung_opacity"
CLASS_INFO = "stage_2_detailed_class_info.csv"
IMAGES = "stage_2_train_images"
CLASSES = {"Lung Opacity": 1, "Normal": 0}
"""Classes the task keeps, and their label."""
DROPPED = "No Lung Opacity / Not Normal"
"""The third class: abnormal without opacity, neither yes nor no."""


@dataclass(frozen=True)
class RsnaItem:
    """One RSNA patient: its image path and label, or why it cannot be used (``problem``)."""

    patient_id: str
    image: str
    label: int | None
    problem: str = ""

    @property
    def id(self) -> str:
        return f"rsna-{self.patient_id}"


def list_items(root: Path, options: BuildOptions) -> list[RsnaItem]:
    """One item per patient of ``Lung Opacity`` or ``Normal`` class, sorted by patient id.

    A patient whose rows disagree on the class is kept as an item with a ``problem`` (skipped on load).

    Raises
    ------
    DatasetNotFoundError
        If ``root`` has no readable ``stage_2_detailed_class_info.csv``.
    """
    root = Path(root)
    classes = _patient_classes(root / CLASS_INFO)
    items = []
    for patient_id in sorted(classes):
        found = classes[patient_id]
        image = str(root / IMAGES / f"{patient_id}.dcm")
        if len(found) > 1:
            listed = ", ".join(sorted(found))
            items.append(RsnaItem(patient_id, image, None, f"rows disagree on the class ({listed})"))
        elif (name := next(iter(found))) in CLASSES:
            items.append(RsnaItem(patient_id, image, CLASSES[name]))
        elif name != DROPPED:
            items.append(RsnaItem(patient_id, image, None, f"unknown class {name!r}"))
    return items


def load_item(item: RsnaItem, options: BuildOptions) -> Record | Skipped:
    """Decode the patient's DICOM (VOI LUT applied, MONOCHROME1 inverted) into a record."""
    if item.problem:
        return Skipped(item.id, item.problem)
    return binary_image_record(TASK, item.id, item.image, group=item.patient_id, site="", label=item.label,
                               size=options.image_size, decode=dicom_file, kind="DICOM")


def _patient_classes(path: Path) -> dict[str, set[str]]:
    """Patient id -> the set of classes its rows give (one class in a consistent file)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            if not {"patientId", "class"} <= set(header):
                raise DatasetNotFoundError(f"{path} has columns {header}, not patientId,class.",
                                           hint=f"point --source at the unzipped RSNA folder holding {CLASS_INFO}")
            classes: dict[str, set[str]] = {}
            for row in reader:
                row = {key.strip(): (value or "").strip() for key, value in row.items() if isinstance(key, str)}
                if row["patientId"]:
                    classes.setdefault(row["patientId"], set()).add(row["class"])
    except OSError as error:
        raise DatasetNotFoundError(f"Cannot read {path}: {error.strerror or error}.",
                                   hint=f"point --source at the unzipped RSNA folder holding {CLASS_INFO}") from None
    return classes

