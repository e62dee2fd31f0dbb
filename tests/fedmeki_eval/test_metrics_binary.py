"""Binary metrics: hand-computed values, equality with scikit-learn, the batch form and validation."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from fedmeki_eval.metrics import binary
from fedmeki_eval.metrics.binary import (
    COUNT_METRICS,
    RANKING_METRICS,
    accuracy_score,
    average_precision_score,
    binary_metrics,
    binary_metrics_batch,
    f1_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
    roc_auc_score,
)

TOLERANCE = 1e-12
SCALAR_FUNCTIONS = {
    "accuracy": accuracy_score, "precision": precision_score, "recall": recall_score, "f1": f1_score,
    "mcc": matthews_corrcoef,
}


def sklearn_metrics(y_true, y_pred, scores=None, sample_weight=None) -> dict[str, float]:
    """The reference values: scikit-learn with zero_division=0; ranking metrics only with both classes."""
    kwargs = {"sample_weight": sample_weight}
    with warnings.catch_warnings():  # scikit-learn warns when a single label is present
        warnings.simplefilter("ignore")
        return _sklearn_metrics(y_true, y_pred, scores, kwargs)


def _sklearn_metrics(y_true, y_pred, scores, kwargs) -> dict[str, float]:
    expected = {
        "accuracy": skm.accuracy_score(y_true, y_pred, **kwargs),
        "precision": skm.precision_score(y_true, y_pred, zero_division=0, **kwargs),
        "recall": skm.recall_score(y_true, y_pred, zero_division=0, **kwargs),
        "f1": skm.f1_score(y_true, y_pred, zero_division=0, **kwargs),
        "mcc": skm.matthews_corrcoef(y_true, y_pred, **kwargs),
    }
    weight = np.ones(len(y_true)) if kwargs["sample_weight"] is None else np.asarray(kwargs["sample_weight"])
    if scores is not None and 0 < weight[np.asarray(y_true) == 1].sum() < weight.sum():
        expected["auroc"] = skm.roc_auc_score(y_true, scores, **kwargs)
        expected["auprc"] = skm.average_precision_score(y_true, scores, **kwargs)
    return expected


def assert_matches(actual: dict[str, float], expected: dict[str, float]) -> None:
    for name, value in expected.items():
        assert actual[name] == pytest.approx(value, abs=TOLERANCE, rel=0), name


def random_case(rng: np.random.Generator, n: int):
    """Labels with a random base rate, predictions, and scores with many ties half of the time."""
    y_true = (rng.random(n) < rng.random()).astype(int)
    y_pred = (rng.random(n) < rng.random()).astype(int)
    scores = rng.random(n) + 0.3 * y_true
    if rng.random() < 0.5:
        scores = np.round(scores, 1)
    return y_true, y_pred, scores


def test_hand_computed_confusion():
    # tp=2, fp=1, fn=1, tn=2
    y_true, y_pred = [1, 1, 1, 0, 0, 0], [1, 1, 0, 1, 0, 0]
    metrics = binary_metrics(y_true, y_pred)
    assert metrics == pytest.approx({"accuracy": 4 / 6, "precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3,
                                     "mcc": (2 * 2 - 1 * 1) / 9})
    assert set(metrics) == set(COUNT_METRICS)


def test_hand_computed_ranking_with_ties():
    # positives 0.8, 0.5; negatives 0.5, 0.1: pairs (0.8>0.5), (0.8>0.1), (0.5=0.5 -> 1/2), (0.5>0.1)
    y_true, scores = [1, 1, 0, 0], [0.8, 0.5, 0.5, 0.1]
    assert roc_auc_score(y_true, scores) == pytest.approx(3.5 / 4)
    # thresholds 0.8 (P 1/1, R 1/2), 0.5 (P 2/3, R 2/2)
    assert average_precision_score(y_true, scores) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


@pytest.mark.parametrize(("y_true", "y_pred", "expected"), [
    ([0, 0], [0, 0], {"accuracy": 1.0, "precision": 0.0, "recall": 0.0, "f1": 0.0, "mcc": 0.0}),  # all 0/0
    ([1, 1], [1, 1], {"accuracy": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0, "mcc": 0.0}),
    ([1, 0], [0, 0], {"accuracy": 0.5, "precision": 0.0, "recall": 0.0, "f1": 0.0, "mcc": 0.0}),
    ([0, 1], [1, 0], {"accuracy": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0, "mcc": -1.0}),
])
def test_zero_division_gives_zero_like_sklearn(y_true, y_pred, expected):
    assert binary_metrics(y_true, y_pred) == expected
    assert_matches(expected, sklearn_metrics(y_true, y_pred))


@pytest.mark.parametrize("y_true", [[1, 1, 1], [0, 0, 0], [1]])
def test_ranking_metrics_are_nan_with_one_class(y_true):
    scores = np.linspace(0, 1, len(y_true))
    assert math.isnan(roc_auc_score(y_true, scores))
    assert math.isnan(average_precision_score(y_true, scores))


def test_matches_sklearn_on_random_cases():
    rng = np.random.default_rng(0)
    for n in [*range(1, 9), 20, 57, 300] * 4:
        y_true, y_pred, scores = random_case(rng, n)
        assert_matches(binary_metrics(y_true, y_pred, scores), sklearn_metrics(y_true, y_pred, scores))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans(), st.integers(0, 4)), min_size=1, max_size=12))
def test_matches_sklearn_on_generated_cases(rows):
    """Few distinct integer scores, so ties are the rule rather than the exception."""
    y_true, y_pred, scores = (np.array(column, dtype=int) for column in zip(*rows))
    assert_matches(binary_metrics(y_true, y_pred, scores), sklearn_metrics(y_true, y_pred, scores))


def test_scalar_functions_agree_with_binary_metrics():
    rng = np.random.default_rng(1)
    y_true, y_pred, scores = random_case(rng, 40)
    y_true[:2] = [0, 1]  # both classes
    metrics = binary_metrics(y_true, y_pred, scores)
    for name, function in SCALAR_FUNCTIONS.items():
        assert function(y_true, y_pred) == metrics[name]
    assert roc_auc_score(y_true, scores) == metrics["auroc"]
    assert average_precision_score(y_true, scores) == metrics["auprc"]


def test_batch_matches_sklearn_with_integer_sample_weights():
    rng = np.random.default_rng(2)
    for n in [1, 2, 3, 5, 8, 30, 200]:
        for _ in range(3):
            y_true, y_pred, scores = random_case(rng, n)
            weights = rng.integers(0, 4, size=(4, n))
            weights[:, rng.integers(n)] += 1  # no all-zero row
            batch = binary_metrics_batch(y_true, y_pred, scores, weights)
            for row, sample_weight in enumerate(weights):
                expected = sklearn_metrics(y_true, y_pred, scores, sample_weight=sample_weight)
                assert_matches({name: values[row] for name, values in batch.items()}, expected)
                if "auroc" not in expected:
                    assert np.isnan(batch["auroc"][row]) and np.isnan(batch["auprc"][row])


def test_bootstrap_multiplicities_equal_materialised_resamples():
    rng = np.random.default_rng(3)
    y_true, y_pred, scores = random_case(rng, 50)
    indices = rng.integers(0, 50, size=(5, 50))
    weights = np.stack([np.bincount(row, minlength=50) for row in indices])
    batch = binary_metrics_batch(y_true, y_pred, scores, weights)
    for row, drawn in enumerate(indices):
        resample = binary_metrics(y_true[drawn], y_pred[drawn], scores[drawn])
        for name, value in resample.items():
            assert batch[name][row] == pytest.approx(value, abs=TOLERANCE, nan_ok=True), name


def test_one_row_of_ones_is_the_point_estimate():
    rng = np.random.default_rng(4)
    y_true, y_pred, scores = random_case(rng, 25)
    batch = binary_metrics_batch(y_true, y_pred, scores, np.ones((1, 25), dtype=int))
    assert binary_metrics(y_true, y_pred, scores) == {name: float(values[0]) for name, values in batch.items()}


def test_results_do_not_depend_on_sample_order_or_block_size(monkeypatch):
    rng = np.random.default_rng(5)
    y_true, y_pred, scores = random_case(rng, 60)
    weights = rng.integers(0, 3, size=(7, 60))
    reference = binary_metrics_batch(y_true, y_pred, scores, weights)
    order = np.argsort(-scores, kind="stable")  # the already-sorted fast path
    sorted_batch = binary_metrics_batch(y_true[order], y_pred[order], scores[order], weights[:, order])
    monkeypatch.setattr(binary, "_BLOCK_ELEMENTS", 120)  # two rows per block
    blocked = binary_metrics_batch(y_true, y_pred, scores, weights)
    for name in (*COUNT_METRICS, *RANKING_METRICS):
        np.testing.assert_allclose(sorted_batch[name], reference[name], atol=TOLERANCE, rtol=0)
        np.testing.assert_array_equal(blocked[name], reference[name])


def test_batch_without_scores_has_no_ranking_metrics():
    batch = binary_metrics_batch([1, 0], [1, 1], None, [[1, 1], [2, 0]])
    assert tuple(batch) == COUNT_METRICS
    assert batch["precision"].tolist() == [0.5, 1.0]


def test_inputs_are_not_modified():
    y_true, y_pred, scores = np.array([1, 0, 1]), np.array([1, 1, 0]), np.array([0.9, 0.1, 0.5])
    weights = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 2.0]])
    copies = [array.copy() for array in (y_true, y_pred, scores, weights)]
    binary_metrics_batch(y_true, y_pred, scores, weights)
    for array, copy in zip((y_true, y_pred, scores, weights), copies):
        np.testing.assert_array_equal(array, copy)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: accuracy_score([1, 0], [1]), r"inconsistent numbers of samples in accuracy_score: \{'y_true': 2, "
                                          r"'y_pred': 1\}"),
    (lambda: f1_score([], []), r"Found empty input: the 'y_true' parameter of f1_score has 0 samples"),
    (lambda: precision_score([1, 2], [1, 0]), r"'y_true' parameter of precision_score must contain only 0 and 1.*"
                                              r"Got 2 instead"),
    (lambda: recall_score([1, 0], ["yes", "no"]), r"'y_pred' parameter of recall_score .* Got 'yes' instead"),
    (lambda: matthews_corrcoef([[1, 0]], [[1, 0]]), r"'y_true' parameter of matthews_corrcoef must be 1-D"),
    (lambda: roc_auc_score([1, 0], [0.5, np.nan]), r"'scores' parameter of roc_auc_score must be a 1-D array of "
                                                   r"finite numbers"),
    (lambda: average_precision_score([1, 0], ["a", "b"]), r"'scores' parameter of average_precision_score must "
                                                          r"hold numbers"),
    (lambda: binary_metrics_batch([1, 0], [1, 0], None, [1, 1]), r"'weights' parameter of binary_metrics_batch must "
                                                                 r"be a 2-D array"),
    (lambda: binary_metrics_batch([1, 0], [1, 0], None, [[1, -1]]), r"finite non-negative"),
    (lambda: binary_metrics_batch([1, 0], [1, 0], None, [[1, np.inf]]), r"finite non-negative"),
    (lambda: binary_metrics_batch([1, 0], [1, 0], None, [[1, 1, 1]]), r"'weights': 3"),
])
def test_invalid_inputs_raise_value_error_naming_the_parameter(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_boolean_and_float_labels_are_accepted():
    assert accuracy_score(np.array([True, False]), [1.0, 0.0]) == 1.0
