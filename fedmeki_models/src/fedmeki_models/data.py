"""Task data as ready tensors: decoded, resized and normalised once, then batched by index.

The training loop only indexes into these tensors, so it is limited by the model's compute and not
by image decoding or Arrow reads. :func:`load_task_tensors` reads one split of one task;
:func:`load_federated_data` every split a federated run needs, for several tasks, from one dataset.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from fedmeki_data.errors import DatasetIntegrityError, InvalidParameterError, PartitionError, UnknownTaskError
from fedmeki_data.hub import load_task, resolve_dataset
from fedmeki_data.manifest import read_manifest
from fedmeki_data.progress import Progress
from fedmeki_data.schema import CLINICAL_VARIABLES, ECG_LEADS, ECG_SAMPLES, PUBLIC, TEST, VALIDATION, client_split
from fedmeki_data.tasks import get_task
from fedmeki_models.decode import clinical_window, decode_image, nested_values, normalise_ecg

if TYPE_CHECKING:
    import datasets

SPLIT_GROUPS = ("clients", VALIDATION, PUBLIC, TEST)
"""What :func:`load_federated_data` can load: ``clients`` is every ``client_k`` split."""
_IMAGE_CHUNK = 64


@dataclass
class TaskTensors:
    """One split (or part of one) of one task, as tensors in the model's input format.

    Attributes
    ----------
    task : str
    ids : tuple of str
        Record ids, in row order.
    inputs : dict of str to Tensor
        Model inputs, first dimension = records: ``image`` uint8 ``(N, 1, S, S)``; ``ecg`` float32
        ``(N, 1000, 12)`` normalised per lead; ``clinical`` float32 ``(N, T, V)`` scaled, 0 where not
        measured, with ``clinical_mask`` float32 ``(N, T, V)`` (1 = measured) and ``steps_mask`` bool
        ``(N, T)`` (True = a real hour, False = padding).
    labels : Tensor or None
        float32 ``(N,)`` of 0/1 for binary tasks, None for free-text tasks.
    client_ids : Tensor
        int64 ``(N,)``, the ``client_id`` column (-1 outside client shards).
    """

    task: str
    ids: tuple[str, ...]
    inputs: dict[str, torch.Tensor]
    labels: torch.Tensor | None
    client_ids: torch.Tensor

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, index: Sequence[int] | np.ndarray | torch.Tensor) -> TaskTensors:
        """The records at ``index``, in that order."""
        index = torch.as_tensor(np.asarray(index, dtype=np.int64))
        return TaskTensors(
            task=self.task,
            ids=tuple(self.ids[i] for i in index.tolist()),
            inputs={key: value.index_select(0, index) for key, value in self.inputs.items()},
            labels=None if self.labels is None else self.labels.index_select(0, index),
            client_ids=self.client_ids.index_select(0, index),
        )

    @classmethod
    def concat(cls, parts: Sequence[TaskTensors]) -> TaskTensors:
        """All records of ``parts`` (same task), in order: the pooled data of the centralised baseline."""
        first = parts[0]
        return cls(
            task=first.task,
            ids=tuple(record for part in parts for record in part.ids),
            inputs={key: torch.cat([part.inputs[key] for part in parts]) for key in first.inputs},
            labels=None if first.labels is None else torch.cat([part.labels for part in parts]),
            client_ids=torch.cat([part.client_ids for part in parts]),
        )

    def batches(self, batch_size: int, *,
                generator: torch.Generator | None = None) -> Iterator[dict[str, torch.Tensor]]:
        """Yield batches of at most ``batch_size`` records: shuffled by ``generator``, else in row order.

        Each batch holds the inputs and, for binary tasks, ``label``. The last batch may be smaller
        (down to one record); every record appears exactly once per call.
        """
        n = len(self)
        order = torch.randperm(n, generator=generator) if generator is not None else None
        for start in range(0, n, batch_size):
            if order is None:
                batch = {key: value[start:start + batch_size] for key, value in self.inputs.items()}
                if self.labels is not None:
                    batch["label"] = self.labels[start:start + batch_size]
            else:
                index = order[start:start + batch_size]
                batch = {key: value.index_select(0, index) for key, value in self.inputs.items()}
                if self.labels is not None:
                    batch["label"] = self.labels.index_select(0, index)
            yield batch


def dataset_to_tensors(dataset: datasets.Dataset, task: str, split: str, *, image_size: int = 224,
                       max_steps: int = 48, progress: Progress | None = None) -> TaskTensors:
    """Decode every record of one loaded split once (see :func:`load_task_tensors`)."""
    spec = get_task(task)
    if image_size < 1 or max_steps < 1:
        raise InvalidParameterError(f"image_size and max_steps must be >= 1, got {image_size} and {max_steps}.",
                                    hint="use the sizes of the model config (image.image_size, clinical.max_steps)")
    label = f"{task}/{split}"
    modalities = [modality for modality in spec.modalities if modality != "text"]
    columns = ["id", "client_id", *(["label"] if spec.is_binary else []), *(m for m in modalities if m != "image")]
    table = dataset.select_columns(columns).with_format("arrow")[:]
    n = table.num_rows
    inputs: dict[str, torch.Tensor] = {}
    if "image" in modalities:
        inputs["image"] = torch.from_numpy(_decode_images(dataset, image_size, label, progress))
    if "ecg" in modalities:
        values, offsets = nested_values(table.column("ecg"), len(ECG_LEADS), name=label)
        if (np.diff(offsets) != ECG_SAMPLES).any():
            raise DatasetIntegrityError(f"{label}: an ECG does not have {ECG_SAMPLES} samples.",
                                        hint="rebuild the dataset with this FedMEKI version")
        inputs["ecg"] = torch.from_numpy(normalise_ecg(values.reshape(n, ECG_SAMPLES, len(ECG_LEADS)), name=label))
    if "clinical" in modalities:
        values, offsets = nested_values(table.column("clinical"), len(CLINICAL_VARIABLES), name=label)
        clinical, measured, steps = clinical_window(values, offsets, max_steps, name=label)
        inputs.update(clinical=torch.from_numpy(clinical), clinical_mask=torch.from_numpy(measured),
                      steps_mask=torch.from_numpy(steps))
    labels = None
    if spec.is_binary:
        raw = table.column("label").to_numpy().astype(np.int64)
        if not np.isin(raw, (0, 1)).all():
            raise DatasetIntegrityError(f"{label}: labels must be 0 (no) or 1 (yes).", hint="rebuild the dataset")
        labels = torch.from_numpy(raw.astype(np.float32))
    if progress is not None and "image" not in modalities:
        progress(label, n, n)
    return TaskTensors(task=task, ids=tuple(table.column("id").to_pylist()), inputs=inputs, labels=labels,
                       client_ids=torch.from_numpy(table.column("client_id").to_numpy().astype(np.int64)))


def _decode_images(dataset: datasets.Dataset, size: int, label: str, progress: Progress | None) -> np.ndarray:
    import datasets

    raw = dataset.select_columns(["image"]).cast_column("image", datasets.Image(decode=False))
    out = np.empty((len(raw), 1, size, size), dtype=np.uint8)
    done = 0
    for batch in raw.iter(batch_size=_IMAGE_CHUNK):
        for value in batch["image"]:
            if value is None:
                raise DatasetIntegrityError(f"{label}: record {done} has no image.", hint="rebuild the dataset")
            out[done, 0] = decode_image(value["bytes"], value.get("path"), size)
            done += 1
        if progress is not None:
            progress(label, done, len(raw))
    return out


def load_task_tensors(data: str | Path, task: str, split: str, *, image_size: int = 224, max_steps: int = 48,
                      revision: str | None = None, progress: Progress | None = None) -> TaskTensors:
    """Load one split of one task as tensors in the model's input format, decoding each record once.

    Parameters
    ----------
    data : str or Path
        Dataset folder or Hub dataset repo id (resolved offline from the cache when ``HF_HUB_OFFLINE=1``).
    task, split : str
        Task id and split name (``client_0``, ``validation``, ``public``, ``test``).
    image_size : int, default=224
        Side of the square images (``ImageEncoderConfig.image_size``); grayscale, bicubic resize.
    max_steps : int, default=48
        Clinical hours kept (``ClinicalEncoderConfig.max_steps``): the last ones, padded at the end.
    revision : str, optional
        Hub revision for a repo id.
    progress : callable, optional
        ``progress("<task>/<split>", done, total)``, every 64 images and once at the end.

    Raises
    ------
    UnknownTaskError
        If the task is not in the registry or not in the dataset, or the split does not exist.
    DatasetNotFoundError
        If ``data`` is neither a dataset folder nor a resolvable repo id.
    """
    get_task(task)
    dataset = load_task(data, task, split=split, revision=revision)
    return dataset_to_tensors(dataset, task, split, image_size=image_size, max_steps=max_steps, progress=progress)


@dataclass
class FederatedData:
    """Every split of a federated run, decoded: ``clients[task][k]`` is client ``k``'s private shard.

    Attributes
    ----------
    tasks : tuple of str
    n_clients : int
        Clients of the partition (0 when only test splits were loaded for validation tasks).
    fingerprint : str
        The dataset fingerprint from its manifest (what a submission names).
    source : str
        The folder or repo id the data came from.
    sources : dict of str to dict
        Per task, the data source as the manifest names it: ``source``, ``license``, ``credentialed``
        (what a model trained on it may be published under).
    clients : dict of str to list of TaskTensors
        ``client_0 .. client_{K-1}`` per task.
    validation, public, test : dict of str to TaskTensors
        Per task; empty where that split was not loaded.
    """

    tasks: tuple[str, ...]
    n_clients: int
    fingerprint: str
    source: str
    sources: dict[str, dict] = field(default_factory=dict)
    clients: dict[str, list[TaskTensors]] = field(default_factory=dict)
    validation: dict[str, TaskTensors] = field(default_factory=dict)
    public: dict[str, TaskTensors] = field(default_factory=dict)
    test: dict[str, TaskTensors] = field(default_factory=dict)

    def client_validation(self, task: str, client: int) -> TaskTensors:
        """The ``validation`` rows of ``task`` that belong to ``client``."""
        validation = self._loaded(self.validation, task, VALIDATION)
        if not 0 <= client < self.n_clients:
            raise InvalidParameterError(f"No client {client}: the partition has {self.n_clients} clients.",
                                        hint=f"use a client between 0 and {self.n_clients - 1}")
        return validation.subset(torch.nonzero(validation.client_ids == client).flatten())

    def pooled(self, task: str) -> TaskTensors:
        """All client shards of ``task`` in one (the centralised baseline's training data)."""
        return TaskTensors.concat(self._loaded(self.clients, task, "clients"))

    def _loaded(self, split: dict, task: str, name: str):
        if task not in self.tasks:
            raise UnknownTaskError(f"Task {task!r} was not loaded.", hint=f"loaded tasks: {', '.join(self.tasks)}")
        if task not in split:
            raise InvalidParameterError(f"The {name} split of {task!r} was not loaded.",
                                        hint=f"pass splits=(..., {name!r}) to load_federated_data")
        return split[task]


def load_federated_data(data: str | Path, tasks: Sequence[str], *, image_size: int, max_steps: int,
                        splits: Sequence[str] = SPLIT_GROUPS, revision: str | None = None,
                        progress: Progress | None = None) -> FederatedData:
    """Load and decode the splits of several tasks of one dataset, each split once.

    Parameters
    ----------
    data : str or Path
        Dataset folder or Hub dataset repo id; resolved once.
    tasks : sequence of str
        Task ids. Training needs training tasks; validation tasks have only ``test``.
    image_size, max_steps : int
        As in :func:`load_task_tensors`.
    splits : sequence of str, default=("clients", "validation", "public", "test")
        Which splits to load; ``clients`` means every ``client_k``.
    revision : str, optional
        Hub revision for a repo id.
    progress : callable, optional
        ``progress("<task>/<split>", done, total)``.

    Raises
    ------
    UnknownTaskError
        If a task is not in the registry or not in the dataset.
    InvalidParameterError
        If a validation task is asked for any split but ``test``, or ``splits`` names an unknown group.
    PartitionError
        If the tasks were partitioned over different numbers of clients (and client splits are loaded).
    """
    tasks = tuple(dict.fromkeys([tasks] if isinstance(tasks, str) else tasks))
    splits = tuple(dict.fromkeys(splits))
    if not tasks:
        raise InvalidParameterError("No task to load.", hint="name at least one task")
    unknown = [name for name in splits if name not in SPLIT_GROUPS]
    if unknown:
        raise InvalidParameterError(f"Unknown split group(s): {', '.join(map(repr, unknown))}.",
                                    hint=f"choose from {', '.join(SPLIT_GROUPS)}")
    specs = [get_task(task) for task in tasks]
    folder = resolve_dataset(data, revision=revision)
    manifest = read_manifest(folder)
    counts = {}
    for spec in specs:
        entry = manifest["tasks"].get(spec.id)
        if entry is None:
            raise UnknownTaskError(f"{data} has no task {spec.id!r}.", hint=f"it has: {', '.join(manifest['tasks'])}")
        if spec.role == "validation" and set(splits) != {TEST}:
            raise InvalidParameterError(
                f"Task {spec.id!r} is a validation task: it has only a test split, so it cannot be trained on.",
                hint="train on lung_opacity, covid19, ecg_abnormal or mortality; load validation tasks with "
                     "splits=('test',)")
        counts[spec.id] = int(entry["n_clients"])
    training = {task: count for task, count in counts.items() if count > 0}
    if len(set(training.values())) > 1 and {"clients", VALIDATION} & set(splits):
        described = ", ".join(f"{task}: {count}" for task, count in training.items())
        raise PartitionError(f"The tasks were partitioned over different numbers of clients ({described}).",
                             hint="train them separately, or rebuild the dataset with the same number of clients")
    sources = {task: {key: manifest["tasks"][task][key] for key in ("source", "license", "credentialed")}
               for task in tasks}
    result = FederatedData(tasks=tasks, n_clients=max(training.values(), default=0),
                           fingerprint=manifest["fingerprint"], source=str(data), sources=sources)
    options = {"image_size": image_size, "max_steps": max_steps, "progress": progress}
    for task in tasks:
        loaded = load_task(folder, task)
        if "clients" in splits:
            result.clients[task] = [dataset_to_tensors(loaded[client_split(k)], task, client_split(k), **options)
                                    for k in range(counts[task])]
        for name, target in ((VALIDATION, result.validation), (PUBLIC, result.public), (TEST, result.test)):
            if name in splits:
                target[task] = dataset_to_tensors(loaded[name], task, name, **options)
    return result
