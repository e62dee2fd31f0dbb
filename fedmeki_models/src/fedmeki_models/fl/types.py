"""The records that pass between a client update and a server aggregation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

Weights = dict[str, torch.Tensor]
"""A (partial) ``state_dict``: parameter and buffer name -> tensor, on the CPU."""


@dataclass(frozen=True)
class RoundContext:
    """What an algorithm may know about the round it serves.

    Attributes
    ----------
    round : int
        1-based round number.
    task : str
        The task aggregated now (multi-task runs aggregate once per task per round).
    num_clients : int
        Clients in the federation (SCAFFOLD scales its server control variate by the sampled fraction).
    parameter_keys : frozenset of str, default=frozenset()
        The task's keys that are trainable parameters (the rest are buffers such as BatchNorm statistics).
        Server optimisers step only these and average the buffers. Empty means "every floating key".
    """

    round: int
    task: str
    num_clients: int
    parameter_keys: frozenset[str] = frozenset()

    def trainable_keys(self, weights: Mapping[str, torch.Tensor]) -> list[str]:
        """Keys of ``weights`` that a server optimiser steps: floating, and parameters when those are known."""
        return [key for key, tensor in weights.items()
                if tensor.is_floating_point() and (not self.parameter_keys or key in self.parameter_keys)]


@dataclass
class ClientUpdate:
    """What one client sends back after local training on one task.

    Attributes
    ----------
    client : int
        Client index.
    weights : Weights
        The task's encoder and head after local training (every key the server sent).
    num_examples : int
        Training examples seen per epoch: the FedAvg weight.
    num_steps : int
        Optimiser steps taken (SCAFFOLD needs it).
    loss : float
        Mean training loss.
    extras : Weights
        Algorithm-specific tensors sent to the server (SCAFFOLD's control-variate delta).
    """

    client: int
    weights: Weights
    num_examples: int
    num_steps: int
    loss: float
    extras: Weights = field(default_factory=dict)


def nbytes(weights: Mapping[str, torch.Tensor]) -> int:
    """Bytes on the wire for ``weights`` (raw tensor payload, no framing)."""
    return sum(tensor.numel() * tensor.element_size() for tensor in weights.values())
