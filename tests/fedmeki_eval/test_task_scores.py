"""Task entry points: metrics, shared bootstrap resamples, notes and the two protocols."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fedmeki_eval.bootstrap import percentile_interval, resample_weights
from fedmeki_eval.metrics import generation
from fedmeki_eval.metrics.binary import binary_metrics
from fedmeki_eval.metrics.generation import generation_scores, meteor_available
from fedmeki_eval.protocols import binary_pairs
from fedmeki_eval.task_scores import TaskScore, score_binary, score_generation


def binary_task(n: int = 300, seed: int = 0):
    """Answers, generated predictions (some unparseable) and scores of a fair classifier."""
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.4
    correct = rng.random(n) < 0.8
    said_yes = labels == correct
    predictions = np.where(rng.random(n) < 0.05, "unsure", np.where(said_yes, "Answer: Yes", "No"))
    answers = np.where(labels, "yes", "no")
    scores = np.clip(0.5 + np.where(labels, 0.2, -0.2) + rng.normal(0, 0.25, n), 0, 1)
    return list(answers), list(predictions), scores


def test_score_binary_equals_the_metrics_of_the_parsed_pairs():
    answers, predictions, scores = binary_task()
    result = score_binary(answers, predictions, scores, n_resamples=200)
    y_true, y_pred, _ = binary_pairs(answers, predictions, "strict")
    assert result.metrics == binary_metrics(y_true, y_pred, scores)
    assert result.n == 300
    assert tuple(result.metrics) == ("accuracy", "precision", "recall", "f1", "mcc", "auroc", "auprc")
    assert set(result.ci95) == set(result.metrics)
    for name, (low, high) in result.ci95.items():
        assert low <= result.metrics[name] <= high, name
        assert 0 <= low <= high <= 1, name


def test_score_binary_intervals_come_from_one_set_of_resample_weights():
    answers, predictions, _ = binary_task(n=120)
    result = score_binary(answers, predictions, n_resamples=300, seed=5)
    y_true, y_pred, _ = binary_pairs(answers, predictions, "strict")
    weights = resample_weights(120, 300, rng=5)
    accuracy = weights @ (y_true == y_pred) / 120
    assert result.ci95["accuracy"] == percentile_interval(accuracy)


def test_score_binary_is_deterministic_for_a_seed():
    answers, predictions, scores = binary_task(n=100)
    first = score_binary(answers, predictions, scores, n_resamples=100, seed=1)
    assert first == score_binary(answers, predictions, scores, n_resamples=100, seed=1)
    other = score_binary(answers, predictions, scores, n_resamples=100, seed=2)
    assert other.metrics == first.metrics and other.ci95 != first.ci95


def test_score_binary_notes():
    result = score_binary(["yes", "no", "yes"], ["Yes", "no", "perhaps"], n_resamples=20)
    assert result.notes == ("1 prediction unparseable, counted as wrong", "auroc/auprc: no scores given")
    assert "auroc" not in result.metrics and "auroc" not in result.ci95
    one_class = score_binary(["yes", "yes"], ["yes", "yes"], [0.2, 0.9], n_resamples=20)
    assert one_class.notes == ("auroc/auprc: undefined, the answers hold one class only",)
    assert set(one_class.metrics) == {"accuracy", "precision", "recall", "f1", "mcc"}


def test_score_binary_paper_protocol_follows_the_original_rules():
    """Paper notes §9.1: substring counting, and unparseable pairs recorded as (gt=0, pred=1)."""
    answers = ["Answer: Yes", "Answer: Yes", "Answer: No", "Answer: No"]
    predictions = ["Yes, opacity", "The eyes are fine", "not normal", "I cannot say yes"]
    paper = score_binary(answers, predictions, protocol="paper", n_resamples=20)
    # read as yes, yes ("eyes"), no ("not", "normal"), yes (one "no" in "cannot", one "yes": a tie)
    assert paper.metrics["accuracy"] == 0.75
    strict = score_binary(answers, predictions, protocol="strict", n_resamples=20)
    assert strict.metrics["accuracy"] == 0.0  # none is a bare yes/no
    assert strict.notes[0] == "4 predictions unparseable, counted as wrong"
    unparsed = score_binary(["yes", "no"], ["yes", "unsure"], protocol="paper", n_resamples=20)
    assert unparsed.notes[0].startswith("1 pair unparseable, scored as false positives")
    assert unparsed.metrics["precision"] == 0.5


def test_score_binary_validates_parameters():
    message = "The 'protocol' parameter of score_binary must be one of ('strict', 'paper'). Got 'loose' instead."
    with pytest.raises(ValueError) as error:
        score_binary(["yes"], ["yes"], protocol="loose")
    assert str(error.value) == message
    with pytest.raises(ValueError, match=r"Found empty input: score_binary got 0 answers"):
        score_binary([], [])
    with pytest.raises(ValueError, match=r"'scores': 1"):
        score_binary(["yes", "no"], ["yes", "no"], [0.5])


def test_task_score_is_frozen():
    result = score_binary(["yes", "no"], ["yes", "no"], n_resamples=10)
    assert isinstance(result, TaskScore)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.n = 3


GENERATION_ANSWERS = ["Answer: left lung", "Answer: Yes", "Answer: static noise", "Answer: none", "Answer: heart"]
GENERATION_PREDICTIONS = ["Left lung", "Answer: yes", "", "Answer: none\nAnswer: static noise", "  "]


def test_score_generation_strict_means_over_all_samples():
    result = score_generation(GENERATION_ANSWERS, GENERATION_PREDICTIONS, n_resamples=200)
    references = ["left lung", "Yes", "static noise", "none", "heart"]
    extracted = ["Left lung", "yes", "", "none\nAnswer: static noise", ""]
    per_sample = generation_scores(references, extracted)
    for name, values in per_sample.items():
        assert result.metrics[name] == pytest.approx(values.mean(), abs=1e-15)
        low, high = result.ci95[name]
        assert low <= result.metrics[name] <= high
    assert result.metrics["exact_match"] == 0.4  # case-insensitive after normalisation
    assert result.n == 5
    assert result.notes[0] == "2 of 5 predictions empty, scored 0"


def test_score_generation_paper_reads_the_last_answer_and_lower_cases():
    result = score_generation(GENERATION_ANSWERS, GENERATION_PREDICTIONS, protocol="paper", n_resamples=50)
    # after the last "Answer:": left lung, yes, "", static noise, "" against left lung, yes, static noise, none, heart
    assert result.metrics["exact_match"] == 0.4
    assert result.metrics["bleu1"] == pytest.approx(0.4)


def test_score_generation_notes_missing_meteor():
    result = score_generation(["yes"], ["yes"], n_resamples=10)
    if not meteor_available():
        assert result.notes == ("meteor: WordNet data not installed (nltk), metric left out",)
        assert "meteor" not in result.metrics


@pytest.fixture
def fake_meteor(monkeypatch):
    """METEOR stand-in: 1 for an exact match, 0.5 otherwise (0 for empty predictions, as the real one)."""
    monkeypatch.setattr(generation, "meteor_available", lambda: True)
    monkeypatch.setattr(generation, "_meteor", lambda reference, prediction: 1.0 if reference == prediction else 0.5)


def test_paper_meteor_averages_non_empty_predictions_only(fake_meteor):
    """Paper notes §9.1: BLEU and ROUGE divide by all N (empty predictions count 0), METEOR by the non-empty."""
    answers, predictions = ["yes", "no", "left lung", "heart"], ["yes", "", "right lung", ""]
    paper = score_generation(answers, predictions, protocol="paper", n_resamples=100)
    strict = score_generation(answers, predictions, protocol="strict", n_resamples=100)
    assert paper.metrics["meteor"] == pytest.approx((1.0 + 0.5) / 2)
    assert strict.metrics["meteor"] == pytest.approx((1.0 + 0.5) / 4)
    assert paper.metrics["rouge1"] == strict.metrics["rouge1"] == pytest.approx((1.0 + 0.5) / 4)
    assert paper.notes == ("2 of 4 predictions empty, scored 0 (meteor: averaged over the non-empty ones, "
                           "paper rule)",)
    low, high = paper.ci95["meteor"]
    assert 0.5 <= low <= paper.metrics["meteor"] <= high <= 1.0


def test_paper_meteor_is_left_out_when_every_prediction_is_empty(fake_meteor):
    result = score_generation(["yes", "no"], ["", "Answer: "], protocol="paper", n_resamples=20)
    assert "meteor" not in result.metrics and result.metrics["rouge1"] == 0.0
    assert result.notes[-1] == "meteor: undefined, every prediction is empty"


def test_score_generation_validates_parameters():
    with pytest.raises(ValueError, match=r"'protocol' parameter of score_generation must be one of"):
        score_generation(["yes"], ["yes"], protocol="PAPER")
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples in score_generation"):
        score_generation(["yes"], [])
    with pytest.raises(ValueError, match=r"Found empty input: score_generation got 0 answers"):
        score_generation([], [])
    with pytest.raises(ValueError, match=r"'n_resamples' parameter"):
        score_generation(["yes"], ["yes"], n_resamples=0)
