"""SCAFFOLD: control variates that correct each client's drift towards its own optimum."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch

from fedmeki_models.fl.aggregation import weighted_average
from fedmeki_models.fl.algorithms.base import ClientRound, hyperparameter, named_task_parameters
from fedmeki_models.fl.algorithms.fedavg import FedAvg
from fedmeki_models.fl.types import ClientUpdate, RoundContext, Weights
from fedmeki_models.training import GradHook, LocalResult, state_of

logger = logging.getLogger(__name__)

DELTA_C = "delta_c."
"""Prefix of the ``ClientUpdate.extras`` keys: ``"delta_c.<parameter key>"`` holds ``c_i+ - c_i``."""


class Scaffold(FedAvg):
    """Stochastic controlled averaging, option II.

    Implementation based on Karimireddy et al. 2020, "SCAFFOLD: Stochastic Controlled Averaging for
    Federated Learning" (https://arxiv.org/abs/1910.06378). The server keeps a control variate ``c``
    (its state, sent as the payload), each client ``i`` its own ``c_i`` (its state, zeros at first),
    one tensor per trainable parameter of the task.

    **Client-side obligation:** before every optimiser step, each trainable parameter's gradient gets
    ``+ c - c_i``; after ``K`` steps at learning rate ``lr``, from the global weights ``x`` to ``y_i``::

        c_i+ = c_i - c + (x - y_i) / (K * lr)

    The client keeps ``c_i+`` and sends ``delta_c_i = c_i+ - c_i`` in ``ClientUpdate.extras`` (keys
    :data:`DELTA_C` + parameter key), so it counts as communicated. The identity assumes plain SGD
    without momentum (a warning is logged once otherwise); gradient clipping changes the steps but
    not the formula, which uses the actual displacement.

    Server, for the sampled clients ``S`` of ``N = RoundContext.num_clients``::

        x <- x + server_lr * sum_i p_i (y_i - x)       (p_i proportional to num_examples)
        c <- c + |S| / N * mean_i delta_c_i

    Floating buffers take the weighted average, integer buffers the maximum.

    Parameters
    ----------
    server_lr : float, default=1.0
        Global step size ``eta_g``, > 0.
    """

    name = "scaffold"

    def __init__(self, *, server_lr: float = 1.0) -> None:
        self.server_lr = hyperparameter("Scaffold", "server_lr", server_lr, "server_lr > 0", lambda value: value > 0)
        self._warned = False

    def init_server_state(self, weights: Weights, context: RoundContext) -> Weights:
        return {key: torch.zeros_like(weights[key]) for key in context.trainable_keys(weights)}

    def server_payload(self, server_state: Weights) -> Weights:
        return dict(server_state)

    def aggregate(self, global_weights: Weights, updates: Sequence[ClientUpdate], server_state: Weights,
                  context: RoundContext) -> tuple[Weights, Weights]:
        if len(updates) > context.num_clients:
            raise ValueError(f"{len(updates)} updates from a federation of num_clients={context.num_clients}.")
        averaged, _ = super().aggregate(global_weights, updates, server_state, context)
        new_weights = dict(averaged)
        if self.server_lr != 1:
            for key in context.trainable_keys(global_weights):
                new_weights[key] = global_weights[key] + self.server_lr * (averaged[key] - global_weights[key])
        mean_delta = weighted_average([update.extras for update in updates], [1] * len(updates))
        fraction = len(updates) / context.num_clients
        new_state = dict(server_state)
        for extras_key, delta in mean_delta.items():
            key = extras_key.removeprefix(DELTA_C)
            previous = server_state.get(key, torch.zeros_like(delta))
            new_state[key] = previous + fraction * delta
        return new_weights, new_state

    def _warn_unless_sgd(self, run: ClientRound) -> None:
        if self._warned or (run.config.optimizer == "sgd" and run.config.momentum == 0):
            return
        self._warned = True
        logger.warning("SCAFFOLD's control variates assume plain SGD; training uses optimizer=%r, momentum=%r.",
                       run.config.optimizer, run.config.momentum)

    def _variates(self, run: ClientRound, parameters: dict[str, torch.nn.Parameter]) -> tuple[Weights, Weights]:
        """``c`` and ``c_i`` for each task parameter (zeros where absent), on the CPU."""
        c = {name: run.payload[name] if name in run.payload else torch.zeros_like(p, device="cpu")
             for name, p in parameters.items()}
        c_i = {name: run.client_state[name] if name in run.client_state else torch.zeros_like(p, device="cpu")
               for name, p in parameters.items()}
        return c, c_i

    def _grad_hook(self, run: ClientRound) -> GradHook:
        self._warn_unless_sgd(run)
        parameters = named_task_parameters(run.model, run.task)
        c, c_i = self._variates(run, parameters)
        corrections = {name: (c[name] - c_i[name]).to(run.device, dtype=p.dtype) for name, p in parameters.items()}

        def correct_gradients() -> None:
            for name, parameter in parameters.items():
                if parameter.grad is None:
                    parameter.grad = corrections[name].clone()
                else:
                    parameter.grad.add_(corrections[name])

        return correct_gradients

    def _after_training(self, run: ClientRound, result: LocalResult) -> tuple[Weights, Weights]:
        parameters = named_task_parameters(run.model, run.task)
        c, c_i = self._variates(run, parameters)
        if result.num_steps == 0:
            return c_i, {DELTA_C + name: torch.zeros_like(value) for name, value in c_i.items()}
        y = state_of(run.model, parameters)
        scale = result.num_steps * run.config.lr
        c_plus = {name: c_i[name] - c[name] + (run.global_weights[name] - y[name]) / scale for name in parameters}
        return c_plus, {DELTA_C + name: c_plus[name] - c_i[name] for name in parameters}
