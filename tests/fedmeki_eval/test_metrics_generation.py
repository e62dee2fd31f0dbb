"""Free-text scores: SQuAD normalisation, equality with direct sacrebleu / rouge-score calls, METEOR gating."""

from __future__ import annotations

import random

import numpy as np
import pytest
from rouge_score.rouge_scorer import RougeScorer
from sacrebleu.metrics import BLEU

from fedmeki_eval.metrics import generation
from fedmeki_eval.metrics.generation import (
    GENERATION_METRICS,
    exact_match,
    generation_scores,
    meteor_available,
    normalize_answer,
    token_f1,
)

WORDS = ["yes", "no", "Left", "lung", "lungs", "opacities", "running", "the", "a", "Right", "effusion", "none",
         "static", "noise", "x-ray", "CT", "normal.", "abnormal,", "is", "there"]


class _NoSynonyms:
    """A stand-in for nltk's WordNet reader: METEOR then matches exact words and stems only."""

    @staticmethod
    def synsets(word):
        return []


@pytest.mark.parametrize(("text", "expected"), [
    ("The Left Lung.", "left lung"),
    ("  an   apple, a pear and the plum!  ", "apple pear and plum"),
    ("theory", "theory"),  # articles only as whole words
    ("x-ray", "xray"),  # punctuation removed, not replaced by a space (SQuAD)
    ("", ""),
])
def test_normalize_answer_follows_squad(text, expected):
    assert normalize_answer(text) == expected


@pytest.mark.parametrize(("reference", "prediction", "em", "f1"), [
    ("left lung", "The left lung.", 1.0, 1.0),
    ("left lower lobe", "left lobe", 0.0, 0.8),  # P 1, R 2/3
    ("yes", "no", 0.0, 0.0),
    ("no no yes", "no", 0.0, 0.5),  # P 1, R 1/3: bag of tokens with counts
    ("the", "a", 1.0, 1.0),  # both normalise to nothing
    ("the", "yes", 0.0, 0.0),
])
def test_exact_match_and_token_f1(reference, prediction, em, f1):
    assert exact_match(reference, prediction) == em
    assert token_f1(reference, prediction) == pytest.approx(f1)


def test_scores_equal_direct_sacrebleu_and_rouge_score_calls():
    rng = random.Random(0)
    bleu = BLEU(max_ngram_order=1, effective_order=True, lowercase=True)
    rouge = RougeScorer(["rouge1", "rougeL"], use_stemmer=True)
    references = [" ".join(rng.choices(WORDS, k=rng.randint(1, 6))) for _ in range(300)]
    predictions = [" ".join(rng.choices(WORDS, k=rng.randint(1, 6))) for _ in range(300)]
    scores = generation_scores(references, predictions)
    for index, (reference, prediction) in enumerate(zip(references, predictions)):
        direct = rouge.score(reference, prediction)
        assert scores["bleu1"][index] == min(bleu.sentence_score(prediction, [reference]).score / 100, 1.0)
        assert scores["rouge1"][index] == direct["rouge1"].fmeasure
        assert scores["rougeL"][index] == direct["rougeL"].fmeasure
        assert scores["exact_match"][index] == exact_match(reference, prediction)
        assert scores["token_f1"][index] == token_f1(reference, prediction)


def test_bleu1_includes_the_brevity_penalty_and_ignores_case():
    scores = generation_scores(["left lower lobe", "Yes", "yes"], ["left", "yes", "No"])
    assert scores["bleu1"][0] == pytest.approx(np.exp(1 - 3))  # unigram precision 1, BP e^(1 - 3/1)
    assert scores["bleu1"].tolist()[1:] == [1.0, 0.0]  # lower-cased, like rouge-score and exact match
    assert scores["rouge1"].tolist()[1:] == [1.0, 0.0]


def test_rouge_stems_and_ignores_non_ascii():
    scores = generation_scores(["opacities in the lungs", "是的"], ["opacity lung", "是的"])
    assert scores["rouge1"][0] == pytest.approx(2 * (2 / 2) * (2 / 4) / (2 / 2 + 2 / 4))
    assert scores["rouge1"][1] == 0.0  # rouge-score's tokeniser keeps [a-z0-9] only


@pytest.mark.parametrize("prediction", ["", "   ", "\n"])
def test_empty_prediction_scores_zero_everywhere(prediction):
    scores = generation_scores(["the", "yes"], [prediction, prediction])
    assert all(values.tolist() == [0.0, 0.0] for values in scores.values())


def test_returns_one_float_vector_per_metric():
    scores = generation_scores(("yes", "no", "left lung"), np.array(["yes", "No", "right lung"]))
    assert tuple(scores) == (GENERATION_METRICS if meteor_available() else GENERATION_METRICS[:-1])
    assert all(values.dtype == np.float64 and values.shape == (3,) for values in scores.values())
    assert generation_scores([], [])["rouge1"].shape == (0,)


def test_meteor_is_cached_and_absent_without_wordnet():
    assert isinstance(meteor_available(), bool)
    assert meteor_available.cache_info().currsize == 1
    if not meteor_available():
        assert "meteor" not in generation_scores(["yes"], ["yes"])


def test_meteor_is_scored_when_wordnet_is_available(monkeypatch):
    from nltk.translate.meteor_score import meteor_score

    monkeypatch.setattr(generation, "meteor_available", lambda: True)
    monkeypatch.setattr(generation, "_meteor", lambda reference, prediction: meteor_score(
        [reference.split()], prediction.split(), wordnet=_NoSynonyms()))
    scores = generation_scores(["left lung", "no", "static noise"], ["the left lung", "", "noise"])
    expected = [meteor_score([["left", "lung"]], ["the", "left", "lung"], wordnet=_NoSynonyms()), 0.0,
                meteor_score([["static", "noise"]], ["noise"], wordnet=_NoSynonyms())]
    assert scores["meteor"].tolist() == pytest.approx(expected)
    assert 0 < expected[0] < 1


@pytest.mark.parametrize(("references", "predictions", "message"), [
    (["yes"], ["yes", "no"], r"inconsistent numbers of samples in generation_scores: references has 1, predictions"),
    ("yes", ["yes"], r"'references' parameter of generation_scores must be a sequence of str"),
    (["yes"], [3], r"'predictions' parameter of generation_scores .* Got int at index 0"),
])
def test_invalid_inputs_raise_value_error(references, predictions, message):
    with pytest.raises(ValueError, match=message):
        generation_scores(references, predictions)
