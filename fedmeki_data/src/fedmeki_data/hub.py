"""Dataset folders in the Hugging Face Hub layout: write them atomically, load them, publish them.

A folder holds one config per task, ``<task>/<split>-0000i-of-0000n.parquet`` shards, a ``README.md``
card whose YAML ``configs:`` block maps splits to files (no loading script), and
``fedmeki_manifest.json``. ``datasets.load_dataset(folder, task)`` reads it as it is; so does the Hub.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from fedmeki_data import __version__
from fedmeki_data.atomic import atomic_folder
from fedmeki_data.card import render_card
from fedmeki_data.errors import DatasetNotFoundError, PublishRefusedError, UnknownTaskError
from fedmeki_data.manifest import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    fingerprint,
    hash_files,
    read_manifest,
    verify_files,
    write_manifest,
)
from fedmeki_data.schema import check_split_name, split_names, task_features
from fedmeki_data.split_files import write_split_files
from fedmeki_data.tasks import TaskSpec

if TYPE_CHECKING:
    import datasets

logger = logging.getLogger(__name__)

_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def is_repo_id(value: str) -> bool:
    """Whether ``value`` has the form of a Hub repo id, ``org/name``."""
    return bool(_REPO_ID.match(str(value)))


@contextmanager
def write_dataset(out: str | Path, *, build: Mapping, partition: Mapping, overwrite: bool = False
                  ) -> Iterator[DatasetWriter]:
    """Write a dataset folder task by task; the folder appears only when every task is written.

    Parameters
    ----------
    out : str or Path
        Destination folder (see :func:`fedmeki_data.atomic.atomic_folder`).
    build : Mapping
        Build metadata for the manifest and card: ``pretty_name``, ``description``, ``license``, ``tags``
        and what produced the data (builder, size, seed, ...).
    partition : Mapping
        The requested partition configuration.
    overwrite : bool, default=False
        Replace an existing FedMEKI dataset folder at ``out``.

    Yields
    ------
    DatasetWriter
        Call ``add_task`` per task; after the block, ``manifest`` holds what was written.

    Examples
    --------
    >>> with write_dataset(out, build=build, partition=config.to_dict()) as writer:  # doctest: +SKIP
    ...     writer.add_task(spec, dataset, assignment.split, source="PTB-XL 1.0.3", license="CC BY 4.0",
    ...                     credentialed=False, citation=spec.citation, n_clients=assignment.n_clients)
    >>> writer.manifest["fingerprint"]  # doctest: +SKIP
    'e3b530caebd542e1'
    """
    with atomic_folder(out, overwrite=overwrite, marker=MANIFEST_NAME, kind="FedMEKI dataset folder") as staging:
        writer = DatasetWriter(staging, build=build, partition=partition)
        yield writer
        writer.finish()


class DatasetWriter:
    """Writes tasks into a staging folder, then the manifest and card (use :func:`write_dataset`)."""

    def __init__(self, folder: Path, *, build: Mapping, partition: Mapping) -> None:
        self._folder = folder
        self._build, self._partition = dict(build), dict(partition)
        self._tasks: dict[str, dict] = {}
        self.manifest: dict | None = None

    def add_task(self, task: TaskSpec, data: datasets.Dataset | pa.RecordBatchReader, split: np.ndarray, *,
                 source: str, license: str, credentialed: bool, citation: str, n_clients: int,
                 client_id: np.ndarray | None = None) -> None:
        """Write one task's splits.

        Parameters
        ----------
        task : TaskSpec
        data : datasets.Dataset or pyarrow.RecordBatchReader
            All records of the task, with exactly ``task_features(task)``; a reader streams them (builds
            from large sources never hold a task in memory).
        split : ndarray of str
            Split name of each record (from :func:`fedmeki_data.partition.partition` for training tasks).
        source, license, citation : str
            Provenance recorded in the manifest and card.
        credentialed : bool
            Whether the data comes from a credentialed source (refused by open pushes).
        n_clients : int
            Number of client splits (0 for validation tasks).
        client_id : ndarray of int, optional
            Replaces the ``client_id`` column (the partition is known only after records are decoded).
        """
        import datasets

        features = task_features(task)
        streamed = isinstance(data, pa.RecordBatchReader)
        given = datasets.Features.from_arrow_schema(data.schema) if streamed else data.features
        if given != features:
            raise ValueError(f"{task.id}: columns {list(given)} do not match the dataset contract")
        names = split_names(task, n_clients)
        unknown = set(split.tolist()) - set(names)
        if unknown:
            raise ValueError(f"{task.id}: unexpected split names {sorted(unknown)}; expected {names}")
        folder = self._folder / task.id
        folder.mkdir()
        # Only the features go into the Parquet metadata: a Dataset read from a file also carries a
        # random fingerprint there, which would make equal builds differ byte for byte.
        batches = data if streamed else data.data.table.to_batches()
        splits = write_split_files(batches, features.arrow_schema, split, [check_split_name(n) for n in names],
                                   folder, task, client_id)
        self._tasks[task.id] = {
            "role": task.role, "source": source, "license": license, "credentialed": credentialed,
            "citation": citation, "n_clients": n_clients, "splits": splits,
        }
        logger.info("wrote %s: %s", task.id, {name: info["rows"] for name, info in splits.items()})

    def finish(self) -> None:
        """Write the manifest and the card of everything added."""
        files = hash_files(self._folder, self._folder.rglob("*.parquet"))
        for task_id, entry in self._tasks.items():
            entry["fingerprint"] = fingerprint(files, prefix=f"{task_id}/")
        manifest = {
            "format_version": FORMAT_VERSION, "fedmeki_version": __version__, "build": self._build,
            "partition": self._partition, "tasks": self._tasks, "files": files, "fingerprint": fingerprint(files),
        }
        write_manifest(self._folder, manifest)
        (self._folder / "README.md").write_text(render_card(manifest), encoding="utf-8")
        self.manifest = manifest


def resolve_dataset(path_or_repo: str | Path, *, revision: str | None = None,
                    cache_dir: str | Path | None = None) -> Path:
    """Return a local folder for a dataset folder path or a Hub dataset repo id.

    A repo id is resolved with ``huggingface_hub.snapshot_download``, which uses the local cache and
    works offline (``HF_HUB_OFFLINE=1``) once the snapshot is there.

    Raises
    ------
    DatasetNotFoundError
        If the path does not exist and the repo cannot be resolved.
    """
    path = Path(path_or_repo).expanduser()
    if path.is_dir():
        return path
    if path.exists() or not is_repo_id(path_or_repo):
        raise DatasetNotFoundError(
            f"No dataset folder at {path_or_repo}.",
            hint="pass a folder built by 'fedmeki data demo' or a Hub repo id such as org/name",
        )
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(str(path_or_repo), repo_type="dataset", revision=revision,
                                      cache_dir=cache_dir))
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as error:
        raise DatasetNotFoundError(
            f"Cannot resolve dataset repo {path_or_repo!r} (and there is no folder of that name): "
            f"{str(error).splitlines()[0]}",
            hint="check the repo id and your network, or with HF_HUB_OFFLINE=1 download it once first",
        ) from None


def load_task(path_or_repo: str | Path, task: str, split: str | None = None, *, revision: str | None = None,
              cache_dir: str | Path | None = None) -> datasets.Dataset | datasets.DatasetDict:
    """Load one task (config) of a FedMEKI dataset from a local folder or a Hub repo.

    Parameters
    ----------
    path_or_repo : str or Path
        Dataset folder, or Hub dataset repo id (``org/name``).
    task : str
        Task id (config name).
    split : str or None, default=None
        One split (``client_0``, ``validation``, ``public``, ``test``), or None for all.
    revision, cache_dir
        Passed to ``snapshot_download`` for repo ids.

    Raises
    ------
    UnknownTaskError
        If the dataset has no such task or split.
    """
    import datasets  # a second to import; only loading needs it, not writing, resolving or pushing

    folder = resolve_dataset(path_or_repo, revision=revision, cache_dir=cache_dir)
    manifest = read_manifest(folder)
    entry = manifest["tasks"].get(task)
    if entry is None:
        raise UnknownTaskError(
            f"{path_or_repo} has no task {task!r}.", hint=f"it has: {', '.join(manifest['tasks'])}"
        )
    if split is not None and split not in entry["splits"]:
        raise UnknownTaskError(
            f"Task {task!r} of {path_or_repo} has no split {split!r}.", hint=f"it has: {', '.join(entry['splits'])}"
        )
    return datasets.load_dataset(str(folder), task, split=split)


def push_dataset(folder: str | Path, repo_id: str, *, private: bool = False, gated: bool = False,
                 dry_run: bool = False, api=None) -> list[str]:
    """Upload a verified dataset folder to a Hub dataset repo.

    Parameters
    ----------
    folder : str or Path
        A folder written by :class:`DatasetWriter`.
    repo_id : str
        ``org/name``; created if missing.
    private, gated : bool, default=False
        Make the repo private, or gated with manual approval. A build with a credentialed source is
        refused unless one of them is set.
    dry_run : bool, default=False
        Only check and return the files that would be uploaded.
    api : huggingface_hub.HfApi, optional
        The client to use (default: a new ``HfApi()``).

    Returns
    -------
    list of str
        The uploaded (or, with ``dry_run``, to-be-uploaded) relative paths.

    Raises
    ------
    PublishRefusedError
        If the build holds credentialed data and the repo would be public and ungated.
    DatasetIntegrityError
        If a file does not match the manifest.
    """
    folder = Path(folder)
    if not is_repo_id(repo_id):
        raise DatasetNotFoundError(f"{repo_id!r} is not a Hub repo id.", hint="use the form org/name")
    manifest = read_manifest(folder)
    verify_files(folder, manifest)
    credentialed = [task_id for task_id, entry in manifest["tasks"].items() if entry["credentialed"]]
    if credentialed and not (private or gated):
        raise PublishRefusedError(
            f"Refusing to publish credentialed data openly ({', '.join(credentialed)}).",
            hint="push with --private or --gated, and only where the source's data use agreement allows it",
        )
    files = sorted([*manifest["files"], MANIFEST_NAME, "README.md"])
    if dry_run:
        return files
    upload_files(folder, repo_id, files, repo_type="dataset", private=private, gated=gated, api=api,
                 commit_message=f"FedMEKI dataset {manifest['fingerprint']}")
    return files


def upload_files(folder: str | Path, repo_id: str, files: list[str], *, repo_type: str, private: bool,
                 commit_message: str, gated: bool = False, api=None):
    """Create ``repo_id`` if it is missing and upload exactly ``files`` of ``folder`` in one commit.

    Shared by dataset and model pushes, which check the folder first. ``api`` defaults to a new
    ``huggingface_hub.HfApi()``. Returns the ``CommitInfo`` of the upload.
    """
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
    if gated:
        api.update_repo_settings(repo_id, repo_type=repo_type, gated="manual")
    return api.upload_folder(repo_id=repo_id, repo_type=repo_type, folder_path=folder, allow_patterns=files,
                             commit_message=commit_message)


