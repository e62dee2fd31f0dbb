"""How generated answers are read: a ``strict`` parser and the original FedMEKI (``paper``) rules.

The original scorer (ChEF's ``RSNA_Classification`` and ``MedQA_Evaluation``, paper notes §9.1) counts
substrings, so "not normal" reads as *no* and "eyes" as *yes*, and an unreadable answer becomes a false
positive whatever the truth. ``paper`` reproduces those rules so numbers can sit next to the paper's
tables; ``strict`` accepts only a bare ``yes``/``no`` (after an optional ``Answer:`` prefix) and counts
anything else as wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from types import MappingProxyType
from typing import Literal, cast

import numpy as np

Protocol = Literal["strict", "paper"]
"""``strict``: exact ``yes``/``no`` after an optional ``Answer:`` prefix; ``paper``: the original rules."""

PROTOCOLS: tuple[Protocol, ...] = ("strict", "paper")

_ANSWER_PREFIX = re.compile(r"^answer:", re.IGNORECASE)
_PAPER_MARKER = "Answer:"
_STRICT_LABELS = MappingProxyType({"yes": 1, "no": 0})


def check_protocol(protocol: object, *, caller: str) -> Protocol:
    """Return ``protocol`` if it is one of :data:`PROTOCOLS`.

    Parameters
    ----------
    protocol : object
        The value to check.
    caller : str
        Name of the public function the value was given to, quoted in the message.

    Returns
    -------
    Protocol

    Raises
    ------
    ValueError
        If ``protocol`` is not ``"strict"`` or ``"paper"``.

    Examples
    --------
    >>> check_protocol("loose", caller="score_binary")
    Traceback (most recent call last):
    ...
    ValueError: The 'protocol' parameter of score_binary must be one of ('strict', 'paper'). Got 'loose' instead.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"The 'protocol' parameter of {caller} must be one of {PROTOCOLS}. Got {protocol!r} instead.")
    return cast(Protocol, protocol)


def check_texts(texts: object, *, name: str, caller: str) -> list[str]:
    """Return ``texts`` as a list of str, rejecting a bare string and non-string items.

    Parameters
    ----------
    texts : sequence of str
        The texts to check.
    name, caller : str
        Parameter and function names quoted in the message.

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        If ``texts`` is a single string, not a sequence, or holds a non-string item.
    """
    if isinstance(texts, str | bytes) or not isinstance(texts, Sequence | np.ndarray):
        raise ValueError(f"The {name!r} parameter of {caller} must be a sequence of str. "
                         f"Got {type(texts).__name__} instead.")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"The {name!r} parameter of {caller} must be a sequence of str. "
                             f"Got {type(text).__name__} at index {index} instead.")
    return list(texts)


def check_text_pairs(first: object, second: object, *, names: tuple[str, str],
                     caller: str) -> tuple[list[str], list[str]]:
    """Check two sequences of str of the same length (references and predictions) with :func:`check_texts`.

    Parameters
    ----------
    first, second : sequence of str
    names : tuple of str
        Their parameter names.
    caller : str
        The public function they were given to.

    Returns
    -------
    tuple of list of str

    Raises
    ------
    ValueError
        As :func:`check_texts`, or if the lengths differ.

    Examples
    --------
    >>> check_text_pairs(["yes"], ["no", "yes"], names=("answers", "predictions"),
    ...                  caller="score_binary")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Found input variables with inconsistent numbers ... answers has 1, predictions has 2.
    """
    first = check_texts(first, name=names[0], caller=caller)
    second = check_texts(second, name=names[1], caller=caller)
    if len(first) != len(second):
        raise ValueError(f"Found input variables with inconsistent numbers of samples in {caller}: "
                         f"{names[0]} has {len(first)}, {names[1]} has {len(second)}.")
    return first, second


def extract_answer(text: str, protocol: Protocol) -> str:
    """The answer part of a generated text, as each protocol reads it.

    ``strict`` strips whitespace and drops one leading ``Answer:`` (any case), keeping the case of the
    answer. ``paper`` keeps what follows the last ``Answer:`` (the whole text if there is none),
    stripped and lower-cased, as the original ``MedQA_Evaluation`` did (paper notes §9.1).

    Parameters
    ----------
    text : str
        A generated answer or a reference answer.
    protocol : {"strict", "paper"}

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If ``protocol`` is unknown.

    Examples
    --------
    >>> extract_answer("  Answer: Right Lung ", "strict")
    'Right Lung'
    >>> extract_answer("Yes\\nAnswer: Right Lung", "paper")
    'right lung'
    """
    if check_protocol(protocol, caller="extract_answer") == "paper":
        return text.rsplit(_PAPER_MARKER, 1)[-1].strip().lower()
    return _strip_prefix(text)


def parse_binary(texts: Sequence[str], protocol: Protocol) -> np.ndarray:
    """Read yes/no answers as labels: 1 (yes), 0 (no) or -1 (unparseable).

    ``strict`` accepts exactly ``yes`` or ``no`` (any case) after :func:`extract_answer`. ``paper`` is the
    original ``RSNA_Classification`` (paper notes §9.1): count the substrings ``yes`` and ``no`` in the
    lower-cased text; -1 if neither occurs, else 1 if ``count_yes >= count_no``, else 0. Substrings
    match inside words, so ``"not normal"`` is *no* and ``"eyes"`` is *yes*.

    Parameters
    ----------
    texts : sequence of str
    protocol : {"strict", "paper"}

    Returns
    -------
    ndarray of int8, shape (n,)

    Raises
    ------
    ValueError
        If ``protocol`` is unknown or ``texts`` is not a sequence of str.

    Examples
    --------
    >>> parse_binary(["Answer: Yes", "no.", "not normal"], "strict").tolist()
    [1, -1, -1]
    >>> parse_binary(["Answer: Yes", "no.", "not normal"], "paper").tolist()
    [1, 0, 0]
    """
    parse = _parse_paper if check_protocol(protocol, caller="parse_binary") == "paper" else _parse_strict
    texts = check_texts(texts, name="texts", caller="parse_binary")
    return np.fromiter((parse(text) for text in texts), dtype=np.int8, count=len(texts))


def binary_pairs(answers: Sequence[str], predictions: Sequence[str],
                 protocol: Protocol) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn reference answers and generated predictions into the label pairs the metrics score.

    Both sides are parsed with :func:`parse_binary`. ``strict`` counts an unparseable prediction as
    wrong (``y_pred = 1 - y_true``) and requires every reference to parse. ``paper`` applies the original
    rule (paper notes §9.1): if either side is unparseable the pair becomes (truth 0, prediction 1), a false
    positive whatever the true label.

    Parameters
    ----------
    answers : sequence of str
        Reference answers (``"yes"``/``"no"``, or ``"Answer: Yes"`` style).
    predictions : sequence of str
        Generated answers, same length.
    protocol : {"strict", "paper"}

    Returns
    -------
    y_true, y_pred : ndarray of int8, shape (n,)
        Labels in {0, 1}.
    parsed_mask : ndarray of bool, shape (n,)
        True where both the answer and the prediction parsed, so the pair is scored on its merits.

    Raises
    ------
    ValueError
        If ``protocol`` is unknown, the lengths differ, or (``strict``) a reference is not yes/no.

    Examples
    --------
    >>> y_true, y_pred, parsed = binary_pairs(["yes", "yes", "no"], ["Yes", "maybe", "no"], "strict")
    >>> y_true.tolist(), y_pred.tolist(), parsed.tolist()
    ([1, 1, 0], [1, 0, 0], [True, False, True])
    >>> y_true, y_pred, _ = binary_pairs(["yes", "yes", "no"], ["Yes", "maybe", "no"], "paper")
    >>> y_true.tolist(), y_pred.tolist()
    ([1, 0, 0], [1, 1, 0])
    """
    check_protocol(protocol, caller="binary_pairs")
    answers, predictions = check_text_pairs(answers, predictions, names=("answers", "predictions"),
                                            caller="binary_pairs")
    y_true, y_pred = parse_binary(answers, protocol), parse_binary(predictions, protocol)
    parsed = (y_true >= 0) & (y_pred >= 0)
    if protocol == "paper":
        return np.where(parsed, y_true, 0).astype(np.int8), np.where(parsed, y_pred, 1).astype(np.int8), parsed
    if (bad := np.flatnonzero(y_true < 0)).size:
        raise ValueError("The 'answers' parameter of binary_pairs must hold yes/no answers under the strict "
                         f"protocol. Got {answers[bad[0]]!r} at index {bad[0]} instead.")
    return y_true, np.where(parsed, y_pred, 1 - y_true).astype(np.int8), parsed


def _strip_prefix(text: str) -> str:
    """The strict answer: stripped, one leading ``Answer:`` (any case) dropped."""
    return _ANSWER_PREFIX.sub("", text.strip(), count=1).strip()


def _parse_strict(text: str) -> int:
    """1/0/-1 for exactly yes/no after the optional prefix."""
    return _STRICT_LABELS.get(_strip_prefix(text).lower(), -1)


def _parse_paper(text: str) -> int:
    """1/0/-1 by counting the substrings ``yes`` and ``no`` (the original rule)."""
    lowered = text.lower()
    n_yes, n_no = lowered.count("yes"), lowered.count("no")
    if n_yes == 0 and n_no == 0:
        return -1
    return 1 if n_yes >= n_no else 0
