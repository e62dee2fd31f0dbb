"""FedAdam: Adam as the server optimiser."""

from __future__ import annotations

import torch

from fedmeki_models.fl.algorithms.fedopt import FedOpt


class FedAdam(FedOpt):
    """FedAdam: ``v_t = beta_2 * v_{t-1} + (1 - beta_2) * Delta_t^2``.

    Implementation based on Reddi et al. 2021, "Adaptive Federated Optimization"
    (https://arxiv.org/abs/2003.00295), Algorithm 2; see :class:`FedOpt` for the full update and the
    parameters (``server_lr=1e-2``, ``beta_1=0.9``, ``beta_2=0.99``, ``tau=1e-3``). No client-side
    obligation.
    """

    name = "fedadam"

    def second_moment(self, v: torch.Tensor, squared: torch.Tensor) -> torch.Tensor:
        return self.beta_2 * v + (1 - self.beta_2) * squared
