"""FedAdagrad: Adagrad (with server momentum) as the server optimiser."""

from __future__ import annotations

import torch

from fedmeki_models.fl.algorithms.fedopt import FedOpt


class FedAdagrad(FedOpt):
    """FedAdagrad: ``v_t = v_{t-1} + Delta_t^2``.

    Implementation based on Reddi et al. 2021, "Adaptive Federated Optimization"
    (https://arxiv.org/abs/2003.00295), Algorithm 2; see :class:`FedOpt` for the full update. There is
    no ``beta_2``; ``beta_1`` is the paper's first-moment decay (0 gives plain Adagrad). No client-side
    obligation.

    Parameters
    ----------
    server_lr : float, default=1e-2
    beta_1 : float, default=0.9
    tau : float, default=1e-3
    """

    name = "fedadagrad"

    def __init__(self, *, server_lr: float = 1e-2, beta_1: float = 0.9, tau: float = 1e-3) -> None:
        super().__init__(server_lr=server_lr, beta_1=beta_1, beta_2=None, tau=tau)

    def second_moment(self, v: torch.Tensor, squared: torch.Tensor) -> torch.Tensor:
        return v + squared
