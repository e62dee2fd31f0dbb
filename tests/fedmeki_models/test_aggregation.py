"""The aggregation maths of ``fedmeki_models.fl.aggregation``, against numpy and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fedmeki_models.errors import InconsistentUpdatesError
from fedmeki_models.fl.aggregation import (
    check_client_updates,
    coordinate_median,
    pseudo_gradient,
    trimmed_mean,
    weighted_average,
)
from fedmeki_models.fl.types import ClientUpdate


def make_update(client: int, w, *, n: int = 10, counter: int = 3, extras=None) -> ClientUpdate:
    weights = {"w": torch.tensor(w, dtype=torch.float32), "counter": torch.tensor(counter)}
    return ClientUpdate(client=client, weights=weights, num_examples=n, num_steps=1, loss=0.5, extras=extras or {})


def test_check_accepts_consistent_updates():
    # Prepare
    updates = [make_update(0, [1.0, 2.0]), make_update(1, [3.0, 4.0], n=5)]
    # Execute / Assert: no exception
    check_client_updates(updates, {"w", "counter"})


def _missing_key():
    update = make_update(1, [1.0, 2.0])
    del update.weights["w"]
    return update


def _extra_key():
    update = make_update(1, [1.0, 2.0])
    update.weights["stray"] = torch.zeros(1)
    return update


@pytest.mark.parametrize(("second", "match"), [
    # num_examples of zero: no FedAvg weight (BAD)
    (make_update(1, [1.0, 2.0], n=0), r"Client 1 .*num_examples=0"),
    # Negative num_examples (BAD)
    (make_update(1, [1.0, 2.0], n=-3), r"Client 1 .*num_examples=-3"),
    # The same client twice (BAD)
    (make_update(0, [1.0, 2.0]), r"Client 0 sent two updates"),
    # A key of the model missing (BAD)
    (_missing_key(), r"Client 1 sent no 'w'"),
    # A key nobody expects (BAD)
    (_extra_key(), r"Client 1 sent an unexpected key 'stray'"),
    # Another shape than the first client's (BAD)
    (make_update(1, [1.0, 2.0, 3.0]), r"Client 1 sent 'w' as torch.float32 \(3,\), other clients as .*\(2,\)"),
    # Another dtype than the first client's (BAD)
    (ClientUpdate(1, {"w": torch.tensor([1.0, 2.0], dtype=torch.float64), "counter": torch.tensor(3)}, 10, 1, 0.5),
     r"Client 1 sent 'w' as torch.float64"),
    # NaN in the weights (BAD)
    (make_update(1, [float("nan"), 2.0]), r"Client 1 sent non-finite values in 'w'"),
    # Infinity in the weights (BAD)
    (make_update(1, [float("inf"), 2.0]), r"Client 1 sent non-finite values in 'w'"),
    # Extras with other keys than the first client's (BAD)
    (make_update(1, [1.0, 2.0], extras={"delta_c.w": torch.zeros(2)}), r"Client 1 .*unexpected key 'delta_c.w'"),
])
def test_check_refuses_inconsistent_updates(second, match):
    # Prepare
    updates = [make_update(0, [1.0, 2.0]), second]
    # Execute / Assert
    with pytest.raises(InconsistentUpdatesError, match=match):
        check_client_updates(updates, {"w", "counter"})


def test_check_refuses_no_update():
    with pytest.raises(InconsistentUpdatesError, match="No client update"):
        check_client_updates([], {"w"})


def test_weighted_average_matches_numpy():
    # Prepare
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(3, 4)).astype(np.float32) for _ in range(3)]
    sizes = [10, 30, 60]
    states = [{"w": torch.from_numpy(array)} for array in arrays]
    # Execute
    averaged = weighted_average(states, sizes)
    # Assert
    expected = np.average(np.stack(arrays).astype(np.float64), axis=0, weights=sizes)
    assert averaged["w"].dtype == torch.float32
    np.testing.assert_allclose(averaged["w"].numpy(), expected, rtol=1e-6)


def test_weighted_average_hand_computed():
    # 1:3 weights: 0.25 * [0, 4] + 0.75 * [4, 8] = [3, 7]
    averaged = weighted_average([{"w": torch.tensor([0.0, 4.0])}, {"w": torch.tensor([4.0, 8.0])}], [1, 3])
    assert torch.equal(averaged["w"], torch.tensor([3.0, 7.0]))


def test_weighted_average_of_one_state_is_bit_exact():
    # Prepare: values whose float32 bits a float64 round trip must not change, negative zero included
    tensor = torch.tensor([0.1, -0.0, 1e-38, 3.4e38, -7.123456789], dtype=torch.float32)
    # Execute
    averaged = weighted_average([{"w": tensor}], [17])
    # Assert
    assert torch.equal(averaged["w"].view(torch.int32), tensor.view(torch.int32))
    assert averaged["w"] is not tensor


def test_weighted_average_zero_weight_drops_a_state():
    tensor = torch.tensor([0.1, 0.2])
    averaged = weighted_average([{"w": tensor}, {"w": torch.tensor([5.0, 5.0])}], [2, 0])
    assert torch.equal(averaged["w"], tensor)


def test_integer_buffers_take_the_maximum():
    # Prepare: BatchNorm counters of three clients (a float average would give 20/3)
    states = [{"num_batches_tracked": torch.tensor(v), "mask": torch.tensor([v > 5, v < 5])} for v in (4, 10, 6)]
    # Execute
    results = [weighted_average(states, [1, 1, 1]), coordinate_median(states), trimmed_mean(states, 0.34)]
    # Assert
    for result in results:
        assert result["num_batches_tracked"].dtype == torch.int64
        assert int(result["num_batches_tracked"]) == 10
        assert result["mask"].tolist() == [True, True]


@pytest.mark.parametrize(("weights", "match"), [
    # No weight for the second state (BAD)
    ([1], "1 weights for 2 states"),
    # A negative weight (BAD)
    ([1, -1], "non-negative"),
    # All weights zero (BAD)
    ([0, 0], "positive"),
    # A NaN weight (BAD)
    ([1, float("nan")], "finite"),
])
def test_weighted_average_refuses_bad_weights(weights, match):
    with pytest.raises(ValueError, match=match):
        weighted_average([{"w": torch.zeros(1)}, {"w": torch.ones(1)}], weights)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_coordinate_median_matches_numpy(n):
    # Prepare
    rng = np.random.default_rng(n)
    arrays = [rng.normal(size=(5, 2)).astype(np.float32) for _ in range(n)]
    # Execute
    median = coordinate_median([{"w": torch.from_numpy(array)} for array in arrays])
    # Assert
    np.testing.assert_allclose(median["w"].numpy(), np.median(np.stack(arrays).astype(np.float64), axis=0),
                               rtol=1e-6)


def test_coordinate_median_hand_computed():
    # Coordinates: median(1, 2, 7) = 2, median(9, 0, 4) = 4, median(5, 5, 100) = 5
    states = [{"w": torch.tensor(values)} for values in ([1.0, 9.0, 5.0], [2.0, 0.0, 5.0], [7.0, 4.0, 100.0])]
    assert torch.equal(coordinate_median(states)["w"], torch.tensor([2.0, 4.0, 5.0]))
    # Even count: the mean of the two middle values, (2 + 7) / 2
    assert torch.equal(coordinate_median(states + [{"w": torch.tensor([8.0, 8.0, 8.0])}])["w"][0], torch.tensor(4.5))


def _numpy_trimmed_mean(stacked: np.ndarray, beta: float) -> np.ndarray:
    n = stacked.shape[0]
    trim = int(np.floor(beta * n + 1e-9))
    return np.sort(stacked, axis=0)[trim:n - trim].mean(axis=0)


@pytest.mark.parametrize(("n", "beta"), [(5, 0.2), (5, 0.0), (10, 0.3), (4, 0.2), (7, 0.49)])
def test_trimmed_mean_matches_numpy(n, beta):
    # Prepare
    rng = np.random.default_rng(n)
    arrays = [rng.normal(size=(3, 3)).astype(np.float32) for _ in range(n)]
    # Execute
    result = trimmed_mean([{"w": torch.from_numpy(array)} for array in arrays], beta)
    # Assert
    expected = _numpy_trimmed_mean(np.stack(arrays).astype(np.float64), beta)
    np.testing.assert_allclose(result["w"].numpy(), expected, rtol=1e-6)


def test_trimmed_mean_hand_computed():
    # beta=0.2 of 5 clients trims 1 per side: mean(1, 2, 3) = 2 and mean(-1, 0, 1) = 0
    values = ([0.0, -50.0], [1.0, -1.0], [2.0, 0.0], [3.0, 1.0], [100.0, 2.0])
    result = trimmed_mean([{"w": torch.tensor(v)} for v in values], 0.2)
    assert torch.equal(result["w"], torch.tensor([2.0, 0.0]))


@pytest.mark.parametrize("beta", [-0.1, 0.5, 0.7])
def test_trimmed_mean_refuses_beta_outside_range(beta):
    with pytest.raises(ValueError, match=f"beta={beta}"):
        trimmed_mean([{"w": torch.zeros(1)}], beta)


def test_pseudo_gradient_is_aggregated_minus_global_on_floating_keys():
    before = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(1)}
    after = {"w": torch.tensor([1.5, 0.0]), "n": torch.tensor(4)}
    delta = pseudo_gradient(before, after)
    assert set(delta) == {"w"}
    assert torch.equal(delta["w"], torch.tensor([0.5, -2.0]))
