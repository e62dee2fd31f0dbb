"""The submission format and its validation: read a submission folder, check every rule, align it.

A submission folder holds ``submission.json`` (who made it, with which model, dataset and method) and one
``<task_id>.jsonl`` per task it answers, each line ``{"id": ..., "prediction": ..., "score": ...}``
(``score``, the probability of ``"yes"``, optional and only for binary tasks). Other top-level files that
are not ``.jsonl`` and subfolders are ignored. :func:`read_submission` checks everything before it returns
and raises :class:`~fedmeki_eval.errors.InvalidSubmissionError` at the first broken rule (see
:data:`RULES`), naming the file, the line and the rule in one line. Task files are streamed line by line
with a per-line byte limit, so a huge or runaway file fails fast in constant memory.

Examples
--------
>>> import json, tempfile
>>> import numpy as np
>>> from fedmeki_data.tasks import get_task
>>> from fedmeki_eval.references import References, TaskReferences
>>> covid = TaskReferences(task=get_task("covid19"), ids=("c-1", "c-2"), answers=("yes", "no"),
...                        labels=np.array([1, 0], dtype=np.int8))
>>> references = References(source="demo", fingerprint="0123456789abcdef", tasks={"covid19": covid})
>>> metadata = {"name": "demo", "model": {"repo_id": None, "revision": None},
...             "dataset": {"repo_or_path": "demo", "fingerprint": "0123456789abcdef"},
...             "method": {"algorithm": "fedavg", "setting": "single_task", "variant": "full", "clients": 5,
...                        "rounds": 10, "seed": 0},
...             "communication_bytes": None, "external_data": False, "fedmeki_version": "0.1.0"}
>>> workdir = tempfile.TemporaryDirectory()
>>> folder = Path(workdir.name)
>>> _ = (folder / "submission.json").write_text(json.dumps(metadata), encoding="utf-8")
>>> _ = (folder / "covid19.jsonl").write_text('{"id": "c-2", "prediction": "no"}\\n'
...                                          '{"id": "c-1", "prediction": "yes"}\\n', encoding="utf-8")
>>> submission = read_submission(folder, references)
>>> submission.tasks["covid19"].predictions
('yes', 'no')
>>> len(submission.missing_tasks)
7
>>> _ = (folder / "covid19.jsonl").write_text('{"id": "c-1", "prediction": "yes", "score": 1.5}\\n')
>>> read_submission(folder, references)
Traceback (most recent call last):
...
fedmeki_eval.errors.InvalidSubmissionError: covid19.jsonl:1: 'score' must be in [0, 1], got 1.5 [score-range]
>>> workdir.cleanup()
"""

from __future__ import annotations

import difflib
import json
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fedmeki_data.errors import UsageError
from fedmeki_data.tasks import TASKS, TaskSpec
from fedmeki_eval.errors import InvalidSubmissionError

if TYPE_CHECKING:
    from fedmeki_eval.references import References, TaskReferences

METADATA_FILE = "submission.json"
TASK_FILE_SUFFIX = ".jsonl"
MAX_LINE_BYTES = 64 * 1024
"""Longest line of a task file, in bytes, without its line end."""
MAX_METADATA_BYTES = 1024 * 1024
"""Largest ``submission.json``, in bytes."""

Setting = Literal["single_task", "multi_task"]
"""``single_task``: one model per task; ``multi_task``: one model trained on all training tasks."""

_BOM = b"\xef\xbb\xbf"
_MAX_INT_DIGITS = 100
_REQUIRED_KEYS = ("id", "prediction")
_SCORE_KEY = "score"
_TEMPLATE = "`fedmeki eval template` writes a valid example"

RULES: Mapping[str, str] = MappingProxyType({
    "missing-metadata": f"add {METADATA_FILE} next to the task files; {_TEMPLATE}",
    "metadata-json": f"{METADATA_FILE} must hold one JSON object (no NaN or Infinity, no repeated keys)",
    "metadata-schema": f"compare with the {METADATA_FILE} written by `fedmeki eval template`",
    "fingerprint-mismatch": (f"score against the dataset named in {METADATA_FILE} (--references), or rebuild the "
                             "predictions on this dataset and update its fingerprint"),
    "unknown-task-file": f"name task files <task_id>.jsonl after one of: {', '.join(TASKS)}",
    "no-task-files": "add one <task_id>.jsonl per task you predict",
    "symlink": "copy the file into the submission folder instead of linking to it",
    "not-a-file": "task files and submission.json must be regular files",
    "encoding": "save the file as UTF-8, with valid Unicode text only",
    "line-too-long": f"one prediction per line, at most {MAX_LINE_BYTES} bytes; shorten the prediction",
    "json-line": "write one JSON object per line (json.dumps(record) in Python); NaN and Infinity are not JSON",
    "not-object": 'each line must be a JSON object such as {"id": "...", "prediction": "..."}',
    "missing-key": "every line needs 'id' and 'prediction'",
    "extra-key": "lines hold 'id', 'prediction' and, for binary tasks only, 'score'",
    "id-type": "ids are strings, as in the 'id' column of the test split",
    "prediction-type": "predictions are strings: 'yes' or 'no' for binary tasks, the answer text otherwise",
    "score-type": "'score' is the probability of 'yes' as a JSON number; leave it out on every line if you have none",
    "score-range": "'score' is a probability: a finite number between 0 and 1",
    "scores-partial": "give 'score' on every line of the file or on none",
    "duplicate-id": "give exactly one prediction per test id",
    "unknown-id": f"predict the test split of the dataset named in {METADATA_FILE}; ids are its 'id' column",
    "missing-id": "give one prediction per test id, or remove the file to skip the task",
    "empty-file": "remove the file to skip the task, or add one line per test id",
})
"""Every rule of the submission contract: rule id -> how to fix a submission that breaks it."""

_STRICT = ConfigDict(extra="forbid", frozen=True, strict=True)


class ModelInfo(BaseModel):
    """The model that made the predictions: a Hub repo id and revision, or nulls for a local model."""

    model_config = _STRICT

    repo_id: str | None
    revision: str | None


class DatasetInfo(BaseModel):
    """The dataset the predictions answer: folder or Hub repo id, and its 16-hex-digit fingerprint."""

    model_config = _STRICT

    repo_or_path: str = Field(min_length=1)
    fingerprint: str = Field(pattern=r"^[0-9a-f]{16}$")


class MethodInfo(BaseModel):
    """How the model was trained: FL algorithm, setting, variant, clients, rounds and seed."""

    model_config = _STRICT

    algorithm: str = Field(min_length=1)
    setting: Setting
    variant: str
    clients: int = Field(ge=0)
    rounds: int = Field(ge=0)
    seed: int


class SubmissionMetadata(BaseModel):
    """The content of ``submission.json``; every key is required (nullable ones may be ``null``).

    Attributes
    ----------
    name : str
        Display name of the submission.
    model : ModelInfo
    dataset : DatasetInfo
    method : MethodInfo
    communication_bytes : int or None
        Bytes exchanged during federated training, when measured.
    external_data : bool
        Whether data outside the FedMEKI training splits was used.
    fedmeki_version : str
        Version of the toolkit that wrote the submission.

    Examples
    --------
    >>> list(SubmissionMetadata.model_fields)
    ['name', 'model', 'dataset', 'method', 'communication_bytes', 'external_data', 'fedmeki_version']
    """

    model_config = _STRICT

    name: str = Field(min_length=1)
    model: ModelInfo
    dataset: DatasetInfo
    method: MethodInfo
    communication_bytes: int | None = Field(ge=0)
    external_data: bool
    fedmeki_version: str

    def to_dict(self) -> dict:
        """Return the metadata as the plain JSON-ready dictionary of ``submission.json``."""
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class TaskPredictions:
    """The predictions of one task, aligned to the reference order.

    Attributes
    ----------
    task_id : str
    predictions : tuple of str
        ``predictions[i]`` answers ``references.tasks[task_id].ids[i]``.
    scores : ndarray of float64 or None
        Read-only probabilities of ``"yes"`` in the same order; None when the file has no ``score``.
    """

    task_id: str
    predictions: tuple[str, ...]
    scores: np.ndarray | None


@dataclass(frozen=True)
class Submission:
    """A validated submission.

    Attributes
    ----------
    folder : Path
        The submission folder, resolved.
    metadata : SubmissionMetadata
    tasks : dict of str to TaskPredictions
        Per task the submission answers, in registry order.
    missing_tasks : tuple of str
        Registry task ids the submission has no file for, in registry order.
    """

    folder: Path
    metadata: SubmissionMetadata
    tasks: dict[str, TaskPredictions]
    missing_tasks: tuple[str, ...]


def read_metadata(folder: str | Path) -> SubmissionMetadata:
    """Read and validate ``submission.json`` of a submission folder.

    Parameters
    ----------
    folder : str or Path
        The submission folder.

    Returns
    -------
    SubmissionMetadata

    Raises
    ------
    UsageError
        If ``folder`` does not exist or is not a folder (exit code 2).
    InvalidSubmissionError
        If ``submission.json`` is missing, a symlink, not UTF-8, not one JSON object or breaks the schema
        (rules ``missing-metadata``, ``symlink``, ``not-a-file``, ``encoding``, ``metadata-json``,
        ``metadata-schema``).

    See Also
    --------
    read_submission : Validate the whole submission against the references.
    """
    root = _check_folder(folder)
    path = root / METADATA_FILE
    if not path.exists() and not path.is_symlink():
        raise _invalid("missing-metadata", f"the submission folder has no {METADATA_FILE}", file=METADATA_FILE)
    data = _parse_metadata(_read_metadata_text(_checked_member(root, METADATA_FILE)))
    try:
        return SubmissionMetadata.model_validate(data)
    except ValidationError as error:
        raise _schema_error(error) from None


def read_submission(folder: str | Path, references: References) -> Submission:
    """Read a submission folder and check every rule of the submission contract against ``references``.

    Parameters
    ----------
    folder : str or Path
        The submission folder.
    references : References
        The test splits it is scored against (see :func:`fedmeki_eval.references.load_references`).

    Returns
    -------
    Submission
        Predictions of every task file, aligned to the reference order, and the tasks it lacks.

    Raises
    ------
    UsageError
        If ``folder`` does not exist or is not a folder (exit code 2).
    InvalidSubmissionError
        At the first broken rule (exit code 1); its ``rule`` is one of :data:`RULES`.
    """
    root = _check_folder(folder)
    metadata = read_metadata(root)
    if metadata.dataset.fingerprint != references.fingerprint:
        raise _invalid("fingerprint-mismatch", f"dataset fingerprint {metadata.dataset.fingerprint} does not "
                       f"match {references.fingerprint} of the references ({references.source})",
                       file=METADATA_FILE)
    files = _task_files(root, references)
    tasks = {task_id: _read_task_file(files[task_id], references.tasks[task_id]) for task_id in TASKS
             if task_id in files}
    missing = tuple(task_id for task_id in TASKS if task_id not in tasks)
    return Submission(folder=root, metadata=metadata, tasks=tasks, missing_tasks=missing)


# --- folder and files -------------------------------------------------------------------------------------


def _invalid(rule: str, message: str, *, file: str | None = None, line: int | None = None,
             hint: str | None = None) -> InvalidSubmissionError:
    """Build the error of ``rule``, with the rule's standard hint unless one is given."""
    return InvalidSubmissionError(rule, message, file=file, line=line, hint=RULES[rule] if hint is None else hint)


def _check_folder(folder: str | Path) -> Path:
    """Return the resolved submission folder, or raise UsageError if it is not a folder."""
    path = Path(folder)
    hint = f"pass the folder that holds {METADATA_FILE} and the <task_id>.jsonl files; {_TEMPLATE}"
    if not path.exists():
        raise UsageError(f"Submission folder {str(path)!r} does not exist.", hint=hint)
    if not path.is_dir():
        raise UsageError(f"Submission folder {str(path)!r} is not a folder.", hint=hint)
    return path.resolve()


def _checked_member(root: Path, name: str) -> Path:
    """Return ``root / name`` if it is a regular file inside ``root`` (no symlink)."""
    path = root / name
    if path.is_symlink():
        where = "" if _resolves_inside(path, root) else " to a path outside the submission folder"
        raise _invalid("symlink", f"the file is a symlink{where}", file=name)
    if not path.is_file():
        raise _invalid("not-a-file", "not a regular file", file=name)
    if not _resolves_inside(path, root):
        raise _invalid("symlink", "the file resolves outside the submission folder", file=name)
    return path


def _resolves_inside(path: Path, root: Path) -> bool:
    """Whether ``path`` resolves to a direct child of ``root`` (False for symlink loops)."""
    try:
        return path.resolve().parent == root
    except (OSError, RuntimeError):
        return False


def _open_binary(path: Path) -> BinaryIO:
    """Open a checked file of the submission for reading; OS errors become ``not-a-file``."""
    try:
        return path.open("rb")
    except OSError as error:
        raise _invalid("not-a-file", f"cannot be read ({error.strerror})", file=path.name) from None


def _task_files(root: Path, references: References) -> dict[str, Path]:
    """Map each task id with a top-level ``<task_id>.jsonl`` to its checked path."""
    names = {f"{task_id}{TASK_FILE_SUFFIX}": task_id for task_id in TASKS}
    files: dict[str, Path] = {}
    for entry in sorted(root.iterdir()):
        if entry.suffix.lower() != TASK_FILE_SUFFIX:
            continue
        if entry.name not in names:
            close = difflib.get_close_matches(entry.name, list(names), n=1)
            suggestion = f"; did you mean {close[0]!r}?" if close else ""
            raise _invalid("unknown-task-file", f"not a task file name{suggestion}", file=entry.name)
        task_id = names[entry.name]
        if task_id not in references.tasks:
            raise _invalid("unknown-task-file", f"the references ({references.source}) have no test split for "
                           f"{task_id}", file=entry.name, hint=f"remove {entry.name} or score against a dataset "
                           f"with that task; the references have: {', '.join(references.tasks)}")
        files[task_id] = _checked_member(root, entry.name)
    if not files:
        raise _invalid("no-task-files", f"the submission folder has no <task_id>{TASK_FILE_SUFFIX} file")
    return files


# --- submission.json ----------------------------------------------------------------------------------------


def _read_metadata_text(path: Path) -> str:
    """Return ``submission.json`` decoded (a UTF-8 BOM allowed), refusing files over the size limit."""
    with _open_binary(path) as stream:
        size = os.fstat(stream.fileno()).st_size
        raw = stream.read(min(size, MAX_METADATA_BYTES) + 1)
    if len(raw) > MAX_METADATA_BYTES:
        raise _invalid("metadata-json", f"{METADATA_FILE} is larger than {MAX_METADATA_BYTES} bytes",
                       file=METADATA_FILE)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise _invalid("encoding", f"not valid UTF-8 (byte 0x{raw[error.start]:02x})", file=METADATA_FILE,
                       line=line) from None


def _parse_metadata(text: str) -> dict:
    """Parse ``submission.json`` into a dictionary of valid Unicode text."""
    try:
        data = _loads(text)
    except _JSONError as error:
        raise _invalid("metadata-json", f"invalid JSON: {error.reason}", file=METADATA_FILE,
                       line=error.lineno) from None
    if not isinstance(data, dict):
        raise _invalid("metadata-schema", f"{METADATA_FILE} must hold a JSON object, got {_json_type(data)}",
                       file=METADATA_FILE)
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise _invalid("encoding", "a string holds an unpaired surrogate escape (\\ud800-\\udfff)",
                       file=METADATA_FILE) from None
    return data


def _schema_error(error: ValidationError) -> InvalidSubmissionError:
    """Turn the first pydantic error into a ``metadata-schema`` error that names the key path."""
    first = error.errors()[0]
    parts = [str(part) for part in first["loc"]]
    path = ".".join(parts)
    kind = first["type"]
    if kind == "missing":
        return _invalid("metadata-schema", f"missing key {_short(path)}", file=METADATA_FILE)
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(parts[-1], _model_at(parts[:-1]).model_fields, n=1)
        hint = f"did you mean {_short('.'.join([*parts[:-1], close[0]]))}?" if close else None
        return _invalid("metadata-schema", f"unknown key {_short(path)}", file=METADATA_FILE, hint=hint)
    if kind == "model_type":
        message = f"{_short(path)} must be a JSON object, got {_json_type(first['input'])}"
    else:
        message = f"invalid {_short(path)}: {first['msg']}, got {_describe(first['input'])}"
    return _invalid("metadata-schema", message, file=METADATA_FILE)


def _model_at(parts: list[str]) -> type[BaseModel]:
    """The metadata model class found by following the field names ``parts``."""
    model: type[BaseModel] = SubmissionMetadata
    for part in parts:
        model = model.model_fields[part].annotation
    return model


# --- task files ---------------------------------------------------------------------------------------------


def _read_task_file(path: Path, reference: TaskReferences) -> TaskPredictions:
    """Stream, check and align one ``<task_id>.jsonl``."""
    collector = _Collector(reference, path.name)
    for number, text in _iter_lines(path):
        record = _parse_line(text, path.name, number)
        record_id, prediction, score = _check_record(record, reference.task, path.name, number)
        collector.add(number, record_id, prediction, score)
    return collector.result()


def _iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, text)`` of the non-blank lines of a file, one bounded line at a time."""
    with _open_binary(path) as stream:
        number = 0
        while raw := stream.readline(MAX_LINE_BYTES + 2):
            number += 1
            text = _decode_line(raw, path.name, number)
            if text.strip():
                yield number, text


def _decode_line(raw: bytes, file: str, number: int) -> str:
    """Decode one raw line: drop a leading BOM (line 1) and the LF or CRLF end, check length and UTF-8."""
    content = raw.removeprefix(_BOM) if number == 1 else raw
    content = content.removesuffix(b"\n").removesuffix(b"\r")
    if len(content) > MAX_LINE_BYTES:
        raise _invalid("line-too-long", f"line is longer than {MAX_LINE_BYTES} bytes", file=file, line=number)
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _invalid("encoding", f"not valid UTF-8 (byte 0x{content[error.start]:02x} at offset {error.start})",
                       file=file, line=number) from None


def _parse_line(text: str, file: str, number: int) -> dict:
    """Parse one line into a JSON object."""
    try:
        record = _loads(text)
    except _JSONError as error:
        raise _invalid("json-line", f"invalid JSON: {error.reason}", file=file, line=number) from None
    if not isinstance(record, dict):
        raise _invalid("not-object", f"line must be a JSON object, got {_json_type(record)}", file=file, line=number)
    return record


def _check_record(record: dict, task: TaskSpec, file: str, number: int) -> tuple[str, str, float | None]:
    """Check the keys and values of one record; return its id, prediction and score (None if absent)."""
    allowed = (*_REQUIRED_KEYS, _SCORE_KEY) if task.is_binary else _REQUIRED_KEYS
    for key in record:
        if key == _SCORE_KEY and not task.is_binary:
            raise _invalid("extra-key", f"'score' is not allowed: {task.id} is a free-text task", file=file,
                           line=number, hint="scores are probabilities of 'yes', for binary tasks only; drop them")
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}? {RULES['extra-key']}" if close else None
            raise _invalid("extra-key", f"unknown key {_short(key)}", file=file, line=number, hint=hint)
    for key in _REQUIRED_KEYS:
        if key not in record:
            raise _invalid("missing-key", f"missing key {key!r}", file=file, line=number)
    record_id = _check_text(record["id"], "id", "id-type", file, number)
    prediction = _check_text(record["prediction"], "prediction", "prediction-type", file, number)
    score = _check_score(record[_SCORE_KEY], file, number) if _SCORE_KEY in record else None
    return record_id, prediction, score


def _check_text(value: Any, key: str, rule: str, file: str, number: int) -> str:
    """Return ``value`` if it is a string of valid Unicode."""
    if not isinstance(value, str):
        raise _invalid(rule, f"{key!r} must be a string, got {_describe(value)}", file=file,
                       line=number)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _invalid("encoding", f"{key!r} holds an unpaired surrogate escape (\\ud800-\\udfff)", file=file,
                       line=number) from None
    return value


def _check_score(value: Any, file: str, number: int) -> float:
    """Return ``value`` as a float if it is a finite number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid("score-type", f"'score' must be a number, got {_describe(value)}",
                       file=file, line=number)
    if isinstance(value, float) and not math.isfinite(value):
        raise _invalid("score-range", f"'score' must be finite, got {value}", file=file, line=number)
    if not 0 <= value <= 1:
        raise _invalid("score-range", f"'score' must be in [0, 1], got {_short(value)}", file=file, line=number)
    return float(value)


class _Collector:
    """Gathers the checked records of one task file into the reference order."""

    def __init__(self, reference: TaskReferences, file: str) -> None:
        self.task_id, self.file, self.ids = reference.task.id, file, reference.ids
        self.index = {record_id: position for position, record_id in enumerate(reference.ids)}
        self.predictions: list[str | None] = [None] * len(reference.ids)
        self.lines = [0] * len(reference.ids)
        self.scores = np.full(len(reference.ids), np.nan)
        self.first: tuple[int, bool] | None = None  # line and score presence of the first record

    def add(self, number: int, record_id: str, prediction: str, score: float | None) -> None:
        """Place one record, checking score presence, unknown and duplicate ids."""
        if self.first is None:
            self.first = (number, score is not None)
        elif self.first[1] != (score is not None):
            has = "has" if self.first[1] else "has no"
            raise _invalid("scores-partial", f"line {self.first[0]} {has} 'score' but this line "
                           f"{'has' if score is not None else 'has no'} 'score'", file=self.file, line=number)
        position = self.index.get(record_id)
        if position is None:
            raise _invalid("unknown-id", f"id {_short(record_id)} is not in the test split of {self.task_id}",
                           file=self.file, line=number)
        if self.predictions[position] is not None:
            raise _invalid("duplicate-id", f"duplicate id {_short(record_id)} (first on line "
                           f"{self.lines[position]})", file=self.file, line=number)
        self.predictions[position], self.lines[position] = prediction, number
        if score is not None:
            self.scores[position] = score

    def result(self) -> TaskPredictions:
        """Return the aligned predictions once every test id has one."""
        if self.first is None:
            raise _invalid("empty-file", "the file holds no predictions", file=self.file)
        missing = [record_id for record_id, prediction in zip(self.ids, self.predictions) if prediction is None]
        if missing:
            first_few = ", ".join(_short(record_id) for record_id in missing[:3])
            raise _invalid("missing-id", f"{len(missing)} of {len(self.ids)} test ids have no prediction "
                           f"(first: {first_few}{', ...' if len(missing) > 3 else ''})", file=self.file)
        scores = self.scores if self.first[1] else None
        if scores is not None:
            scores.setflags(write=False)
        return TaskPredictions(task_id=self.task_id, predictions=tuple(self.predictions), scores=scores)


# --- JSON ---------------------------------------------------------------------------------------------------


class _JSONError(ValueError):
    """Text that is not strict JSON; ``reason`` is one line, ``lineno`` 1-based (None where unknown)."""

    def __init__(self, reason: str, lineno: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.lineno = reason, lineno


def _loads(text: str) -> Any:
    """``json.loads`` that rejects NaN/Infinity, repeated keys and huge integers."""
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int,
                          object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        raise _JSONError(f"{error.msg} (column {error.colno})", error.lineno) from None
    except RecursionError:
        raise _JSONError("nested too deeply") from None


def _reject_constant(token: str) -> Any:
    """Refuse the non-standard ``NaN``, ``Infinity`` and ``-Infinity`` that Python's json accepts."""
    raise _JSONError(f"{token} is not valid JSON")


def _parse_int(token: str) -> int:
    """Parse an integer literal of at most ``_MAX_INT_DIGITS`` digits."""
    if len(token) > _MAX_INT_DIGITS:
        raise _JSONError(f"integer with {len(token)} digits")
    return int(token)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    """Build a JSON object, refusing repeated keys."""
    record = dict(pairs)
    if len(record) != len(pairs):
        repeated = next(key for key, _ in pairs if sum(other == key for other, _ in pairs) > 1)
        raise _JSONError(f"key {_short(repeated)} is repeated")
    return record


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    names = {dict: "object", list: "array", str: "string", int: "number", float: "number"}
    return names.get(type(value), type(value).__name__)


def _describe(value: Any) -> str:
    """A parsed JSON value as its type and its JSON text (``null``, ``boolean true``, ``number 2``)."""
    if value is None:
        return "null"
    try:
        return f"{_json_type(value)} {_clip(json.dumps(value))}"
    except RecursionError:
        return _json_type(value)


def _short(value: Any) -> str:
    """``repr`` of a value, cut to one short line."""
    return _clip(repr(value))


def _clip(text: str, width: int = 60) -> str:
    """``text`` (already one line) cut to ``width`` characters."""
    return text if len(text) <= width else text[:width - 3] + "..."
