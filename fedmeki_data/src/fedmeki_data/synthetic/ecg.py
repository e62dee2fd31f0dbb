"""Synthetic 12-lead ECG: a moving cardiac dipole seen through the standard lead system.

The heart is one current dipole ``d(t)`` in body coordinates (x to the patient's left, y towards the
feet, z anterior). Each beat is a sum of Gaussian waves in time, as in McSharry et al. (2003): P, septal
q, R, S and T, plus an ST, notch or terminal wave where a disease needs one. Every wave has a centre
relative to its R peak, a width and a fixed 3-D dipole, so ``d(t) = sum_k a_k g_k(t)``. A lead records
the projection of ``d(t)`` on its lead vector: the hexaxial system for the limb leads (I 0°, II 60°,
III 120°, aVR -150°, aVL -30°, aVF 90°, the augmented leads shortened by √3/2) and a horizontal sweep
from right-anterior (V1) to left-lateral (V6) for the chest leads. Einthoven's law ``II = I + III`` and
Goldberger's ``aVR = -(I + II) / 2`` therefore hold exactly for the heart's signal.

Timing follows physiology: RR intervals carry respiratory sinus arrhythmia and jitter, T and ST waves
move with the square root of the preceding RR interval (Bazett), and the P wave keeps the patient's PR
interval. Axis, voltages and intervals vary per patient. Each abnormality edits the patient's waves or
rhythm with a random severity, so some cases are subtle: atrial fibrillation drops the P waves, adds
fibrillatory waves and makes RR irregular; myocardial infarction removes forces towards a territory
(pathological Q waves) and adds ST elevation or T inversion there; bundle branch block widens and notches
the QRS; and so on.

A recording ``device`` adds a consistent style: gain, analogue low-pass (applied analytically: a
Gaussian wave blurred by a Gaussian kernel stays Gaussian), noise floor, mains hum (at 100 Hz sampling
60 Hz aliases to 40 Hz and 50 Hz lands on the Nyquist frequency), residual baseline wander and ADC step.
PTB-XL's four noise annotations are added on request, on the named leads only.

Examples
--------
>>> import numpy as np
>>> ecg = simulate_ecg(np.random.default_rng(0), abnormality="atrial_fibrillation",
...                    noise={"baseline drift": ("V1", "V2")}, device=2)
>>> ecg.shape, ecg.dtype
((1000, 12), dtype('float32'))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from fedmeki_data.errors import InvalidParameterError
from fedmeki_data.schema import ECG_LEADS, ECG_SAMPLES, ECG_SAMPLING_RATE

NOISE_TYPES = ("baseline drift", "static noise", "burst noise", "electrodes problems")
"""PTB-XL's noise annotation columns, in their wording and order."""

_FS = float(ECG_SAMPLING_RATE)
_TIME = np.arange(ECG_SAMPLES) / _FS
_DURATION = ECG_SAMPLES / _FS
_MARGIN = 1.5  # s of beats simulated before and after the record, so edge beats are complete


def _unit(frontal_deg: float, anterior_deg: float) -> np.ndarray:
    """Unit vector at a hexaxial angle (0° leftward, 90° towards the feet), tilted anterior."""
    a, e = np.radians(frontal_deg), np.radians(anterior_deg)
    return np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])


def _lead_matrix() -> np.ndarray:
    """(12, 3) lead vectors; chest gains reflect how close each electrode lies to the heart."""
    augmented = np.sqrt(3) / 2
    limb = [(0, 1.0), (60, 1.0), (120, 1.0), (-150, augmented), (-30, augmented), (90, augmented)]
    chest = [(118, 1.2), (90, 1.6), (58, 1.7), (30, 1.6), (8, 1.35), (-12, 1.05)]
    vectors = [gain * _unit(angle, 0.0) for angle, gain in limb]
    vectors += [gain * _unit(0.0, angle) for angle, gain in chest]
    matrix = np.array(vectors)
    matrix.setflags(write=False)
    return matrix


_LEADS = _lead_matrix()


@dataclass(frozen=True)
class _Wave:
    offset: float  # centre relative to the R peak (s) at RR = 1 s
    width: float  # Gaussian sigma (s)
    dipole: np.ndarray  # peak dipole (mV), body coordinates
    rate_power: float = 0.0  # the offset scales with RR ** rate_power (0.5: Bazett)


@dataclass(frozen=True)
class _Heart:
    rate: float  # mean heart rate (bpm)
    qrs: float  # QRS duration (s)
    pr: float  # PR interval (s)
    waves: dict[str, _Wave]
    irregularity: float = 0.0  # coefficient of variation of RR (atrial fibrillation)
    fibrillation: float = 0.0  # amplitude of atrial fibrillatory waves (mV)


@dataclass(frozen=True)
class _Device:
    gain: float
    blur: float  # s, sigma of the analogue low-pass
    noise: float  # mV, white noise floor
    hum: float  # mV, mains residue
    mains_hz: float
    wander: float  # mV, baseline wander left by the high-pass
    resolution: float  # mV, ADC step


_DEVICES = (
    _Device(gain=1.00, blur=0.004, noise=0.008, hum=0.000, mains_hz=50, wander=0.02, resolution=0.001),
    _Device(gain=0.90, blur=0.007, noise=0.012, hum=0.004, mains_hz=50, wander=0.03, resolution=0.005),
    _Device(gain=1.10, blur=0.003, noise=0.016, hum=0.008, mains_hz=60, wander=0.02, resolution=0.001),
    _Device(gain=0.97, blur=0.009, noise=0.006, hum=0.000, mains_hz=50, wander=0.05, resolution=0.01),
    _Device(gain=1.15, blur=0.005, noise=0.022, hum=0.012, mains_hz=60, wander=0.04, resolution=0.002),
    _Device(gain=0.85, blur=0.006, noise=0.010, hum=0.003, mains_hz=50, wander=0.08, resolution=0.005),
)

# Directions a territory's leads look at: inferior (II, III, aVF), anterior (V1-V4), lateral (I, aVL, V5, V6).
_TERRITORIES = (_unit(90, 0), _unit(0, 80), _unit(-20, 5))


def _normal_heart(rng: np.random.Generator) -> _Heart:
    """A healthy patient: sinus rhythm with per-patient axis, voltages and intervals."""
    qrs, pr, qtc = rng.uniform(0.075, 0.105), rng.uniform(0.12, 0.19), rng.uniform(0.37, 0.43)
    p_width, t_width = rng.uniform(0.018, 0.026), rng.uniform(0.035, 0.055)
    axis = float(np.clip(rng.normal(45, 22), -25, 90))
    voltage = rng.lognormal(0.0, 0.2)  # body habitus scales every wave
    onset = -0.45 * qrs
    waves = {
        "p": _Wave(onset - pr + 2.5 * p_width, p_width,
                   voltage * rng.uniform(0.15, 0.28) * _unit(rng.uniform(30, 70), rng.uniform(-5, 20))),
        "q": _Wave(-0.3 * qrs, 0.1 * qrs,
                   voltage * rng.uniform(0.08, 0.25) * _unit(rng.uniform(190, 220), rng.uniform(25, 45))),
        "r": _Wave(0.0, 0.11 * qrs, voltage * rng.uniform(1.0, 1.7) * _unit(axis, rng.uniform(-30, -10))),
        "s": _Wave(0.3 * qrs, 0.1 * qrs,
                   voltage * rng.uniform(0.3, 0.6) * _unit(rng.uniform(-120, -80), rng.uniform(-65, -40))),
        "t": _Wave(onset + qtc - 2.3 * t_width, t_width,
                   voltage * rng.uniform(0.3, 0.55) * _unit(axis + rng.normal(-10, 12), rng.uniform(15, 35)),
                   0.5),
    }
    return _Heart(rate=rng.uniform(58, 95), qrs=qrs, pr=pr, waves=waves)


def _st_wave(heart: _Heart, dipole: np.ndarray) -> _Wave:
    """A broad wave from the J point into the T wave: ST elevation along ``dipole``, depression against it."""
    return _Wave(0.55 * heart.qrs + 0.08, 0.05, dipole, 0.5)


def _along(vector: np.ndarray, direction: np.ndarray) -> float:
    """Component of ``vector`` towards ``direction`` (a unit vector), zero when it points away."""
    return max(float(vector @ direction), 0.0)


def _sinus_tachycardia(rng: np.random.Generator, heart: _Heart) -> _Heart:
    return replace(heart, rate=rng.uniform(105, 150))


def _sinus_bradycardia(rng: np.random.Generator, heart: _Heart) -> _Heart:
    return replace(heart, rate=rng.uniform(38, 52))


def _first_degree_av_block(rng: np.random.Generator, heart: _Heart) -> _Heart:
    pr = rng.uniform(0.21, 0.34)
    p = heart.waves["p"]
    return replace(heart, pr=pr, waves={**heart.waves, "p": replace(p, offset=p.offset - (pr - heart.pr))})


def _atrial_fibrillation(rng: np.random.Generator, heart: _Heart) -> _Heart:
    waves = {name: wave for name, wave in heart.waves.items() if name != "p"}
    return replace(heart, waves=waves, rate=rng.uniform(70, 140), irregularity=rng.uniform(0.12, 0.3),
                   fibrillation=rng.uniform(0.02, 0.1))


def _myocardial_infarction(rng: np.random.Generator, heart: _Heart) -> _Heart:
    """Loss of forces towards an infarcted territory: Q waves, then ST elevation (acute) or T inversion (old)."""
    toward = _TERRITORIES[rng.integers(len(_TERRITORIES))]
    severity, acute = rng.uniform(0.4, 1.0), rng.random() < 0.4
    waves = dict(heart.waves)
    r, t = waves["r"], waves["t"]
    if not acute or rng.random() < 0.5:
        waves["r"] = replace(r, dipole=r.dipole - 0.8 * severity * _along(r.dipole, toward) * toward)
        waves["q"] = _Wave(-0.32 * heart.qrs, rng.uniform(0.012, 0.02), -severity * rng.uniform(0.25, 0.6) * toward)
    if acute:
        waves["st"] = _st_wave(heart, severity * rng.uniform(0.1, 0.35) * toward)
        waves["t"] = replace(t, dipole=t.dipole + 0.3 * severity * toward)
    else:
        waves["t"] = replace(t, dipole=t.dipole - (1 + severity) * _along(t.dipole, toward) * toward)
    return replace(heart, waves=waves)


def _st_t_change(rng: np.random.Generator, heart: _Heart) -> _Heart:
    """Ischaemic ST depression and flat or inverted T waves in one territory."""
    toward = _TERRITORIES[rng.integers(len(_TERRITORIES))]
    severity = rng.uniform(0.4, 1.0)
    t = heart.waves["t"]
    flip = severity * rng.uniform(0.8, 2.0) * _along(t.dipole, toward)
    waves = {**heart.waves, "t": replace(t, dipole=t.dipole - flip * toward),
             "st": _st_wave(heart, -severity * rng.uniform(0.05, 0.25) * toward)}
    return replace(heart, waves=waves)


def _left_ventricular_hypertrophy(rng: np.random.Generator, heart: _Heart) -> _Heart:
    """Large leftward-posterior QRS voltages, often with a strain pattern (ST depression, T inversion)."""
    boost = rng.uniform(1.5, 2.4)
    waves = dict(heart.waves)
    r, s, t = waves["r"], waves["s"], waves["t"]
    waves["r"] = replace(r, dipole=boost * r.dipole + 0.3 * np.linalg.norm(r.dipole) * _unit(-10, -60))
    waves["s"] = replace(s, dipole=boost * s.dipole)
    if rng.random() < 0.6:
        r_axis = waves["r"].dipole / np.linalg.norm(waves["r"].dipole)
        waves["t"] = replace(t, dipole=-rng.uniform(0.2, 0.8) * np.linalg.norm(t.dipole) * r_axis)
        waves["st"] = _st_wave(heart, -rng.uniform(0.05, 0.15) * r_axis)
    return replace(heart, waves=waves)


def _bundle_branch_block(rng: np.random.Generator, heart: _Heart) -> _Heart:
    """QRS of 120-170 ms with right (rSR' in V1) or left (notched broad R laterally) morphology."""
    qrs = rng.uniform(0.12, 0.17)
    stretch = qrs / heart.qrs
    waves = {name: replace(wave, offset=wave.offset * stretch, width=wave.width * stretch)
             for name, wave in heart.waves.items() if name in ("q", "r", "s")}
    t = heart.waves["t"]
    waves = {**heart.waves, **waves, "t": replace(t, offset=t.offset + 0.5 * (qrs - heart.qrs))}
    block = _right_bundle_branch_block if rng.random() < 0.5 else _left_bundle_branch_block
    return block(rng, replace(heart, qrs=qrs, waves=waves))


def _right_bundle_branch_block(rng: np.random.Generator, heart: _Heart) -> _Heart:
    """Late rightward-anterior forces: R' in V1, broad S in I and V6; T opposite to them."""
    late = _unit(rng.uniform(160, 200), rng.uniform(40, 60))  # delayed right-ventricular forces
    t = heart.waves["t"]
    waves = {**heart.waves,
             "terminal": _Wave(0.38 * heart.qrs, 0.12 * heart.qrs, rng.uniform(0.4, 0.9) * late),
             "t": replace(t, dipole=t.dipole - rng.uniform(0.5, 1.0) * np.linalg.norm(t.dipole) * late)}
    return replace(heart, waves=waves)


def _left_bundle_branch_block(rng: np.random.Generator, heart: _Heart) -> _Heart:
    """No septal q; two leftward-posterior R humps (the notch); T discordant to the QRS."""
    r, t = heart.waves["r"], heart.waves["t"]
    size = float(np.linalg.norm(r.dipole))
    axis = _unit(rng.uniform(-20, 30), rng.uniform(-50, -35))
    waves = {name: wave for name, wave in heart.waves.items() if name not in ("q", "s")}
    waves["r"] = _Wave(-0.2 * heart.qrs, 0.14 * heart.qrs, 0.9 * size * axis)
    waves["notch"] = _Wave(0.18 * heart.qrs, 0.14 * heart.qrs, rng.uniform(0.8, 1.1) * size * axis)
    waves["t"] = replace(t, dipole=-rng.uniform(0.6, 1.2) * np.linalg.norm(t.dipole) * axis)
    return replace(heart, waves=waves)


_ABNORMAL: dict[str, Callable[[np.random.Generator, _Heart], _Heart]] = {
    "atrial_fibrillation": _atrial_fibrillation,
    "myocardial_infarction": _myocardial_infarction,
    "st_t_change": _st_t_change,
    "bundle_branch_block": _bundle_branch_block,
    "left_ventricular_hypertrophy": _left_ventricular_hypertrophy,
    "sinus_tachycardia": _sinus_tachycardia,
    "sinus_bradycardia": _sinus_bradycardia,
    "first_degree_av_block": _first_degree_av_block,
}
ABNORMALITIES: tuple[str, ...] = tuple(_ABNORMAL)
"""Names accepted by :func:`simulate_ecg` as ``abnormality``."""


def _beats(rng: np.random.Generator, heart: _Heart) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R-peak times (s), the RR interval before each beat (s) and a respiratory amplitude factor."""
    rr = 60.0 / heart.rate
    count = int(np.ceil((_DURATION + 2 * _MARGIN) / (0.5 * rr)))
    breath_hz, phase = rng.uniform(0.15, 0.35), rng.uniform(0, 2 * np.pi)
    respiration = np.sin(2 * np.pi * breath_hz * rr * np.arange(count) + phase)
    if heart.irregularity:
        sigma = heart.irregularity
        intervals = rr * rng.lognormal(-sigma**2 / 2, sigma, count)
    else:
        intervals = rr * (1 + rng.uniform(0.01, 0.05) * respiration + rng.normal(0, 0.01, count))
    intervals = np.maximum(intervals, 0.27)
    times = rng.uniform(0, rr) - _MARGIN + np.cumsum(intervals)
    keep = times < _DURATION + _MARGIN
    scale = 1 + rng.uniform(0.02, 0.08) * respiration
    return times[keep], intervals[keep], scale[keep]


def _gaussians(centres: np.ndarray, widths: np.ndarray, dipoles: np.ndarray, blur: float) -> np.ndarray:
    """(samples, 3) sum of Gaussian waves, each widened by the device low-pass with its area kept."""
    sigma = np.sqrt(widths**2 + blur**2)
    peaks = dipoles * (widths / sigma)[:, None]
    centre, spread = centres * _FS, sigma * _FS
    half = int(np.ceil(4 * spread.max()))
    index = np.rint(centre).astype(np.int64)[:, None] + np.arange(-half, half + 1)
    shape = np.exp(-0.5 * ((index - centre[:, None]) / spread[:, None]) ** 2)
    wave, tap = np.nonzero((index >= 0) & (index < ECG_SAMPLES))
    index, shape = index[wave, tap], shape[wave, tap]
    return np.stack([np.bincount(index, shape * peaks[wave, axis], ECG_SAMPLES) for axis in range(3)], axis=1)


def _fibrillatory_waves(rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """(samples, 3) 4-8 Hz atrial activity with a wandering phase, strongest in V1 and the inferior leads."""
    phase = 2 * np.pi * rng.uniform(4.0, 8.0) * _TIME + np.cumsum(rng.normal(0, 0.12, ECG_SAMPLES))
    envelope = 1 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * _TIME + rng.uniform(0, 2 * np.pi))
    return (amplitude * envelope * np.sin(phase))[:, None] * _unit(rng.uniform(100, 130), rng.uniform(40, 60))


def _heart_dipole(rng: np.random.Generator, heart: _Heart, blur: float) -> np.ndarray:
    """(samples, 3) dipole of every beat in and around the record."""
    times, intervals, scale = _beats(rng, heart)
    waves = list(heart.waves.values())
    offsets = np.array([wave.offset for wave in waves])
    powers = np.array([wave.rate_power for wave in waves])
    centres = times[:, None] + offsets * intervals[:, None] ** powers
    dipoles = scale[:, None, None] * np.array([wave.dipole for wave in waves])
    widths = np.tile([wave.width for wave in waves], len(times))
    dipole = _gaussians(centres.ravel(), widths, dipoles.reshape(-1, 3), blur)
    if heart.fibrillation:
        dipole += _fibrillatory_waves(rng, heart.fibrillation)
    return dipole


def _oscillations(rng: np.random.Generator, frequencies: np.ndarray, amplitudes: np.ndarray) -> np.ndarray:
    """(samples, leads) sinusoids shared by the leads, each lead with its own amplitude and phase.

    ``amplitudes`` is (frequencies, leads); ``sin(wt + phi) = sin(wt) cos(phi) + cos(wt) sin(phi)`` keeps
    the cost at one sine and one cosine per frequency.
    """
    phase = rng.uniform(0, 2 * np.pi, amplitudes.shape)
    angle = 2 * np.pi * _TIME[:, None] * frequencies
    return np.sin(angle) @ (amplitudes * np.cos(phase)) + np.cos(angle) @ (amplitudes * np.sin(phase))


def _background(rng: np.random.Generator, device: _Device) -> np.ndarray:
    """(samples, 12) noise every recording has: the device's noise floor, hum and residual wander."""
    leads = len(ECG_LEADS)
    floor = rng.normal(0, device.noise, (ECG_SAMPLES, leads))
    hum = _oscillations(rng, np.array([device.mains_hz]), np.full((1, leads), device.hum))
    wander = _oscillations(rng, rng.uniform(0.05, 0.3, 2), device.wander * rng.uniform(0.2, 0.7, (2, leads)))
    return floor + hum + wander


def _baseline_drift(rng: np.random.Generator, signal: np.ndarray) -> np.ndarray:
    """Slow wander (0.05-0.5 Hz, up to ~1 mV): breathing, movement, sweating under the electrodes."""
    amplitudes = rng.uniform(0.05, 0.35, (3, signal.shape[1]))
    return signal + _oscillations(rng, rng.uniform(0.05, 0.5, 3), amplitudes)


def _static_noise(rng: np.random.Generator, signal: np.ndarray) -> np.ndarray:
    """Persistent broadband (muscle) noise with mains hum, aliased to 40 Hz or the Nyquist frequency."""
    leads = signal.shape[1]
    hiss = rng.uniform(0.03, 0.08, leads) * rng.normal(size=signal.shape)
    hum = _oscillations(rng, rng.choice([50.0, 60.0], 1), rng.uniform(0.0, 0.05, (1, leads)))
    return signal + hiss + hum


def _burst_noise(rng: np.random.Generator, signal: np.ndarray) -> np.ndarray:
    """One to three short (0.2-1 s) high-amplitude bursts, as from motion or muscle contraction."""
    bursts = rng.integers(1, 4)
    starts, lengths = rng.uniform(0, _DURATION - 0.5, bursts), rng.uniform(0.2, 1.0, bursts)
    position = (_TIME[:, None] - starts) / lengths
    envelope = np.where((position >= 0) & (position < 1), np.sin(np.pi * position) ** 2, 0.0).max(axis=1)
    during = np.nonzero(envelope)[0]
    amplitude = rng.uniform(0.2, 0.8, signal.shape[1])
    noisy = signal.copy()
    noisy[during] += envelope[during, None] * amplitude * rng.normal(size=(len(during), signal.shape[1]))
    return noisy


def _electrodes_problems(rng: np.random.Generator, signal: np.ndarray) -> np.ndarray:
    """A detached electrode (flat line), a saturating amplifier or electrode pops (decaying steps)."""
    problem = (_lead_off, _saturation, _electrode_pops)[rng.integers(3)]
    return problem(rng, signal)


def _lead_off(rng: np.random.Generator, signal: np.ndarray) -> np.ndarray:
    return rng.uniform(-0.05, 0.05, signal.shape[1]) + rng.normal(0, 0.003, signal.shape)


def _saturation(rng: np.random.Generator, signal: np.ndarray) -> np.ndarray:
    rail = rng.uniform(1.5, 4.0)
    offset = rng.choice([-1.0, 1.0], signal.shape[1]) * rail * rng.uniform(0.7, 1.0, signal.shape[1])
    swing = 0.5 * rail * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * _TIME + rng.uniform(0, 2 * np.pi))
    return np.clip(signal + offset + swing[:, None], -rail, rail)


def _electrode_pops(rng: np.random.Generator, signal: np.ndarray) -> np.ndarray:
    pops = rng.integers(1, 5)
    since = _TIME[:, None] - rng.uniform(0, _DURATION, pops)
    decay = np.where(since >= 0, np.exp(-np.maximum(since, 0) / rng.uniform(0.3, 2.0, pops)), 0.0)
    heights = rng.choice([-1.0, 1.0], (pops, signal.shape[1])) * rng.uniform(0.3, 1.5, (pops, signal.shape[1]))
    return signal + decay @ heights


_NOISE: dict[str, Callable[[np.random.Generator, np.ndarray], np.ndarray]] = dict(
    zip(NOISE_TYPES, (_baseline_drift, _static_noise, _burst_noise, _electrodes_problems)))


def _check(value: object, allowed: Sequence[object], what: str) -> None:
    if value not in allowed:
        raise InvalidParameterError(f"Unknown {what} {value!r}; expected one of: {', '.join(map(str, allowed))}.",
                                    hint=f"pick a {what} from the list")


def normalize_noise(noise: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Check a noise annotation and put it in canonical order, so equal annotations compare equal.

    Parameters
    ----------
    noise : mapping of str to sequence of str
        Noise type (one of :data:`NOISE_TYPES`) to the names of the leads it affects.

    Returns
    -------
    dict of str to tuple of str
        Noise types in :data:`NOISE_TYPES` order and leads in lead order; types with no lead are dropped.

    Raises
    ------
    InvalidParameterError
        A ``ValueError`` for an unknown noise type or lead name, or leads given as one string.
    """
    chosen: dict[str, set[str]] = {}
    for kind, leads in noise.items():
        _check(kind, NOISE_TYPES, "noise type")
        if isinstance(leads, str):
            raise InvalidParameterError(f"Leads of {kind!r} must be a sequence of lead names, got {leads!r}.",
                                        hint=f"write ({leads!r},)")
        for lead in leads:
            _check(lead, ECG_LEADS, "lead")
        chosen[kind] = set(leads)
    return {kind: tuple(lead for lead in ECG_LEADS if lead in chosen[kind]) for kind in NOISE_TYPES if chosen.get(kind)}


def simulate_ecg(rng: np.random.Generator, *, abnormality: str | None = None,
                 noise: Mapping[str, Sequence[str]] | None = None, device: int = 0) -> np.ndarray:
    """Simulate one 10 s, 100 Hz, 12-lead ECG record, a learnable stand-in for PTB-XL.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness; the same state gives the same record.
    abnormality : str or None, default=None
        One of :data:`ABNORMALITIES`, or None for a normal sinus rhythm.
    noise : mapping of str to sequence of str or None, default=None
        Annotated noise to add: noise type (:data:`NOISE_TYPES`) to the lead names it affects.
    device : int, default=0
        Recording device 0-5: a fixed gain, filter, noise floor and resolution, so sites differ.

    Returns
    -------
    numpy.ndarray
        float32 array of shape (1000, 12) in millivolts, leads in :data:`fedmeki_data.schema.ECG_LEADS` order.

    Raises
    ------
    InvalidParameterError
        A ``ValueError`` for an unknown abnormality, noise type, lead or device.
    """
    if abnormality is not None:
        _check(abnormality, ABNORMALITIES, "abnormality")
    _check(device, range(len(_DEVICES)), "device")
    wanted = normalize_noise(noise or {})
    style = _DEVICES[int(device)]
    heart = _normal_heart(rng)
    if abnormality is not None:
        heart = _ABNORMAL[abnormality](rng, heart)
    ecg = _heart_dipole(rng, heart, style.blur) @ _LEADS.T + _background(rng, style)
    for kind, leads in wanted.items():
        columns = [ECG_LEADS.index(lead) for lead in leads]
        ecg[:, columns] = _NOISE[kind](rng, ecg[:, columns])
    return (np.round(style.gain * ecg / style.resolution) * style.resolution).astype(np.float32)
