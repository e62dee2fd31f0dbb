"""Binary classification metrics (positive class = 1 = *yes*), vectorised over bootstrap resamples.

Every metric is computed by one implementation that takes a ``(B, n)`` array of sample weights: a row of
ones gives the point estimate, rows of resampling multiplicities give the bootstrap distribution, so the
point estimate and its interval cannot drift apart. The values equal scikit-learn's (``zero_division=0``
for precision, recall and F1; ``sample_weight`` for weighted rows) to floating-point rounding.
All ``*_score`` metrics are higher-is-better fractions in [0, 1]; MCC lies in [-1, 1].
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

COUNT_METRICS: tuple[str, ...] = ("accuracy", "precision", "recall", "f1", "mcc")
"""Metrics of the hard predictions, in report order."""

RANKING_METRICS: tuple[str, ...] = ("auroc", "auprc")
"""Metrics of the scores (probability of *yes*); NaN when the sample holds one class only."""

_BLOCK_ELEMENTS = 1 << 17  # weights handled at once: 1 MiB per float64 working array


class _Targets(NamedTuple):
    """Validated inputs: labels and scores as float64 vectors, weights as a (B, n) numeric array."""

    y_true: np.ndarray
    y_pred: np.ndarray | None
    scores: np.ndarray | None
    weights: np.ndarray


def accuracy_score(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of correct predictions.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Labels in {0, 1}.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the inputs are empty, of different lengths, or hold values other than 0 and 1.

    Examples
    --------
    >>> accuracy_score([1, 0, 1, 1], [1, 0, 0, 1])
    0.75
    """
    return _count_point("accuracy_score", "accuracy", y_true, y_pred)


def precision_score(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of predicted positives that are positive; 0.0 when nothing is predicted positive.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Labels in {0, 1}.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the inputs are empty, of different lengths, or hold values other than 0 and 1.

    Examples
    --------
    >>> precision_score([1, 0, 1, 1], [1, 1, 0, 1])
    0.6666666666666666
    >>> precision_score([1, 0], [0, 0])
    0.0
    """
    return _count_point("precision_score", "precision", y_true, y_pred)


def recall_score(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of positives predicted positive (sensitivity); 0.0 when there is no positive.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Labels in {0, 1}.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the inputs are empty, of different lengths, or hold values other than 0 and 1.

    Examples
    --------
    >>> recall_score([1, 0, 1, 1], [1, 1, 0, 1])
    0.6666666666666666
    """
    return _count_point("recall_score", "recall", y_true, y_pred)


def f1_score(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Harmonic mean of precision and recall, ``2 tp / (2 tp + fp + fn)``; 0.0 when that is 0/0.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Labels in {0, 1}.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the inputs are empty, of different lengths, or hold values other than 0 and 1.

    Examples
    --------
    >>> f1_score([1, 0, 1, 1], [1, 1, 0, 1])
    0.6666666666666666
    """
    return _count_point("f1_score", "f1", y_true, y_pred)


def matthews_corrcoef(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Matthews correlation coefficient, in [-1, 1]; 0.0 when a row or column of the confusion matrix is empty.

    Unlike accuracy it stays informative on the unbalanced validation tasks (sepsis: 29 positives in 1,000).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Labels in {0, 1}.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the inputs are empty, of different lengths, or hold values other than 0 and 1.

    Examples
    --------
    >>> matthews_corrcoef([1, 0, 1, 0], [1, 0, 1, 0])
    1.0
    >>> matthews_corrcoef([1, 0, 1, 0], [1, 1, 1, 1])
    0.0
    """
    return _count_point("matthews_corrcoef", "mcc", y_true, y_pred)


def roc_auc_score(y_true: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve: the probability that a positive outranks a negative, ties counting 1/2.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Labels in {0, 1}.
    scores : array-like of shape (n,)
        Finite scores, higher meaning *yes* (a probability or a logit).

    Returns
    -------
    float
        NaN when ``y_true`` holds one class only: the area is then 0/0 (scikit-learn raises instead).

    Raises
    ------
    ValueError
        If the inputs are empty, of different lengths, or invalid.

    Examples
    --------
    >>> roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> roc_auc_score([1, 1], [0.2, 0.9])
    nan
    """
    targets = _check_binary_targets("roc_auc_score", y_true, scores=scores)
    return float(_ranking_batch(targets.y_true, targets.scores, targets.weights)["auroc"][0])


def average_precision_score(y_true: ArrayLike, scores: ArrayLike) -> float:
    """Average precision (AUPRC): precision at each distinct threshold weighted by the recall it adds.

    Follows scikit-learn's definition (a step sum, no interpolation), which suits the rare positives of
    the validation tasks better than AUROC.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Labels in {0, 1}.
    scores : array-like of shape (n,)
        Finite scores, higher meaning *yes*.

    Returns
    -------
    float
        NaN when ``y_true`` holds one class only (with no negatives every ranking scores 1, so the
        value says nothing about the scores; scikit-learn returns 1.0 there and warns with no positives).

    Raises
    ------
    ValueError
        If the inputs are empty, of different lengths, or invalid.

    Examples
    --------
    >>> round(average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 4)
    0.8333
    """
    targets = _check_binary_targets("average_precision_score", y_true, scores=scores)
    return float(_ranking_batch(targets.y_true, targets.scores, targets.weights)["auprc"][0])


def binary_metrics(y_true: ArrayLike, y_pred: ArrayLike, scores: ArrayLike | None = None) -> dict[str, float]:
    """Every binary metric of one sample: :data:`COUNT_METRICS`, plus :data:`RANKING_METRICS` given scores.

    The batch form with a single row of unit weights (see :func:`binary_metrics_batch`).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Labels in {0, 1}.
    scores : array-like of shape (n,), optional
        Finite scores for AUROC/AUPRC.

    Returns
    -------
    dict of str to float

    Raises
    ------
    ValueError
        If the inputs are empty, of different lengths, or invalid.

    Examples
    --------
    >>> metrics = binary_metrics([1, 0, 1, 1], [1, 0, 0, 1], [0.9, 0.2, 0.4, 0.7])
    >>> {name: round(value, 3) for name, value in metrics.items()}
    {'accuracy': 0.75, 'precision': 1.0, 'recall': 0.667, 'f1': 0.8, 'mcc': 0.577, 'auroc': 1.0, 'auprc': 1.0}
    """
    targets = _check_binary_targets("binary_metrics", y_true, y_pred, scores)
    return {name: float(values[0]) for name, values in _metrics_batch(targets).items()}


def binary_metrics_batch(y_true: ArrayLike, y_pred: ArrayLike, scores: ArrayLike | None,
                         weights: ArrayLike) -> dict[str, np.ndarray]:
    """Every binary metric under each row of sample weights at once (the bootstrap's inner loop).

    A row of integer multiplicities (how often each sample was drawn) scores one bootstrap resample
    without materialising it. Confusion counts are one matrix product; AUROC/AUPRC use cumulative sums
    over the scores sorted once, so 1,000 resamples of 1,400 samples take a few milliseconds.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Labels in {0, 1}.
    scores : array-like of shape (n,) or None
        Finite scores for AUROC/AUPRC, or None to leave them out.
    weights : array-like of shape (B, n)
        Non-negative sample weights, one row per resample (scikit-learn's ``sample_weight``).

    Returns
    -------
    dict of str to ndarray of shape (B,)
        Rows whose AUROC/AUPRC are undefined (one class carries all the weight) hold NaN.

    Raises
    ------
    ValueError
        If the inputs are empty, of different lengths, or invalid.

    Examples
    --------
    >>> batch = binary_metrics_batch([1, 0, 1], [1, 0, 0], None, [[1, 1, 1], [2, 1, 0], [0, 3, 0]])
    >>> batch["accuracy"].round(3).tolist(), batch["recall"].tolist()
    ([0.667, 1.0, 1.0], [0.5, 1.0, 0.0])
    """
    return _metrics_batch(_check_binary_targets("binary_metrics_batch", y_true, y_pred, scores, weights))


def _count_point(caller: str, metric: str, y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """One count metric of one unweighted sample."""
    targets = _check_binary_targets(caller, y_true, y_pred)
    return float(_count_batch(targets.y_true, targets.y_pred, targets.weights)[metric][0])


def _metrics_batch(targets: _Targets) -> dict[str, np.ndarray]:
    """Count metrics, plus ranking metrics given scores, over blocks of rows small enough to stay in cache."""
    block_rows = max(1, _BLOCK_ELEMENTS // targets.y_true.size)
    blocks = []
    for start in range(0, targets.weights.shape[0], block_rows):
        weights = targets.weights[start:start + block_rows].astype(np.float64)
        block = _count_batch(targets.y_true, targets.y_pred, weights)
        if targets.scores is not None:
            block |= _ranking_batch(targets.y_true, targets.scores, weights)
        blocks.append(block)
    return {name: np.concatenate([block[name] for block in blocks]) for name in blocks[0]}


def _count_batch(y_true: np.ndarray, y_pred: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Weighted confusion counts by matrix-vector products, then the count metrics per row."""
    cells = (y_true * y_pred, (1 - y_true) * y_pred, y_true * (1 - y_pred), (1 - y_true) * (1 - y_pred))
    tp, fp, fn, tn = (weights @ cell for cell in cells)
    return {
        "accuracy": _divide(tp + tn, tp + fp + fn + tn),
        "precision": _divide(tp, tp + fp),
        "recall": _divide(tp, tp + fn),
        "f1": _divide(2 * tp, 2 * tp + fp + fn),
        "mcc": _divide(tp * tn - fp * fn, np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))),
    }


def _ranking_batch(y_true: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """AUROC (trapezoids) and average precision (steps) over the distinct thresholds, for every row.

    Scores already in descending order (as :func:`fedmeki_eval.task_scores.score_binary` passes them)
    skip the per-row reordering, the costliest step.
    """
    order = np.argsort(-scores, kind="stable")
    if not np.array_equal(order, np.arange(scores.size)):
        weights = np.take(weights, order, axis=1)
    positive_weights = weights * y_true[order]
    group_starts = np.r_[0, np.flatnonzero(np.diff(scores[order])) + 1]
    if group_starts.size < scores.size:  # tied scores: one column per distinct threshold
        positive_weights = np.add.reduceat(positive_weights, group_starts, axis=1)
        weights = np.add.reduceat(weights, group_starts, axis=1)
    negative_weights = weights - positive_weights
    tps, totals = np.cumsum(positive_weights, axis=1), np.cumsum(weights, axis=1)
    n_pos, n_neg = tps[:, -1], totals[:, -1] - tps[:, -1]
    # each negative counts the positives ranked above it, and half of those tied with it
    pairs = _rowdot(negative_weights, tps) - _rowdot(negative_weights, positive_weights) / 2
    # precision in place; a zero total (leading zero weights) has zero tps, so a tiny divisor gives 0
    precision = np.divide(tps, np.maximum(totals, np.finfo(np.float64).tiny, out=totals), out=totals)
    both_classes = (n_pos > 0) & (n_neg > 0)
    return {
        "auroc": _divide(pairs, n_pos * n_neg, fill=np.nan),
        "auprc": np.where(both_classes, _divide(_rowdot(positive_weights, precision), n_pos, fill=np.nan), np.nan),
    }


def _rowdot(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Row-wise dot products of two (B, k) arrays."""
    return np.einsum("ij,ij->i", left, right)


def _divide(numerator: np.ndarray, denominator: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """Element-wise ratio, ``fill`` where the denominator is 0 (scikit-learn's ``zero_division``)."""
    out = np.full(np.shape(numerator), fill, dtype=np.float64)
    return np.divide(numerator, denominator, out=out, where=denominator != 0)


def _check_binary_targets(caller: str, y_true: ArrayLike, y_pred: ArrayLike | None = None,
                          scores: ArrayLike | None = None, weights: ArrayLike | None = None) -> _Targets:
    """Validate the public inputs once; weights default to one row of ones."""
    labels = _as_labels(y_true, "y_true", caller)
    predicted = None if y_pred is None else _as_labels(y_pred, "y_pred", caller)
    ranked = None if scores is None else _as_vector(scores, "scores", caller)
    rows = None if weights is None else _as_weights(weights, caller)
    lengths = {name: array.shape[-1] for name, array in
               (("y_true", labels), ("y_pred", predicted), ("scores", ranked), ("weights", rows)) if array is not None}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"Found input variables with inconsistent numbers of samples in {caller}: {lengths}.")
    if labels.size == 0:
        raise ValueError(f"Found empty input: the 'y_true' parameter of {caller} has 0 samples, "
                         "while a minimum of 1 is required.")
    return _Targets(labels, predicted, ranked, np.ones((1, labels.size)) if rows is None else rows)


def _as_labels(values: ArrayLike, name: str, caller: str) -> np.ndarray:
    """A 1-D float64 vector of 0/1 labels."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"The {name!r} parameter of {caller} must be 1-D. Got shape {array.shape} instead.")
    valid = np.isin(array, (0, 1)) if array.dtype.kind in "biuf" else np.zeros(array.shape, dtype=bool)
    if not valid.all():
        raise ValueError(f"The {name!r} parameter of {caller} must contain only 0 and 1 (1 = yes). "
                         f"Got {array[~valid].tolist()[0]!r} instead.")
    return array.astype(np.float64)


def _as_vector(values: ArrayLike, name: str, caller: str) -> np.ndarray:
    """A 1-D vector of finite float64 scores."""
    array = _as_float(values, name, caller)
    if array.ndim != 1 or not np.isfinite(array).all():
        raise ValueError(f"The {name!r} parameter of {caller} must be a 1-D array of finite numbers.")
    return array


def _as_weights(values: ArrayLike, caller: str) -> np.ndarray:
    """A (B, n) array of finite non-negative weights, integer arrays kept as they are (converted per block)."""
    array = np.asarray(values)
    if array.dtype.kind not in "iuf":
        array = _as_float(array, "weights", caller)
    # min() is NaN if any value is, and the sum of non-negative values is finite iff each one is
    if array.ndim != 2 or array.size == 0 or not (array.min() >= 0 and np.isfinite(array.sum())):
        raise ValueError(f"The 'weights' parameter of {caller} must be a 2-D array of finite non-negative "
                         f"numbers. Got shape {array.shape} instead.")
    return array


def _as_float(values: ArrayLike, name: str, caller: str) -> np.ndarray:
    """``values`` as float64, with a message naming the parameter when that fails."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"The {name!r} parameter of {caller} must hold numbers.") from error
