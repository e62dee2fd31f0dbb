"""Synthetic ICU stays: hourly series over the canonical clinical variables, driven by a latent severity.

Each stay has patient-specific baselines inside the variables' normal ranges, autocorrelated hour-to-hour
fluctuations, and a latent severity ``s(t)``. Deteriorating patients (the positive class) see ``s`` rise
towards the end of the window; stable patients stay low, some with a transient episode that resolves,
so the classes overlap like real ones. Severity moves each variable in its clinical direction (heart
rate and lactate up, blood pressure and oxygen saturation down, Glasgow coma scale down, ...).

Values are observed the way each source charts them: only the variables the source records (its column
in :data:`fedmeki_data.schema.CLINICAL_VARIABLES`), vital signs most hours, labs in a few daily draws,
coma scale every few hours, height and weight rarely. Everything else is NaN.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from fedmeki_data.schema import CLINICAL_VARIABLES

ClinicalSource = Literal["mimic3", "physionet2019"]

# Shift of each variable at severity 1, in widths of its normal range (sign = clinical direction).
_SEVERITY_EFFECT = {
    "heart_rate": 1.4, "o2_saturation": -1.6, "temperature": 0.9, "systolic_bp": -1.0, "mean_bp": -1.1,
    "diastolic_bp": -0.9, "respiratory_rate": 1.5, "base_excess": -1.5, "bicarbonate": -1.2, "fio2": 1.2,
    "ph": -1.5, "paco2": 0.4, "sao2": -1.2, "ast": 1.5, "bun": 1.5, "creatinine": 2.0, "bilirubin_total": 1.5,
    "bilirubin_direct": 1.5, "glucose": 0.6, "lactate": 2.5, "potassium": 0.5, "troponin_i": 2.0,
    "hematocrit": -0.5, "hemoglobin": -0.5, "ptt": 1.0, "wbc": 1.8, "fibrinogen": -0.6, "platelets": -1.0,
    "capillary_refill_rate": 1.0, "gcs_total": -0.75,
}
_HOURLY_RATE = {"vital": 0.9, "lab": 0.0, "neuro": 0.35, "body": 0.02}
_LAB_DRAWS_PER_DAY = 2.5
_GCS_PARTS = (("gcs_eye", 4), ("gcs_motor", 6), ("gcs_verbal", 5))
_NAMES = [variable.name for variable in CLINICAL_VARIABLES]
_INDEX = {name: i for i, name in enumerate(_NAMES)}
_LOW = np.array([variable.normal_range[0] for variable in CLINICAL_VARIABLES])
_HIGH = np.array([variable.normal_range[1] for variable in CLINICAL_VARIABLES])
# Scores with a one-point normal range still need a scale for their fluctuations.
_WIDTH = np.where(_HIGH > _LOW, _HIGH - _LOW, np.maximum(np.abs(_HIGH) * 0.5, 1.0))
_EFFECT = np.array([_SEVERITY_EFFECT.get(name, 0.0) for name in _NAMES])
_KIND = np.array([variable.kind for variable in CLINICAL_VARIABLES])
_BOUNDS = {"o2_saturation": (50, 100), "sao2": (50, 100), "fio2": (0.21, 1.0), "capillary_refill_rate": (0, 1),
           "gcs_total": (3, 15), "ph": (6.8, 7.7)}


def observed_variables(source: ClinicalSource) -> np.ndarray:
    """Boolean mask of the canonical variables that ``source`` records."""
    if source not in ("mimic3", "physionet2019"):
        raise ValueError(f"Unknown clinical source {source!r}; expected 'mimic3' or 'physionet2019'.")
    return np.array([getattr(variable, source) is not None for variable in CLINICAL_VARIABLES])


def severity_curve(rng: np.random.Generator, hours: int, *, deteriorating: bool) -> np.ndarray:
    """Latent severity per hour: a late rise for deteriorating stays, a low level (maybe a resolved
    episode) for stable ones."""
    t = np.arange(hours, dtype=np.float64)
    level = np.full(hours, rng.uniform(0.0, 0.3))
    if deteriorating:
        onset = hours * rng.uniform(0.4, 1.1)
        rise = rng.uniform(0.2, 1.0)
        return level + rise / (1.0 + np.exp(-(t - onset) / rng.uniform(2.0, 8.0)))
    if rng.random() < 0.4:
        peak, width = rng.uniform(0, hours), rng.uniform(3.0, 12.0)
        level += rng.uniform(0.3, 0.9) * np.exp(-0.5 * ((t - peak) / width) ** 2)
    return level


def simulate_stay(rng: np.random.Generator, hours: int, *, deteriorating: bool, source: ClinicalSource,
                  site_shift: float = 0.0) -> np.ndarray:
    """One ICU stay as an hourly ``(hours, V)`` float32 array, NaN where not measured.

    Parameters
    ----------
    rng : numpy.random.Generator
    hours : int
        Window length, >= 1.
    deteriorating : bool
        Whether the patient deteriorates (the positive class).
    source : {"mimic3", "physionet2019"}
        Which source's variables and charting habits to imitate.
    site_shift : float, default=0.0
        Case-mix offset of the site (added to the severity baseline), for natural partitions.

    Returns
    -------
    ndarray of float32, shape (hours, len(CLINICAL_VARIABLES))
    """
    if hours < 1:
        raise ValueError(f"hours must be >= 1, got {hours}")
    severity = severity_curve(rng, hours, deteriorating=deteriorating) + site_shift
    baseline = _LOW + _WIDTH * rng.uniform(0.2, 0.8, size=len(_NAMES)) * (_HIGH > _LOW)
    noise = _ar1(rng, hours, len(_NAMES), phi=0.8) * 0.25 * _WIDTH
    values = baseline + noise + np.outer(severity, _EFFECT * _WIDTH)
    values = _finish_scores(values, rng)
    values[~_observation_mask(rng, hours, source)] = np.nan
    return values.astype(np.float32)


def _ar1(rng: np.random.Generator, hours: int, width: int, *, phi: float) -> np.ndarray:
    shocks = rng.standard_normal((hours, width)) * np.sqrt(1 - phi**2)
    out = np.empty_like(shocks)
    out[0] = rng.standard_normal(width)
    for t in range(1, hours):
        out[t] = phi * out[t - 1] + shocks[t]
    return out


def _finish_scores(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Clip to physiological bounds, make the coma-scale parts add up and refill a 0/1 flag."""
    for name, (low, high) in _BOUNDS.items():
        values[:, _INDEX[name]] = np.clip(values[:, _INDEX[name]], low, high)
    total = np.rint(values[:, _INDEX["gcs_total"]])
    values[:, _INDEX["gcs_total"]] = total
    deficit = 15 - total
    shares = rng.dirichlet(np.ones(len(_GCS_PARTS)))
    for (name, best), share in zip(_GCS_PARTS, shares):
        values[:, _INDEX[name]] = np.clip(best - np.rint(deficit * share), 1, best)
    refill = values[:, _INDEX["capillary_refill_rate"]]
    values[:, _INDEX["capillary_refill_rate"]] = (rng.random(len(refill)) < refill).astype(float)
    values[:, _INDEX["gcs_total"]] = values[:, [_INDEX[name] for name, _ in _GCS_PARTS]].sum(axis=1)
    return values


def _observation_mask(rng: np.random.Generator, hours: int, source: ClinicalSource) -> np.ndarray:
    rate = np.array([_HOURLY_RATE[kind] for kind in _KIND])
    rate[_INDEX["etco2"]] = 0.05
    observed = rng.random((hours, len(_NAMES))) < rate
    draws = rng.random(hours) < _LAB_DRAWS_PER_DAY / 24
    draws[0] = True
    labs = _KIND == "lab"
    observed[:, labs] |= draws[:, None] & (rng.random((hours, int(labs.sum()))) < 0.7)
    coma_scale = [_INDEX["gcs_total"]] + [_INDEX[name] for name, _ in _GCS_PARTS]
    observed[:, coma_scale] = observed[:, [_INDEX["gcs_total"]]]
    return observed & observed_variables(source)
