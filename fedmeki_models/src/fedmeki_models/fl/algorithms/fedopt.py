"""Server optimisers: FedAvg's average turned into a pseudo-gradient that a server-side optimiser applies.

:class:`ServerOptimizer` holds the shared mechanics (FedAvgM builds on it); :class:`FedOpt` is the
adaptive family of Reddi et al. 2021 (FedAdam, FedYogi, FedAdagrad differ only in the second moment).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch

from fedmeki_models.fl.aggregation import pseudo_gradient
from fedmeki_models.fl.algorithms.base import hyperparameter
from fedmeki_models.fl.algorithms.fedavg import FedAvg
from fedmeki_models.fl.types import ClientUpdate, RoundContext, Weights

Moments = dict[str, torch.Tensor]
"""One key's optimiser moments by name (``{"m": ..., "v": ...}``)."""


class ServerOptimizer(FedAvg):
    """FedAvg's average ``a``, then ``x <- x + server_lr * step(a - x)`` on the trainable parameters.

    Only :meth:`RoundContext.trainable_keys` are stepped; floating buffers (BatchNorm statistics) take
    the plain weighted average and integer buffers the maximum. The optimiser's moments are server state,
    one tensor per moment and key, stored as ``"<moment>.<key>"`` and created by
    :meth:`init_server_state` (or on first use, for keys it did not know). No client-side obligation.
    """

    moments: ClassVar[tuple[str, ...]]
    server_lr: float

    def _initial_moment(self, moment: str, weight: torch.Tensor) -> torch.Tensor:
        """A moment's value before the first round."""
        return torch.zeros_like(weight)

    def _step(self, delta: torch.Tensor, state: Moments) -> tuple[torch.Tensor, Moments]:
        """The direction to add (times ``server_lr``) and the new moments, from ``delta = a - x``."""
        raise NotImplementedError

    def init_server_state(self, weights: Weights, context: RoundContext) -> Weights:
        return {f"{moment}.{key}": self._initial_moment(moment, weights[key])
                for key in context.trainable_keys(weights) for moment in self.moments}

    def aggregate(self, global_weights: Weights, updates: Sequence[ClientUpdate], server_state: Weights,
                  context: RoundContext) -> tuple[Weights, Weights]:
        averaged, _ = super().aggregate(global_weights, updates, server_state, context)
        keys = context.trainable_keys(global_weights)
        new_weights, new_state = dict(averaged), dict(server_state)
        for key, delta in pseudo_gradient(global_weights, averaged, keys).items():
            state = {moment: server_state[f"{moment}.{key}"] if f"{moment}.{key}" in server_state
                     else self._initial_moment(moment, global_weights[key]) for moment in self.moments}
            direction, state = self._step(delta, state)
            new_weights[key] = global_weights[key] + self.server_lr * direction
            new_state.update({f"{moment}.{key}": value for moment, value in state.items()})
        return new_weights, new_state


class FedOpt(ServerOptimizer):
    """Adaptive federated optimisation: the shared base of FedAdam, FedYogi and FedAdagrad.

    Implementation based on Reddi et al. 2021, "Adaptive Federated Optimization"
    (https://arxiv.org/abs/2003.00295), Algorithm 2, without bias correction. With ``Delta_t`` the
    example-weighted mean of ``x_i - x_t``::

        m_t     = beta_1 * m_{t-1} + (1 - beta_1) * Delta_t        (m_{-1} = 0)
        v_t     = second_moment(v_{t-1}, Delta_t^2)                (v_{-1} = tau^2)
        x_{t+1} = x_t + server_lr * m_t / (sqrt(v_t) + tau)

    Subclasses define ``second_moment``. No client-side obligation.

    Parameters
    ----------
    server_lr : float, default=1e-2
        Server learning rate ``eta``, > 0.
    beta_1 : float, default=0.9
        First-moment decay, in [0, 1).
    beta_2 : float, default=0.99
        Second-moment decay, in [0, 1) (FedAdam, FedYogi).
    tau : float, default=1e-3
        Adaptivity: the denominator's floor and the square root of ``v``'s initial value, > 0.
    """

    moments = ("m", "v")

    def __init__(self, *, server_lr: float = 1e-2, beta_1: float = 0.9, beta_2: float = 0.99,
                 tau: float = 1e-3) -> None:
        owner = type(self).__name__
        self.server_lr = hyperparameter(owner, "server_lr", server_lr, "server_lr > 0", lambda value: value > 0)
        self.beta_1 = hyperparameter(owner, "beta_1", beta_1, "0 <= beta_1 < 1", lambda value: 0 <= value < 1)
        if beta_2 is not None:  # FedAdagrad has none
            self.beta_2 = hyperparameter(owner, "beta_2", beta_2, "0 <= beta_2 < 1", lambda value: 0 <= value < 1)
        self.tau = hyperparameter(owner, "tau", tau, "tau > 0", lambda value: value > 0)

    def _initial_moment(self, moment: str, weight: torch.Tensor) -> torch.Tensor:
        return torch.full_like(weight, self.tau**2) if moment == "v" else torch.zeros_like(weight)

    def second_moment(self, v: torch.Tensor, squared: torch.Tensor) -> torch.Tensor:
        """``v_t`` from ``v_{t-1}`` and ``Delta_t^2``."""
        raise NotImplementedError

    def _step(self, delta: torch.Tensor, state: Moments) -> tuple[torch.Tensor, Moments]:
        m = self.beta_1 * state["m"] + (1 - self.beta_1) * delta
        v = self.second_moment(state["v"], delta.square())
        return m / (v.sqrt() + self.tau), {"m": m, "v": v}
