"""The algorithm contract: a client update and a server aggregation, with no engine inside.

Both engines (in-process and Flower) call the same four methods, so an algorithm is written once.
The base class *is* FedAvg's behaviour except for :meth:`Algorithm.aggregate`; subclasses override
only what differs (a loss term, a gradient hook, the aggregation, per-client state).
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from fedmeki_models.fl.types import ClientUpdate, RoundContext, Weights
from fedmeki_models.training import GradHook, LocalResult, LossTerm, TrainingConfig, load_state, state_of, train_local

if TYPE_CHECKING:
    from fedmeki_models.data import TaskTensors
    from fedmeki_models.model import LocalModel


@dataclass
class ClientOutcome:
    """A client's result: what it sends (``update``) and what it keeps for its next round.

    Attributes
    ----------
    update : ClientUpdate
        Sent to the server.
    state : Weights
        Kept by the client for this task (SCAFFOLD's control variate, FedBN's batch-norm tensors).
    optimizer_state : dict or None
        The optimiser's ``state_dict``, kept only when optimisers persist across rounds (baselines).
    """

    update: ClientUpdate
    state: Weights = field(default_factory=dict)
    optimizer_state: dict | None = None


@dataclass(frozen=True)
class ClientRound:
    """What the client-side hooks of an algorithm may read about the local update in progress.

    Attributes
    ----------
    model : LocalModel
        Holds the global weights (and, after ``_prepare_client``, the client's own tensors).
    task : str
    config : TrainingConfig
    global_weights : Weights
        The task's weights as the server sent them (CPU).
    payload : Weights
        The algorithm's extra server tensors (SCAFFOLD's control variate).
    client_state : Weights
        What the client kept from its previous round on this task (empty at first).
    device : torch.device
    """

    model: LocalModel
    task: str
    config: TrainingConfig
    global_weights: Weights
    payload: Weights
    client_state: Weights
    device: torch.device


def named_task_parameters(model: LocalModel, task: str) -> dict[str, torch.nn.Parameter]:
    """The task's trainable parameters (``model.task_parameters(task)``) by their ``state_dict`` key."""
    wanted = {id(parameter) for parameter in model.task_parameters(task)}
    return {name: parameter for name, parameter in model.named_parameters() if id(parameter) in wanted}


def hyperparameter(owner: str, name: str, value: Any, rule: str, valid: Callable[[float], bool]) -> float:
    """``value`` as a float if it is a finite number satisfying ``valid``, else ``ValueError`` quoting it.

    ``rule`` states the legal range in words for the message, e.g. ``"0 <= momentum < 1"``.
    """
    number = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else math.nan
    if not math.isfinite(number) or not valid(number):
        raise ValueError(f"{owner} needs {rule}; got {name}={value!r}.")
    return number


class Algorithm:
    """Base of every FL algorithm.

    Subclasses set :attr:`name` and take their hyper-parameters as keyword-only arguments of ``__init__``,
    validated there (illegal values raise ``ValueError`` quoting the value, degenerate ones log a
    warning) and stored as attributes of the same name: :meth:`hyperparameters` and :meth:`to_config`
    read them from the signature.
    """

    name: ClassVar[str]

    @classmethod
    def hyperparameters(cls) -> tuple[str, ...]:
        """Names of the keyword arguments of ``__init__``."""
        signature = inspect.signature(cls.__init__)
        return tuple(p.name for p in signature.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY)

    def to_config(self) -> dict[str, Any]:
        """Name and hyper-parameters, for the run's config and the submission metadata."""
        return {"name": self.name, **{key: getattr(self, key) for key in self.hyperparameters()}}

    def __repr__(self) -> str:
        params = ", ".join(f"{key}={getattr(self, key)!r}" for key in self.hyperparameters())
        return f"{type(self).__name__}({params})"

    # Server side -------------------------------------------------------------------------------

    def init_server_state(self, weights: Weights, context: RoundContext) -> Weights:
        """Server state for one task's federation before its first round (momentum, control variate)."""
        return {}

    def server_payload(self, server_state: Weights) -> Weights:
        """Tensors sent to every client with the global weights (counted as bytes sent)."""
        return {}

    def aggregate(self, global_weights: Weights, updates: Sequence[ClientUpdate], server_state: Weights,
                  context: RoundContext) -> tuple[Weights, Weights]:
        """New global weights for the keys of ``global_weights`` and the new server state.

        ``updates`` have been checked by ``check_client_updates`` and are not empty.
        """
        raise NotImplementedError

    def global_model_weights(self, global_weights: Weights, client_states: Mapping[int, Weights],
                             client_sizes: Mapping[int, int]) -> Weights:
        """The weights to evaluate and export as *the* global model (FedBN fills in local tensors)."""
        return global_weights

    def update_keys(self, model: LocalModel, task: str, global_weights: Weights) -> list[str]:
        """The keys of every ``ClientUpdate.weights`` for this task (FedBN keeps BatchNorm tensors home).

        Pass them to ``check_client_updates`` as ``expected_keys``.
        """
        return list(global_weights)

    # Client side -------------------------------------------------------------------------------

    def client_update(self, model: LocalModel, task: str, data: TaskTensors, config: TrainingConfig, *,
                      client: int, global_weights: Weights, payload: Weights, client_state: Weights,
                      generator: torch.Generator, device: torch.device | str = "cpu",
                      optimizer_state: dict | None = None, keep_optimizer: bool = False) -> ClientOutcome:
        """Load the global weights into ``model``, train locally, return the update.

        ``global_weights`` holds exactly the task's encoder and head; the update carries
        :meth:`update_keys` of them. ``optimizer_state`` and ``keep_optimizer`` serve baselines whose
        optimiser persists across rounds.
        """
        load_state(model, global_weights)
        run = ClientRound(model=model, task=task, config=config, global_weights=global_weights, payload=payload,
                          client_state=client_state, device=torch.device(device))
        self._prepare_client(run)
        result = train_local(model, task, data, config, generator=generator, device=device,
                             optimizer_state=optimizer_state, loss_term=self._loss_term(run),
                             grad_hook=self._grad_hook(run))
        state, extras = self._after_training(run, result)
        update = ClientUpdate(client=client, weights=state_of(model, self.update_keys(model, task, global_weights)),
                              num_examples=result.num_examples, num_steps=result.num_steps, loss=result.loss,
                              extras=extras)
        return ClientOutcome(update=update, state=state,
                             optimizer_state=result.optimizer.state_dict() if keep_optimizer else None)

    def _prepare_client(self, run: ClientRound) -> None:
        """Put the client's own tensors into the model after the global ones (FedBN)."""

    def _loss_term(self, run: ClientRound) -> LossTerm | None:
        """A term added to every step's loss (FedProx)."""
        return None

    def _grad_hook(self, run: ClientRound) -> GradHook | None:
        """Called after each backward, before clipping and the step (SCAFFOLD)."""
        return None

    def _after_training(self, run: ClientRound, result: LocalResult) -> tuple[Weights, Weights]:
        """The state the client keeps and the ``extras`` it sends; by default: unchanged, nothing."""
        return run.client_state, {}
