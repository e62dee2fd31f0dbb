"""What FedMEKI's ServerApp and ClientApp put in Flower messages, and how each side reads it back.

Weights travel as ``ArrayRecord`` (raw tensor bytes, exact), numbers as ``MetricRecord`` and settings as
``ConfigRecord``, under kebab-case keys as in Flower's own apps. Every instruction carries the run config
and the model config as JSON, so a SuperNode needs nothing but its data folder to serve any run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from flwr.app import ArrayRecord, ConfigRecord, MetricRecord, RecordDict

from fedmeki_models.config import LocalModelConfig
from fedmeki_models.fl.types import ClientUpdate, Weights
from fedmeki_models.run_config import RunConfig, make_run_config

# Record names
ARRAYS, PAYLOAD, EXTRAS = "arrays", "payload", "extras"
CONFIG, METRICS, SITE, SIZES = "config", "metrics", "site", "sizes"
TASK_METRICS = "metrics.{task}"
# Keys
SERVER_ROUND, TASK, TASKS = "server-round", "task", "tasks"
RUN_CONFIG, MODEL_CONFIG = "run-config", "model-config"
NUM_EXAMPLES, NUM_STEPS, TRAIN_LOSS = "num-examples", "num-steps", "train-loss"
CLIENT_ID, FINGERPRINT, VERSION = "client-id", "fingerprint", "fedmeki-version"


@dataclass(frozen=True)
class Instruction:
    """A train or evaluate instruction as the ClientApp reads it.

    Attributes
    ----------
    run : RunConfig
    model : LocalModelConfig
    weights : Weights
        The global weights (one task's for training, every evaluated task's for evaluation).
    payload : Weights
        The algorithm's extra server tensors (training only).
    round : int
        Server round (0 for evaluation).
    tasks : tuple of str
        The task to train, or the tasks to evaluate.
    """

    run: RunConfig
    model: LocalModelConfig
    weights: Weights
    payload: Weights
    round: int
    tasks: tuple[str, ...]


@dataclass(frozen=True)
class Site:
    """What a SuperNode says about itself when the server asks: its client index and its data."""

    client: int
    sizes: dict[str, int]
    fingerprint: str
    version: str


def to_record(weights: Mapping[str, torch.Tensor]) -> ArrayRecord:
    """``weights`` as an ``ArrayRecord`` (exact bytes, dtypes and order kept)."""
    return ArrayRecord({key: tensor.detach().cpu().contiguous() for key, tensor in weights.items()})


def from_record(record: ArrayRecord) -> Weights:
    """The tensors of an ``ArrayRecord`` by key."""
    return dict(record.to_torch_state_dict())


def instruction(run: RunConfig, model: LocalModelConfig, weights: Weights, *, round_: int = 0,
                tasks: Sequence[str], payload: Weights | None = None) -> RecordDict:
    """The content of a train (one task, with the round and payload) or evaluate (every task) message."""
    config = ConfigRecord({SERVER_ROUND: round_, TASKS: list(tasks), RUN_CONFIG: json.dumps(run.to_dict()),
                           MODEL_CONFIG: json.dumps(model.to_dict())})
    return RecordDict({ARRAYS: to_record(weights), PAYLOAD: to_record(payload or {}), CONFIG: config})


def read_instruction(content: RecordDict) -> Instruction:
    """The :class:`Instruction` in a message built by :func:`instruction`."""
    config = content[CONFIG]
    return Instruction(run=make_run_config(None, **json.loads(str(config[RUN_CONFIG]))),
                       model=LocalModelConfig(**json.loads(str(config[MODEL_CONFIG]))),
                       weights=from_record(content[ARRAYS]), payload=from_record(content[PAYLOAD]),
                       round=int(config[SERVER_ROUND]), tasks=tuple(config[TASKS]))


def update_reply(update: ClientUpdate) -> RecordDict:
    """The content of a train reply."""
    metrics = MetricRecord({NUM_EXAMPLES: update.num_examples, NUM_STEPS: update.num_steps,
                            TRAIN_LOSS: update.loss, CLIENT_ID: update.client})
    return RecordDict({ARRAYS: to_record(update.weights), EXTRAS: to_record(update.extras), METRICS: metrics})


def read_update(content: RecordDict) -> ClientUpdate:
    """The :class:`ClientUpdate` in a train reply."""
    metrics = content[METRICS]
    return ClientUpdate(client=int(metrics[CLIENT_ID]), weights=from_record(content[ARRAYS]),
                        num_examples=int(metrics[NUM_EXAMPLES]), num_steps=int(metrics[NUM_STEPS]),
                        loss=float(metrics[TRAIN_LOSS]), extras=from_record(content[EXTRAS]))


def metrics_reply(client: int, per_task: Mapping[str, Mapping[str, float]]) -> RecordDict:
    """The content of an evaluate reply: one ``MetricRecord`` per task (tasks without records are left out)."""
    records: dict = {METRICS: MetricRecord({CLIENT_ID: client})}
    records.update({TASK_METRICS.format(task=task): MetricRecord(dict(values)) for task, values in per_task.items()})
    return RecordDict(records)


def read_metrics(content: RecordDict, tasks: Sequence[str]) -> dict[str, dict[str, float]]:
    """Task -> metrics from an evaluate reply."""
    return {task: {name: float(value) for name, value in content[TASK_METRICS.format(task=task)].items()}
            for task in tasks if TASK_METRICS.format(task=task) in content}


def query(tasks: Sequence[str]) -> RecordDict:
    """The content of the query that asks a SuperNode who it is."""
    return RecordDict({CONFIG: ConfigRecord({TASKS: list(tasks)})})


def read_query(content: RecordDict) -> tuple[str, ...]:
    return tuple(content[CONFIG][TASKS])


def site_reply(site: Site) -> RecordDict:
    return RecordDict({SITE: ConfigRecord({CLIENT_ID: site.client, FINGERPRINT: site.fingerprint,
                                           VERSION: site.version}),
                       SIZES: MetricRecord(dict(site.sizes))})


def read_site(content: RecordDict) -> Site:
    site = content[SITE]
    return Site(client=int(site[CLIENT_ID]), sizes={task: int(n) for task, n in content[SIZES].items()},
                fingerprint=str(site[FINGERPRINT]), version=str(site[VERSION]))
