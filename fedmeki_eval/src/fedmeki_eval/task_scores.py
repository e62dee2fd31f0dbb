"""The scorer's entry points: one function per task kind, returning metrics with bootstrap 95 % intervals.

The point estimate of every metric is its batch form under one row of unit weights, and its interval
the same code under the bootstrap multiplicities of :func:`fedmeki_eval.bootstrap.resample_weights`,
drawn once per task so that all metrics of a task share the same resamples.
Metric values are fractions in [0, 1] (MCC in [-1, 1]); the paper printed percentages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from fedmeki_eval.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, percentile_interval, resample_weights
from fedmeki_eval.metrics.binary import binary_metrics, binary_metrics_batch
from fedmeki_eval.metrics.generation import generation_scores
from fedmeki_eval.protocols import Protocol, binary_pairs, check_protocol, check_text_pairs, extract_answer


@dataclass(frozen=True)
class TaskScore:
    """The score of one task.

    Attributes
    ----------
    n : int
        Number of scored samples.
    metrics : dict of str to float
        Point estimates; a metric that cannot be computed is absent and a note says why.
    ci95 : dict of str to tuple of float
        Percentile bootstrap 95 % interval of each metric in ``metrics``.
    notes : tuple of str
        What the reader must know to interpret the numbers (unparseable answers, absent metrics).
    """

    n: int
    metrics: dict[str, float]
    ci95: dict[str, tuple[float, float]]
    notes: tuple[str, ...]


def score_binary(answers: Sequence[str], predictions: Sequence[str], scores: ArrayLike | None = None, *,
                 protocol: Protocol = "strict", n_resamples: int = DEFAULT_RESAMPLES,
                 seed: int = DEFAULT_SEED) -> TaskScore:
    """Score a yes/no task: accuracy, precision, recall, F1 and MCC, plus AUROC and AUPRC given scores.

    Parameters
    ----------
    answers : sequence of str
        Reference answers (``"yes"``/``"no"``).
    predictions : sequence of str
        Generated answers, read by ``protocol`` (:func:`fedmeki_eval.protocols.binary_pairs`).
    scores : array-like of shape (n,), optional
        Scores of *yes* (probabilities or logits) for AUROC/AUPRC.
    protocol : {"strict", "paper"}, default="strict"
        ``paper`` reproduces the original substring rules (paper notes §9.1).
    n_resamples : int, default=1000
        Bootstrap resamples behind the intervals.
    seed : int, default=0
        Seed of the resamples.

    Returns
    -------
    TaskScore

    Raises
    ------
    ValueError
        If a parameter is invalid, the inputs are empty or of different lengths, or (``strict``) a
        reference is not yes/no.

    Examples
    --------
    >>> result = score_binary(["yes", "no", "yes", "no"], ["Yes", "no", "maybe", "Answer: yes"], n_resamples=50)
    >>> result.metrics["accuracy"], result.metrics["f1"], result.notes
    (0.5, 0.5, ('1 prediction unparseable, counted as wrong', 'auroc/auprc: no scores given'))
    """
    check_protocol(protocol, caller="score_binary")
    y_true, y_pred, parsed = binary_pairs(answers, predictions, protocol)
    _check_not_empty(y_true.size, "score_binary")
    point = binary_metrics(y_true, y_pred, scores)  # validates the scores too
    if scores is not None:  # descending scores spare the ranking metrics a reordering of every resample
        scores = np.asarray(scores, dtype=np.float64)
        order = np.argsort(-scores, kind="stable")
        y_true, y_pred, scores = y_true[order], y_pred[order], scores[order]
    batch = binary_metrics_batch(y_true, y_pred, scores, resample_weights(y_true.size, n_resamples, seed))
    notes = [_unparsed_note(int(np.count_nonzero(~parsed)), protocol)]
    if scores is None:
        notes.append("auroc/auprc: no scores given")
    elif np.isnan(point["auroc"]):
        notes.append("auroc/auprc: undefined, the answers hold one class only")
    return _task_score(y_true.size, point, batch, notes)


def score_generation(answers: Sequence[str], predictions: Sequence[str], *, protocol: Protocol = "strict",
                     n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> TaskScore:
    """Score a free-text task: the means of the per-sample scores of :mod:`fedmeki_eval.metrics.generation`.

    Both sides go through :func:`fedmeki_eval.protocols.extract_answer`. Every metric is a mean over all
    samples, empty predictions scoring 0; under ``paper`` METEOR alone averages the non-empty predictions
    only, as the original ``MedQA_Evaluation`` did (paper notes §9.1).

    Parameters
    ----------
    answers : sequence of str
        Reference answers.
    predictions : sequence of str
        Generated answers.
    protocol : {"strict", "paper"}, default="strict"
    n_resamples : int, default=1000
    seed : int, default=0

    Returns
    -------
    TaskScore
        ``meteor`` is absent, with a note, when nltk's WordNet data is not installed.

    Raises
    ------
    ValueError
        If a parameter is invalid or the inputs are empty or of different lengths.

    Examples
    --------
    >>> result = score_generation(["Answer: left lung", "Answer: yes"], ["left lung", ""], n_resamples=50)
    >>> result.metrics["exact_match"], result.metrics["rouge1"]
    (0.5, 0.5)
    """
    check_protocol(protocol, caller="score_generation")
    answers, predictions = check_text_pairs(answers, predictions, names=("answers", "predictions"),
                                            caller="score_generation")
    _check_not_empty(len(answers), "score_generation")
    extracted = [extract_answer(text, protocol) for text in predictions]
    per_sample = generation_scores([extract_answer(text, protocol) for text in answers], extracted)
    non_empty = np.array([bool(text) for text in extracted])
    point = _generation_means(np.ones((1, non_empty.size)), per_sample, non_empty, protocol)
    batch = _generation_means(resample_weights(non_empty.size, n_resamples, seed), per_sample, non_empty, protocol)
    notes = _generation_notes(int(np.count_nonzero(~non_empty)), non_empty.size, protocol, "meteor" in per_sample)
    return _task_score(non_empty.size, {name: float(values[0]) for name, values in point.items()}, batch, notes)


def _check_not_empty(n: int, caller: str) -> None:
    """Refuse a task without samples."""
    if n == 0:
        raise ValueError(f"Found empty input: {caller} got 0 answers, while a minimum of 1 is required.")


def _generation_means(weights: np.ndarray, per_sample: Mapping[str, np.ndarray], non_empty: np.ndarray,
                      protocol: Protocol) -> dict[str, np.ndarray]:
    """Weighted means per row; under ``paper`` METEOR averages the non-empty predictions only.

    Empty predictions score 0, so only the denominator (how many samples are counted) differs.
    """
    weights = np.asarray(weights, dtype=np.float64)
    means = {}
    for name, values in per_sample.items():
        counted = non_empty if name == "meteor" and protocol == "paper" else np.ones(values.shape)
        totals = weights @ counted
        means[name] = np.divide(weights @ values, totals, out=np.full(totals.shape, np.nan), where=totals > 0)
    return means


def _task_score(n: int, point: Mapping[str, float], batch: Mapping[str, np.ndarray],
                notes: Sequence[str | None]) -> TaskScore:
    """Intervals from the resamples; undefined (NaN) metrics left out."""
    metrics = {name: value for name, value in point.items() if not np.isnan(value)}
    ci95 = {name: percentile_interval(batch[name]) for name in metrics}
    return TaskScore(n=n, metrics=metrics, ci95=ci95, notes=tuple(note for note in notes if note))


def _unparsed_note(n_unparsed: int, protocol: Protocol) -> str | None:
    """Why some pairs were not scored on their merits."""
    if n_unparsed == 0:
        return None
    plural = "" if n_unparsed == 1 else "s"
    if protocol == "strict":
        return f"{n_unparsed} prediction{plural} unparseable, counted as wrong"
    return f"{n_unparsed} pair{plural} unparseable, scored as false positives (truth no, prediction yes; paper rule)"


def _generation_notes(n_empty: int, n: int, protocol: Protocol, with_meteor: bool) -> list[str]:
    """Empty predictions and an absent METEOR."""
    notes = []
    if n_empty and protocol == "paper" and with_meteor:
        notes.append(f"{n_empty} of {n} predictions empty, scored 0 (meteor: averaged over the non-empty ones, "
                     "paper rule)")
    elif n_empty:
        notes.append(f"{n_empty} of {n} predictions empty, scored 0")
    if not with_meteor:
        notes.append("meteor: WordNet data not installed (nltk), metric left out")
    elif protocol == "paper" and n_empty == n:
        notes.append("meteor: undefined, every prediction is empty")
    return notes
