"""``fedmeki data build``: raw source folders -> a dataset folder in the FedMEKI contract.

Records stream from a source module into an Arrow file on disk (memory stays bounded whatever the
number of records), optionally decoded by ``num_proc`` worker processes in source order (the output does
not depend on ``num_proc``). Records a source cannot use are reported with their reason, or stop the
build with ``strict``. The training tasks are then partitioned by patient and written atomically with
their manifest, like the synthetic demo.
"""

from __future__ import annotations

import functools
import multiprocessing
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from fedmeki_data.errors import DatasetIntegrityError, DatasetNotFoundError
from fedmeki_data.partition import PartitionConfig, partition
from fedmeki_data.progress import Progress
from fedmeki_data.schema import TEST, task_features
from fedmeki_data.sources import source_module
from fedmeki_data.sources.base import BuildOptions, Record, Skipped
from fedmeki_data.tasks import TaskSpec, get_task

MAX_REPORTED = 1000
"""Skipped records listed one by one in the manifest (all are counted)."""
_CHUNK = 8


@dataclass
class TaskBuild:
    """One task's decoded records, before partitioning."""

    spec: TaskSpec
    path: Path
    labels: np.ndarray | None
    sites: np.ndarray
    groups: np.ndarray
    skipped: list[dict]

    def records(self) -> pa.RecordBatchReader:
        """The decoded records, streamed from disk (not memory-mapped, so memory stays flat)."""
        return pa.ipc.open_stream(pa.OSFile(str(self.path)))


def build_sources(sources: Mapping[str, str | Path], out: str | Path, *,
                  partition_config: PartitionConfig | None = None, options: BuildOptions | None = None,
                  num_proc: int = 1, strict: bool = False, overwrite: bool = False,
                  progress: Progress | None = None) -> dict:
    """Build the tasks of ``sources`` (task id -> raw source folder) into one dataset folder ``out``.

    Parameters
    ----------
    sources : mapping of str to path
        Each task's downloaded source folder, laid out as the source ships it.
    out : str or Path
        Dataset folder to create (atomically).
    partition_config : PartitionConfig, optional
        Client partition of the training tasks (default: ``paper``); no patient is in two splits.
    options : BuildOptions, optional
        Stored image size, clinical windows.
    num_proc : int, default=1
        Worker processes decoding records.
    strict : bool, default=False
        Fail on the first record a source cannot use instead of skipping and reporting it.
    overwrite : bool, default=False
        Replace an existing FedMEKI dataset folder.
    progress : Progress, optional

    Returns
    -------
    dict
        The manifest; ``manifest["build"]["skipped"]`` reports skipped records per task.

    Raises
    ------
    DatasetNotFoundError
        If a source folder holds no usable record.
    DatasetIntegrityError
        With ``strict``, on the first skipped record.
    PartitionError
        If a training task cannot be partitioned as asked.
    """
    from fedmeki_data.hub import write_dataset

    config = partition_config or PartitionConfig()
    options = options or BuildOptions()
    specs = [get_task(task) for task in sources]
    build = {"builder": "sources", "sources": {task: str(path) for task, path in sources.items()},
             **asdict(options), "seed": config.seed, "pretty_name": "FedMEKI",
             "license": "other", "tags": ["medical"],
             "description": "FedMEKI tasks built from their original sources by `fedmeki data build`."}
    with tempfile.TemporaryDirectory(prefix="fedmeki-build-") as scratch:
        built = [_decode_task(spec, Path(sources[spec.id]), options, Path(scratch), num_proc=num_proc,
                              strict=strict, progress=progress) for spec in specs]
        build["skipped"] = {task.spec.id: {"count": len(task.skipped), "records": task.skipped[:MAX_REPORTED]}
                            for task in built}
        with write_dataset(out, build=build, partition=config.to_dict(), overwrite=overwrite) as writer:
            for task in built:
                split, client_id, n_clients = _assign(task, config)
                sources_ = task.spec.sources
                writer.add_task(task.spec, task.records(), split, source="; ".join(source.name for source in sources_),
                                license="; ".join(source.license for source in sources_),
                                credentialed=task.spec.credentialed, citation=task.spec.citation,
                                n_clients=n_clients, client_id=client_id)
    return writer.manifest


def _decode_task(spec: TaskSpec, root: Path, options: BuildOptions, scratch: Path, *, num_proc: int,
                 strict: bool, progress: Progress | None) -> TaskBuild:
    from datasets.arrow_writer import ArrowWriter

    if not root.is_dir():
        raise DatasetNotFoundError(f"No source folder at {root} for {spec.id}.",
                                   hint=f"download {spec.sources[0].name} from {spec.sources[0].url}")
    module = source_module(spec.id)
    items = module.list_items(root, options)
    features = task_features(spec)
    labels, sites, groups, skipped = [], [], [], []
    path = scratch / f"{spec.id}.arrow"
    with ArrowWriter(features=features, path=str(path)) as writer:
        for done, result in enumerate(_load(module, items, options, num_proc), start=1):
            if isinstance(result, Skipped):
                if strict:
                    raise DatasetIntegrityError(f"{spec.id}: cannot use record {result.id}: {result.reason}.",
                                                hint="fix or remove the record, or build without --strict")
                skipped.append({"id": result.id, "reason": result.reason})
            else:
                writer.write(_row(result, spec))
                labels.append(result.label)
                sites.append(result.site)
                groups.append(result.group)
            if progress and (done % 64 == 0 or done == len(items)):
                progress(spec.id, done, len(items))
        writer.finalize()
    if not groups:
        raise DatasetNotFoundError(f"{root} holds no usable {spec.id} record ({len(skipped)} skipped).",
                                   hint=f"point --source at the unzipped {spec.sources[0].name} folder")
    return TaskBuild(spec=spec, path=path,
                     labels=np.asarray(labels, dtype=np.int64) if spec.is_binary else None,
                     sites=np.asarray(sites, dtype=object), groups=np.asarray(groups, dtype=object),
                     skipped=skipped)


def _load(module, items: list, options: BuildOptions, num_proc: int) -> Iterator[Record | Skipped]:
    load = functools.partial(module.load_item, options=options)
    if num_proc <= 1:
        yield from map(load, items)
        return
    with multiprocessing.get_context("spawn").Pool(num_proc) as pool:
        yield from pool.imap(load, items, chunksize=_CHUNK)


def _row(record: Record, spec: TaskSpec) -> dict:
    row = {"id": record.id, "client_id": -1, "site": record.site, **record.inputs,
           "question": record.question, "answer": record.answer}
    if spec.is_binary:
        row["label"] = record.label
    return row


def _assign(task: TaskBuild, config: PartitionConfig) -> tuple[np.ndarray, np.ndarray, int]:
    n = len(task.groups)
    if task.spec.role != "training":
        return np.full(n, TEST, dtype=object), np.full(n, -1, dtype=np.int32), 0
    sites = task.sites if task.spec.has_sites else None
    assignment = partition(task.labels, sites, config, groups=task.groups)
    return assignment.split, assignment.client_id, assignment.n_clients


def read_sources_file(path: str | Path) -> dict[str, Path]:
    """Read ``SOURCES.yaml`` (task id -> source folder, relative paths from the file's folder)."""
    import yaml

    path = Path(path)
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise DatasetNotFoundError(f"Cannot read {path}: {str(error).splitlines()[0]}",
                                   hint="write one 'task_id: /path/to/source' line per task") from None
    if not isinstance(content, dict) or not content:
        raise DatasetNotFoundError(f"{path} must map task ids to source folders.",
                                   hint="e.g. ecg_abnormal: /data/ptb-xl-1.0.3")
    return {str(task): (path.parent / str(folder)).resolve() for task, folder in content.items()}

