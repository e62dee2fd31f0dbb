"""One record generator per task, all with the same contract.

``GENERATORS[task_id](n, rng, scale, tick)`` returns the task's columns (``id``, ``site``, the modality
columns, ``question``, ``answer`` and, for binary tasks, ``label``) for ``n`` records; ``scale`` sets the
image resolution and ``tick`` is called once per record (progress). Binary tasks draw an exact number
of positives from a prevalence close to the real source's, so even tiny builds hold both classes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from fedmeki_data.encoding import image_value
from fedmeki_data.synthetic import chest_xray, ecg, ecgqa, vqa
from fedmeki_data.synthetic.clinical import ClinicalSource, simulate_stay
from fedmeki_data.tasks import get_task

Columns = dict[str, list]
TaskGenerator = Callable[[int, np.random.Generator, int, Callable[[], None]], Columns]
Sample = Callable[[np.random.Generator, int, int, int], object]
"""``sample(rng, label, style, scale)``: one modality value for a record of class ``label`` from site (or
acquisition style) index ``style`` at image resolution ``scale``."""


@dataclass(frozen=True)
class Sites:
    """Natural sites of a synthetic source: relative size and positive rate of each site."""

    names: tuple[str, ...]
    weights: tuple[float, ...]
    positive_rates: tuple[float, ...]

    def draw(self, rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
        """Site index per record given its label, ``P(site | label) ∝ weight * P(label | site)``."""
        weights, rates = np.array(self.weights), np.array(self.positive_rates)
        site = np.empty(len(labels), dtype=np.int64)
        for label, weight in enumerate((weights * (1 - rates), weights * rates)):
            members = labels == label
            site[members] = rng.choice(len(self.names), size=int(members.sum()), p=weight / weight.sum())
        return site


_COVID_SITES = Sites(("bimcv", "eurorad", "github", "rsna", "sirm"), (0.3, 0.1, 0.15, 0.3, 0.15),
                     (0.4, 0.35, 0.5, 0.1, 0.3))
_PTBXL_SITES = Sites(("site_0", "site_1", "site_2", "site_3"), (0.45, 0.25, 0.2, 0.1), (0.5, 0.6, 0.55, 0.7))
_CARE_UNITS = Sites(("CCU", "CSRU", "MICU", "SICU", "TSICU"), (0.15, 0.2, 0.35, 0.17, 0.13),
                    (0.12, 0.05, 0.18, 0.13, 0.11))
_SEPSIS_SETS = Sites(("setA", "setB"), (0.5, 0.5), (0.09, 0.06))
_PREVALENCE = {"lung_opacity": 0.5, "covid19": 0.26, "ecg_abnormal": 0.56, "mortality": 0.13, "sepsis": 0.08,
               "enlarged_cardiomediastinum": 0.47}
_STYLES = 6  # acquisition styles drawn at random where a source has no sites
_MORTALITY_HOURS = 48
_SEPSIS_HOURS = (12, 168)


def exact_labels(rng: np.random.Generator, n: int, prevalence: float) -> np.ndarray:
    """``round(n * prevalence)`` positives (at least one of each class when ``n >= 2``), shuffled."""
    positives = min(max(round(n * prevalence), 1), n - 1) if n >= 2 else round(n * prevalence)
    return rng.permutation(np.r_[np.ones(positives, np.int64), np.zeros(n - positives, np.int64)])


def _ids(task_id: str, n: int) -> list[str]:
    return [f"demo-{task_id}-{i:06d}" for i in range(n)]


def _binary_task(task_id: str, modality: str, sites: Sites | None, sample: Sample) -> TaskGenerator:
    """A yes/no task: exact labels, a site per record (or a random acquisition style), one sample each."""
    task = get_task(task_id)

    def generate(n, rng, scale, tick):
        labels = exact_labels(rng, n, _PREVALENCE[task_id])
        site_index = sites.draw(rng, labels) if sites else rng.integers(0, _STYLES, n)
        values = []
        for label, style in zip(labels, site_index):
            values.append(sample(rng, int(label), int(style), scale))
            tick()
        return {
            "id": _ids(task_id, n),
            "site": [sites.names[i] for i in site_index] if sites else [""] * n,
            modality: values,
            "question": [task.instruction] * n,
            "answer": [task.label_names[y] for y in labels],
            "label": labels.tolist(),
        }
    return generate


def _qa_task(task_id: str, modality: str, sample: Callable[[np.random.Generator, int], tuple]) -> TaskGenerator:
    """A free-text task: each sample draws its own input, question and answer."""
    def generate(n, rng, scale, tick):
        columns: Columns = {"id": _ids(task_id, n), "site": [""] * n, modality: [], "question": [], "answer": []}
        for _ in range(n):
            for column, value in zip((modality, "question", "answer"), sample(rng, scale)):
                columns[column].append(value)
            tick()
        return columns
    return generate


def _chest_xray(finding: str, negative_findings: tuple[str, ...] = ()) -> Sample:
    def sample(rng, label, style, scale):
        findings = {finding} if label else {other for other in negative_findings if rng.random() < 0.2}
        return image_value(chest_xray.render_chest_xray(rng, scale, frozenset(findings), scanner=style))
    return sample


def _abnormal_ecg(rng, label, style, scale):
    abnormality = str(rng.choice(ecg.ABNORMALITIES)) if label else None
    noise = ecgqa.draw_noise(rng) if rng.random() < 0.2 else None
    return ecg.simulate_ecg(rng, abnormality=abnormality, noise=noise, device=style)


def _icu_stay(source: ClinicalSource, sites: Sites, hours: Callable[[np.random.Generator], int]) -> Sample:
    shifts = np.linspace(-0.1, 0.1, len(sites.names))

    def sample(rng, label, style, scale):
        return simulate_stay(rng, hours(rng), deteriorating=bool(label), source=source, site_shift=float(shifts[style]))
    return sample


def _vqa_sample(rng, scale):
    image, question, answer = vqa.vqa_sample(rng, scale)
    return image_value(image), question, answer


def _noise_qa_sample(rng, scale):
    noise = ecgqa.draw_noise(rng)
    abnormality = str(rng.choice(ecg.ABNORMALITIES)) if rng.random() < 0.4 else None
    question, answer = ecgqa.noise_question(rng, noise)
    return ecg.simulate_ecg(rng, abnormality=abnormality, noise=noise), question, answer


GENERATORS: Mapping[str, TaskGenerator] = {
    "lung_opacity": _binary_task("lung_opacity", "image", None, _chest_xray("lung_opacity")),
    "covid19": _binary_task("covid19", "image", _COVID_SITES, _chest_xray("covid19")),
    "ecg_abnormal": _binary_task("ecg_abnormal", "ecg", _PTBXL_SITES, _abnormal_ecg),
    "mortality": _binary_task("mortality", "clinical", _CARE_UNITS,
                              _icu_stay("mimic3", _CARE_UNITS, lambda rng: _MORTALITY_HOURS)),
    "sepsis": _binary_task("sepsis", "clinical", _SEPSIS_SETS, _icu_stay(
        "physionet2019", _SEPSIS_SETS, lambda rng: int(rng.integers(_SEPSIS_HOURS[0], _SEPSIS_HOURS[1] + 1)))),
    "enlarged_cardiomediastinum": _binary_task("enlarged_cardiomediastinum", "image", None,
                                               _chest_xray("enlarged_cardiomediastinum", ("lung_opacity",))),
    "medical_vqa": _qa_task("medical_vqa", "image", _vqa_sample),
    "ecg_noise_clarification": _qa_task("ecg_noise_clarification", "ecg", _noise_qa_sample),
}
