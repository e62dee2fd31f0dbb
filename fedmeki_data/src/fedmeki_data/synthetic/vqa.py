"""Synthetic medical visual question answering in the style of VQA-RAD and SLAKE.

Each sample is a radiology image of one organ, with or without one finding, and one question about it:
half closed (answered ``yes``/``no``, balanced), half open (organ, modality, abnormality or side).
Answers are short, lowercase and drawn from a fixed vocabulary: ``yes``, ``no``, the organs, ``x-ray``,
``ct``, the finding names (e.g. ``hemorrhage``), ``no abnormality``, ``left`` and ``right``.

- chest: a frontal X-ray from :func:`~fedmeki_data.synthetic.chest_xray.render_chest_xray` (scanner 0);
- brain: an axial head CT (scalp, bright skull, brain, ventricles, falx) with an optional bright
  ``hemorrhage`` or dark ``infarct`` in one hemisphere;
- abdomen: an axial abdominal CT (fat, liver, spleen, kidneys, aorta, spine, bowel gas) with an optional
  ``mass`` or ``cyst`` in the liver (patient's right) or the left kidney.

Radiological convention throughout: the patient's left appears on the image right, so a lesion on the
``left`` side is drawn at ``x > 0``.

Examples
--------
>>> import numpy as np
>>> image, question, answer = vqa_sample(np.random.default_rng(3), 64)
>>> image.shape, isinstance(question, str), answer == answer.lower()
((64, 64), True, True)
>>> vqa_question(np.random.default_rng(0), "brain", None, None)[1] in ("yes", "no", "brain", "ct", "no abnormality")
True
"""

from __future__ import annotations

import math
from types import MappingProxyType

import numpy as np

from fedmeki_data.synthetic.chest_xray import FINDINGS as CHEST_FINDINGS
from fedmeki_data.synthetic.chest_xray import render_chest_xray
from fedmeki_data.synthetic.drawing import (
    SIDES,
    band,
    check_choice,
    check_size,
    finish,
    image_x_sign,
    paint,
    ramp,
    random_grid,
    smooth_noise,
    soft_ellipse,
)

ORGANS = ("chest", "brain", "abdomen")
ORGAN_FINDINGS = MappingProxyType({
    "chest": CHEST_FINDINGS, "brain": ("hemorrhage", "infarct"), "abdomen": ("mass", "cyst"),
})
"""Findings each organ's images can show (at most one per VQA image)."""

_LATERAL = frozenset({"lung_opacity", "hemorrhage", "infarct", "mass", "cyst"})
_MODALITY = {"chest": "x-ray", "brain": "ct", "abdomen": "ct"}
_NAMES = {"lung_opacity": "lung opacity", "covid19": "covid-19", "enlarged_cardiomediastinum": "cardiomegaly"}
_PRESENCE = {
    "lung_opacity": "Is there an opacity in the lungs?",
    "covid19": "Are there signs of covid-19 pneumonia?",
    "enlarged_cardiomediastinum": "Is the heart enlarged?",
    "hemorrhage": "Is there a hemorrhage in the brain?",
    "infarct": "Is there an infarct in the brain?",
    "mass": "Is there a mass in the abdomen?",
    "cyst": "Is there a cyst in the abdomen?",
}
_HEAD_LESION = {"hemorrhage": 0.8, "infarct": 0.3}  # fresh blood is hyperdense, an infarct hypodense
_CT_NOISE, _CT_BLUR = 0.025, 0.5  # blur in pixels at 128 px


def render_radiology_image(
    rng: np.random.Generator, size: int, organ: str, finding: str | None, side: str | None,
) -> np.ndarray:
    """Render a chest X-ray, head CT or abdominal CT with at most one finding.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    size : int
        Image side in pixels (>= 16).
    organ : {"chest", "brain", "abdomen"}
    finding : str or None
        One of ``ORGAN_FINDINGS[organ]``, or None for a normal image.
    side : {"left", "right"} or None
        The patient side of a lateralised finding (all but ``covid19`` and ``enlarged_cardiomediastinum``,
        which need None, as does a normal image). Drawn on the opposite image side, by convention.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of shape ``(size, size)``.
    """
    _check_case(organ, finding, side)
    check_size(size)
    if organ == "chest":
        findings = frozenset() if finding is None else frozenset({finding})
        return render_chest_xray(rng, size, findings, opacity_side=side)
    image = _head_ct(rng, size, finding, side) if organ == "brain" else _abdomen_ct(rng, size, finding, side)
    return finish(image, rng, noise=_CT_NOISE, blur=_CT_BLUR * size / 128)


def vqa_sample(rng: np.random.Generator, size: int) -> tuple[np.ndarray, str, str]:
    """Draw a case (organ, maybe a finding and its side), render it and ask one question about it.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness.
    size : int
        Image side in pixels.

    Returns
    -------
    image : numpy.ndarray
        ``uint8`` array of shape ``(size, size)``.
    question : str
    answer : str
        Lowercase, always true of the rendered image.
    """
    organ = ORGANS[rng.integers(len(ORGANS))]
    findings = ORGAN_FINDINGS[organ]
    finding = findings[rng.integers(len(findings))] if rng.random() < 0.5 else None
    side = SIDES[rng.integers(2)] if finding in _LATERAL else None
    image = render_radiology_image(rng, size, organ, finding, side)
    question, answer = vqa_question(rng, organ, finding, side)
    return image, question, answer


def vqa_question(
    rng: np.random.Generator, organ: str, finding: str | None, side: str | None,
) -> tuple[str, str]:
    """Ask one question about a case: closed (half the time, ``yes`` and ``no`` equally likely) or open.

    Parameters
    ----------
    rng : numpy.random.Generator
        Picks the question.
    organ, finding, side
        The case, as passed to :func:`render_radiology_image`.

    Returns
    -------
    question, answer : str
    """
    _check_case(organ, finding, side)
    if rng.random() < 0.5:
        return _pick(rng, _open_questions(organ, finding, side))
    wanted = "yes" if rng.random() < 0.5 else "no"
    return _pick(rng, [pair for pair in _closed_questions(organ, finding, side) if pair[1] == wanted])


def _check_case(organ: str, finding: str | None, side: str | None) -> None:
    """Reject organs, findings and sides that do not describe a drawable case."""
    check_choice("organ", organ, ORGANS)
    if finding is not None:
        check_choice(f"{organ} finding", finding, ORGAN_FINDINGS[organ])
    if finding in _LATERAL:
        check_choice(f"side of {finding}", side, SIDES)
    elif side is not None:
        raise ValueError(f"Side {side!r} given for a case without a lateralised finding ({finding!r}); expected None.")


def _pick(rng: np.random.Generator, pairs: list[tuple[str, str]]) -> tuple[str, str]:
    """One (question, answer) pair, uniformly."""
    return pairs[rng.integers(len(pairs))]


def _open_questions(organ: str, finding: str | None, side: str | None) -> list[tuple[str, str]]:
    """Every open question the case answers, with its answer."""
    abnormality = "no abnormality" if finding is None else _NAMES.get(finding, finding)
    pairs = [
        ("Which organ is shown in this image?", organ),
        ("What imaging modality is this?", _MODALITY[organ]),
        ("What abnormality is seen?", abnormality),
    ]
    if side is not None:
        pairs.append(("Which side is the lesion on?", side))
    return pairs


def _closed_questions(organ: str, finding: str | None, side: str | None) -> list[tuple[str, str]]:
    """Every yes/no question the case answers; both answers are always among them."""
    def yes_no(truth: bool) -> str:
        return "yes" if truth else "no"

    pairs = [
        ("Is this a chest x-ray?", yes_no(organ == "chest")),
        ("Is this a CT scan of the brain?", yes_no(organ == "brain")),
        ("Is this a CT scan of the abdomen?", yes_no(organ == "abdomen")),
        ("Is there any abnormality in this image?", yes_no(finding is not None)),
        ("Is this image normal?", yes_no(finding is None)),
    ]
    pairs += [(_PRESENCE[candidate], yes_no(candidate == finding)) for candidate in ORGAN_FINDINGS[organ]]
    if side is not None:
        pairs += [(f"Is the lesion on the {candidate} side?", yes_no(candidate == side)) for candidate in SIDES]
    return pairs


def _head_ct(rng: np.random.Generator, size: int, finding: str | None, side: str | None) -> np.ndarray:
    """Axial head CT in a brain window: scalp, skull, brain with cortex and ventricles, falx, lesion."""
    y, x = random_grid(rng, size, degrees=6.0)
    ry, rx, skull = rng.uniform(0.78, 0.88), rng.uniform(0.62, 0.72), rng.uniform(0.05, 0.075)
    image = 0.3 * soft_ellipse(y, x, 0.0, 0.0, ry + 0.035, rx + 0.035, edge=0.02)
    paint(image, soft_ellipse(y, x, 0.0, 0.0, ry, rx, edge=0.02), 1.0)
    brain = soft_ellipse(y, x, 0.0, 0.0, ry - skull, rx - skull, edge=0.025)
    cortex = 1.0 - soft_ellipse(y, x, 0.0, 0.0, ry - skull - 0.07, rx - skull - 0.07, edge=0.06)
    paint(image, brain, 0.44 + 0.05 * cortex + 0.02 * smooth_noise(rng, size, 12))
    scale = rng.uniform(0.75, 1.3)  # ventricles widen with age
    for sign in (-1.0, 1.0):
        horn = soft_ellipse(y, x, -0.05, sign * 0.08 * scale, 0.22, 0.045 * scale, angle=sign * 0.3, edge=0.02)
        paint(image, horn, 0.14)
    image += 0.08 * band(x, 0.008, 0.015) * brain * ramp(np.abs(y) - 0.3, 0.05)  # falx cerebri
    if finding is not None:
        paint(image, _head_lesion(rng, y, x, ry - skull, rx - skull, side) * brain, _HEAD_LESION[finding])
    return image


def _head_lesion(
    rng: np.random.Generator, y: np.ndarray, x: np.ndarray, ry: float, rx: float, side: str,
) -> np.ndarray:
    """Mask of a rounded lesion in the hemisphere of ``side``, kept off the midline."""
    sign = image_x_sign(side)
    angle = rng.uniform(0, 2 * math.pi)
    reach = rng.uniform(0.3, 0.6)
    cy, cx = reach * ry * math.sin(angle), sign * (0.15 + reach * (rx - 0.15) * abs(math.cos(angle)))
    radius = rng.uniform(0.08, 0.16)
    blob = soft_ellipse(y, x, cy, cx, radius * rng.uniform(0.8, 1.4), radius, angle=angle, edge=0.03)
    return blob * ramp(sign * x - 0.03, 0.04)


def _abdomen_ct(rng: np.random.Generator, size: int, finding: str | None, side: str | None) -> np.ndarray:
    """Axial abdominal CT in a soft-tissue window, anterior at the top, patient's right on the image left."""
    y, x = random_grid(rng, size, degrees=5.0)
    ry, rx, fat = rng.uniform(0.56, 0.68), rng.uniform(0.8, 0.92), rng.uniform(0.04, 0.12)
    image = 0.22 * soft_ellipse(y, x, 0.05, 0.0, ry, rx, edge=0.03)
    paint(image, soft_ellipse(y, x, 0.05, 0.0, ry - fat, rx - fat, edge=0.03), 0.5)
    liver = soft_ellipse(y, x, -0.02, -0.36, rng.uniform(0.3, 0.38), rng.uniform(0.28, 0.36), angle=0.4)
    paint(image, liver, 0.64)
    paint(image, soft_ellipse(y, x, 0.15, 0.52, 0.17, 0.09, angle=-0.6), 0.6)  # spleen
    for sign in (-1.0, 1.0):
        paint(image, soft_ellipse(y, x, 0.3, sign * 0.3, 0.12, 0.075, angle=sign * 0.4, edge=0.02), 0.72)
    paint(image, soft_ellipse(y, x, 0.4, 0.0, 0.1, 0.11, edge=0.02), 0.95)  # vertebral body
    paint(image, soft_ellipse(y, x, 0.55, 0.0, 0.07, 0.03, edge=0.02), 0.9)  # spinous process
    paint(image, soft_ellipse(y, x, 0.22, 0.07, 0.045, 0.045, edge=0.02), 0.82)  # aorta
    for _ in range(rng.integers(2, 5)):  # bowel gas
        cy, cx, ry, rx = rng.uniform((-0.4, -0.05, 0.03, 0.03), (-0.05, 0.45, 0.07, 0.07)).tolist()
        paint(image, soft_ellipse(y, x, cy, cx, ry, rx), 0.03)
    if finding is not None:
        _abdominal_lesion(rng, image, y, x, finding, side)
    return image


def _abdominal_lesion(
    rng: np.random.Generator, image: np.ndarray, y: np.ndarray, x: np.ndarray, finding: str, side: str,
) -> None:
    """Paint a hypodense, heterogeneous ``mass`` or a dark, sharp ``cyst`` in the liver or the left kidney."""
    cy, cx = (-0.02 + rng.uniform(-0.12, 0.12), -0.38 + rng.uniform(-0.1, 0.1)) if side == "right" else (0.3, 0.3)
    if finding == "mass":
        radius = rng.uniform(0.09, 0.15)
        blob = soft_ellipse(y, x, cy, cx, radius * rng.uniform(0.8, 1.25), radius, edge=0.04)
        paint(image, blob, 0.4 + 0.05 * smooth_noise(rng, y.shape[0], 16))
    else:
        radius = rng.uniform(0.05, 0.1)
        paint(image, soft_ellipse(y, x, cy, cx, radius, radius, edge=0.015), 0.2)
