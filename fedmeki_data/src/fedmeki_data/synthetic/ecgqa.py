"""ECG-QA-style questions about the noise annotation of one synthetic PTB-XL record.

ECG-QA (Oh et al., 2023) asks, for PTB-XL's noise attributes, three kinds of template questions:
*verify* (yes/no: "Does this ECG show baseline drift?"), *choose* ("Which noise does this ECG show,
baseline drift or burst noise?") and *query* ("What kind of noises does this ECG show?"), each also
asked about a single lead. Here every template is expanded into all its instances for a record, each
with its answer computed from the annotation, and one instance is drawn. Answers list noise types in
:data:`~fedmeki_data.synthetic.ecg.NOISE_TYPES` order and leads in lead order, joined with ", ";
"none" stands for an empty list. A choose question lists whichever of the two noises the record shows.

Answers are drawn "informative" (yes, or not none) 85 % of the time when the record has noise at all,
which offsets the clean records (always "no"): over :func:`draw_noise` annotations, verify answers are
about half yes, half no.

Examples
--------
>>> draw_noise(np.random.default_rng(7))
{'burst noise': ('I', 'III', 'aVR', 'V6')}
>>> noise_question(np.random.default_rng(0), {})[1] in ("no", "none")  # a clean record
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import permutations

import numpy as np

from fedmeki_data.schema import ECG_LEADS
from fedmeki_data.synthetic.ecg import NOISE_TYPES, normalize_noise

Annotation = dict[str, tuple[str, ...]]
Instance = tuple[str, str]

# Share of each noise type among annotations (PTB-XL: static noise most common, electrode problems rare).
_TYPE_WEIGHTS = np.array([0.30, 0.42, 0.20, 0.08])
# Probability that a record carries 0, 1, 2 or 3 noise types (noisier than PTB-XL as a whole, which is
# about 3/4 clean, so that noise questions are worth asking).
_COUNT_PROBABILITIES = (0.40, 0.40, 0.15, 0.05)
_INFORMATIVE = 0.85
_NEGATIVE = ("no", "none")


def _draw_leads(rng: np.random.Generator, kind: str) -> tuple[str, ...]:
    """All leads, a run of neighbouring leads or a few scattered ones; electrode problems hit one or two."""
    if kind == "electrodes problems":
        return tuple(rng.choice(ECG_LEADS, size=rng.integers(1, 3), replace=False).tolist())
    draw = rng.random()
    if draw < 0.4:
        return ECG_LEADS
    if draw < 0.7:
        start = rng.integers(len(ECG_LEADS) - 1)
        return ECG_LEADS[start:start + rng.integers(2, 7)]
    return tuple(rng.choice(ECG_LEADS, size=rng.integers(1, 5), replace=False).tolist())


def draw_noise(rng: np.random.Generator) -> Annotation:
    """Draw a realistic noise annotation for one record, in canonical order.

    Most records are clean or show one noise type; some show several.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    dict of str to tuple of str
        Noise type to the leads it affects; empty for a clean record.
    """
    count = rng.choice(len(_COUNT_PROBABILITIES), p=_COUNT_PROBABILITIES)
    kinds = rng.choice(NOISE_TYPES, size=count, replace=False, p=_TYPE_WEIGHTS).tolist()
    return normalize_noise({kind: _draw_leads(rng, kind) for kind in kinds})


def _join(items: Sequence[str]) -> str:
    return ", ".join(items) or "none"


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def _types_in(noise: Annotation, lead: str | None = None) -> list[str]:
    """Noise types of the record, or of one lead, in NOISE_TYPES order."""
    return [kind for kind, leads in noise.items() if lead is None or lead in leads]


def _verify_type(noise: Annotation) -> list[Instance]:
    return [(f"Does this ECG show {kind}?", _yes_no(kind in noise)) for kind in NOISE_TYPES]


def _verify_type_in_lead(noise: Annotation) -> list[Instance]:
    return [(f"Does this ECG show {kind} in lead {lead}?", _yes_no(lead in noise.get(kind, ())))
            for kind in NOISE_TYPES for lead in ECG_LEADS]


def _verify_any(noise: Annotation) -> list[Instance]:
    return [("Does this ECG show any kind of noises?", _yes_no(bool(noise)))]


def _verify_any_in_lead(noise: Annotation) -> list[Instance]:
    return [(f"Does this ECG show any kind of noises in lead {lead}?", _yes_no(bool(_types_in(noise, lead))))
            for lead in ECG_LEADS]


def _choose(noise: Annotation) -> list[Instance]:
    return [(f"Which noise does this ECG show, {first} or {second}?",
             _join([kind for kind in _types_in(noise) if kind in (first, second)]))
            for first, second in permutations(NOISE_TYPES, 2)]


def _choose_in_lead(noise: Annotation) -> list[Instance]:
    return [(f"Which noise does this ECG show in lead {lead}, {first} or {second}?",
             _join([kind for kind in _types_in(noise, lead) if kind in (first, second)]))
            for first, second in permutations(NOISE_TYPES, 2) for lead in ECG_LEADS]


def _query_types(noise: Annotation) -> list[Instance]:
    return [("What kind of noises does this ECG show?", _join(_types_in(noise)))]


def _query_types_in_lead(noise: Annotation) -> list[Instance]:
    return [(f"What kind of noises does this ECG show in lead {lead}?", _join(_types_in(noise, lead)))
            for lead in ECG_LEADS]


def _query_leads(noise: Annotation) -> list[Instance]:
    return [(f"In which leads does this ECG show {kind}?", _join(noise.get(kind, ()))) for kind in NOISE_TYPES]


_TEMPLATES: dict[str, tuple[Callable[[Annotation], list[Instance]], ...]] = {
    "verify": (_verify_type, _verify_type_in_lead, _verify_any, _verify_any_in_lead),
    "choose": (_choose, _choose_in_lead),
    "query": (_query_types, _query_types_in_lead, _query_leads),
}


def noise_question(rng: np.random.Generator, noise: Mapping[str, Sequence[str]]) -> tuple[str, str]:
    """Ask one ECG-QA noise question about a record and answer it from its annotation.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    noise : mapping of str to sequence of str
        The record's annotation: noise type to the leads it affects (as from :func:`draw_noise`).

    Returns
    -------
    tuple of str
        ``(question, answer)``; the answer is "yes"/"no", "none" or a ", "-joined list.

    Raises
    ------
    InvalidParameterError
        A ``ValueError`` for an unknown noise type or lead.
    """
    annotation = normalize_noise(noise)
    informative = bool(annotation) and rng.random() < _INFORMATIVE
    templates = _TEMPLATES[str(rng.choice(list(_TEMPLATES)))]
    candidates = [template(annotation) for template in templates]
    for index in rng.permutation(len(candidates)):
        matching = [item for item in candidates[index] if (item[1] not in _NEGATIVE) == informative]
        if matching:
            return matching[rng.integers(len(matching))]
    fallback = candidates[0]
    return fallback[rng.integers(len(fallback))]
