"""Behaviour of the synthetic chest X-ray and radiology VQA image generators."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fedmeki_data.synthetic.chest_xray import FINDINGS, render_chest_xray
from fedmeki_data.synthetic.vqa import (
    ORGAN_FINDINGS,
    ORGANS,
    render_radiology_image,
    vqa_question,
    vqa_sample,
)

CLOSED_ANSWERS = {"yes", "no"}
PRESENCE_QUESTIONS = {
    "lung_opacity": "Is there an opacity in the lungs?",
    "covid19": "Are there signs of covid-19 pneumonia?",
    "enlarged_cardiomediastinum": "Is the heart enlarged?",
    "hemorrhage": "Is there a hemorrhage in the brain?",
    "infarct": "Is there an infarct in the brain?",
    "mass": "Is there a mass in the abdomen?",
    "cyst": "Is there a cyst in the abdomen?",
}
LATERAL_CASES = [
    ("chest", "lung_opacity"), ("brain", "hemorrhage"), ("brain", "infarct"), ("abdomen", "mass"), ("abdomen", "cyst"),
]


def _thumbnail(image: np.ndarray, side: int = 16) -> np.ndarray:
    """Box-downsampled pixels in [0, 1], flattened: the input of the simple models below."""
    small = Image.fromarray(image).resize((side, side), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32).ravel() / 255.0


def _answers(organ: str, finding: str | None, side: str | None) -> dict[str, str]:
    """Every question asked about a case over many draws, with its one answer (asserted unique)."""
    answers: dict[str, set[str]] = {}
    for seed in range(300):
        question, answer = vqa_question(np.random.default_rng(seed), organ, finding, side)
        answers.setdefault(question, set()).add(answer)
    assert all(len(given) == 1 for given in answers.values())
    return {question: given.pop() for question, given in answers.items()}


def _run_end(mask: np.ndarray, start: int, step: int) -> int:
    """Last index of the run of True values of ``mask`` that starts at ``start`` and goes by ``step``."""
    index = start
    while 0 <= index + step < len(mask) and mask[index + step]:
        index += step
    return index


def _cardiothoracic_ratio(image: np.ndarray) -> float:
    """Width of the bright cardiac shadow over the width between the lungs' outer edges, just above the domes."""
    size = image.shape[0]
    profile = image[int(0.58 * size):int(0.68 * size)].astype(float).mean(axis=0)
    center = size // 2
    lung_level = max(profile[:center].min(), profile[center:].min())
    bright = profile > (lung_level + profile[center - 2:center + 3].mean()) / 2
    left, right = _run_end(bright, center, -1), _run_end(bright, center, 1)
    outer_left, outer_right = _run_end(~bright, left - 1, -1), _run_end(~bright, right + 1, 1)
    return (right - left + 1) / (outer_right - outer_left + 1)


def _region_mean(images: list[np.ndarray], rows: tuple[float, float], cols: tuple[float, float]) -> float:
    """Mean intensity of a box given in fractions of the image side, over several images."""
    size = images[0].shape[0]
    (top, bottom), (left, right) = rows, cols
    return float(np.mean([im[int(top * size):int(bottom * size), int(left * size):int(right * size)] for im in images]))


@pytest.mark.parametrize("size", [64, 128, 224])
def test_chest_xray_is_a_full_range_uint8_square(size):
    # Prepare
    rng = np.random.default_rng(0)

    # Execute
    image = render_chest_xray(rng, size, frozenset(FINDINGS), scanner=3)

    # Assert
    assert image.shape == (size, size)
    assert image.dtype == np.uint8
    assert image.min() < 40 and image.max() > 200


def test_chest_xray_shows_dark_lungs_and_bright_mediastinum_and_abdomen():
    # Prepare
    rng = np.random.default_rng(1)

    # Execute
    images = [render_chest_xray(rng, 64, frozenset(), scanner=0) for _ in range(20)]

    # Assert
    lungs = (_region_mean(images, (0.35, 0.55), (0.15, 0.3)) + _region_mean(images, (0.35, 0.55), (0.7, 0.85))) / 2
    mediastinum = _region_mean(images, (0.2, 0.4), (0.46, 0.54))
    abdomen = _region_mean(images, (0.88, 0.98), (0.3, 0.7))
    air_above_shoulders = _region_mean(images, (0.0, 0.06), (0.0, 0.1))
    assert air_above_shoulders < lungs - 20
    assert lungs < mediastinum - 40
    assert lungs < abdomen - 40


def test_chest_xray_is_determined_by_the_generator_state():
    # Prepare
    findings = frozenset({"covid19", "lung_opacity"})

    # Execute
    first = render_chest_xray(np.random.default_rng(7), 64, findings, scanner=1)
    again = render_chest_xray(np.random.default_rng(7), 64, findings, scanner=1)
    other = render_chest_xray(np.random.default_rng(8), 64, findings, scanner=1)

    # Assert
    assert first.tobytes() == again.tobytes()
    assert first.tobytes() != other.tobytes()


def test_scanners_have_distinct_and_consistent_styles():
    # Prepare: intensity histogram and pixel-to-pixel variation capture display curve, noise and blur.
    def style(image: np.ndarray) -> np.ndarray:
        pixels = image.astype(float)
        histogram = np.histogram(pixels, bins=8, range=(0, 256))[0] / pixels.size
        return np.array([*histogram, np.abs(np.diff(pixels, axis=1)).mean() / 20, pixels.std() / 64])

    rng = np.random.default_rng(2)
    scanners = range(6)

    # Execute
    features = np.array([
        [style(render_chest_xray(rng, 64, frozenset(f for f in FINDINGS if rng.random() < 0.3), scanner=s))
         for _ in range(20)]
        for s in scanners
    ])
    centroids = features[:, :10].mean(axis=1)
    distances = ((features[:, 10:, None, :] - centroids[None, None]) ** 2).sum(axis=-1)
    accuracy = float((distances.argmin(axis=-1) == np.arange(len(scanners))[:, None]).mean())

    # Assert: a nearest-centroid model names the scanner of unseen patients (chance is 1/6).
    print(f"scanner identified from style alone: accuracy {accuracy:.2f}")
    assert accuracy >= 0.75


def test_same_patient_looks_different_on_another_scanner():
    # Prepare
    findings = frozenset({"lung_opacity"})

    # Execute
    images = [render_chest_xray(np.random.default_rng(4), 64, findings, scanner=s) for s in range(6)]

    # Assert
    means = [float(image.mean()) for image in images]
    assert max(means) - min(means) > 20


@pytest.mark.parametrize("finding", FINDINGS)
def test_each_chest_finding_is_learnable_by_a_linear_model(finding):
    # Prepare: positives and negatives both carry random other findings, on random scanners.
    rng = np.random.default_rng(0)
    n = 300
    labels = np.arange(n) % 2 == 1
    features = []
    for positive in labels:
        others = {other for other in FINDINGS if other != finding and rng.random() < 0.5}
        findings = frozenset(others | {finding}) if positive else frozenset(others)
        features.append(_thumbnail(render_chest_xray(rng, 64, findings, scanner=int(rng.integers(6)))))
    features = np.array(features)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))

    # Execute
    model.fit(features[: n // 2], labels[: n // 2])
    accuracy = balanced_accuracy_score(labels[n // 2:], model.predict(features[n // 2:]))

    # Assert
    print(f"{finding}: held-out balanced accuracy {accuracy:.3f} (16x16 logistic regression, {n // 2} train)")
    assert accuracy >= 0.75


def test_enlarged_cardiomediastinum_raises_the_cardiothoracic_ratio():
    # Prepare
    rng = np.random.default_rng(5)

    # Execute
    normal = [_cardiothoracic_ratio(render_chest_xray(rng, 128, frozenset())) for _ in range(30)]
    enlarged = [
        _cardiothoracic_ratio(render_chest_xray(rng, 128, frozenset({"enlarged_cardiomediastinum"})))
        for _ in range(30)
    ]

    # Assert
    print(f"measured cardiothoracic ratio: normal {np.median(normal):.2f}, enlarged {np.median(enlarged):.2f}")
    assert np.median(normal) < 0.47
    assert np.median(enlarged) > 0.5
    assert np.mean(enlarged) - np.mean(normal) > 0.1


def test_opacity_side_puts_opacities_in_the_patients_lung_on_the_opposite_image_side():
    # Prepare
    findings = frozenset({"lung_opacity"})

    # Execute
    left = [render_chest_xray(np.random.default_rng(s), 64, findings, opacity_side="left") for s in range(15)]
    right = [render_chest_xray(np.random.default_rng(s), 64, findings, opacity_side="right") for s in range(15)]

    # Assert: the patient's left lung is on the image right.
    image_right_excess = [
        float(a[:, 32:].mean() - a[:, :32].mean() - (b[:, 32:].mean() - b[:, :32].mean()))
        for a, b in zip(left, right)
    ]
    assert min(image_right_excess) > 0


@pytest.mark.parametrize("bad", ["pneumonia", "Covid19"])
def test_unknown_chest_finding_is_rejected_with_the_allowed_names(bad):
    # Prepare
    rng = np.random.default_rng(0)

    # Execute / Assert
    with pytest.raises(ValueError, match=rf"{bad}.*lung_opacity.*covid19.*enlarged_cardiomediastinum"):
        render_chest_xray(rng, 64, frozenset({bad}))


@pytest.mark.parametrize("kwargs", [{"scanner": -1}, {"opacity_side": "middle"}])
def test_bad_scanner_or_side_is_rejected(kwargs):
    # Prepare
    rng = np.random.default_rng(0)

    # Execute / Assert
    with pytest.raises(ValueError):
        render_chest_xray(rng, 64, frozenset({"lung_opacity"}), **kwargs)


@pytest.mark.parametrize(("organ", "finding", "side"), [
    ("brain", None, None), ("brain", "hemorrhage", "left"), ("brain", "infarct", "right"),
    ("abdomen", None, None), ("abdomen", "mass", "right"), ("abdomen", "cyst", "left"),
    ("chest", "covid19", None), ("chest", "lung_opacity", "left"),
])
def test_radiology_image_is_a_deterministic_uint8_square(organ, finding, side):
    # Execute
    first = render_radiology_image(np.random.default_rng(3), 64, organ, finding, side)
    again = render_radiology_image(np.random.default_rng(3), 64, organ, finding, side)
    other = render_radiology_image(np.random.default_rng(4), 64, organ, finding, side)

    # Assert
    assert first.shape == (64, 64) and first.dtype == np.uint8
    assert first.tobytes() == again.tobytes()
    assert first.tobytes() != other.tobytes()


@pytest.mark.parametrize(("finding", "sign"), [("hemorrhage", 1.0), ("infarct", -1.0)])
def test_brain_lesion_on_the_patients_left_is_drawn_on_the_image_right(finding, sign):
    # Prepare
    def right_minus_left(image: np.ndarray) -> float:
        return float(image[:, 32:].mean() - image[:, :32].mean())

    # Execute
    left = [right_minus_left(render_radiology_image(np.random.default_rng(s), 64, "brain", finding, "left"))
            for s in range(10)]
    right = [right_minus_left(render_radiology_image(np.random.default_rng(s), 64, "brain", finding, "right"))
             for s in range(10)]

    # Assert: a bright hemorrhage raises, a dark infarct lowers, its own half of the image.
    assert sign * (np.mean(left) - np.mean(right)) > 1.0


@pytest.mark.parametrize(("organ", "finding", "side", "message"), [
    ("heart", None, None, r"'heart'.*'chest', 'brain', 'abdomen'"),
    ("brain", "mass", "left", r"'mass'.*'hemorrhage', 'infarct'"),
    ("abdomen", "cyst", None, r"side.*None.*'left', 'right'"),
    ("chest", "covid19", "left", r"'left'.*expected None"),
    ("chest", None, "right", r"'right'.*expected None"),
])
def test_impossible_radiology_case_is_rejected(organ, finding, side, message):
    # Prepare
    rng = np.random.default_rng(0)

    # Execute / Assert
    with pytest.raises(ValueError, match=message):
        render_radiology_image(rng, 64, organ, finding, side)


def test_vqa_samples_are_deterministic():
    # Execute
    first = [vqa_sample(np.random.default_rng(s), 32) for s in range(5)]
    again = [vqa_sample(np.random.default_rng(s), 32) for s in range(5)]

    # Assert
    assert [(im.tobytes(), q, a) for im, q, a in first] == [(im.tobytes(), q, a) for im, q, a in again]
    assert len({im.tobytes() for im, _, _ in first}) == 5


def test_vqa_answers_fit_their_questions_and_closed_answers_are_balanced():
    # Prepare
    rng = np.random.default_rng(6)
    vocabulary = {"no abnormality", "lung opacity", "covid-19", "cardiomegaly", "hemorrhage", "infarct", "mass", "cyst"}
    expected_answers = {
        "Which organ is shown in this image?": set(ORGANS),
        "What imaging modality is this?": {"x-ray", "ct"},
        "What abnormality is seen?": vocabulary,
        "Which side is the lesion on?": {"left", "right"},
    }

    # Execute
    samples = [vqa_sample(rng, 32) for _ in range(400)]

    # Assert
    closed = [answer for _, question, answer in samples if question.split()[0] in ("Is", "Are")]
    open_pairs = [(question, answer) for _, question, answer in samples if question.split()[0] not in ("Is", "Are")]
    assert set(closed) == CLOSED_ANSWERS
    assert 0.4 < closed.count("yes") / len(closed) < 0.6
    assert 0.4 < len(closed) / len(samples) < 0.6
    assert all(answer in expected_answers[question] for question, answer in open_pairs)
    assert all(answer == answer.lower() for _, _, answer in samples)


def test_vqa_organ_answer_names_the_rendered_organ():
    # Prepare: organ centroids of reference images, which are easy to tell apart.
    rng = np.random.default_rng(7)
    centroids = np.array([
        np.mean([_thumbnail(render_radiology_image(rng, 32, organ, None, None)) for _ in range(10)], axis=0)
        for organ in ORGANS
    ])

    # Execute
    samples = [vqa_sample(rng, 32) for _ in range(300)]
    organ_samples = [(image, answer) for image, question, answer in samples if question.startswith("Which organ")]
    predicted = [ORGANS[int(((centroids - _thumbnail(image)) ** 2).sum(axis=1).argmin())] for image, _ in organ_samples]

    # Assert
    assert len(organ_samples) >= 10
    assert predicted == [answer for _, answer in organ_samples]


@pytest.mark.parametrize(("organ", "finding"), LATERAL_CASES)
def test_vqa_question_answers_are_true_of_a_lateral_case(organ, finding):
    # Execute
    pairs = _answers(organ, finding, "left")

    # Assert
    assert pairs["Which organ is shown in this image?"] == organ
    assert pairs["What imaging modality is this?"] == ("x-ray" if organ == "chest" else "ct")
    assert pairs["Which side is the lesion on?"] == "left"
    assert pairs["Is the lesion on the left side?"] == "yes"
    assert pairs["Is the lesion on the right side?"] == "no"
    assert pairs["Is there any abnormality in this image?"] == "yes"
    assert pairs["Is this image normal?"] == "no"
    assert pairs[f"Is this a CT scan of the {organ}?" if organ != "chest" else "Is this a chest x-ray?"] == "yes"
    assert all(pairs[PRESENCE_QUESTIONS[f]] == ("yes" if f == finding else "no") for f in ORGAN_FINDINGS[organ])


def test_vqa_question_about_a_normal_chest():
    # Execute
    pairs = _answers("chest", None, None)

    # Assert
    assert pairs["What abnormality is seen?"] == "no abnormality"
    assert all(pairs[PRESENCE_QUESTIONS[f]] == "no" for f in FINDINGS)
    assert pairs["Is this a CT scan of the brain?"] == "no"
    assert not any("side" in question for question in pairs)
