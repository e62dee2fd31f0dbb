"""FedBN: FedAvg that leaves every BatchNorm layer (parameters and statistics) on the clients."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from fedmeki_models.fl.aggregation import weighted_average
from fedmeki_models.fl.algorithms.base import ClientRound
from fedmeki_models.fl.algorithms.fedavg import FedAvg
from fedmeki_models.fl.types import Weights
from fedmeki_models.training import LocalResult, load_state, state_of

if TYPE_CHECKING:
    from fedmeki_models.model import LocalModel


def batchnorm_keys(model: nn.Module, keys: Iterable[str]) -> list[str]:
    """The keys among ``keys`` that belong to a BatchNorm module of ``model`` (weight, bias, statistics)."""
    wanted = set(keys)
    found = []
    for prefix, module in model.named_modules():
        if isinstance(module, _BatchNorm):
            own = [name for name, _ in module.named_parameters(recurse=False)]
            own += [name for name, _ in module.named_buffers(recurse=False)]
            found += [f"{prefix}.{name}" if prefix else name for name in own]
    return [key for key in found if key in wanted]


class FedBN(FedAvg):
    """Federated learning with local batch normalisation.

    Implementation based on Li et al. 2021, "FedBN: Federated Learning on Non-IID Features via Local
    Batch Normalization" (https://arxiv.org/abs/2102.07623). The tensors of every BatchNorm module in
    the task's keys (``weight``, ``bias``, ``running_mean``, ``running_var``, ``num_batches_tracked``)
    never leave the client; everything else is averaged as in :class:`FedAvg`.

    **Client-side obligation:** the client keeps its BatchNorm tensors (:attr:`ClientOutcome.state`)
    and loads them over the global ones before training (its first round uses the global ones);
    it sends only :meth:`update_keys`. The server's BatchNorm tensors are never changed by
    :meth:`aggregate`.

    One exported or evaluated model still needs *some* BatchNorm: :meth:`global_model_weights`
    fills in the example-weighted average of the clients' kept tensors (integer counters: maximum).
    In simulation, the engine holds the client states and may also evaluate each client with its own
    BatchNorm (``{**global_weights, **client_state}``), which is the personalised model FedBN trains.
    """

    name = "fedbn"

    def update_keys(self, model: LocalModel, task: str, global_weights: Weights) -> list[str]:
        """The task's keys without the BatchNorm ones."""
        local = set(batchnorm_keys(model, global_weights))
        return [key for key in global_weights if key not in local]

    def _prepare_client(self, run: ClientRound) -> None:
        own = {key: run.client_state[key] for key in batchnorm_keys(run.model, run.global_weights)
               if key in run.client_state}
        load_state(run.model, own)

    def _after_training(self, run: ClientRound, result: LocalResult) -> tuple[Weights, Weights]:
        return state_of(run.model, batchnorm_keys(run.model, run.global_weights)), {}

    def global_model_weights(self, global_weights: Weights, client_states: Mapping[int, Weights],
                             client_sizes: Mapping[int, int]) -> Weights:
        """``global_weights`` with each kept key replaced by the clients' example-weighted average."""
        clients = [client for client, state in client_states.items() if state and client_sizes.get(client, 0) > 0]
        if not clients:
            return global_weights
        keys = [key for key in client_states[clients[0]] if key in global_weights]
        averaged = weighted_average([{key: client_states[client][key] for key in keys} for client in clients],
                                    [client_sizes[client] for client in clients])
        return {**global_weights, **averaged}
