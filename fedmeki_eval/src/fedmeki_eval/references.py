"""The ground truth a submission is scored against: the ``test`` split of each task."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from fedmeki_data.errors import DatasetNotFoundError
from fedmeki_data.hub import resolve_dataset
from fedmeki_data.manifest import read_manifest, verify_files
from fedmeki_data.schema import TEST
from fedmeki_data.tasks import TaskSpec, get_task


@dataclass(frozen=True)
class TaskReferences:
    """Test ids and targets of one task, in the dataset's row order.

    Attributes
    ----------
    task : TaskSpec
    ids : tuple of str
    answers : tuple of str
        Target texts (``"yes"``/``"no"`` for binary tasks).
    labels : ndarray of int8 or None
        1 = yes, 0 = no for binary tasks; None for free-text tasks.
    """

    task: TaskSpec
    ids: tuple[str, ...]
    answers: tuple[str, ...]
    labels: np.ndarray | None


@dataclass(frozen=True)
class References:
    """The test splits of a dataset and the fingerprint that identifies it.

    Attributes
    ----------
    source : str
        Folder or Hub repo id they were read from.
    fingerprint : str
        The dataset fingerprint of its manifest.
    tasks : Mapping of str to TaskReferences
        Per task id, in registry order.
    """

    source: str
    fingerprint: str
    tasks: Mapping[str, TaskReferences]


def load_references(path_or_repo: str | Path, *, tasks: Iterable[str] | None = None, revision: str | None = None,
                    cache_dir: str | Path | None = None) -> References:
    """Read the ``test`` split of every task (or of ``tasks``) of a FedMEKI dataset.

    Only the ``id``, ``answer`` and ``label`` columns are read, straight from Parquet (no image or signal
    is decoded), after the test files are checked against their sha256 in the manifest.

    Parameters
    ----------
    path_or_repo : str or Path
        Dataset folder, or Hub dataset repo id resolved through the local cache.
    tasks : iterable of str, optional
        Task ids to read (default: every task the dataset has).
    revision, cache_dir
        For Hub repo ids, as in ``huggingface_hub.snapshot_download``.

    Raises
    ------
    DatasetNotFoundError
        If the dataset cannot be found or has no test split for a requested task.
    DatasetIntegrityError
        If a test file does not match the manifest.
    """
    folder = resolve_dataset(path_or_repo, revision=revision, cache_dir=cache_dir)
    manifest = read_manifest(folder)
    wanted = list(manifest["tasks"]) if tasks is None else list(tasks)
    missing = [task_id for task_id in wanted if TEST not in manifest["tasks"].get(task_id, {}).get("splits", {})]
    if missing:
        raise DatasetNotFoundError(
            f"{path_or_repo} has no test split for {', '.join(missing)}.",
            hint=f"it has test splits for: {', '.join(manifest['tasks'])}",
        )
    references = {task_id: _read_test_split(folder, manifest, get_task(task_id)) for task_id in wanted}
    return References(source=str(path_or_repo), fingerprint=manifest["fingerprint"], tasks=references)


def _read_test_split(folder: Path, manifest: dict, task: TaskSpec) -> TaskReferences:
    files = {path: digest for path, digest in manifest["files"].items() if path.startswith(f"{task.id}/{TEST}-")}
    verify_files(folder, {"files": files}, only_listed=True)
    columns = ["id", "answer", "label"] if task.is_binary else ["id", "answer"]
    table = pq.ParquetDataset([folder / path for path in sorted(files)]).read(columns=columns)
    labels = table["label"].to_numpy().astype(np.int8) if task.is_binary else None
    return TaskReferences(task=task, ids=tuple(table["id"].to_pylist()), answers=tuple(table["answer"].to_pylist()),
                          labels=labels)
