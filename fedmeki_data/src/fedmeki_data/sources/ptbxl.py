"""``ecg_abnormal`` from PTB-XL 1.0.3 (PhysioNet), as downloaded and unzipped.

Reads ``ptbxl_database.csv`` (one row per ECG) and each row's 100 Hz record ``records100/NNNNN/<id>_lr``
(``.hea`` + ``.dat``, read by ``wfdb``). ``scp_codes`` is a Python dict literal parsed with
``ast.literal_eval`` (the original script called ``eval`` on it); the label is no (normal) iff the ``NORM``
statement's likelihood exceeds 50, yes otherwise. A record's group is its patient (PTB-XL holds several
ECGs of many patients) and its site the recording site (``site`` column, ``site-<n>``).

Records are checked, not trusted: 100 Hz, 1000 samples and the twelve standard leads (PTB-XL's headers
spell them ``AVR``/``AVL``/``AVF``; they are matched without case and reordered to
:data:`~fedmeki_data.schema.ECG_LEADS`), in millivolts (µV records are converted), with no missing sample.
A missing or truncated record is skipped, never a crash.
"""

from __future__ import annotations

import ast
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wfdb

from fedmeki_data.errors import DatasetNotFoundError
from fedmeki_data.schema import ECG_LEADS, ECG_SAMPLES, ECG_SAMPLING_RATE
from fedmeki_data.sources.base import BuildOptions, Record, Skipped, error_reason
from fedmeki_data.tasks import get_task

TASK = "ecg_abnormal"
DATABASE = "ptbxl_database.csv"
COLUMNS = ("ecg_id", "patient_id", "site", "scp_codes", "filename_lr")
"""Columns of ``ptbxl_database.csv`` this module reads (the file has 28)."""
NORMAL_THRESHOLD = 50.0
"""A record is normal (label no) iff ``scp_codes['NORM']`` is above this likelihood (%)."""
SEARCH_DEPTH = 2
"""How deep under the given folder :func:`find_ptbxl` looks for ``ptbxl_database.csv``."""
_HINT = "point --source at the unzipped PTB-XL 1.0.3 folder (the one holding ptbxl_database.csv and records100/)"
_LEAD_INDEX = {name.upper(): i for i, name in enumerate(ECG_LEADS)}
_TO_MILLIVOLTS = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3}


class RecordError(ValueError):
    """A WFDB record that cannot be used; the message is the reason reported for the skipped record."""


@dataclass(frozen=True)
class PtbxlItem:
    """One row of ``ptbxl_database.csv``: where its record is, its patient, site and label.

    ``label`` is None and ``problem`` says why when the row itself is unusable (e.g. unparseable
    ``scp_codes``); ``load_item`` then skips it.
    """

    ecg_id: int
    root: str
    filename_lr: str
    group: str
    site: str
    label: int | None
    problem: str = ""

    @property
    def id(self) -> str:
        return f"ptbxl-{self.ecg_id:05d}"


def find_ptbxl(root: str | Path, *, hint: str = _HINT) -> Path:
    """The PTB-XL folder: ``root`` itself or the first folder at most :data:`SEARCH_DEPTH` levels below it
    (shallowest, then in name order) that holds ``ptbxl_database.csv``.

    Raises
    ------
    DatasetNotFoundError
        If there is none.
    """
    root = Path(root)
    for depth in range(SEARCH_DEPTH + 1):
        found = sorted(path for path in root.glob("/".join(["*"] * depth + [DATABASE])) if path.is_file())
        if found:
            return found[0].parent
    raise DatasetNotFoundError(f"No {DATABASE} in {root} or the folders {SEARCH_DEPTH} levels below it.", hint=hint)


def list_items(root: Path, options: BuildOptions) -> list[PtbxlItem]:
    """One item per row of ``ptbxl_database.csv`` (found by :func:`find_ptbxl`), sorted by ``ecg_id``.

    Raises
    ------
    DatasetNotFoundError
        If there is no readable ``ptbxl_database.csv`` with the expected columns.
    """
    folder = find_ptbxl(root)
    items: dict[int, PtbxlItem] = {}
    for row in _read_rows(folder / DATABASE):
        item = _item(row, folder)
        if item is not None and item.ecg_id not in items:
            items[item.ecg_id] = item
    return [items[ecg_id] for ecg_id in sorted(items)]


def load_item(item: PtbxlItem, options: BuildOptions) -> Record | Skipped:
    """Read the item's 100 Hz record into a record, or say why it cannot be used."""
    if item.problem:
        return Skipped(item.id, item.problem)
    try:
        ecg = read_record(item.root, item.filename_lr)
    except RecordError as error:
        return Skipped(item.id, str(error))
    task = get_task(TASK)
    return Record(id=item.id, group=item.group, site=item.site, question=task.instruction,
                  answer=task.label_names[item.label], label=item.label, inputs={"ecg": ecg})


def read_record(root: str | Path, filename_lr: str) -> np.ndarray:
    """Read a PTB-XL 100 Hz record as the ``ecg`` column wants it.

    Parameters
    ----------
    root : str or Path
        The PTB-XL folder.
    filename_lr : str
        The record's ``filename_lr`` (``records100/00000/00001_lr``, no extension).

    Returns
    -------
    numpy.ndarray
        float32 (1000, 12) in millivolts, time first, leads in :data:`~fedmeki_data.schema.ECG_LEADS` order.

    Raises
    ------
    RecordError
        A ``ValueError`` whose message is the skip reason: ``truncated WFDB: ...`` for a missing or
        truncated record, ``unexpected WFDB record: ...`` for another rate, length, lead set or unit,
        ``NaN in WFDB record: ...`` for missing samples.
    """
    try:
        signal, fields = wfdb.rdsamp(str(Path(root) / filename_lr))
    except FileNotFoundError as error:
        raise RecordError(f"truncated WFDB: {filename_lr}: missing {Path(error.filename or '').name}") from None
    except Exception as error:  # noqa: BLE001  (wfdb raises ValueError, IndexError, ... for a cut file)
        raise RecordError(f"truncated WFDB: {filename_lr}: {error_reason(error)}") from None
    if fields["fs"] != ECG_SAMPLING_RATE or signal.shape[0] != ECG_SAMPLES:
        raise RecordError(f"unexpected WFDB record: {filename_lr}: {signal.shape[0]} samples at {fields['fs']} Hz, "
                          f"expected {ECG_SAMPLES} at {ECG_SAMPLING_RATE} Hz")
    order = _lead_order(fields["sig_name"], filename_lr)
    scale = np.array([_millivolts_per_unit(unit, filename_lr) for unit in fields["units"]])[order]
    ecg = signal[:, order]
    if np.isnan(ecg).any():
        raise RecordError(f"NaN in WFDB record: {filename_lr}: {int(np.isnan(ecg).sum())} missing samples")
    if (scale != 1.0).any():
        ecg = ecg * scale
    return ecg.astype(np.float32)


def _lead_order(names: list[str], filename_lr: str) -> list[int]:
    """Column of each of ECG_LEADS in a record with signals ``names`` (matched without case)."""
    index = {str(name).strip().upper(): column for column, name in enumerate(names)}
    if len(names) != len(ECG_LEADS) or set(index) != set(_LEAD_INDEX):
        raise RecordError(f"unexpected WFDB record: {filename_lr}: leads {', '.join(map(str, names))}, "
                          f"expected {', '.join(ECG_LEADS)}")
    return [index[name.upper()] for name in ECG_LEADS]


def _millivolts_per_unit(unit: str, filename_lr: str) -> float:
    try:
        return _TO_MILLIVOLTS[str(unit).strip().lower()]
    except KeyError:
        raise RecordError(f"unexpected WFDB record: {filename_lr}: unit {unit!r}, expected mV") from None


def _read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of ``ptbxl_database.csv``: the columns of :data:`COLUMNS`, as stripped strings."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            keys = {name.strip(): name for name in reader.fieldnames or []}
            missing = [name for name in COLUMNS if name not in keys]
            rows = [] if missing else [{name: (row[keys[name]] or "").strip() for name in COLUMNS} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DatasetNotFoundError(f"Cannot read {path}: {error_reason(error)}.", hint=_HINT) from None
    if missing:
        raise DatasetNotFoundError(f"{path} lacks the columns {', '.join(missing)}.", hint=_HINT)
    return rows


def _item(row: dict[str, str], folder: Path) -> PtbxlItem | None:
    """The item of one CSV row (None for a row without an integer ecg_id, which has no id to report)."""
    ecg_id = _integer(row["ecg_id"])
    if ecg_id is None:
        return None
    patient = _integer(row["patient_id"])
    site = _integer(row["site"])
    label, problem = _label(row["scp_codes"])
    if not row["filename_lr"]:
        problem = problem or "no filename_lr"
    return PtbxlItem(ecg_id=ecg_id, root=str(folder), filename_lr=row["filename_lr"],
                     group=str(patient) if patient is not None else f"ptbxl-{ecg_id:05d}",
                     site="" if site is None else f"site-{site}", label=label, problem=problem)


def _label(scp_codes: str) -> tuple[int | None, str]:
    """(label, "") from the ``scp_codes`` text, or (None, why) when it is not a dict literal."""
    try:
        codes = ast.literal_eval(scp_codes)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        codes = None
    if not isinstance(codes, dict):
        return None, f"unparseable scp_codes: {scp_codes[:60]!r}"
    try:
        normal = float(codes.get("NORM", 0)) > NORMAL_THRESHOLD
    except (TypeError, ValueError):
        return None, f"unparseable scp_codes: NORM likelihood {codes.get('NORM')!r}"
    return (0 if normal else 1), ""


def _integer(text: str) -> int | None:
    """``15709.0`` -> 15709 (pandas wrote integer columns with gaps as floats); blank or other -> None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None

