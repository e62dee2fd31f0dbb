"""Scoring a submission folder: validate it against the references, then score every task it covers.

The result is one plain dictionary (the content of ``results.json``), so reports, cards and the CLI all
read the same thing.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from fedmeki_data.tasks import TASKS, tasks_with_role
from fedmeki_eval import __version__
from fedmeki_eval.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED
from fedmeki_eval.protocols import Protocol, check_protocol
from fedmeki_eval.references import References, TaskReferences, load_references
from fedmeki_eval.submission import Submission, TaskPredictions, read_metadata, read_submission
from fedmeki_eval.task_scores import TaskScore, score_binary, score_generation


def validate(folder: str | Path, *, references: str | Path | None = None) -> tuple[Submission, References]:
    """Read and validate a submission without scoring it.

    Parameters
    ----------
    folder : str or Path
        The submission folder.
    references : str or Path, optional
        Dataset folder or Hub repo id holding the test splits (default: the dataset named in
        ``submission.json``).

    Raises
    ------
    InvalidSubmissionError
        At the first broken rule (exit code 1).
    UsageError
        If the folder or the references cannot be read (exit code 2).
    """
    metadata = read_metadata(folder)
    source = references if references is not None else metadata.dataset.repo_or_path
    loaded = load_references(source)
    return read_submission(folder, loaded), loaded


def score(folder: str | Path, *, references: str | Path | None = None, protocol: Protocol = "strict",
          n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> dict:
    """Validate and score a submission.

    Parameters
    ----------
    folder : str or Path
        The submission folder.
    references : str or Path, optional
        As in :func:`validate`.
    protocol : {"strict", "paper"}, default="strict"
        How answers are parsed (see :mod:`fedmeki_eval.protocols`).
    n_resamples : int, default=1000
        Bootstrap resamples behind every 95 % interval.
    seed : int, default=0
        Seed of the bootstrap.

    Returns
    -------
    dict
        ``results.json``: per task ``n``, ``metrics``, ``ci95``, ``main_metric``, ``main_score``,
        ``higher_is_better``, ``notes``; the ``summary`` means of the main scores over training,
        validation and all scored tasks; ``missing_tasks``; versions, protocol, date, references and the
        submission's metadata.
    """
    check_protocol(protocol, caller="score")
    submission, loaded = validate(folder, references=references)
    tasks = {
        task_id: _task_result(loaded.tasks[task_id], predictions, protocol, n_resamples, seed)
        for task_id, predictions in submission.tasks.items()
    }
    return {
        "fedmeki_version": __version__,
        "protocol": protocol,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "bootstrap": {"n_resamples": n_resamples, "seed": seed, "confidence": 0.95},
        "references": {"source": loaded.source, "fingerprint": loaded.fingerprint},
        "submission": submission.metadata.to_dict(),
        "tasks": tasks,
        "missing_tasks": list(submission.missing_tasks),
        "summary": summarize_main_scores(tasks),
    }


def summarize_main_scores(tasks: Mapping[str, Mapping]) -> dict:
    """Mean main score over the scored training tasks, validation tasks and all (None where none)."""
    groups = {
        "training": [t.id for t in tasks_with_role("training")],
        "validation": [t.id for t in tasks_with_role("validation")],
        "all": list(TASKS),
    }
    summary = {}
    for group, members in groups.items():
        scores = [tasks[task_id]["main_score"] for task_id in members if task_id in tasks]
        summary[group] = {"mean_main_score": float(np.mean(scores)) if scores else None, "n_tasks": len(scores)}
    return summary


def _task_result(reference: TaskReferences, predictions: TaskPredictions, protocol: Protocol, n_resamples: int,
                 seed: int) -> dict:
    task = reference.task
    if task.is_binary:
        result: TaskScore = score_binary(reference.answers, predictions.predictions, predictions.scores,
                                         protocol=protocol, n_resamples=n_resamples, seed=seed)
    else:
        result = score_generation(reference.answers, predictions.predictions, protocol=protocol,
                                  n_resamples=n_resamples, seed=seed)
    return {
        "role": task.role,
        "n": result.n,
        "metrics": result.metrics,
        "ci95": {name: list(interval) for name, interval in result.ci95.items()},
        "main_metric": task.main_metric,
        "main_score": result.metrics[task.main_metric],
        "higher_is_better": True,
        "notes": list(result.notes),
    }
