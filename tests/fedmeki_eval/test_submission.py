"""Tests of fedmeki_eval.submission: every rule of the submission contract, on tiny inline submissions."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedmeki_data.errors import UsageError
from fedmeki_data.tasks import TASKS, get_task
from fedmeki_eval.errors import InvalidSubmissionError
from fedmeki_eval.references import References, TaskReferences
from fedmeki_eval.submission import (
    MAX_LINE_BYTES,
    RULES,
    Submission,
    SubmissionMetadata,
    read_metadata,
    read_submission,
)

FINGERPRINT = "0123456789abcdef"
COVID_IDS = ("c-1", "c-2", "c-3", "c-4")
VQA_IDS = ("v-1", "v-2", "v-3")
REFERENCES = References(
    source="inline",
    fingerprint=FINGERPRINT,
    tasks={
        "covid19": TaskReferences(task=get_task("covid19"), ids=COVID_IDS, answers=("yes", "no", "no", "yes"),
                                  labels=np.array([1, 0, 0, 1], dtype=np.int8)),
        "medical_vqa": TaskReferences(task=get_task("medical_vqa"), ids=VQA_IDS, answers=("lung", "yes", "two"),
                                      labels=None),
    },
)
METADATA = {
    "name": "unit test",
    "model": {"repo_id": "org/model", "revision": "main"},
    "dataset": {"repo_or_path": "inline", "fingerprint": FINGERPRINT},
    "method": {"algorithm": "fedavg", "setting": "single_task", "variant": "full", "clients": 5, "rounds": 10,
               "seed": 0},
    "communication_bytes": 123456,
    "external_data": False,
    "fedmeki_version": "0.1.0",
}
COVID_RECORDS = [
    {"id": "c-1", "prediction": "yes", "score": 0.9},
    {"id": "c-2", "prediction": "no", "score": 0.1},
    {"id": "c-3", "prediction": "no", "score": 0.0},
    {"id": "c-4", "prediction": "yes", "score": 1},
]
VQA_RECORDS = [{"id": "v-1", "prediction": "lung"}, {"id": "v-2", "prediction": "yes"},
               {"id": "v-3", "prediction": "three"}]
DIRECTORY = object()  # marker: create a folder instead of a file
DELETE = object()  # marker: remove a metadata key


def _jsonl(records: list) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def _metadata(path: str, value: object) -> str:
    """submission.json text with the dotted key ``path`` set to ``value`` (or removed with DELETE)."""
    data = copy.deepcopy(METADATA)
    *parents, key = path.split(".")
    node = data
    for parent in parents:
        node = node[parent]
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return json.dumps(data)


def _covid(line: int, text: str) -> str:
    """The valid covid19.jsonl with line ``line`` (1-based) replaced by raw ``text``."""
    lines = _jsonl(COVID_RECORDS).splitlines()
    lines[line - 1] = text
    return "\n".join(lines) + "\n"


def _valid_files() -> dict:
    return {"submission.json": json.dumps(METADATA), "covid19.jsonl": _jsonl(COVID_RECORDS),
            "medical_vqa.jsonl": _jsonl(VQA_RECORDS)}


def _write(folder: Path, files: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if content is None:
            continue
        if content is DIRECTORY:
            (folder / name).mkdir()
        elif isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            (folder / name).write_text(content, encoding="utf-8", newline="")
    return folder


def _submission(tmp_path: Path, **overrides) -> Path:
    files = _valid_files()
    files.update({name.replace("__", "."): content for name, content in overrides.items()})
    return _write(tmp_path / "submission", files)


def _assert_one_line(error: Exception) -> None:
    assert "\n" not in str(error)
    assert "\n" not in getattr(error, "hint", "")


def _expect_invalid(folder: Path, rule: str, file: str | None, line: int | None) -> InvalidSubmissionError:
    with pytest.raises(InvalidSubmissionError) as info:
        read_submission(folder, REFERENCES)
    error = info.value
    assert (error.rule, error.file, error.line) == (rule, file, line), str(error)
    assert error.rule in RULES and error.hint
    _assert_one_line(error)
    return error


BAD = [
    # submission.json absent
    pytest.param({"submission.json": None}, "missing-metadata", "submission.json", None, None, id="no-metadata"),
    # submission.json cut off mid-object
    pytest.param({"submission.json": '{"name": '}, "metadata-json", "submission.json", 1, None, id="metadata-cut"),
    # a bare NaN in submission.json
    pytest.param({"submission.json": '{"name": NaN}'}, "metadata-json", "submission.json", None, "NaN",
                 id="metadata-nan"),
    # a key given twice
    pytest.param({"submission.json": '{"name": "a", "name": "b"}'}, "metadata-json", "submission.json", None,
                 "repeated", id="metadata-repeated-key"),
    # submission.json is an array
    pytest.param({"submission.json": "[1, 2]"}, "metadata-schema", "submission.json", None, "array",
                 id="metadata-array"),
    # an unknown top-level key
    pytest.param({"submission.json": _metadata("team", "x")}, "metadata-schema", "submission.json", None, "'team'",
                 id="metadata-extra-key"),
    # an unknown nested key
    pytest.param({"submission.json": _metadata("method.lr", 0.1)}, "metadata-schema", "submission.json", None,
                 "'method.lr'", id="metadata-extra-nested-key"),
    # a missing nested key
    pytest.param({"submission.json": _metadata("method.seed", DELETE)}, "metadata-schema", "submission.json",
                 None, "missing key 'method.seed'", id="metadata-missing-key"),
    # a nullable key that is still required
    pytest.param({"submission.json": _metadata("communication_bytes", DELETE)}, "metadata-schema",
                 "submission.json", None, "'communication_bytes'", id="metadata-missing-nullable"),
    # a setting outside single_task/multi_task
    pytest.param({"submission.json": _metadata("method.setting", "federated")}, "metadata-schema",
                 "submission.json", None, "'method.setting'", id="metadata-setting"),
    # an int given as a string
    pytest.param({"submission.json": _metadata("method.clients", "5")}, "metadata-schema", "submission.json", None,
                 "'method.clients'", id="metadata-clients-string"),
    # an int given as a bool
    pytest.param({"submission.json": _metadata("method.rounds", True)}, "metadata-schema", "submission.json",
                 None, "'method.rounds'", id="metadata-rounds-bool"),
    # a negative byte count
    pytest.param({"submission.json": _metadata("communication_bytes", -1)}, "metadata-schema", "submission.json",
                 None, "'communication_bytes'", id="metadata-negative-bytes"),
    # a nested object given as an array
    pytest.param({"submission.json": _metadata("model", [])}, "metadata-schema", "submission.json", None,
                 "'model' must be a JSON object", id="metadata-model-array"),
    # a fingerprint that is not 16 lowercase hex digits
    pytest.param({"submission.json": _metadata("dataset.fingerprint", "0123456789ABCDEF")}, "metadata-schema",
                 "submission.json", None, "'dataset.fingerprint'", id="metadata-fingerprint-format"),
    # a well-formed fingerprint of another dataset
    pytest.param({"submission.json": _metadata("dataset.fingerprint", "fedcba9876543210")}, "fingerprint-mismatch",
                 "submission.json", None, "fedcba9876543210", id="fingerprint-mismatch"),
    # submission.json in Latin-1
    pytest.param({"submission.json": b'{"name": "caf\xe9"}'}, "encoding", "submission.json", 1, None,
                 id="metadata-latin1"),
    # submission.json is a folder
    pytest.param({"submission.json": DIRECTORY}, "not-a-file", "submission.json", None, None,
                 id="metadata-directory"),
    # a task file with a typo in its name
    pytest.param({"covid.jsonl": ""}, "unknown-task-file", "covid.jsonl", None, "did you mean 'covid19.jsonl'",
                 id="unknown-task-file"),
    # a registry task the references have no test split for
    pytest.param({"mortality.jsonl": ""}, "unknown-task-file", "mortality.jsonl", None, "mortality",
                 id="task-without-references"),
    # only submission.json
    pytest.param({"covid19.jsonl": None, "medical_vqa.jsonl": None}, "no-task-files", None, None, None,
                 id="no-task-files"),
    # a task file that is a folder
    pytest.param({"covid19.jsonl": DIRECTORY}, "not-a-file", "covid19.jsonl", None, None, id="task-directory"),
    # a line that is not JSON
    pytest.param({"covid19.jsonl": _covid(2, "id=c-2 prediction=no")}, "json-line", "covid19.jsonl", 2, None,
                 id="not-json"),
    # two JSON values on one line
    pytest.param({"covid19.jsonl": _covid(2, '{"id": "c-2"} {"id": "c-3"}')}, "json-line", "covid19.jsonl", 2,
                 "Extra data", id="two-values"),
    # a key repeated inside a line
    pytest.param({"covid19.jsonl": _covid(3, '{"id": "c-3", "id": "c-4", "prediction": "no", "score": 0.5}')},
                 "json-line", "covid19.jsonl", 3, "repeated", id="repeated-key"),
    # a JSON array line
    pytest.param({"covid19.jsonl": _covid(2, '["c-2", "no"]')}, "not-object", "covid19.jsonl", 2, "array",
                 id="array-line"),
    # a JSON number line
    pytest.param({"covid19.jsonl": _covid(1, "0.5")}, "not-object", "covid19.jsonl", 1, "number",
                 id="number-line"),
    # a misspelt key, with a did-you-mean
    pytest.param({"covid19.jsonl": _covid(2, '{"id": "c-2", "predicton": "no", "score": 0.1}')}, "extra-key",
                 "covid19.jsonl", 2, "predicton", id="extra-key"),
    # no prediction
    pytest.param({"covid19.jsonl": _covid(4, '{"id": "c-4", "score": 0.2}')}, "missing-key", "covid19.jsonl", 4,
                 "'prediction'", id="missing-prediction"),
    # no id
    pytest.param({"covid19.jsonl": _covid(1, '{"prediction": "yes", "score": 0.2}')}, "missing-key",
                 "covid19.jsonl", 1, "'id'", id="missing-id-key"),
    # a score on a free-text task
    pytest.param({"medical_vqa.jsonl": _jsonl([{**VQA_RECORDS[0], "score": 0.5}, *VQA_RECORDS[1:]])}, "extra-key",
                 "medical_vqa.jsonl", 1, "free-text", id="score-on-generation"),
    # an integer id
    pytest.param({"covid19.jsonl": _covid(2, '{"id": 2, "prediction": "no", "score": 0.1}')}, "id-type",
                 "covid19.jsonl", 2, None, id="id-int"),
    # an integer prediction
    pytest.param({"covid19.jsonl": _covid(2, '{"id": "c-2", "prediction": 0, "score": 0.1}')}, "prediction-type",
                 "covid19.jsonl", 2, "number", id="prediction-int"),
    # a null prediction
    pytest.param({"covid19.jsonl": _covid(2, '{"id": "c-2", "prediction": null, "score": 0.1}')},
                 "prediction-type", "covid19.jsonl", 2, "null", id="prediction-null"),
    # a list prediction
    pytest.param({"medical_vqa.jsonl": _jsonl([VQA_RECORDS[0], {"id": "v-2", "prediction": ["yes"]}])},
                 "prediction-type", "medical_vqa.jsonl", 2, "array", id="prediction-list"),
    # an unpaired surrogate escape in a prediction
    pytest.param({"medical_vqa.jsonl": '{"id": "v-1", "prediction": "\\ud800"}\n'}, "encoding", "medical_vqa.jsonl",
                 1, "surrogate", id="prediction-surrogate"),
    # a bare NaN token
    pytest.param({"covid19.jsonl": _covid(2, '{"id": "c-2", "prediction": "no", "score": NaN}')}, "json-line",
                 "covid19.jsonl", 2, "NaN", id="score-nan-token"),
    # a bare Infinity token
    pytest.param({"covid19.jsonl": _covid(2, '{"id": "c-2", "prediction": "no", "score": Infinity}')},
                 "json-line", "covid19.jsonl", 2, "Infinity", id="score-infinity-token"),
    # a number that overflows to infinity
    pytest.param({"covid19.jsonl": _covid(2, '{"id": "c-2", "prediction": "no", "score": 1e999}')}, "score-range",
                 "covid19.jsonl", 2, "finite", id="score-overflow"),
    # a negative score
    pytest.param({"covid19.jsonl": _covid(3, '{"id": "c-3", "prediction": "no", "score": -0.1}')}, "score-range",
                 "covid19.jsonl", 3, None, id="score-negative"),
    # a score above 1
    pytest.param({"covid19.jsonl": _covid(3, '{"id": "c-3", "prediction": "no", "score": 1.5}')}, "score-range",
                 "covid19.jsonl", 3, None, id="score-above-one"),
    # an integer score above 1
    pytest.param({"covid19.jsonl": _covid(3, '{"id": "c-3", "prediction": "no", "score": 2}')}, "score-range",
                 "covid19.jsonl", 3, None, id="score-int-two"),
    # a score as a string
    pytest.param({"covid19.jsonl": _covid(2, '{"id": "c-2", "prediction": "no", "score": "0.1"}')}, "score-type",
                 "covid19.jsonl", 2, 'string "0.1"', id="score-string"),
    # a score as a bool
    pytest.param({"covid19.jsonl": _covid(2, '{"id": "c-2", "prediction": "no", "score": true}')}, "score-type",
                 "covid19.jsonl", 2, "boolean true", id="score-bool"),
    # a null score
    pytest.param({"covid19.jsonl": _covid(2, '{"id": "c-2", "prediction": "no", "score": null}')}, "score-type",
                 "covid19.jsonl", 2, "null", id="score-null"),
    # scores on some lines only
    pytest.param({"covid19.jsonl": _covid(3, '{"id": "c-3", "prediction": "no"}')}, "scores-partial",
                 "covid19.jsonl", 3, "line 1 has 'score'", id="scores-partial"),
    # the same id twice
    pytest.param({"covid19.jsonl": _covid(3, '{"id": "c-1", "prediction": "no", "score": 0.3}')}, "duplicate-id",
                 "covid19.jsonl", 3, "first on line 1", id="duplicate-id"),
    # an id outside the test split
    pytest.param({"covid19.jsonl": _covid(2, '{"id": "train-7", "prediction": "no", "score": 0.1}')},
                 "unknown-id", "covid19.jsonl", 2, "'train-7'", id="unknown-id"),
    # ids differing only in case are different ids
    pytest.param({"covid19.jsonl": _covid(4, '{"id": "C-4", "prediction": "no", "score": 0.1}')},
                 "unknown-id", "covid19.jsonl", 4, None, id="unknown-id-case"),
    # test ids without a prediction
    pytest.param({"covid19.jsonl": _jsonl(COVID_RECORDS[:1])}, "missing-id", "covid19.jsonl", None,
                 r"3 of 4 test ids.*'c-2', 'c-3', 'c-4'", id="missing-ids"),
    # a zero-byte file
    pytest.param({"medical_vqa.jsonl": ""}, "empty-file", "medical_vqa.jsonl", None, None, id="empty-file"),
    # blank lines only
    pytest.param({"medical_vqa.jsonl": "\n  \n\t\r\n"}, "empty-file", "medical_vqa.jsonl", None, None,
                 id="blank-file"),
    # Latin-1 bytes on line 2
    pytest.param({"medical_vqa.jsonl": _jsonl(VQA_RECORDS[:1]).encode() + b'{"id": "v-2", "prediction": "\xe9"}\n'},
                 "encoding", "medical_vqa.jsonl", 2, "0xe9", id="latin1-line"),
    # a line one byte over the limit
    pytest.param({"medical_vqa.jsonl": _jsonl(VQA_RECORDS[:1]) + json.dumps(
        {"id": "v-2", "prediction": "x" * MAX_LINE_BYTES}) + "\n"}, "line-too-long", "medical_vqa.jsonl", 2, None,
        id="line-too-long"),
    # a 100-digit-plus integer
    pytest.param({"covid19.jsonl": _covid(2, '{"id": "c-2", "prediction": "no", "score": ' + "9" * 5000 + "}")},
                 "json-line", "covid19.jsonl", 2, "digits", id="huge-integer"),
    # deeply nested arrays
    pytest.param({"covid19.jsonl": _covid(2, "[" * 30000 + "]" * 30000)}, "json-line", "covid19.jsonl", 2,
                 "nested", id="deep-nesting"),
]


@pytest.mark.parametrize(("overrides", "rule", "file", "line", "match"), BAD)
def test_bad_submission_is_rejected_at_the_first_problem(tmp_path, overrides, rule, file, line, match):
    folder = _write(tmp_path / "submission", {**_valid_files(), **overrides})

    error = _expect_invalid(folder, rule, file, line)

    if match:
        assert re.search(match, str(error)), str(error)


def test_valid_submission_is_aligned_to_the_reference_order(tmp_path):
    shuffled = [COVID_RECORDS[i] for i in (2, 0, 3, 1)]
    folder = _submission(tmp_path, covid19__jsonl=_jsonl(shuffled), medical_vqa__jsonl=_jsonl(VQA_RECORDS[::-1]))

    submission = read_submission(folder, REFERENCES)

    assert isinstance(submission, Submission) and submission.folder == folder.resolve()
    covid = submission.tasks["covid19"]
    assert covid.predictions == ("yes", "no", "no", "yes")
    np.testing.assert_array_equal(covid.scores, [0.9, 0.1, 0.0, 1.0])
    assert covid.scores.dtype == np.float64 and not covid.scores.flags.writeable
    vqa = submission.tasks["medical_vqa"]
    assert vqa.predictions == ("lung", "yes", "three") and vqa.scores is None
    assert list(submission.tasks) == ["covid19", "medical_vqa"]
    assert submission.metadata.to_dict() == METADATA


def test_partial_submission_lists_the_missing_tasks(tmp_path):
    folder = _submission(tmp_path)

    submission = read_submission(folder, REFERENCES)

    assert set(submission.tasks) == {"covid19", "medical_vqa"}
    assert submission.missing_tasks == tuple(task for task in TASKS if task not in ("covid19", "medical_vqa"))
    assert len(submission.missing_tasks) == 6


def test_binary_task_without_scores(tmp_path):
    records = [{"id": record["id"], "prediction": record["prediction"]} for record in COVID_RECORDS]
    folder = _submission(tmp_path, covid19__jsonl=_jsonl(records), medical_vqa__jsonl=None)

    covid = read_submission(folder, REFERENCES).tasks["covid19"]

    assert covid.scores is None and covid.predictions == ("yes", "no", "no", "yes")


def test_bom_crlf_and_blank_lines_are_accepted(tmp_path):
    text = "\r\n".join(json.dumps(record) for record in COVID_RECORDS)
    content = b"\xef\xbb\xbf" + ("\r\n   \r\n" + text + "\r\n\r\n\n").encode()
    metadata = b"\xef\xbb\xbf" + json.dumps(METADATA, indent=2).replace("\n", "\r\n").encode()
    folder = _submission(tmp_path, covid19__jsonl=content, submission__json=metadata)

    submission = read_submission(folder, REFERENCES)

    assert submission.tasks["covid19"].predictions == ("yes", "no", "no", "yes")


def test_last_line_without_newline_is_read(tmp_path):
    folder = _submission(tmp_path, covid19__jsonl=_jsonl(COVID_RECORDS).rstrip("\n"))

    assert read_submission(folder, REFERENCES).tasks["covid19"].predictions[-1] == "yes"


def test_line_at_the_limit_is_accepted(tmp_path):
    record = {"id": "v-1", "prediction": ""}
    record["prediction"] = "x" * (MAX_LINE_BYTES - len(json.dumps(record)))
    line = json.dumps(record)
    assert len(line) == MAX_LINE_BYTES
    folder = _submission(tmp_path, medical_vqa__jsonl=line + "\r\n" + _jsonl(VQA_RECORDS[1:]))

    assert read_submission(folder, REFERENCES).tasks["medical_vqa"].predictions[0] == record["prediction"]


def test_other_files_and_subfolders_are_ignored(tmp_path):
    folder = _submission(tmp_path, README__md="# my submission\n", notes__txt=b"\xff\xfe")
    (folder / "extras").mkdir()
    (folder / "extras" / "junk.jsonl").write_text("not json\n")

    assert set(read_submission(folder, REFERENCES).tasks) == {"covid19", "medical_vqa"}


def test_symlinked_task_file_is_rejected(tmp_path):
    folder = _submission(tmp_path, covid19__jsonl=None)
    (folder / "real.json").write_text(_jsonl(COVID_RECORDS))
    (folder / "covid19.jsonl").symlink_to(folder / "real.json")

    error = _expect_invalid(folder, "symlink", "covid19.jsonl", None)

    assert "outside" not in str(error)


def test_symlink_pointing_outside_the_folder_is_rejected(tmp_path):
    folder = _submission(tmp_path, covid19__jsonl=None)
    outside = tmp_path / "elsewhere.jsonl"
    outside.write_text(_jsonl(COVID_RECORDS))
    (folder / "covid19.jsonl").symlink_to(outside)

    error = _expect_invalid(folder, "symlink", "covid19.jsonl", None)

    assert "outside the submission folder" in str(error)


def test_symlinked_metadata_is_rejected(tmp_path):
    folder = _submission(tmp_path, submission__json=None)
    (tmp_path / "meta.json").write_text(json.dumps(METADATA))
    (folder / "submission.json").symlink_to(tmp_path / "meta.json")

    _expect_invalid(folder, "symlink", "submission.json", None)


def test_symlinked_submission_folder_is_allowed(tmp_path):
    folder = _submission(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(folder, target_is_directory=True)

    assert read_submission(link, REFERENCES).folder == folder.resolve()


@pytest.mark.parametrize("make", [
    lambda tmp_path: tmp_path / "absent",  # no such path
    lambda tmp_path: _write(tmp_path, {"file.txt": "x"}) / "file.txt",  # a file, not a folder
])
def test_missing_folder_is_a_usage_error(tmp_path, make):
    with pytest.raises(UsageError) as info:
        read_submission(make(tmp_path), REFERENCES)

    assert info.value.exit_code == 2 and info.value.hint
    _assert_one_line(info.value)


def test_read_metadata_returns_the_model(tmp_path):
    folder = _submission(tmp_path, submission__json=_metadata("model", {"repo_id": None, "revision": None}))

    metadata = read_metadata(folder)

    assert isinstance(metadata, SubmissionMetadata)
    assert metadata.model.repo_id is None and metadata.method.setting == "single_task"
    with pytest.raises(ValueError):
        metadata.name = "changed"  # frozen


def test_metadata_over_the_size_limit_is_rejected(tmp_path):
    folder = _submission(tmp_path, submission__json=_metadata("name", "x" * (1024 * 1024)))

    _expect_invalid(folder, "metadata-json", "submission.json", None)


def _measure(folder: Path) -> tuple[InvalidSubmissionError, float, int]:
    """Read an invalid submission; return the error, the seconds taken and the peak traced memory."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(InvalidSubmissionError) as info:
            read_submission(folder, REFERENCES)
        return info.value, time.perf_counter() - start, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_runaway_file_of_unknown_ids_fails_fast(tmp_path):
    folder = _submission(tmp_path, medical_vqa__jsonl=None)
    block = _jsonl([{"id": f"x-{i}", "prediction": "yes", "score": 0.5} for i in range(20_000)]).encode()
    with open(folder / "covid19.jsonl", "wb") as stream:
        while stream.tell() < 100 * 2**20:
            stream.write(block)

    error, seconds, peak = _measure(folder)

    assert (error.rule, error.line) == ("unknown-id", 1)
    assert seconds < 2 and peak < 2**19


def test_sparse_gigabyte_file_fails_fast(tmp_path):
    folder = _submission(tmp_path, medical_vqa__jsonl=None)
    with open(folder / "covid19.jsonl", "wb") as stream:
        stream.truncate(2**30)  # 1 GiB of NUL bytes, no newline

    error, seconds, peak = _measure(folder)

    assert (error.rule, error.line) == ("line-too-long", 1)
    assert seconds < 2 and peak < 2**19


def test_large_blank_file_streams_in_bounded_memory(tmp_path):
    folder = _submission(tmp_path, medical_vqa__jsonl=None)
    with open(folder / "covid19.jsonl", "wb") as stream:
        for _ in range(800):  # 800 lines of 60 KiB whitespace: about 47 MiB
            stream.write(b" " * (60 * 1024) + b"\n")

    error, seconds, peak = _measure(folder)

    assert error.rule == "empty-file"
    assert seconds < 5 and peak < 2**19


# --- property-based: any content is either accepted or rejected with InvalidSubmissionError ---------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
RECORDS = st.fixed_dictionaries(
    {"id": st.sampled_from(COVID_IDS) | JSON_VALUES, "prediction": st.sampled_from(["yes", "no"]) | JSON_VALUES},
    optional={"score": st.floats(-0.5, 1.5) | JSON_VALUES, "extra": JSON_VALUES},
)
WELL_FORMED = st.fixed_dictionaries({"id": st.sampled_from(COVID_IDS), "prediction": st.sampled_from(["yes", "no"])},
                                    optional={"score": st.floats(-0.1, 1.1)})
TASK_LINES = st.permutations(COVID_RECORDS) | st.lists(st.one_of(WELL_FORMED, WELL_FORMED, RECORDS, JSON_VALUES),
                                                       max_size=6)
LINE_ENDS = st.sampled_from(["\n", "\r\n", "\n\n", "\n \n"])
METADATA_PATHS = st.sampled_from(["name", "model", "model.repo_id", "dataset.fingerprint", "method",
                                  "method.setting", "method.clients", "communication_bytes", "external_data", "extra"])
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _read_or_reject(folder: Path) -> Submission | None:
    try:
        return read_submission(folder, REFERENCES)
    except InvalidSubmissionError as error:
        assert error.rule in RULES
        _assert_one_line(error)
        return None


@PROPERTY
@given(content=st.binary(max_size=300))
def test_random_bytes_as_task_file(tmp_path, content):
    folder = _submission(tmp_path, medical_vqa__jsonl=None)
    (folder / "covid19.jsonl").write_bytes(content)

    _read_or_reject(folder)


@PROPERTY
@given(lines=TASK_LINES, end=LINE_ENDS)
def test_random_json_lines_as_task_file(tmp_path, lines, end):
    folder = _submission(tmp_path)
    content = end.join(json.dumps(line) for line in lines)
    (folder / "covid19.jsonl").write_text(content, encoding="utf-8", newline="")
    (folder / "medical_vqa.jsonl").write_text(content.replace("c-", "v-"), encoding="utf-8", newline="")

    _read_or_reject(folder)


@PROPERTY
@given(content=st.binary(max_size=200) | JSON_VALUES.map(lambda value: json.dumps(value).encode())
       | st.tuples(METADATA_PATHS, JSON_VALUES).map(lambda change: _metadata(*change).encode()))
def test_random_metadata(tmp_path, content):
    folder = _submission(tmp_path)
    (folder / "submission.json").write_bytes(content)

    _read_or_reject(folder)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(len(COVID_RECORDS))))
def test_any_line_order_gives_the_reference_order(tmp_path, order):
    folder = _submission(tmp_path, covid19__jsonl=_jsonl([COVID_RECORDS[i] for i in order]))

    covid = read_submission(folder, REFERENCES).tasks["covid19"]

    assert covid.predictions == tuple(record["prediction"] for record in COVID_RECORDS)
    np.testing.assert_array_equal(covid.scores, [record["score"] for record in COVID_RECORDS])


def test_every_rule_has_a_one_line_hint():
    assert len(RULES) == 23
    assert all(hint and "\n" not in hint for hint in RULES.values())


def test_reader_imports_neither_torch_nor_datasets():
    code = "import sys, fedmeki_eval.submission; print(sorted({'torch', 'datasets'} & set(sys.modules)))"

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"
