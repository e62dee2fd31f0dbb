"""FedAvgM: FedAvg with momentum on the server."""

from __future__ import annotations

import logging

import torch

from fedmeki_models.fl.algorithms.base import hyperparameter
from fedmeki_models.fl.algorithms.fedopt import Moments, ServerOptimizer

logger = logging.getLogger(__name__)


class FedAvgM(ServerOptimizer):
    """Federated averaging with server momentum.

    Implementation based on Hsu et al. 2019, "Measuring the Effects of Non-Identical Data Distribution
    for Federated Visual Classification" (https://arxiv.org/abs/1909.06335). With ``Delta_t`` the
    example-weighted mean of ``x_i - x_t`` over the trainable parameters::

        u_t     = momentum * u_{t-1} + Delta_t        (u_0 = 0)
        x_{t+1} = x_t + server_lr * u_t

    Buffers are averaged as in FedAvg. No client-side obligation.

    Parameters
    ----------
    server_lr : float, default=1.0
        > 0.
    momentum : float, default=0.9
        In [0, 1); ``momentum=0`` with ``server_lr=1`` is FedAvg (a warning is logged).
    """

    name = "fedavgm"
    moments = ("momentum",)

    def __init__(self, *, server_lr: float = 1.0, momentum: float = 0.9) -> None:
        self.server_lr = hyperparameter("FedAvgM", "server_lr", server_lr, "server_lr > 0", lambda value: value > 0)
        self.momentum = hyperparameter("FedAvgM", "momentum", momentum, "0 <= momentum < 1",
                                       lambda value: 0 <= value < 1)
        if self.momentum == 0 and self.server_lr == 1:
            logger.warning("FedAvgM with momentum=0.0 and server_lr=1.0 is equivalent to FedAvg.")

    def _step(self, delta: torch.Tensor, state: Moments) -> tuple[torch.Tensor, Moments]:
        velocity = self.momentum * state["momentum"] + delta
        return velocity, {"momentum": velocity}
