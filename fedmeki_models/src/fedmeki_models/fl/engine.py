"""The in-process engine: runs an algorithm's client updates and aggregations round by round on one machine.

Multi-task federations aggregate once per task per round, in registry order, as the original code did;
a task's aggregation touches only its encoder and head. Every random draw derives from
``(seed, purpose, round, task, client)`` by :func:`derive_seed`, so a run is bit-identical on CPU for a
seed, and a resumed run continues exactly where the interrupted one stopped.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from fedmeki_data.progress import Progress
from fedmeki_data.tasks import TASKS
from fedmeki_models.data import TaskTensors
from fedmeki_models.errors import CheckpointError, ModelConfigError, TooFewClientsError
from fedmeki_models.fl.aggregation import check_client_updates
from fedmeki_models.fl.algorithms.base import Algorithm
from fedmeki_models.fl.checkpoint import latest_checkpoint, save_checkpoint
from fedmeki_models.fl.history import write_history
from fedmeki_models.fl.types import ClientUpdate, RoundContext, Weights, nbytes
from fedmeki_models.model import LocalModel
from fedmeki_models.run_config import RunConfig
from fedmeki_models.training import evaluate_binary, load_state, state_of, train_local

logger = logging.getLogger(__name__)

_SAMPLING, _CLIENT, _SERVER = 0, 1, 2
_TASK_NUMBER = {task_id: number for number, task_id in enumerate(TASKS)}


def derive_seed(seed: int, purpose: int, round_: int, task: str | None = None, client: int = 0) -> int:
    """A 63-bit seed for one random draw of a run; the task counts by its registry position, so a task
    gets the same draws whether it trains alone or beside others."""
    task_number = _TASK_NUMBER[task] + 1 if task is not None else 0
    sequence = np.random.SeedSequence([seed, purpose, round_, task_number, client])
    return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def generator_for(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``."""
    return torch.Generator().manual_seed(seed)


@dataclass
class FederationData:
    """What one federation trains and evaluates on; client ``k`` is index ``k`` of each list.

    Attributes
    ----------
    clients : dict of str to list of TaskTensors
        Task -> each client's private shard.
    validation : dict of str to list of TaskTensors
        Task -> each client's validation records.
    public, test : dict of str to TaskTensors
        The server's public split and the test split, per task.
    """

    clients: dict[str, list[TaskTensors]]
    validation: dict[str, list[TaskTensors]]
    public: dict[str, TaskTensors] = field(default_factory=dict)
    test: dict[str, TaskTensors] = field(default_factory=dict)

    @property
    def n_clients(self) -> int:
        return len(next(iter(self.clients.values())))


@dataclass
class FederationResult:
    """A finished federation: the trained model (global weights, ready to export) and its history."""

    model: LocalModel
    history: list[dict]
    bytes_sent: int
    bytes_received: int


class Federation:
    """One federation of :class:`FederationData` clients training ``model`` with ``algorithm``.

    Parameters
    ----------
    config : RunConfig
    data : FederationData
    algorithm : Algorithm
    model : LocalModel
        Initial global model (already on ``device``); trained in place.
    folder : Path
        Where checkpoints and ``history.json`` go.
    baseline : bool, default=False
        Plain training (the centralised and local-only baselines): each client's optimiser persists across
        rounds and nothing counts as communicated. FL clients start every round with a fresh optimiser,
        as the original code did.
    progress : Progress, optional
    """

    def __init__(self, config: RunConfig, data: FederationData, algorithm: Algorithm, model: LocalModel,
                 folder: Path, *, baseline: bool = False, progress: Progress | None = None) -> None:
        self.config, self.data, self.algorithm, self.model = config, data, algorithm, model
        self.folder, self.baseline, self.progress = folder, baseline, progress
        self.device = next(model.parameters()).device
        self.per_round = max(1, math.ceil(config.fraction * data.n_clients))
        if self.per_round < config.min_clients:
            raise ModelConfigError(
                f"fraction={config.fraction} samples {self.per_round} of {data.n_clients} clients per round, "
                f"fewer than min_clients={config.min_clients}.", hint="raise --fraction or lower --min-clients")
        self.global_weights: Weights = state_of(model, model.state_dict())
        self.server_states: dict[str, Weights] = {task: algorithm.init_server_state(self._task_weights(task),
                                                                                    self._context(0, task))
                                                  for task in config.tasks}
        self.client_states: dict[int, dict[str, Weights]] = {client: {} for client in range(data.n_clients)}
        self.optimizer_states: dict[int, dict[str, dict]] = {client: {} for client in range(data.n_clients)}
        self.history: list[dict] = []
        self.bytes_sent = self.bytes_received = 0

    # The loop ----------------------------------------------------------------------------------

    def run(self, *, resume: bool = False) -> FederationResult:
        """Train ``config.rounds`` rounds (from the last checkpoint when ``resume``) and return the result."""
        start = self._restore() + 1 if resume else 1
        for round_ in range(start, self.config.rounds + 1):
            began = time.perf_counter()
            record = self._train_round(round_)
            if self.config.variant == "public_finetune":
                self._finetune_on_public(round_)
            if self._evaluates(round_):
                record.update(self.evaluate())
            record["seconds"] = round(time.perf_counter() - began, 3)
            self.history.append(record)
            save_checkpoint(self.folder, round_, self._snapshot())
            write_history(self.folder, self.history)
        load_state(self.model, self.final_weights())
        return FederationResult(self.model, self.history, self.bytes_sent, self.bytes_received)

    def _train_round(self, round_: int) -> dict:
        clients = self._sample(round_)
        record: dict = {"round": round_, "clients": clients, "dropped": [], "train_loss": {}}
        sent_before, received_before = self.bytes_sent, self.bytes_received
        done, total = 0, len(clients) * len(self.config.tasks)
        for task in self.config.tasks:
            weights = self._task_weights(task)
            payload = self.algorithm.server_payload(self.server_states[task])
            updates: list[ClientUpdate] = []
            for client in clients:
                update = self._client_update(round_, task, client, weights, payload, record)
                if update is not None:
                    updates.append(update)
                done += 1
                if self.progress:
                    self.progress(f"round {round_}/{self.config.rounds}", done, total)
            self._aggregate(round_, task, weights, updates, record)
        record["bytes_sent"] = self.bytes_sent - sent_before
        record["bytes_received"] = self.bytes_received - received_before
        return record

    def _client_update(self, round_: int, task: str, client: int, weights: Weights, payload: Weights,
                       record: dict) -> ClientUpdate | None:
        shard = self.data.clients[task][client]
        if len(shard) == 0:
            return None
        if not self.baseline:
            self.bytes_sent += nbytes(weights) + nbytes(payload)
        try:
            outcome = self.algorithm.client_update(
                self.model, task, shard, self.config.training, client=client, global_weights=weights,
                payload=payload, client_state=self.client_states[client].get(task, {}),
                generator=generator_for(derive_seed(self.config.seed, _CLIENT, round_, task, client)),
                device=self.device, optimizer_state=self.optimizer_states[client].get(task),
                keep_optimizer=self.baseline)
            _check_finite(outcome.update)
        except Exception as error:  # a failing hospital must not stop the federation
            logger.warning("round %d, %s: client %d dropped: %s: %s", round_, task, client,
                           type(error).__name__, error)
            record["dropped"].append({"client": client, "task": task, "error": f"{type(error).__name__}: {error}"})
            return None
        self.client_states[client][task] = outcome.state
        if outcome.optimizer_state is not None:
            self.optimizer_states[client][task] = outcome.optimizer_state
        if not self.baseline:
            self.bytes_received += nbytes(outcome.update.weights) + nbytes(outcome.update.extras)
        return outcome.update

    def _aggregate(self, round_: int, task: str, weights: Weights, updates: list[ClientUpdate], record: dict) -> None:
        if len(updates) < self.config.min_clients:
            failures = "; ".join(f"client {d['client']}: {d['error']}" for d in record["dropped"] if d["task"] == task)
            raise TooFewClientsError(
                f"Round {round_}, {task}: {len(updates)} client(s) finished, fewer than min_clients="
                f"{self.config.min_clients}" + (f" ({failures})" if failures else "") + ".",
                hint="see the log for each client's error; --resume continues from the last completed round")
        check_client_updates(updates, self.algorithm.update_keys(self.model, task, weights))
        context = self._context(round_, task)
        new_weights, self.server_states[task] = self.algorithm.aggregate(weights, updates, self.server_states[task],
                                                                         context)
        self.global_weights.update(new_weights)
        total = sum(update.num_examples for update in updates)
        record["train_loss"][task] = sum(update.loss * update.num_examples for update in updates) / total

    def _finetune_on_public(self, round_: int) -> None:
        """The server trains the global model on each task's ``public`` split (``training.epochs`` epochs)."""
        load_state(self.model, self.final_weights())
        for task in self.config.tasks:
            train_local(self.model, task, self.data.public[task], self.config.training,
                        generator=generator_for(derive_seed(self.config.seed, _SERVER, round_, task)),
                        device=self.device)
            self.global_weights.update(state_of(self.model, self.model.task_state_keys(task)))

    # Evaluation --------------------------------------------------------------------------------

    def _evaluates(self, round_: int) -> bool:
        every = self.config.eval_every
        return round_ == self.config.rounds or (every > 0 and round_ % every == 0)

    def evaluate(self) -> dict:
        """Metrics of the global model on each client's validation data and on the test split."""
        load_state(self.model, self.final_weights())
        options = {"batch_size": max(256, self.config.training.batch_size), "device": self.device,
                   "precision": self.config.training.precision}
        validation, test = {}, {}
        for task in self.config.tasks:
            per_client = {str(client): evaluate_binary(self.model, task, part, **options)
                          for client, part in enumerate(self.data.validation[task]) if len(part)}
            if per_client:
                names = next(iter(per_client.values()))
                validation[task] = {"mean": {name: float(np.nanmean([m[name] for m in per_client.values()]))
                                             for name in names}, "clients": per_client}
            if task in self.data.test:
                test[task] = evaluate_binary(self.model, task, self.data.test[task], **options)
        return {"validation": validation, "test": test}

    def final_weights(self) -> Weights:
        """The global model as evaluated and exported (an algorithm may fill in client-kept tensors)."""
        weights = dict(self.global_weights)
        for task in self.config.tasks:
            sizes = {client: len(part) for client, part in enumerate(self.data.clients[task])}
            states = {client: states[task] for client, states in self.client_states.items() if task in states}
            weights.update(self.algorithm.global_model_weights(self._task_weights(task), states, sizes))
        return weights

    # State ---------------------------------------------------------------------------------------

    def _sample(self, round_: int) -> list[int]:
        if self.per_round >= self.data.n_clients:
            return list(range(self.data.n_clients))
        rng = np.random.default_rng(derive_seed(self.config.seed, _SAMPLING, round_))
        return sorted(int(client) for client in rng.choice(self.data.n_clients, self.per_round, replace=False))

    def _task_weights(self, task: str) -> Weights:
        return {key: self.global_weights[key] for key in self.model.task_state_keys(task)}

    def _context(self, round_: int, task: str) -> RoundContext:
        names = {name for name, _ in self.model.named_parameters()}
        return RoundContext(round=round_, task=task, num_clients=self.data.n_clients,
                            parameter_keys=frozenset(key for key in self.model.task_state_keys(task) if key in names))

    def _snapshot(self) -> dict:
        return {"global": self.global_weights, "server": self.server_states, "clients": self.client_states,
                "optimizers": self.optimizer_states, "history": self.history,
                "bytes": [self.bytes_sent, self.bytes_received]}

    def _restore(self) -> int:
        found = latest_checkpoint(self.folder)
        if found is None:
            return 0
        round_, tree = found
        if round_ > self.config.rounds:
            raise CheckpointError(f"{self.folder} holds round {round_}, beyond rounds={self.config.rounds}.",
                                  hint="resume with the run's own config")
        self.global_weights = dict(tree["global"])
        self.server_states, self.client_states = tree["server"], tree["clients"]
        self.optimizer_states, self.history = tree["optimizers"], tree["history"]
        self.bytes_sent, self.bytes_received = tree["bytes"]
        logger.info("resuming %s after round %d", self.folder, round_)
        return round_



def _check_finite(update: ClientUpdate) -> None:
    """A diverged client (NaN or infinite weights) is dropped like one that raised."""
    for key, tensor in {**update.weights, **update.extras}.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise FloatingPointError(f"non-finite values in {key}")
