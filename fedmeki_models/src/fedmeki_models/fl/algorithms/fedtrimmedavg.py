"""FedTrimmedAvg: the coordinate-wise trimmed mean of the clients' weights."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fedmeki_models.fl.aggregation import trimmed_mean
from fedmeki_models.fl.algorithms.base import Algorithm, hyperparameter
from fedmeki_models.fl.types import ClientUpdate, RoundContext, Weights

logger = logging.getLogger(__name__)


class FedTrimmedAvg(Algorithm):
    """Coordinate-wise trimmed-mean aggregation.

    Implementation based on Yin et al. 2018, "Byzantine-Robust Distributed Learning: Towards Optimal
    Statistical Rates" (https://arxiv.org/abs/1803.01498): per coordinate, the ``floor(beta * n)``
    largest and smallest of the ``n`` clients' values are dropped and the rest averaged, unweighted
    (``num_examples`` is ignored). With fewer than ``1 / beta`` clients nothing is trimmed. Integer
    buffers take the maximum. No client-side obligation.

    Parameters
    ----------
    beta : float, default=0.2
        Fraction trimmed from each side, in [0, 0.5); ``beta=0`` is an unweighted mean (a warning is logged).
    """

    name = "fedtrimmedavg"

    def __init__(self, *, beta: float = 0.2) -> None:
        self.beta = hyperparameter("FedTrimmedAvg", "beta", beta, "0 <= beta < 0.5", lambda value: 0 <= value < 0.5)
        if self.beta == 0:
            logger.warning("FedTrimmedAvg with beta=0.0 trims nothing: an unweighted mean of the clients.")

    def aggregate(self, global_weights: Weights, updates: Sequence[ClientUpdate], server_state: Weights,
                  context: RoundContext) -> tuple[Weights, Weights]:
        return {**global_weights, **trimmed_mean([update.weights for update in updates], self.beta)}, server_state
