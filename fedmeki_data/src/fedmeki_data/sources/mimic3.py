"""``mortality`` from MIMIC-III, as preprocessed by mimic3-benchmarks (Harutyunyan et al.).

``--source`` is the mimic3-benchmarks ``data`` folder (or its ``in-hospital-mortality`` folder itself, whose
sibling ``root`` then holds the subjects)::

    in-hospital-mortality/{train,test}/listfile.csv                 stay,y_true
    in-hospital-mortality/{train,test}/<subject>_episode<k>_timeseries.csv
    root/[train/|test/]<subject>/stays.csv                          one row per ICU stay of the subject
    root/[train/|test/]<subject>/episode<k>.csv                     Icustay,Ethnicity,...: the stay of episode k

``split_train_and_test`` moves the subject folders into ``root/train`` and ``root/test``; both places and the
unsplit ``root/<subject>`` are searched. The train and test listfiles are pooled: FedMEKI makes its own
splits, by subject.

Each listed stay is one record: ``y_true`` 1 -> yes. Its irregular timeseries is resampled hourly over the
first ``options.hours`` hours: row ``h`` holds, per variable, the last value charted in ``[h, h + 1)``, NaN
where nothing was charted. The window ends at the last hour with a measurement (a stay that ends early is
kept as it is). The Glasgow coma scale columns hold text categories and are mapped to their scores by
:func:`gcs_score`.

Site = the stay's ICU care unit (CCU, CSRU, MICU, SICU, TSICU). mimic3-benchmarks keeps only stays without a
unit transfer and writes ``LAST_CAREUNIT`` to ``stays.csv``, which then equals ``FIRST_CAREUNIT``;
``FIRST_CAREUNIT`` is read when a file has it. Episode ``k`` is matched to its stay through the ``Icustay``
of ``episode<k>.csv``; without that file, through the order in which mimic3-benchmarks numbers episodes
(the stays sorted by ``INTIME``, ``OUTTIME``). A stay that cannot be matched has site ``""``.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fedmeki_data.errors import DatasetNotFoundError
from fedmeki_data.schema import CLINICAL_VARIABLES
from fedmeki_data.sources.base import BuildOptions, Record, Skipped
from fedmeki_data.tasks import get_task

TASK = "mortality"
TASK_FOLDER = "in-hospital-mortality"
SUBJECTS_FOLDER = "root"
SPLITS = ("train", "test")
HOURS_COLUMN = "Hours"

GCS_EYE = "Glascow coma scale eye opening"
GCS_MOTOR = "Glascow coma scale motor response"
GCS_VERBAL = "Glascow coma scale verbal response"
GCS_TOTAL = "Glascow coma scale total"
GCS_RANGES = {GCS_EYE: (1, 4), GCS_MOTOR: (1, 6), GCS_VERBAL: (1, 5), GCS_TOTAL: (3, 15)}
"""Valid score of each Glasgow coma scale column (mimic3-benchmarks keeps MIMIC's spelling "Glascow")."""

GCS_CATEGORIES: dict[str, dict[str, int]] = {
    GCS_EYE: {"none": 1, "no response": 1, "to pain": 2, "to speech": 3, "spontaneously": 4},
    GCS_MOTOR: {
        "no response": 1, "abnormal extension": 2, "abnorm extensn": 2, "abnormal flexion": 3,
        "abnorm flexion": 3, "flex-withdraws": 4, "localizes pain": 5, "obeys commands": 6,
    },
    GCS_VERBAL: {
        "no response": 1, "no response-ett": 1, "et/trach": 1, "incomprehensible sounds": 2, "incomp sounds": 2,
        "inappropriate words": 3, "inapprop words": 3, "confused": 4, "oriented": 5,
    },
}
"""Scores of the text-only categories (MIMIC-III CareVue charting), lower-cased. MetaVision charts the same
categories with the score in front (``4 Spontaneously``, ``1.0 ET/Trach``), which :func:`gcs_score` reads
directly. An intubated patient cannot be scored verbally: ``No Response-ETT`` and ``ET/Trach`` count as 1,
the score MetaVision itself gives them."""

_STAY = re.compile(r"^(\d+)_episode(\d+)_timeseries\.csv$")
_SCORED = re.compile(r"^(\d+(?:\.\d*)?)(?:\s+.*)?$")
_EPS = 1e-6  # mimic3-benchmarks keeps events with -eps < Hours < 48 + eps
_COLUMNS = {variable.mimic3: index for index, variable in enumerate(CLINICAL_VARIABLES) if variable.mimic3}
"""mimic3-benchmarks column -> index of its canonical variable."""


@dataclass(frozen=True)
class Mimic3Stay:
    """One listed ICU stay (an episode of a subject), or why it cannot be used (``problem``).

    Attributes
    ----------
    subject : str
        MIMIC-III ``SUBJECT_ID`` (the patient, the record's group).
    episode : int
        ``k`` of ``episode<k>``.
    timeseries : str
        Path of ``<subject>_episode<k>_timeseries.csv``.
    y_true : str
        The listfile's label, as written.
    subjects_root : str
        The mimic3-benchmarks ``root`` folder, "" when there is none (the site is then unknown).
    """

    subject: str
    episode: int
    timeseries: str
    y_true: str
    subjects_root: str
    problem: str = ""

    @property
    def id(self) -> str:
        return f"mimic3-{self.subject}-episode{self.episode}"


def list_items(root: Path, options: BuildOptions) -> list[Mimic3Stay]:
    """One item per stay of the pooled train and test listfiles, sorted by subject (numerically) and episode.

    Raises
    ------
    DatasetNotFoundError
        If ``root`` holds no ``in-hospital-mortality/{train,test}/listfile.csv``.
    """
    root = Path(root)
    task_folder = root / TASK_FOLDER if (root / TASK_FOLDER).is_dir() else root
    listfiles = [task_folder / split / "listfile.csv" for split in SPLITS]
    listfiles = [path for path in listfiles if path.is_file()]
    if not listfiles:
        raise DatasetNotFoundError(f"No {TASK_FOLDER}/{{train,test}}/listfile.csv under {root}.",
                                   hint="point --source at the mimic3-benchmarks data folder (the one holding "
                                        f"{TASK_FOLDER}/ and {SUBJECTS_FOLDER}/)")
    subjects_root = task_folder.parent / SUBJECTS_FOLDER
    subjects = str(subjects_root) if subjects_root.is_dir() else ""
    items: dict[str, Mimic3Stay] = {}
    for listfile in listfiles:
        for stay, y_true in _read_listfile(listfile):
            if stay in items:
                continue
            match = _STAY.match(stay)
            path = str(listfile.parent / stay)
            if match:
                items[stay] = Mimic3Stay(match[1], int(match[2]), path, y_true, subjects)
            else:
                items[stay] = Mimic3Stay(stay, 0, path, y_true, subjects, f"unrecognised stay name {stay!r}")
    return sorted(items.values(), key=_order)


def load_item(item: Mimic3Stay, options: BuildOptions) -> Record | Skipped:
    """Resample the stay's first ``options.hours`` hours into a ``(hours, V)`` float32 record."""
    if item.problem:
        return Skipped(item.id, item.problem)
    if item.y_true.strip() not in ("0", "1"):
        return Skipped(item.id, f"bad label y_true={item.y_true!r}")
    label = int(item.y_true.strip())
    try:
        with open(item.timeseries, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        return Skipped(item.id, "missing timeseries file")
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        return Skipped(item.id, f"unreadable timeseries file: {type(error).__name__}")
    values = _resample(rows, options.hours)
    if isinstance(values, str):
        return Skipped(item.id, values)
    task = get_task(TASK)
    return Record(id=item.id, group=item.subject, site=_care_unit(item), question=task.instruction,
                  answer=task.label_names[label], label=label, inputs={"clinical": values})


def gcs_score(column: str, text: str) -> float:
    """The score of a Glasgow coma scale cell of mimic3-benchmarks.

    Reads a leading score (``4 Spontaneously`` -> 4, ``1.0 ET/Trach`` -> 1, ``15`` -> 15), else looks the
    text-only category up in :data:`GCS_CATEGORIES` (case and spacing ignored).

    Raises
    ------
    ValueError
        For an unknown category or a score outside the column's range.

    Examples
    --------
    >>> gcs_score("Glascow coma scale eye opening", "4 Spontaneously")
    4.0
    >>> gcs_score("Glascow coma scale motor response", "Obeys Commands")
    6.0
    >>> gcs_score("Glascow coma scale verbal response", "1.0 ET/Trach")
    1.0
    """
    cleaned = " ".join(text.split())
    scored = _SCORED.match(cleaned)
    if scored:
        score = float(scored[1])
    else:
        categories = GCS_CATEGORIES.get(column, {})
        if cleaned.lower() not in categories:
            raise ValueError(f"unknown {column} category {text!r}")
        score = float(categories[cleaned.lower()])
    low, high = GCS_RANGES[column]
    if not low <= score <= high:
        raise ValueError(f"{column} score {score:g} outside {low}-{high}")
    return score


def _care_unit(item: Mimic3Stay) -> str:
    """The ICU care unit of the stay (``FIRST_CAREUNIT``, else ``LAST_CAREUNIT``), "" when it cannot be matched."""
    if not item.subjects_root:
        return ""
    base = Path(item.subjects_root)
    folder = next((path for path in (base / item.subject, base / "train" / item.subject,
                                     base / "test" / item.subject) if (path / "stays.csv").is_file()), None)
    if folder is None:
        return ""
    try:
        stays = _read_rows(folder / "stays.csv")
        episode = _read_rows(folder / f"episode{item.episode}.csv") if (
            folder / f"episode{item.episode}.csv").is_file() else None
    except (OSError, UnicodeDecodeError, csv.Error):
        return ""
    if episode:
        icustay = _normal_id(episode[0].get("Icustay", ""))
        stay = next((row for row in stays if _normal_id(row.get("ICUSTAY_ID", "")) == icustay), None)
    else:
        ordered = sorted(stays, key=lambda row: (row.get("INTIME", ""), row.get("OUTTIME", "")))
        stay = ordered[item.episode - 1] if 1 <= item.episode <= len(ordered) else None
    if stay is None:
        return ""
    return (stay.get("FIRST_CAREUNIT") or stay.get("LAST_CAREUNIT") or "").strip()


def _order(item: Mimic3Stay) -> tuple:
    """Subjects in numeric order (names that are not numbers last), then episodes."""
    numeric = item.subject.isdigit()
    return (not numeric, int(item.subject) if numeric else 0, item.subject, item.episode)


def _resample(rows: list[list[str]], hours: int) -> np.ndarray | str:
    """Hourly ``(n, V)`` float32 values of a timeseries CSV (header first), or why the file cannot be used.

    Every row is checked, inside the window or not, so whether a stay is skipped never depends on ``hours``.
    """
    if not rows or not rows[0] or rows[0][0].strip().lstrip("\ufeff") != HOURS_COLUMN:
        return "bad CSV header (no Hours column first)"
    header = [name.strip() for name in rows[0]]
    mapped = [(position, name, _COLUMNS[name]) for position, name in enumerate(header) if name in _COLUMNS]
    parsed: list[tuple[float, list[tuple[int, float]]]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue  # a blank line
        if len(row) != len(header):
            return f"bad CSV row {line}: {len(row)} fields, expected {len(header)}"
        try:
            time = _number(row[0])
            cells = [(index, _value(name, row[position])) for position, name, index in mapped if row[position].strip()]
        except ValueError as error:
            return f"bad CSV row {line}: {error}"
        parsed.append((time, [(index, value) for index, value in cells if not math.isnan(value)]))
    values = np.full((hours, len(CLINICAL_VARIABLES)), np.nan, dtype=np.float32)
    last = -1
    for time, cells in sorted(parsed, key=lambda pair: pair[0]):  # stable: equal times keep file order
        if time <= -_EPS or not cells:
            continue
        hour = math.floor(max(time, 0.0))
        if hour >= hours:
            continue
        for index, value in cells:
            values[hour, index] = value
        last = max(last, hour)
    if last < 0:
        return f"no measurement in the first {hours} hours"
    return values[: last + 1]


def _value(column: str, text: str) -> float:
    return gcs_score(column, text) if column in GCS_RANGES else _number(text)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"not a number: {text.strip()!r}") from None
    if math.isinf(value):
        raise ValueError(f"not a finite number: {text.strip()!r}")
    return value


def _read_listfile(path: Path) -> list[tuple[str, str]]:
    try:
        header, rows = _read_table(path)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DatasetNotFoundError(f"Cannot read {path}: {error}.",
                                   hint="regenerate it with mimic3-benchmarks' create_in_hospital_mortality") from None
    if not {"stay", "y_true"} <= set(header):
        raise DatasetNotFoundError(f"{path} has columns {header}, not stay,y_true.",
                                   hint="point --source at the mimic3-benchmarks data folder")
    return [(row["stay"].strip(), row["y_true"].strip()) for row in rows if row["stay"].strip()]


def _read_rows(path: Path) -> list[dict[str, str]]:
    return _read_table(path)[1]


def _read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV file, names and missing cells as stripped strings."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        rows = [{name: (row.get(raw) or "") for raw, name in zip(reader.fieldnames or [], header)}
                for row in reader]
    return header, rows


def _normal_id(text: str) -> str:
    """``ICUSTAY_ID`` as written by pandas, ``200001`` or ``200001.0``, in one form."""
    text = text.strip()
    try:
        return str(int(float(text)))
    except ValueError:
        return text
