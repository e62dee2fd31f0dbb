"""Answer parsing: the strict protocol and the original FedMEKI rules (paper notes §9.1)."""

from __future__ import annotations

import numpy as np
import pytest

from fedmeki_eval.protocols import PROTOCOLS, binary_pairs, check_protocol, extract_answer, parse_binary


@pytest.mark.parametrize(("text", "expected"), [
    ("yes", "yes"),
    ("  Answer: Yes \n", "Yes"),  # prefix dropped, case kept
    ("answer:no", "no"),  # prefix in any case, no space needed
    ("ANSWER:   Right lung", "Right lung"),
    ("Answer: Answer: yes", "Answer: yes"),  # only one prefix is dropped
    ("The answer: yes", "The answer: yes"),  # the prefix must lead
    ("", ""),
])
def test_extract_answer_strict(text, expected):
    assert extract_answer(text, "strict") == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Answer: Right Lung", "right lung"),
    (" Yes\nAnswer: No\n", "no"),  # the text after the LAST marker
    ("  Left Lung ", "left lung"),  # no marker: the whole text
    ("answer: Yes", "answer: yes"),  # the marker is the literal, capitalised "Answer:"
    ("Answer:", ""),
])
def test_extract_answer_paper(text, expected):
    """Paper notes §9.1: ``MedQA_Evaluation`` keeps the text after the last "Answer:", stripped and lower-cased."""
    assert extract_answer(text, "paper") == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("yes", 1), ("No", 0), ("Answer: YES", 1), (" answer: no \n", 0),
    ("yes.", -1), ("no, normal", -1), ("Yes, there is", -1), ("maybe", -1), ("", -1), ("eyes", -1),
])
def test_parse_binary_strict_accepts_only_a_bare_yes_or_no(text, expected):
    assert parse_binary([text], "strict").tolist() == [expected]


@pytest.mark.parametrize(("text", "expected"), [
    ("Answer: Yes", 1),
    ("Answer: No", 0),  # "answer" holds no "no"
    (" Yes\nAnswer: Yes\n", 1),  # a raw generation of the committed outputs
    ("Yes, no doubt", 1),  # one each: ties go to yes (count_yes >= count_no)
    ("yes yes no", 1),
    ("no no yes", 0),
    ("nono", 0),  # non-overlapping substring counts
    ("maybe", -1),
    ("", -1),
    # substring pitfalls of the original rule
    ("not normal", 0),  # "no" in "not" and in "normal"
    ("abnormal", 0),
    ("none", 0),
    ("I don't know", 0),  # "know"
    ("The eyes look fine", 1),  # "yes" in "eyes"
    ("Yes, but abnormal and not normal", 0),  # 1 yes against 3 no
])
def test_parse_binary_paper_counts_substrings(text, expected):
    """Paper notes §9.1: ``RSNA_Classification`` lower-cases, counts 'yes' and 'no'; -1 if neither occurs,
    1 if count_yes >= count_no, else 0; substrings match inside words ("not normal" is no, "eyes" is yes)."""
    assert parse_binary([text], "paper").tolist() == [expected]


def test_parse_binary_returns_int8_vector():
    labels = parse_binary(("yes", "no", "?"), "strict")
    assert labels.dtype == np.int8 and labels.tolist() == [1, 0, -1]
    assert parse_binary([], "paper").shape == (0,)


def test_binary_pairs_strict_counts_unparseable_predictions_as_wrong():
    y_true, y_pred, parsed = binary_pairs(["yes", "no", "yes", "no"], ["yes", "no", "unsure", "Not sure"], "strict")
    assert y_true.tolist() == [1, 0, 1, 0]
    assert y_pred.tolist() == [1, 0, 0, 1]  # 1 - y_true where unparseable
    assert parsed.tolist() == [True, True, False, False]


def test_binary_pairs_strict_requires_yes_no_references():
    with pytest.raises(ValueError, match=r"'answers' parameter of binary_pairs must hold yes/no .* 'maybe' at index 1"):
        binary_pairs(["yes", "maybe"], ["yes", "no"], "strict")


def test_binary_pairs_paper_turns_unparseable_pairs_into_false_positives():
    """Paper notes §9.1: if either side is -1 the pair is recorded as (gt=0, pred=1), whatever the true label."""
    answers = ["Answer: Yes", "Answer: No", "Answer: Yes", "Answer: No", "Answer: ???", "Answer: Yes"]
    predictions = ["Yes", "it is not normal", "unsure", "unsure", "yes", "eyes"]
    y_true, y_pred, parsed = binary_pairs(answers, predictions, "paper")
    assert y_true.tolist() == [1, 0, 0, 0, 0, 1]
    assert y_pred.tolist() == [1, 0, 1, 1, 1, 1]
    assert parsed.tolist() == [True, True, False, False, False, True]


def test_paper_rule_makes_a_true_positive_unparseable_a_false_positive():
    """Paper notes §9.1 (worked example): accuracy 2/4 under paper, 2/4 under strict, but a different confusion."""
    answers, predictions = ["yes", "yes", "no", "no"], ["yes", "unsure", "no", "unsure"]
    _, strict_pred, _ = binary_pairs(answers, predictions, "strict")
    paper_true, paper_pred, _ = binary_pairs(answers, predictions, "paper")
    assert strict_pred.tolist() == [1, 0, 0, 1]
    assert (paper_true.tolist(), paper_pred.tolist()) == ([1, 0, 0, 0], [1, 1, 0, 1])


@pytest.mark.parametrize("function", [
    lambda protocol: extract_answer("yes", protocol),
    lambda protocol: parse_binary(["yes"], protocol),
    lambda protocol: binary_pairs(["yes"], ["yes"], protocol),
])
def test_unknown_protocol_is_rejected_with_sklearn_message(function):
    with pytest.raises(ValueError, match=r"The 'protocol' parameter of \w+ must be one of \('strict', 'paper'\)\. "
                                         r"Got 'loose' instead\."):
        function("loose")


def test_check_protocol_names_the_caller():
    assert [check_protocol(protocol, caller="f") for protocol in PROTOCOLS] == ["strict", "paper"]
    message = "The 'protocol' parameter of score_binary must be one of ('strict', 'paper'). Got 'loose' instead."
    with pytest.raises(ValueError) as error:
        check_protocol("loose", caller="score_binary")
    assert str(error.value) == message


@pytest.mark.parametrize(("answers", "predictions", "message"), [
    ("yes", ["y", "e", "s"], r"'answers' parameter of binary_pairs must be a sequence of str\. Got str"),
    (["yes"], [None], r"'predictions' parameter of binary_pairs .* Got NoneType at index 0"),
    (["yes", "no"], ["yes"], r"inconsistent numbers of samples in binary_pairs: answers has 2, predictions has 1"),
])
def test_binary_pairs_validates_texts(answers, predictions, message):
    with pytest.raises(ValueError, match=message):
        binary_pairs(answers, predictions, "strict")


def test_texts_may_be_tuples_or_numpy_arrays():
    assert parse_binary(np.array(["yes", "no"]), "strict").tolist() == [1, 0]
    assert parse_binary(("yes", "no"), "paper").tolist() == [1, 0]
