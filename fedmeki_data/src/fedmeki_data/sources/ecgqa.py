"""``ecg_noise_clarification`` from ECG-QA (PTB-XL template questions) and the PTB-XL records they ask about.

The source folder holds the ECG-QA checkout, whose ``ecgqa/ptbxl/template/{train,valid,test}/*.json`` lie
in it or in one folder below it (``<source>/ecg-qa/ecgqa/...``), and PTB-XL 1.0.3: the folder with
``ptbxl_database.csv`` and ``records100/``, found at most two levels down (``<source>/ptb-xl/``). The three
ECG-QA splits are merged (the task is test-only, as in the paper); the ``paraphrased/`` twin is ignored.

Kept: questions with ``attribute_type == "noise"`` about one ECG. Comparison questions
(``comparison_*`` types) name two ``ecg_id`` s and need two signals, which a record of this task (one
``ecg``) cannot hold, so they are left out; the original code joined the two record paths into one string
that no reader can open.

A question is one record: the ECG-QA question, the answer list joined with ", " as the synthetic demo
writes it ("none" for an empty list; the answers themselves stay verbatim, e.g. ``lead I, lead V1``), the
PTB-XL record read by :func:`fedmeki_data.sources.ptbxl.read_record`, and the ECG's patient as group.
ECG-QA's ``question_id`` numbers a question, shared by every sample that asks it, and ``sample_id``
numbers the samples of one split, so a record's id is ``ecgqa-<split>-<sample_id, 6 digits>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from fedmeki_data.errors import DatasetNotFoundError
from fedmeki_data.sources import ptbxl
from fedmeki_data.sources.base import BuildOptions, Record, Skipped

TASK = "ecg_noise_clarification"
SPLITS = ("train", "valid", "test")
"""ECG-QA's split folders, all merged."""
TEMPLATE = Path("ecgqa", "ptbxl", "template")
ATTRIBUTE_TYPE = "noise"
KEYS = ("sample_id", "attribute_type", "question", "answer", "ecg_id")
"""Keys of an ECG-QA question this module reads (it also has template_id, question_id, question_type, attribute)."""
_ECGQA_HINT = ("clone https://github.com/Jwoo5/ecg-qa into the --source folder: it must hold "
               "ecgqa/ptbxl/template/{train,valid,test}/*.json")


@dataclass(frozen=True)
class EcgqaItem:
    """One single-ECG noise question, its answer and where its PTB-XL record is (or why it has none)."""

    split: str
    sample_id: int
    question: str
    answer: str
    ecg_id: int | None
    ptbxl_root: str
    filename_lr: str
    group: str
    problem: str = ""

    @property
    def id(self) -> str:
        return f"ecgqa-{self.split}-{self.sample_id:06d}"


def list_items(root: Path, options: BuildOptions) -> list[EcgqaItem]:
    """One item per single-ECG noise question of the template splits, sorted by split, then sample id.

    Raises
    ------
    DatasetNotFoundError
        If ``root`` holds no ECG-QA template questions, no PTB-XL, or a file that is not ECG-QA's.
    """
    root = Path(root)
    template = _template_folder(root)
    folder = ptbxl.find_ptbxl(root, hint=f"put PTB-XL 1.0.3 (the folder with {ptbxl.DATABASE} and records100/) "
                                         f"inside {root}, e.g. {root / 'ptb-xl'}")
    records = {item.ecg_id: item for item in ptbxl.list_items(folder, options)}
    items: list[EcgqaItem] = []
    seen: set[tuple[str, int]] = set()
    for split in SPLITS:
        for path in sorted((template / split).glob("*.json")):
            for entry in _questions(path):
                if entry["attribute_type"] != ATTRIBUTE_TYPE or len(_listed(entry["ecg_id"])) != 1:
                    continue
                item = _item(entry, split, records)
                if (split, item.sample_id) in seen:
                    item = replace(item, problem=f"duplicate sample_id in {split} ({path.name})")
                seen.add((split, item.sample_id))
                items.append(item)
    return sorted(items, key=lambda item: (item.split, item.sample_id))


def load_item(item: EcgqaItem, options: BuildOptions) -> Record | Skipped:
    """Read the question's PTB-XL record into a record, or say why it cannot be used."""
    if item.problem:
        return Skipped(item.id, item.problem)
    try:
        ecg = ptbxl.read_record(item.ptbxl_root, item.filename_lr)
    except ptbxl.RecordError as error:
        return Skipped(item.id, str(error))
    return Record(id=item.id, group=item.group, site="", question=item.question, answer=item.answer,
                  label=None, inputs={"ecg": ecg})


def _template_folder(root: Path) -> Path:
    """``ecgqa/ptbxl/template`` in ``root`` or in one of its folders (the checkout), in name order."""
    for folder in [root / TEMPLATE, *sorted(root.glob(str(Path("*", TEMPLATE))))]:
        if any(next((folder / split).glob("*.json"), None) for split in SPLITS):
            return folder
    raise DatasetNotFoundError(f"No ECG-QA template questions in {root}.", hint=_ECGQA_HINT)


def _questions(path: Path) -> list[dict]:
    """The questions of one ECG-QA file, checked to carry the keys this module reads."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetNotFoundError(f"Cannot read {path}: {error}.", hint=_ECGQA_HINT) from None
    if not isinstance(entries, list):
        raise DatasetNotFoundError(f"{path} is not an ECG-QA file: not a list of questions.", hint=_ECGQA_HINT)
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not set(KEYS) <= set(entry) or not _is_int(entry["sample_id"]):
            raise DatasetNotFoundError(f"{path} is not an ECG-QA file: question {index} lacks "
                                       f"an integer sample_id or one of {', '.join(KEYS)}.", hint=_ECGQA_HINT)
    return entries


def _item(entry: dict, split: str, records: dict[int, ptbxl.PtbxlItem]) -> EcgqaItem:
    """The item of one kept question, with its PTB-XL record or the reason it has none."""
    (ecg_id,) = _listed(entry["ecg_id"])
    answer = ", ".join(str(part).strip() for part in _listed(entry["answer"])) or "none"
    item = EcgqaItem(split=split, sample_id=entry["sample_id"], question=str(entry["question"]).strip(),
                     answer=answer, ecg_id=None, ptbxl_root="", filename_lr="", group="")
    if not _is_int(ecg_id):
        return replace(item, problem=f"ecg_id {ecg_id!r} is not an integer")
    record = records.get(ecg_id)
    if record is None:
        return replace(item, ecg_id=ecg_id, problem=f"ecg_id {ecg_id} not in {ptbxl.DATABASE}")
    if not record.filename_lr:
        return replace(item, ecg_id=ecg_id, problem=f"ecg_id {ecg_id} has no filename_lr in {ptbxl.DATABASE}")
    return replace(item, ecg_id=ecg_id, ptbxl_root=record.root, filename_lr=record.filename_lr, group=record.group)


def _listed(value: object) -> list:
    """ECG-QA lists (``answer``, ``ecg_id``); a bare value counts as a list of one, None as empty."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
