"""``fedmeki data demo``: the offline synthetic FedMEKI dataset, in the exact dataset contract.

Every task is generated from its own seeded generator (``[seed, crc32(task id)]``), partitioned with the
requested scheme, and written through :func:`fedmeki_data.hub.write_dataset`, one task at a time so
memory stays bounded by the largest task.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterable
from pathlib import Path

import datasets
import numpy as np

from fedmeki_data.errors import InvalidParameterError, PartitionError
from fedmeki_data.hub import write_dataset
from fedmeki_data.partition import PartitionConfig, partition
from fedmeki_data.progress import Progress
from fedmeki_data.schema import TEST, task_features
from fedmeki_data.synthetic.records import GENERATORS
from fedmeki_data.synthetic.sizes import SIZES, DemoSize, SizeName
from fedmeki_data.tasks import TaskSpec, resolve_tasks


def build_demo(out: str | Path, *, size: SizeName = "small", partition_config: PartitionConfig | None = None,
               tasks: Iterable[str] | None = None, overwrite: bool = False,
               progress: Progress | None = None) -> dict:
    """Generate the synthetic dataset and write it to ``out``.

    Parameters
    ----------
    out : str or Path
        Destination folder (created atomically).
    size : {"tiny", "small", "medium"}, default="small"
    partition_config : PartitionConfig, optional
        Client partitioning of the training tasks (default: ``paper``); its ``seed`` also seeds the data.
    tasks : iterable of str, optional
        Task ids to build (default: all eight).
    overwrite : bool, default=False
        Replace an existing FedMEKI dataset folder.
    progress : callable, optional
        Progress callback.

    Returns
    -------
    dict
        The manifest of the written folder.

    Raises
    ------
    InvalidParameterError, PartitionError, OutputExistsError
        On bad options, before anything is written.
    """
    if size not in SIZES:
        raise InvalidParameterError(f"Unknown size {size!r}.", hint=f"use one of {', '.join(SIZES)}")
    config = partition_config or PartitionConfig()
    specs = resolve_tasks(tasks)
    _check_sites(specs, config)
    build = {
        "builder": "demo", "size": size, "seed": config.seed, "image_size": SIZES[size].image_size,
        "pretty_name": "FedMEKI synthetic demo", "license": "cc0-1.0", "tags": ["synthetic"],
        "description": (
            "Synthetic stand-ins for the eight FedMEKI tasks, generated offline by `fedmeki data demo` "
            f"(size `{size}`, seed {config.seed}). Same columns, splits and prompts as builds from the real "
            "sources; each label has its own learnable pattern."
        ),
    }
    with write_dataset(out, build=build, partition=config.to_dict(), overwrite=overwrite) as writer:
        for spec in specs:
            data, split, n_clients = _generate_task(spec, SIZES[size], config, progress)
            writer.add_task(spec, data, split, source="synthetic (fedmeki data demo)", license="CC0 1.0",
                            credentialed=False, citation="", n_clients=n_clients)
    return writer.manifest


def _generate_task(spec: TaskSpec, size: DemoSize, config: PartitionConfig, progress: Progress | None
                   ) -> tuple[datasets.Dataset, np.ndarray, int]:
    n = size.training if spec.role == "training" else size.validation
    rng = np.random.default_rng([config.seed, zlib.crc32(spec.id.encode())])
    done = itertools.count(1)

    def tick() -> None:
        if progress is not None:
            progress(spec.id, next(done), n)

    columns = GENERATORS[spec.id](n, rng, size.image_size, tick)
    if spec.role == "training":
        labels = np.asarray(columns["label"]) if spec.is_binary else None
        assignment = partition(labels, np.asarray(columns["site"], dtype=object), config)
        split, client_id, n_clients = assignment.split, assignment.client_id, assignment.n_clients
    else:
        split, client_id, n_clients = np.full(n, TEST, dtype=object), np.full(n, -1, np.int32), 0
    columns["client_id"] = client_id.tolist()
    features = task_features(spec)
    return datasets.Dataset.from_dict({name: columns[name] for name in features}, features=features), split, n_clients


def _check_sites(specs: Iterable[TaskSpec], config: PartitionConfig) -> None:
    if config.scheme != "natural":
        return
    missing = [spec.id for spec in specs if spec.role == "training" and not spec.has_sites]
    if missing:
        with_sites = [spec.id for spec in resolve_tasks() if spec.role == "training" and spec.has_sites]
        raise PartitionError(
            f"--partition natural needs natural sites, which {', '.join(missing)} does not have.",
            hint=f"add --tasks for tasks with sites ({', '.join(with_sites)}), or use another partition",
        )
