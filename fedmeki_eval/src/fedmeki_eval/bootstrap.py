"""Seeded percentile bootstrap, as weights: a resample is how often each sample was drawn.

Representing resamples as a ``(B, n)`` array of multiplicities lets every metric score all of them with
matrix products (see :func:`fedmeki_eval.metrics.binary.binary_metrics_batch`), and lets the metrics of
one task share the same resamples, so their intervals are consistent with each other.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
_BLOCK_DRAWS = 1 << 16  # indices drawn at once


def resample_weights(n: int, n_resamples: int = DEFAULT_RESAMPLES,
                     rng: np.random.Generator | int = DEFAULT_SEED) -> np.ndarray:
    """Multiplicities of ``n_resamples`` bootstrap resamples of ``n`` samples.

    Row ``b`` counts how often each sample is drawn when ``n`` indices are drawn uniformly with
    replacement; every row sums to ``n``.

    Parameters
    ----------
    n : int
        Number of samples, at least 1.
    n_resamples : int, default=1000
        Number of resamples, at least 1.
    rng : numpy.random.Generator or int, default=0
        The generator, or a seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    ndarray of int64, shape (n_resamples, n)

    Raises
    ------
    ValueError
        If ``n`` or ``n_resamples`` is below 1.

    Examples
    --------
    >>> weights = resample_weights(4, 3, rng=0)
    >>> weights.shape, weights.sum(axis=1).tolist()
    ((3, 4), [4, 4, 4])
    """
    for name, value in (("n", n), ("n_resamples", n_resamples)):
        if not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"The {name!r} parameter of resample_weights must be an int >= 1. Got {value!r} instead.")
    generator = np.random.default_rng(rng)
    weights = np.empty((n_resamples, n), dtype=np.int64)
    block_rows = max(1, _BLOCK_DRAWS // n)  # blocks that stay in cache: about twice as fast as one bincount
    for start in range(0, n_resamples, block_rows):
        rows = min(block_rows, n_resamples - start)
        draws = generator.integers(0, n, size=(rows, n))
        draws += np.arange(0, rows * n, n)[:, None]  # row r counts into bins r*n .. r*n+n-1
        weights[start:start + rows] = np.bincount(draws.ravel(), minlength=rows * n).reshape(rows, n)
    return weights


def percentile_interval(values: ArrayLike, confidence: float = 0.95) -> tuple[float, float]:
    """Equal-tailed percentile interval of bootstrap values, ignoring NaN (undefined) resamples.

    Parameters
    ----------
    values : array-like of shape (B,)
        A metric over the resamples.
    confidence : float, default=0.95
        Coverage, strictly between 0 and 1.

    Returns
    -------
    tuple of float
        ``(low, high)``; ``(nan, nan)`` when every value is NaN.

    Raises
    ------
    ValueError
        If ``confidence`` is not strictly between 0 and 1.

    Examples
    --------
    >>> percentile_interval([0.1, 0.2, float("nan"), 0.3, 0.4, 0.5], confidence=0.5)
    (0.2, 0.4)
    """
    if not 0 < confidence < 1:
        raise ValueError("The 'confidence' parameter of percentile_interval must be a float in (0, 1). "
                         f"Got {confidence!r} instead.")
    finite = np.asarray(values, dtype=np.float64).ravel()
    finite = finite[~np.isnan(finite)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)
