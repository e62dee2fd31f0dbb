"""Aggregation maths over client weights: pure functions of ``Sequence[Weights]``, shared by both engines.

Check the updates once with :func:`check_client_updates`; the other functions trust their input.
Floating tensors are combined in float64 and cast back to their dtype; integer and boolean tensors
(BatchNorm's ``num_batches_tracked``) are counters, not measurements, and take the element-wise maximum.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from functools import reduce

import torch

from fedmeki_models.errors import InconsistentUpdatesError
from fedmeki_models.fl.types import ClientUpdate, Weights

__all__ = ["check_client_updates", "coordinate_median", "pseudo_gradient", "trimmed_mean", "weighted_average"]


def check_client_updates(updates: Sequence[ClientUpdate], expected_keys: Collection[str]) -> None:
    """Refuse client updates that cannot be aggregated together.

    Parameters
    ----------
    updates : sequence of ClientUpdate
    expected_keys : collection of str
        The keys every update's ``weights`` must carry, no more, no less
        (:meth:`~fedmeki_models.fl.algorithms.base.Algorithm.update_keys`).

    Raises
    ------
    InconsistentUpdatesError
        No update; a client twice; ``num_examples`` not positive; missing or unexpected keys; a shape or
        dtype that differs from the first client's; NaN or infinite values. The same rules apply to
        ``extras``, against the first client's extras keys. The message names the client and the key.
    """
    if not updates:
        raise InconsistentUpdatesError("No client update to aggregate.", hint="check that clients finished the round")
    expected = set(expected_keys)
    first = updates[0]
    seen: set[int] = set()
    for update in updates:
        if update.client in seen:
            raise InconsistentUpdatesError(f"Client {update.client} sent two updates in one aggregation.")
        seen.add(update.client)
        if not update.num_examples > 0:
            raise InconsistentUpdatesError(
                f"Client {update.client} reports num_examples={update.num_examples}; the weight must be positive.",
                hint="drop clients without training data before aggregating")
        _check_tensors(update.client, "weights", update.weights, first.weights, expected)
        _check_tensors(update.client, "extras", update.extras, first.extras, set(first.extras))


def _check_tensors(client: int, field: str, tensors: Mapping[str, torch.Tensor],
                   reference: Mapping[str, torch.Tensor], expected: set[str]) -> None:
    """One client's ``weights`` or ``extras`` against the expected keys and the reference tensors."""
    missing, unexpected = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
    if missing:
        raise InconsistentUpdatesError(f"Client {client} sent no {missing[0]!r} in its {field} "
                                       f"({len(missing)} key(s) missing).", hint="clients must run the same model")
    if unexpected:
        raise InconsistentUpdatesError(f"Client {client} sent an unexpected key {unexpected[0]!r} in its {field}.",
                                       hint="clients must run the same model and algorithm")
    for key, tensor in tensors.items():
        ref = reference[key]
        if tensor.shape != ref.shape or tensor.dtype != ref.dtype:
            raise InconsistentUpdatesError(
                f"Client {client} sent {key!r} as {tensor.dtype} {tuple(tensor.shape)}, "
                f"other clients as {ref.dtype} {tuple(ref.shape)}.", hint="clients must run the same model")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise InconsistentUpdatesError(f"Client {client} sent non-finite values in {key!r}.",
                                           hint="lower the learning rate or enable gradient clipping")


def weighted_average(states: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float]) -> Weights:
    """Key-wise ``sum_i p_i * x_i`` with ``p_i = w_i / sum(w)``.

    The normalised weights are float64 and the sum is accumulated in float64, then cast to each
    tensor's dtype, so one state (or one non-zero weight) comes back bit-exactly. Non-floating tensors
    take the element-wise maximum over all states instead.

    Parameters
    ----------
    states : sequence of mapping of str to Tensor
        At least one, all with the keys, shapes and dtypes of the first.
    weights : sequence of float
        One non-negative, finite weight per state, with a positive sum (e.g. examples per client).

    Returns
    -------
    Weights
        New tensors, in the key order of ``states[0]``.

    Raises
    ------
    ValueError
        No state, a weight per state missing, or weights negative, non-finite or summing to zero.

    Examples
    --------
    >>> a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(3)}
    >>> b = {"w": torch.tensor([5.0, 6.0]), "n": torch.tensor(7)}
    >>> weighted_average([a, b], [1, 3])
    {'w': tensor([4., 5.]), 'n': tensor(7)}
    """
    if not states:
        raise ValueError("weighted_average needs at least one state.")
    if len(weights) != len(states):
        raise ValueError(f"weighted_average got {len(weights)} weights for {len(states)} states.")
    if any(not math.isfinite(w) or w < 0 for w in weights) or not sum(weights) > 0:
        raise ValueError(f"Weights must be finite, non-negative and sum to a positive value; got {list(weights)}.")
    total = math.fsum(float(w) for w in weights)
    shares = [float(w) / total for w in weights]
    averaged: Weights = {}
    for key, first in states[0].items():
        if not first.is_floating_point():
            averaged[key] = _maximum([state[key] for state in states])
            continue
        accumulator = None
        for share, state in zip(shares, states):
            if share == 0.0:
                continue
            term = state[key].to(torch.float64) * share
            accumulator = term if accumulator is None else accumulator.add_(term)
        averaged[key] = accumulator.to(first.dtype)
    return averaged


def coordinate_median(states: Sequence[Mapping[str, torch.Tensor]]) -> Weights:
    """Unweighted coordinate-wise median (mean of the two middle values for an even count), as ``np.median``.

    Non-floating tensors take the element-wise maximum.

    Examples
    --------
    >>> states = [{"w": torch.tensor(pair)} for pair in ([1.0, 9.0], [2.0, 0.0], [7.0, 4.0])]
    >>> coordinate_median(states)
    {'w': tensor([2., 4.])}
    """
    if not states:
        raise ValueError("coordinate_median needs at least one state.")
    return _sorted_mean(states, (len(states) - 1) // 2)


def trimmed_mean(states: Sequence[Mapping[str, torch.Tensor]], beta: float) -> Weights:
    """Unweighted coordinate-wise mean after dropping the ``floor(beta * n)`` smallest and largest values.

    Parameters
    ----------
    states : sequence of mapping of str to Tensor
        ``n`` states with the same keys, shapes and dtypes.
    beta : float
        Fraction trimmed from each side, in ``[0, 0.5)``, so that at least one value remains.

    Returns
    -------
    Weights
        Non-floating tensors take the element-wise maximum.

    Examples
    --------
    >>> states = [{"w": torch.tensor([float(v)])} for v in (0, 1, 2, 3, 100)]
    >>> trimmed_mean(states, 0.2)
    {'w': tensor([2.])}
    """
    if not states:
        raise ValueError("trimmed_mean needs at least one state.")
    if not 0 <= beta < 0.5:
        raise ValueError(f"beta={beta!r} must be in [0, 0.5).")
    return _sorted_mean(states, math.floor(beta * len(states) + 1e-9))


def pseudo_gradient(global_weights: Mapping[str, torch.Tensor], aggregated: Mapping[str, torch.Tensor],
                    keys: Sequence[str] | None = None) -> Weights:
    """The server's update direction ``aggregated - global`` (Reddi et al.'s ``Delta_t``) for floating keys.

    It points *down* the loss: server optimisers add it (``x += lr * step(Delta)``).

    Parameters
    ----------
    global_weights, aggregated : mapping of str to Tensor
    keys : sequence of str, optional
        The keys to compute; every floating key of ``aggregated`` by default.

    Examples
    --------
    >>> before = {"w": torch.tensor([1.0]), "n": torch.tensor(1)}
    >>> pseudo_gradient(before, {"w": torch.tensor([3.0]), "n": torch.tensor(2)})
    {'w': tensor([2.])}
    """
    if keys is None:
        keys = [key for key, tensor in aggregated.items() if tensor.is_floating_point()]
    return {key: aggregated[key] - global_weights[key] for key in keys}


def _sorted_mean(states: Sequence[Mapping[str, torch.Tensor]], trim: int) -> Weights:
    """Per coordinate, the float64 mean of the sorted values ``[trim, n - trim)``; non-floating keys by max."""
    n = len(states)
    result: Weights = {}
    for key, first in states[0].items():
        values = [state[key] for state in states]
        if not first.is_floating_point():
            result[key] = _maximum(values)
            continue
        kept = torch.stack(values).sort(dim=0).values[trim:n - trim]
        result[key] = kept.to(torch.float64).mean(dim=0).to(first.dtype)
    return result


def _maximum(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Element-wise maximum of same-shaped tensors (a copy, even for one)."""
    return reduce(torch.maximum, tensors[1:], tensors[0].clone())
