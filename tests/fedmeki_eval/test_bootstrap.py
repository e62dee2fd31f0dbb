"""Seeded percentile bootstrap: resample multiplicities and intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fedmeki_eval.bootstrap import percentile_interval, resample_weights


def test_weights_are_integer_multiplicities_summing_to_n():
    weights = resample_weights(50, 200, rng=0)
    assert weights.shape == (200, 50)
    assert np.issubdtype(weights.dtype, np.integer)
    assert (weights >= 0).all() and (weights.sum(axis=1) == 50).all()
    # each sample is drawn once per resample on average, and is missing from about 1/e of them
    assert weights.mean() == 1.0
    assert abs((weights == 0).mean() - (1 - 1 / 50) ** 50) < 0.02


def test_weights_are_deterministic_for_a_seed():
    np.testing.assert_array_equal(resample_weights(30, 10, rng=7), resample_weights(30, 10, rng=7))
    assert not np.array_equal(resample_weights(30, 10, rng=7), resample_weights(30, 10, rng=8))
    np.testing.assert_array_equal(resample_weights(30, 10), resample_weights(30, 10, rng=0))  # default seed 0
    np.testing.assert_array_equal(resample_weights(30, 10, rng=np.random.default_rng(7)),
                                  resample_weights(30, 10, rng=7))


def test_rows_are_independent_uniform_draws():
    """Row b equals the bincount of n uniform indices, so it matches materialised resampling in distribution."""
    weights = resample_weights(4, 20000, rng=1)
    np.testing.assert_allclose(weights.mean(axis=0), 1.0, atol=0.03)
    np.testing.assert_allclose(weights.var(axis=0), 1 - 1 / 4, atol=0.03)  # multinomial variance n p (1 - p)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n": 0, "n_resamples": 10}, r"The 'n' parameter of resample_weights must be an int >= 1\. Got 0 instead\."),
    ({"n": 5, "n_resamples": 0}, r"'n_resamples' parameter .* Got 0 instead"),
    ({"n": 5.0, "n_resamples": 10}, r"'n' parameter .* Got 5\.0 instead"),
])
def test_invalid_sizes_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        resample_weights(**kwargs)


def test_percentile_interval_ignores_nan_resamples():
    assert percentile_interval([0.0, 1.0, np.nan, 2.0, 3.0, 4.0], confidence=0.5) == (1.0, 3.0)
    low, high = percentile_interval([np.nan, np.nan])
    assert math.isnan(low) and math.isnan(high)


@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1])
def test_percentile_interval_rejects_invalid_confidence(confidence):
    with pytest.raises(ValueError, match=r"'confidence' parameter of percentile_interval must be a float in \(0, 1\)"):
        percentile_interval([1.0, 2.0], confidence=confidence)


def bootstrap_mean_interval(values: np.ndarray, seed: int = 0) -> tuple[float, float]:
    weights = resample_weights(values.size, 1000, rng=seed)
    return percentile_interval(weights @ values / values.size)


def test_interval_contains_the_estimate_and_narrows_with_n():
    rng = np.random.default_rng(0)
    widths = []
    for n in (100, 400, 1600):
        values = rng.normal(0.6, 0.2, n)
        low, high = bootstrap_mean_interval(values)
        assert low < values.mean() < high
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]
    # a 95 % interval of a mean is about 2 * 1.96 standard errors wide
    assert widths[2] == pytest.approx(2 * 1.96 * 0.2 / np.sqrt(1600), rel=0.15)


def test_interval_is_deterministic_for_a_seed():
    values = np.random.default_rng(1).random(200)
    assert bootstrap_mean_interval(values, seed=3) == bootstrap_mean_interval(values, seed=3)
    assert bootstrap_mean_interval(values, seed=3) != bootstrap_mean_interval(values, seed=4)
