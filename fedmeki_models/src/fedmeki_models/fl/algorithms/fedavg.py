"""FedAvg: the example-weighted average of the clients' weights."""

from __future__ import annotations

from collections.abc import Sequence

from fedmeki_models.fl.aggregation import weighted_average
from fedmeki_models.fl.algorithms.base import Algorithm
from fedmeki_models.fl.types import ClientUpdate, RoundContext, Weights


class FedAvg(Algorithm):
    """Federated Averaging.

    Implementation based on McMahan et al. 2017, "Communication-Efficient Learning of Deep Networks
    from Decentralized Data" (https://arxiv.org/abs/1602.05629): clients train locally from the global
    weights, the server replaces them with ``sum_i n_i x_i / sum_i n_i``, ``n_i`` being
    ``ClientUpdate.num_examples``. Integer buffers (``num_batches_tracked``) take the maximum.

    No client-side obligation beyond plain local training. With one client, the aggregate is that
    client's weights bit for bit, so FedAvg over one client equals centralised training.
    """

    name = "fedavg"

    def aggregate(self, global_weights: Weights, updates: Sequence[ClientUpdate], server_state: Weights,
                  context: RoundContext) -> tuple[Weights, Weights]:
        """Weighted average of the sent keys; keys the clients did not send keep their global value."""
        averaged = weighted_average([update.weights for update in updates], [update.num_examples for update in updates])
        return {**global_weights, **averaged}, server_state
