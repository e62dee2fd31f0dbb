"""Behaviour of the synthetic 12-lead ECG generator and of the ECG-QA noise questions."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import balanced_accuracy_score

from fedmeki_data.schema import ECG_LEADS, ECG_SAMPLES, ECG_SAMPLING_RATE
from fedmeki_data.synthetic.ecg import ABNORMALITIES, NOISE_TYPES, simulate_ecg
from fedmeki_data.synthetic.ecgqa import draw_noise, noise_question

LEAD = {name: i for i, name in enumerate(ECG_LEADS)}
REQUIRED_ABNORMALITIES = ("atrial_fibrillation", "myocardial_infarction", "st_t_change", "bundle_branch_block",
                          "left_ventricular_hypertrophy", "sinus_tachycardia", "sinus_bradycardia",
                          "first_degree_av_block")


def _ecg(seed: int, **options) -> np.ndarray:
    return simulate_ecg(np.random.default_rng(seed), **options)


def _r_peaks(signal: np.ndarray) -> np.ndarray:
    """QRS positions (samples): maxima of the spatial velocity, at least 250 ms apart."""
    velocity = np.sqrt((np.diff(signal, axis=0) ** 2).sum(axis=1))
    middle = velocity[1:-1]
    candidates = 1 + np.nonzero((middle > 0.4 * np.percentile(velocity, 99.5))
                                & (middle >= velocity[:-2]) & (middle >= velocity[2:]))[0]
    peaks: list[int] = []
    for i in candidates[np.argsort(-velocity[candidates])]:
        if all(abs(i - j) >= 0.25 * ECG_SAMPLING_RATE for j in peaks):
            peaks.append(i)
    return np.sort(peaks)


def _rr(signal: np.ndarray) -> np.ndarray:
    return np.diff(_r_peaks(signal)) / ECG_SAMPLING_RATE


def _heart_rate(ecg: np.ndarray) -> float:
    return 60.0 / float(np.median(_rr(ecg[:, [LEAD["II"]]])))


def _band_power(signal: np.ndarray, low: float, high: float) -> np.ndarray:
    """Power of each column in [low, high) Hz (Hann window, so slow drifts do not leak upwards)."""
    taper = np.hanning(len(signal))[:, None]
    spectrum = np.abs(np.fft.rfft((signal - signal.mean(axis=0)) * taper, axis=0)) ** 2
    frequency = np.fft.rfftfreq(len(signal), 1 / ECG_SAMPLING_RATE)
    return spectrum[(frequency >= low) & (frequency < high)].sum(axis=0)


def _qrs_width(ecg: np.ndarray) -> float:
    """Median time (s) around each R peak that the spatial velocity stays above 20 % of its peak."""
    velocity = np.sqrt((np.diff(ecg, axis=0) ** 2).sum(axis=1))
    widths = []
    for peak in _r_peaks(ecg)[1:-1]:
        window = velocity[peak - 12:peak + 13]
        widths.append(np.count_nonzero(window > 0.2 * velocity[peak]))
    return float(np.median(widths)) / ECG_SAMPLING_RATE


def test_abnormalities_and_noise_types_cover_the_spec() -> None:
    assert set(REQUIRED_ABNORMALITIES) <= set(ABNORMALITIES)
    assert NOISE_TYPES == ("baseline drift", "static noise", "burst noise", "electrodes problems")


@pytest.mark.parametrize("abnormality", (None, *ABNORMALITIES))
def test_records_are_finite_float32_millivolts(abnormality: str | None) -> None:
    records = [_ecg(seed, abnormality=abnormality, device=seed % 6) for seed in range(4)]

    for ecg in records:
        assert ecg.shape == (ECG_SAMPLES, len(ECG_LEADS)) and ecg.dtype == np.float32
        assert np.isfinite(ecg).all()
        lead_ii = ecg[:, LEAD["II"]]
        assert 0.4 < np.ptp(lead_ii) < 6.0
        assert np.abs(ecg).max() < 8.0


def test_normal_wave_amplitudes_are_physiological() -> None:
    records = [_ecg(seed) for seed in range(20)]

    r_in_ii = np.array([ecg[:, LEAD["II"]].max() - np.median(ecg[:, LEAD["II"]]) for ecg in records])
    assert 0.3 < np.median(r_in_ii) < 1.6
    assert ((r_in_ii > 0.2) & (r_in_ii < 2.5)).all()


def test_limb_leads_obey_einthoven_and_goldberger() -> None:
    records = [_ecg(seed, abnormality=abnormality) for seed, abnormality in enumerate((None, *ABNORMALITIES))]

    for ecg in records:
        lead = {name: ecg[:, i].astype(float) for name, i in LEAD.items()}
        scale = lead["II"].std()
        einthoven = lead["II"] - (lead["I"] + lead["III"])
        goldberger = lead["aVR"] + (lead["I"] + lead["II"]) / 2
        assert einthoven.std() < min(0.15 * scale, 0.06)
        assert goldberger.std() < min(0.15 * scale, 0.06)


def test_heart_rate_is_normal_unless_tachycardia_or_bradycardia() -> None:
    normal = [_heart_rate(_ecg(seed)) for seed in range(15)]
    fast = [_heart_rate(_ecg(seed, abnormality="sinus_tachycardia")) for seed in range(15)]
    slow = [_heart_rate(_ecg(seed, abnormality="sinus_bradycardia")) for seed in range(15)]

    assert all(55 <= rate <= 100 for rate in normal), normal
    assert all(rate > 100 for rate in fast), fast
    assert all(rate < 55 for rate in slow), slow


def test_atrial_fibrillation_has_irregular_rr() -> None:
    def variation(abnormality):
        return [float(np.std(rr) / np.mean(rr)) for rr in
                (_rr(_ecg(seed, abnormality=abnormality)) for seed in range(12))]

    normal, fibrillation = variation(None), variation("atrial_fibrillation")

    assert max(normal) < 0.07, normal
    assert np.median(fibrillation) > 0.1 and np.median(fibrillation) > 3 * np.median(normal), fibrillation


def test_bundle_branch_block_widens_the_qrs() -> None:
    normal = [_qrs_width(_ecg(seed)) for seed in range(12)]
    block = [_qrs_width(_ecg(seed, abnormality="bundle_branch_block")) for seed in range(12)]

    assert np.median(block) > 1.3 * np.median(normal), (normal, block)
    assert min(block) >= max(normal) - 0.01


def _p_to_r(ecg: np.ndarray) -> float:
    """Median delay (s) from the P peak (highest point 50-320 ms before the R peak) to R in lead II."""
    lead_ii = ecg[:, LEAD["II"]].astype(float)
    delays = [32 - np.argmax(lead_ii[peak - 32:peak - 5]) for peak in _r_peaks(lead_ii[:, None])[1:-1]]
    return float(np.median(delays)) / ECG_SAMPLING_RATE


def test_first_degree_av_block_delays_the_p_wave() -> None:
    normal = [_p_to_r(_ecg(seed)) for seed in range(10)]
    block = [_p_to_r(_ecg(seed, abnormality="first_degree_av_block")) for seed in range(10)]

    assert max(normal) < 0.2 <= min(block), (normal, block)


@pytest.mark.parametrize("kind", NOISE_TYPES)
def test_noise_changes_only_the_named_leads(kind: str) -> None:
    affected = ("V1", "V2", "V3")
    others = [i for name, i in LEAD.items() if name not in affected]
    columns = [LEAD[name] for name in affected]

    for seed in range(8):
        clean = _ecg(seed, device=seed % 6).astype(float)
        noisy = _ecg(seed, device=seed % 6, noise={kind: affected}).astype(float)

        np.testing.assert_array_equal(noisy[:, others], clean[:, others])
        assert np.abs(noisy[:, columns] - clean[:, columns]).max() > 0.1


def test_baseline_drift_adds_low_frequency_power() -> None:
    clean = _ecg(5).astype(float)
    noisy = _ecg(5, noise={"baseline drift": ("II", "V4")}).astype(float)

    gain = _band_power(noisy, 0.04, 0.6) / _band_power(clean, 0.04, 0.6)

    assert (gain[[LEAD["II"], LEAD["V4"]]] > 5).all(), gain
    assert _band_power(noisy - clean, 5, 50).max() < 1e-3 * _band_power(noisy - clean, 0.04, 0.6).max()


def test_static_noise_adds_high_frequency_power_throughout() -> None:
    clean = _ecg(5).astype(float)
    noisy = _ecg(5, noise={"static noise": ("aVL",)}).astype(float)

    gain = _band_power(noisy, 25, 50) / _band_power(clean, 25, 50)
    halves = np.abs(noisy - clean)[:, LEAD["aVL"]].reshape(2, -1).std(axis=1)

    assert gain[LEAD["aVL"]] > 4, gain
    assert halves.min() > 0.5 * halves.max()


def test_burst_noise_is_short_and_large() -> None:
    clean = _ecg(7).astype(float)
    noisy = _ecg(7, noise={"burst noise": ("I",)}).astype(float)

    change = np.abs(noisy - clean)[:, LEAD["I"]]

    assert change.max() > 0.3
    assert np.mean(change > 0.02) < 0.4


def test_electrode_problems_break_the_lead() -> None:
    for seed in range(10):
        clean = _ecg(seed).astype(float)[:, LEAD["V5"]]
        noisy = _ecg(seed, noise={"electrodes problems": ("V5",)}).astype(float)[:, LEAD["V5"]]

        flat = noisy.std() < 0.02
        clipped = np.mean(noisy == noisy.max()) > 0.05 or np.mean(noisy == noisy.min()) > 0.05
        stepped = np.abs(np.diff(noisy - clean)).max() > 0.25
        assert flat or clipped or stepped, seed


def test_same_generator_state_gives_the_same_record() -> None:
    options = {"abnormality": "myocardial_infarction", "noise": {"burst noise": ("II",)}, "device": 4}

    first, second, other = _ecg(11, **options), _ecg(11, **options), _ecg(12, **options)

    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def _style_features(ecg: np.ndarray) -> list[float]:
    ecg = ecg.astype(float)
    hiss = np.log(_band_power(ecg, 30, 50)).mean()
    steps = np.abs(np.diff(ecg, axis=0))
    resolution = np.log(np.min(steps[steps > 0]))
    sharpness = np.median(steps.max(axis=0) / np.ptp(ecg, axis=0))
    return [hiss, resolution, sharpness, np.log(_band_power(ecg, 0.04, 0.5)).mean()]


def test_devices_have_consistent_distinct_styles() -> None:
    devices = np.repeat(np.arange(6), 40)
    features = np.array([_style_features(_ecg(1000 + i, device=int(d))) for i, d in enumerate(devices)])
    train = np.arange(len(devices)) % 2 == 0

    model = RandomForestClassifier(n_estimators=100, random_state=0).fit(features[train], devices[train])
    accuracy = balanced_accuracy_score(devices[~train], model.predict(features[~train]))

    print(f"device identification balanced accuracy: {accuracy:.3f} (chance 0.167)")
    assert accuracy > 0.6


def _median_beat(ecg: np.ndarray) -> np.ndarray:
    """Median beat from 300 ms before to 450 ms after R, every 50 ms, per lead, relative to its start."""
    peaks = [peak for peak in _r_peaks(ecg) if 30 <= peak < len(ecg) - 45]
    beat = np.median([ecg[peak - 30:peak + 45] for peak in peaks], axis=0)
    return (beat - beat[:5].mean(axis=0))[::5].ravel()


def _features(ecg: np.ndarray) -> np.ndarray:
    ecg = ecg.astype(float)
    rr = _rr(ecg)
    spectrum = [_band_power(ecg, low, high) for low, high in ((0, 1), (1, 4), (4, 10), (10, 20), (20, 50))]
    rhythm = [rr.mean(), rr.std() / rr.mean(), _qrs_width(ecg)]
    return np.concatenate([ecg.mean(axis=0), ecg.std(axis=0), np.ptp(ecg, axis=0), np.log1p(np.ravel(spectrum)),
                           rhythm, _median_beat(ecg)])


def test_abnormal_records_are_learnable_from_simple_features() -> None:
    rng = np.random.default_rng(2024)
    labels = np.repeat([0, 1], 150)
    kinds = [None if label == 0 else str(rng.choice(ABNORMALITIES)) for label in labels]
    features = np.array([_features(simulate_ecg(rng, abnormality=kind, device=int(rng.integers(6))))
                         for kind in kinds])
    train = rng.permutation(len(labels)) < len(labels) // 2

    model = RandomForestClassifier(n_estimators=300, max_features=0.3, random_state=0)
    model.fit(features[train], labels[train])
    accuracy = balanced_accuracy_score(labels[~train], model.predict(features[~train]))

    print(f"normal vs abnormal held-out balanced accuracy: {accuracy:.3f} ({(~train).sum()} records)")
    assert accuracy >= 0.8


@pytest.mark.parametrize(("options", "bad", "allowed"), [
    ({"abnormality": "heart_attack"}, "heart_attack", "atrial_fibrillation"),
    ({"noise": {"powerline": ("II",)}}, "powerline", "baseline drift"),
    ({"noise": {"static noise": ("V7",)}}, "V7", "aVR"),
    ({"noise": {"static noise": "II"}}, "'II'", "sequence of lead names"),
    ({"device": 6}, "6", "0, 1, 2, 3, 4, 5"),
])
def test_unknown_options_raise_value_error_naming_them(options: dict, bad: str, allowed: str) -> None:
    with pytest.raises(ValueError) as error:
        simulate_ecg(np.random.default_rng(0), **options)

    assert bad in str(error.value) and allowed in str(error.value)


def test_draw_noise_gives_realistic_canonical_annotations() -> None:
    rng = np.random.default_rng(3)

    annotations = [draw_noise(rng) for _ in range(500)]

    counts = np.array([len(annotation) for annotation in annotations])
    assert np.mean(counts <= 1) > 0.6 and np.any(counts >= 2) and np.any(counts == 0)
    for annotation in annotations:
        assert list(annotation) == [kind for kind in NOISE_TYPES if kind in annotation]
        for leads in annotation.values():
            assert leads and list(leads) == [lead for lead in ECG_LEADS if lead in leads]
    assert any(len(leads) == 12 for annotation in annotations for leads in annotation.values())
    assert any(len(leads) < 12 for annotation in annotations for leads in annotation.values())


def _expected_answer(question: str, noise: dict[str, tuple[str, ...]]) -> str:
    """Independent oracle: parse the question and answer it from the annotation."""
    def listing(items):
        return ", ".join(items) or "none"

    def types(lead=None):
        return [kind for kind in NOISE_TYPES if kind in noise and (lead is None or lead in noise[kind])]

    patterns = [
        (r"Does this ECG show any kind of noises in lead (\w+)\?", lambda m: "yes" if types(m[1]) else "no"),
        (r"Does this ECG show any kind of noises\?", lambda m: "yes" if noise else "no"),
        (r"Does this ECG show (.+) in lead (\w+)\?", lambda m: "yes" if m[2] in noise.get(m[1], ()) else "no"),
        (r"Does this ECG show (.+)\?", lambda m: "yes" if m[1] in noise else "no"),
        (r"Which noise does this ECG show in lead (\w+), (.+) or (.+)\?",
         lambda m: listing([kind for kind in types(m[1]) if kind in (m[2], m[3])])),
        (r"Which noise does this ECG show, (.+) or (.+)\?",
         lambda m: listing([kind for kind in types() if kind in (m[1], m[2])])),
        (r"What kind of noises does this ECG show in lead (\w+)\?", lambda m: listing(types(m[1]))),
        (r"What kind of noises does this ECG show\?", lambda m: listing(types())),
        (r"In which leads does this ECG show (.+)\?",
         lambda m: listing([lead for lead in ECG_LEADS if lead in noise.get(m[1], ())])),
    ]
    for pattern, answer in patterns:
        match = re.fullmatch(pattern, question)
        if match:
            return answer(match)
    raise AssertionError(f"unexpected question {question!r}")


def test_noise_questions_are_answered_correctly_and_mix_types() -> None:
    rng = np.random.default_rng(8)

    samples = []
    for _ in range(600):
        noise = draw_noise(rng)
        samples.append((noise, *noise_question(rng, noise)))

    for noise, question, answer in samples:
        assert answer == _expected_answer(question, noise), (noise, question, answer)
    starts = {question.split()[0] for _, question, _ in samples}
    assert starts == {"Does", "Which", "What", "In"}
    verify = [answer for _, question, answer in samples if question.startswith("Does")]
    assert 0.35 < verify.count("yes") / len(verify) < 0.65
    assert any(", " in answer for _, _, answer in samples)
    assert any(" in lead " in question for _, question, _ in samples)


def test_noise_question_accepts_any_order_and_rejects_unknown_leads() -> None:
    shuffled = {"burst noise": ("V2", "I"), "baseline drift": ("aVF",)}
    canonical = {"baseline drift": ("aVF",), "burst noise": ("I", "V2")}

    assert noise_question(np.random.default_rng(1), shuffled) == noise_question(np.random.default_rng(1), canonical)
    with pytest.raises(ValueError, match="V9"):
        noise_question(np.random.default_rng(1), {"burst noise": ("V9",)})
