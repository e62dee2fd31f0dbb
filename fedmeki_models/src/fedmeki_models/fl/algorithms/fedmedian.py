"""FedMedian: the coordinate-wise median of the clients' weights, robust to a minority of outliers."""

from __future__ import annotations

from collections.abc import Sequence

from fedmeki_models.fl.aggregation import coordinate_median
from fedmeki_models.fl.algorithms.base import Algorithm
from fedmeki_models.fl.types import ClientUpdate, RoundContext, Weights


class FedMedian(Algorithm):
    """Coordinate-wise median aggregation.

    Implementation based on Yin et al. 2018, "Byzantine-Robust Distributed Learning: Towards Optimal
    Statistical Rates" (https://arxiv.org/abs/1803.01498): each coordinate of the new global weights
    is the median of the clients' values (mean of the two middle ones for an even count), unweighted
    (``num_examples`` is ignored, since a malicious client could inflate it). Integer buffers take the
    maximum. No client-side obligation.
    """

    name = "fedmedian"

    def aggregate(self, global_weights: Weights, updates: Sequence[ClientUpdate], server_state: Weights,
                  context: RoundContext) -> tuple[Weights, Weights]:
        return {**global_weights, **coordinate_median([update.weights for update in updates])}, server_state
