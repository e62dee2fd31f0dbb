"""The server loop of a federation: sampling, aggregation, evaluation, checkpoints, history.

Both engines run this loop; they differ only in their :class:`~fedmeki_models.fl.clients.Clients`:
:class:`~fedmeki_models.fl.local_clients.LocalClients` trains every client in this process,
``fedmeki_models.flower.clients.FlowerClients`` sends the same work to Flower SuperNodes.
Multi-task federations aggregate once per task per round, in registry order, as the original code did;
a task's aggregation touches only its encoder and head. Every random draw derives from
``(seed, purpose, round, task, client)`` (:mod:`fedmeki_models.fl.seeds`), so a run is bit-identical on
CPU for a seed, and a resumed run continues exactly where the interrupted one stopped.
"""


from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from fedmeki_data.progress import Progress
from fedmeki_models.data import TaskTensors
from fedmeki_models.errors import CheckpointError, ModelConfigError, TooFewClientsError
from fedmeki_models.fl.aggregation import check_client_updates
from fedmeki_models.fl.algorithms.base import Algorithm
from fedmeki_models.fl.checkpoint import latest_checkpoint, save_checkpoint
from fedmeki_models.fl.clients import ClientFailure, Clients, Metrics, check_finite, evaluation_options
from fedmeki_models.fl.history import write_history
from fedmeki_models.fl.local_clients import LocalClients
from fedmeki_models.fl.seeds import SAMPLING, SERVER, derive_seed, generator_for
from fedmeki_models.fl.types import ClientUpdate, RoundContext, Weights, nbytes
from fedmeki_models.model import LocalModel
from fedmeki_models.run_config import RunConfig
from fedmeki_models.training import evaluate_binary, load_state, state_of, train_local

logger = logging.getLogger(__name__)


@dataclass
class FederationData:
    """What an in-process federation trains and evaluates on; client ``k`` is index ``k`` of each list.

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


class RoundHook(Protocol):
    """Server work after each round's aggregation (knowledge injection), checkpointed with the round."""

    def after_round(self, round_: int, federation: Federation) -> dict:
        """Do the work (it may change ``federation.global_weights``); the dict joins the round's history."""

    def state(self) -> dict:
        """Tensors and JSON values to checkpoint."""

    def restore(self, state: dict) -> None:
        """Restore :meth:`state`."""


@dataclass
class FederationResult:
    """A finished federation: the trained model (global weights, ready to export) and its history."""

    model: LocalModel
    history: list[dict]
    bytes_sent: int
    bytes_received: int
    clients: dict = field(default_factory=dict)
    """:meth:`Clients.describe`: the engine that ran the clients, and their sites."""


class Federation:
    """One federation of ``clients`` training ``model`` with ``algorithm``.

    Parameters
    ----------
    config : RunConfig
    clients : Clients
        Where client updates run (in this process, or on Flower SuperNodes).
    algorithm : Algorithm
    model : LocalModel
        Initial global model (already on ``device``); trained in place.
    folder : Path
        Where checkpoints and ``history.json`` go.
    public, test : dict of str to TaskTensors, optional
        The server's data per task: the ``public`` split (``public_finetune``) and the ``test`` split.
    baseline : bool, default=False
        Plain training (the centralised and local-only baselines): nothing counts as communicated.
    hook : RoundHook, optional
        Runs after each round's aggregation and public fine-tuning, before its evaluation.
    progress : Progress, optional
    """

    def __init__(self, config: RunConfig, clients: Clients, algorithm: Algorithm, model: LocalModel, folder: Path,
                 *, public: dict[str, TaskTensors] | None = None, test: dict[str, TaskTensors] | None = None,
                 baseline: bool = False, hook: RoundHook | None = None, progress: Progress | None = None) -> None:
        self.config, self.clients, self.algorithm, self.model, self.hook = config, clients, algorithm, model, hook
        self.public, self.test = public or {}, test or {}
        self.folder, self.baseline, self.progress = folder, baseline, progress
        self.device = next(model.parameters()).device
        self.per_round = max(1, math.ceil(config.fraction * clients.n_clients))
        if self.per_round < config.min_clients:
            raise ModelConfigError(
                f"fraction={config.fraction} samples {self.per_round} of {clients.n_clients} clients per round, "
                f"fewer than min_clients={config.min_clients}.", hint="raise --fraction or lower --min-clients")
        self.global_weights: Weights = state_of(model, model.state_dict())
        self.server_states: dict[str, Weights] = {task: algorithm.init_server_state(self._task_weights(task),
                                                                                    self._context(0, task))
                                                  for task in config.tasks}
        self.history: list[dict] = []
        self.bytes_sent = self.bytes_received = 0

    @classmethod
    def in_process(cls, config: RunConfig, data: FederationData, algorithm: Algorithm, model: LocalModel,
                   folder: Path, *, baseline: bool = False, hook: RoundHook | None = None,
                   progress: Progress | None = None) -> Federation:
        """A federation whose clients are :class:`LocalClients` over ``data`` (baselines keep optimisers)."""
        clients = LocalClients(data.clients, data.validation, algorithm, model, config, keep_optimizer=baseline)
        return cls(config, clients, algorithm, model, folder, public=data.public, test=data.test, baseline=baseline,
                   hook=hook, progress=progress)

    # The loop ----------------------------------------------------------------------------------

    def run(self, *, resume: bool = False) -> FederationResult:
        """Train ``config.rounds`` rounds (from the last checkpoint when ``resume``) and return the result."""
        start = self._restore() + 1 if resume else 1
        for round_ in range(start, self.config.rounds + 1):
            began = time.perf_counter()
            record = self._train_round(round_)
            if self.config.variant == "public_finetune":
                self._finetune_on_public(round_)
            if self.hook is not None:
                record.update(self.hook.after_round(round_, self))
            if self._evaluates(round_):
                record.update(self.evaluate())
            record["seconds"] = round(time.perf_counter() - began, 3)
            self.history.append(record)
            save_checkpoint(self.folder, round_, self._snapshot())
            write_history(self.folder, self.history)
        load_state(self.model, self.final_weights())
        return FederationResult(self.model, self.history, self.bytes_sent, self.bytes_received,
                                self.clients.describe())

    def _train_round(self, round_: int) -> dict:
        sampled = self._sample(round_)
        record: dict = {"round": round_, "clients": sampled, "dropped": [], "train_loss": {}}
        sent_before, received_before = self.bytes_sent, self.bytes_received
        done, total = 0, len(sampled) * len(self.config.tasks)

        def on_reply() -> None:
            nonlocal done
            done += 1
            if self.progress:
                self.progress(f"round {round_}/{self.config.rounds}", done, total)

        for task in self.config.tasks:
            weights = self._task_weights(task)
            payload = self.algorithm.server_payload(self.server_states[task])
            sizes = self.clients.sizes(task)
            asked = [client for client in sampled if sizes[client] > 0]
            done += len(sampled) - len(asked)
            if not self.baseline:
                self.bytes_sent += len(asked) * (nbytes(weights) + nbytes(payload))
            updates = [reply for reply in self.clients.train(round_, task, asked, weights, payload, on_reply)
                       if self._accepted(reply, round_, task, record)]
            self._aggregate(round_, task, weights, updates, record)
        record["bytes_sent"] = self.bytes_sent - sent_before
        record["bytes_received"] = self.bytes_received - received_before
        return record

    def _accepted(self, reply: ClientUpdate | ClientFailure, round_: int, task: str, record: dict) -> bool:
        """Whether ``reply`` is a finite update; failures and diverged updates are logged and recorded."""
        if isinstance(reply, ClientUpdate):
            try:
                check_finite(reply)
            except FloatingPointError as error:
                reply = ClientFailure(reply.client, f"{type(error).__name__}: {error}")
            else:
                if not self.baseline:
                    self.bytes_received += nbytes(reply.weights) + nbytes(reply.extras)
                return True
        logger.warning("round %d, %s: client %d dropped: %s", round_, task, reply.client, reply.error)
        record["dropped"].append({"client": reply.client, "task": task, "error": reply.error})
        return False

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
            train_local(self.model, task, self.public[task], self.config.training,
                        generator=generator_for(derive_seed(self.config.seed, SERVER, round_, task)),
                        device=self.device)
            self.global_weights.update(state_of(self.model, self.model.task_state_keys(task)))

    # Evaluation --------------------------------------------------------------------------------

    def _evaluates(self, round_: int) -> bool:
        every = self.config.eval_every
        return round_ == self.config.rounds or (every > 0 and round_ % every == 0)

    def evaluate(self) -> dict:
        """Metrics of the global model on each client's validation data and on the test split."""
        final = self.final_weights()
        validation = {task: {"mean": _mean_metrics(per_client),
                             "clients": {str(client): metrics for client, metrics in sorted(per_client.items())}}
                      for task, per_client in self.clients.evaluate(final, self.config.tasks).items() if per_client}
        load_state(self.model, final)
        options = evaluation_options(self.config, self.device)
        test = {task: evaluate_binary(self.model, task, self.test[task], **options)
                for task in self.config.tasks if task in self.test}
        return {"validation": validation, "test": test}

    def final_weights(self) -> Weights:
        """The global model as evaluated and exported (an algorithm may fill in client-kept tensors)."""
        weights = dict(self.global_weights)
        for task in self.config.tasks:
            sizes = dict(enumerate(self.clients.sizes(task)))
            weights.update(self.algorithm.global_model_weights(self._task_weights(task),
                                                               self.clients.kept_states(task), sizes))
        return weights

    # State ---------------------------------------------------------------------------------------

    def _sample(self, round_: int) -> list[int]:
        n_clients = self.clients.n_clients
        if self.per_round >= n_clients:
            return list(range(n_clients))
        rng = np.random.default_rng(derive_seed(self.config.seed, SAMPLING, round_))
        return sorted(int(client) for client in rng.choice(n_clients, self.per_round, replace=False))

    def _task_weights(self, task: str) -> Weights:
        return {key: self.global_weights[key] for key in self.model.task_state_keys(task)}

    def _context(self, round_: int, task: str) -> RoundContext:
        names = {name for name, _ in self.model.named_parameters()}
        return RoundContext(round=round_, task=task, num_clients=self.clients.n_clients,
                            parameter_keys=frozenset(key for key in self.model.task_state_keys(task) if key in names))

    def _snapshot(self) -> dict:
        return {"global": self.global_weights, "server": self.server_states, "clients": self.clients.state(),
                "hook": self.hook.state() if self.hook is not None else {}, "history": self.history,
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
        self.server_states, self.history = tree["server"], tree["history"]
        self.clients.restore(tree["clients"])
        if self.hook is not None:
            self.hook.restore(tree["hook"])
        self.bytes_sent, self.bytes_received = tree["bytes"]
        logger.info("resuming %s after round %d", self.folder, round_)
        return round_


def _mean_metrics(per_client: dict[int, Metrics]) -> Metrics:
    """The unweighted mean over clients of each metric (NaN-aware)."""
    names = next(iter(per_client.values()))
    return {name: float(np.nanmean([metrics[name] for metrics in per_client.values()])) for name in names}
