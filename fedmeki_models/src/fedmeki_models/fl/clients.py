"""The clients of a federation as the server loop sees them, whichever engine runs them.

:class:`~fedmeki_models.fl.engine.Federation` samples, aggregates, evaluates and checkpoints; a
:class:`Clients` implementation runs the client side: in this process
(:class:`~fedmeki_models.fl.local_clients.LocalClients`) or on Flower SuperNodes
(:class:`fedmeki_models.flower.clients.FlowerClients`). Both call :func:`client_round`, the one code path
of a client update.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import torch

from fedmeki_models.fl.seeds import client_generator
from fedmeki_models.fl.types import ClientUpdate, Weights

if TYPE_CHECKING:
    from fedmeki_models.data import TaskTensors
    from fedmeki_models.fl.algorithms.base import Algorithm, ClientOutcome
    from fedmeki_models.model import LocalModel
    from fedmeki_models.run_config import RunConfig

Metrics = dict[str, float]


@dataclass(frozen=True)
class ClientFailure:
    """A sampled client that sent no usable update: it raised, diverged, or its site went away."""

    client: int
    error: str


class Clients(Protocol):
    """The client side of a federation of ``n_clients`` clients (client ``k`` = site ``k``)."""

    n_clients: int

    def sizes(self, task: str) -> list[int]:
        """Training examples of each client for ``task`` (0: the client has no shard and is not asked)."""

    def train(self, round_: int, task: str, clients: Sequence[int], weights: Weights, payload: Weights,
              on_reply: Callable[[], None] | None = None) -> list[ClientUpdate | ClientFailure]:
        """Each client's update of ``task`` from the global ``weights``, in the order of ``clients``.

        ``on_reply`` is called once per client as its reply arrives (for progress bars).
        """

    def evaluate(self, weights: Weights, tasks: Sequence[str]) -> dict[str, dict[int, Metrics]]:
        """Metrics of the global ``weights`` on each client's validation records, per task and client."""

    def kept_states(self, task: str) -> dict[int, Weights]:
        """What the clients keep for ``task`` and may share for the exported model (FedBN), by client."""

    def describe(self) -> dict:
        """The engine and, where the clients are remote, each site's node and data (for ``run.json``)."""

    def state(self) -> dict:
        """The clients' state for a checkpoint (tensors and JSON values)."""

    def restore(self, state: dict) -> None:
        """Restore :meth:`state` from a checkpoint."""


def client_round(algorithm: Algorithm, model: LocalModel, task: str, shard: TaskTensors, config: RunConfig, *,
                 round_: int, client: int, weights: Weights, payload: Weights, client_state: Weights,
                 device: torch.device, optimizer_state: dict | None = None,
                 keep_optimizer: bool = False) -> ClientOutcome:
    """``client``'s update of ``task`` in ``round_``: the algorithm's client update with the run's training
    config and the generator derived for this (round, task, client)."""
    return algorithm.client_update(
        model, task, shard, config.training, client=client, global_weights=weights, payload=payload,
        client_state=client_state, generator=client_generator(config.seed, round_, task, client), device=device,
        optimizer_state=optimizer_state, keep_optimizer=keep_optimizer)


def evaluation_options(config: RunConfig, device: torch.device | str) -> dict:
    """Batch size, device and precision of every evaluation of a run, on the server and at the clients."""
    return {"batch_size": max(256, config.training.batch_size), "device": device,
            "precision": config.training.precision}


def check_finite(update: ClientUpdate) -> None:
    """Raise ``FloatingPointError`` if ``update`` holds NaN or infinite values: the server drops it."""
    for key, tensor in {**update.weights, **update.extras}.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise FloatingPointError(f"non-finite values in {key}")
