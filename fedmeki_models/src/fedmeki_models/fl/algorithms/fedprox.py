"""FedProx: FedAvg whose clients add a proximal term pulling their weights towards the global ones."""

from __future__ import annotations

import logging

import torch

from fedmeki_models.fl.algorithms.base import ClientRound, hyperparameter, named_task_parameters
from fedmeki_models.fl.algorithms.fedavg import FedAvg
from fedmeki_models.training import LossTerm

logger = logging.getLogger(__name__)


class FedProx(FedAvg):
    """Federated optimisation with a proximal term.

    Implementation based on Li et al. 2020, "Federated Optimization in Heterogeneous Networks"
    (https://arxiv.org/abs/1812.06127). Aggregation is :class:`FedAvg`'s.

    **Client-side obligation:** every local step adds to the task loss

    .. math:: \\frac{\\mu}{2} \\sum_{w \\in \\text{task parameters}} \\lVert w - w^{global} \\rVert^2

    over the task's trainable parameters (``model.task_parameters(task)``), ``w^{global}`` being the
    weights received this round. :meth:`client_update` does it, in both engines (FedMEKI's Flower
    ClientApp calls it too); a client written elsewhere must add the same term.

    Parameters
    ----------
    mu : float, default=0.01
        Weight of the proximal term, >= 0; ``mu=0`` is FedAvg (a warning is logged).
    """

    name = "fedprox"

    def __init__(self, *, mu: float = 0.01) -> None:
        self.mu = hyperparameter("FedProx", "mu", mu, "mu >= 0", lambda value: value >= 0)
        if self.mu == 0:
            logger.warning("FedProx with mu=0.0 is equivalent to FedAvg.")

    def _loss_term(self, run: ClientRound) -> LossTerm | None:
        if self.mu == 0:
            return None
        parameters = named_task_parameters(run.model, run.task)
        # The global tensors move to the device once per update, not once per step.
        anchors = {name: run.global_weights[name].to(run.device, dtype=parameter.dtype)
                   for name, parameter in parameters.items()}
        half_mu = self.mu / 2

        def proximal_term() -> torch.Tensor:
            squares = [(parameter - anchors[name]).square().sum() for name, parameter in parameters.items()]
            return half_mu * torch.stack(squares).sum()

        return proximal_term
