"""The in-process clients: every client's shard and kept state live in this process, trained one by one."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from fedmeki_models.fl.clients import ClientFailure, Metrics, check_finite, client_round, evaluation_options
from fedmeki_models.fl.types import ClientUpdate, Weights
from fedmeki_models.training import evaluate_binary, load_state

if TYPE_CHECKING:
    from fedmeki_models.data import TaskTensors
    from fedmeki_models.fl.algorithms.base import Algorithm
    from fedmeki_models.model import LocalModel
    from fedmeki_models.run_config import RunConfig

logger = logging.getLogger(__name__)


class LocalClients:
    """Clients whose data is in memory here; they train in turn on the server's ``model``.

    Parameters
    ----------
    shards : dict of str to list of TaskTensors
        Task -> each client's private training shard (client ``k`` = index ``k``).
    validation : dict of str to list of TaskTensors
        Task -> each client's validation records.
    algorithm : Algorithm
    model : LocalModel
        The model the clients train in (the global weights are loaded before each update).
    config : RunConfig
    keep_optimizer : bool, default=False
        Keep each client's optimiser state across rounds (plain training in the baselines).
    """

    def __init__(self, shards: dict[str, list[TaskTensors]], validation: dict[str, list[TaskTensors]],
                 algorithm: Algorithm, model: LocalModel, config: RunConfig, *, keep_optimizer: bool = False) -> None:
        self.shards, self.validation = shards, validation
        self.algorithm, self.model, self.config = algorithm, model, config
        self.keep_optimizer = keep_optimizer
        self.device = next(model.parameters()).device
        self.n_clients = len(next(iter(shards.values())))
        self.kept: dict[int, dict[str, Weights]] = {client: {} for client in range(self.n_clients)}
        self.optimizers: dict[int, dict[str, dict]] = {client: {} for client in range(self.n_clients)}

    def sizes(self, task: str) -> list[int]:
        return [len(shard) for shard in self.shards[task]]

    def train(self, round_: int, task: str, clients: Sequence[int], weights: Weights, payload: Weights,
              on_reply: Callable[[], None] | None = None) -> list[ClientUpdate | ClientFailure]:
        replies: list[ClientUpdate | ClientFailure] = []
        for client in clients:
            try:
                outcome = client_round(
                    self.algorithm, self.model, task, self.shards[task][client], self.config, round_=round_,
                    client=client, weights=weights, payload=payload, client_state=self.kept[client].get(task, {}),
                    device=self.device, optimizer_state=self.optimizers[client].get(task),
                    keep_optimizer=self.keep_optimizer)
                check_finite(outcome.update)
            except Exception as error:  # a failing hospital must not stop the federation
                replies.append(ClientFailure(client, f"{type(error).__name__}: {error}"))
            else:
                self.kept[client][task] = outcome.state
                if outcome.optimizer_state is not None:
                    self.optimizers[client][task] = outcome.optimizer_state
                replies.append(outcome.update)
            if on_reply is not None:
                on_reply()
        return replies

    def evaluate(self, weights: Weights, tasks: Sequence[str]) -> dict[str, dict[int, Metrics]]:
        load_state(self.model, weights)
        return {task: {client: evaluate_binary(self.model, task, part, **evaluation_options(self.config, self.device))
                       for client, part in enumerate(self.validation[task]) if len(part)}
                for task in tasks}

    def kept_states(self, task: str) -> dict[int, Weights]:
        return {client: kept[task] for client, kept in self.kept.items() if task in kept}

    def describe(self) -> dict:
        return {"engine": "in-process"}

    def state(self) -> dict:
        return {"kept": self.kept, "optimizers": self.optimizers}

    def restore(self, state: dict) -> None:
        self.kept, self.optimizers = state["kept"], state["optimizers"]

