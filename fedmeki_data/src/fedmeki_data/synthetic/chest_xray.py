"""Synthetic frontal (PA) chest radiographs with three learnable findings and scanner-specific styles.

An image is an attenuation map (air 0, soft tissue about 0.6, bone brighter) drawn from a randomly
posed and sized patient: torso and neck, two lung fields resting on the diaphragm domes, heart and
mediastinum, spine, ribs and clavicles, lung markings. Findings add their own density pattern:

- ``lung_opacity``: one to three focal, fairly well-defined opacities inside one lung field;
- ``covid19``: hazy, patchy ground-glass opacities in the lower, peripheral zones of both lungs;
- ``enlarged_cardiomediastinum``: an enlarged heart (cardiothoracic ratio 0.52-0.66, against 0.40-0.48
  normally), in some patients with a widened upper mediastinum too.

Each finding's strength is drawn per image, so some cases are subtle. The ``scanner`` picks the
acquisition style (contrast, gamma, brightness, noise, blur, collimation border): images of one site look
alike and sites differ, a natural domain shift. Radiological convention: the patient's left is on the
image right, so the heart extends further to the image right.

Examples
--------
>>> import numpy as np
>>> image = render_chest_xray(np.random.default_rng(0), 64, frozenset({"covid19"}), scanner=2)
>>> image.shape, image.dtype
((64, 64), dtype('uint8'))
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import numpy as np

from fedmeki_data.synthetic.drawing import (
    SIDES,
    band,
    check_choice,
    check_size,
    finish,
    gaussian_blob,
    image_x_sign,
    ramp,
    random_grid,
    smooth_noise,
    soft_ellipse,
    tone_curve,
    triangle_wave,
)

FINDINGS = ("lung_opacity", "covid19", "enlarged_cardiomediastinum")
# Ranges of gamma, contrast, brightness, noise and blur (pixels at 128 px) over the scanners. Their Weyl
# steps (fractional parts of square roots, then two for the collimation border) were picked to keep the
# styles of scanners 0-7 far apart from each other.
_STYLE_RANGES = ((0.65, 1.6), (0.85, 1.2), (-0.1, 0.1), (0.01, 0.07), (0.3, 0.9))
_STYLE_STEPS = tuple(math.sqrt(n) % 1.0 for n in (8, 19, 20, 26, 33, 13, 3))
_REFERENCE_SIZE = 128  # blur widths are tuned at this size and scaled with the image
_SOFT_TISSUE, _LUNG_AIR, _CARDIAC = 0.6, 0.44, 0.1  # attenuation added by each compartment


@dataclass(frozen=True)
class _Style:
    """Acquisition style of one scanner: display curve, noise, blur and collimation."""

    gamma: float
    contrast: float
    brightness: float
    noise: float
    blur: float
    border: float
    border_value: float


@dataclass(frozen=True)
class _Thorax:
    """One patient's geometry, in normalised patient coordinates; index 0 of pairs is the image left."""

    lung_cx: tuple[float, float]
    lung_rx: tuple[float, float]
    lung_ry: tuple[float, float]
    dome_y: tuple[float, float]
    lung_cy: float
    heart: tuple[float, float, float, float]  # cy, cx, ry, rx
    mediastinum: float  # half width of the upper mediastinum


def render_chest_xray(
    rng: np.random.Generator,
    size: int,
    findings: frozenset[str] = frozenset(),
    *,
    scanner: int = 0,
    opacity_side: str | None = None,
) -> np.ndarray:
    """Render one synthetic frontal chest radiograph.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness: the same generator state gives the same image.
    size : int
        Image side in pixels (>= 16).
    findings : frozenset of str, default=frozenset()
        Findings present, any subset of :data:`FINDINGS`; they may co-occur.
    scanner : int, default=0
        Acquisition style id (>= 0); the same id always gives the same style, so it can stand for a site.
    opacity_side : {"left", "right"} or None, default=None
        Patient side of the ``lung_opacity`` opacities; None puts each in a random lung. Lets a caller
        (the VQA generator) know the answer to a laterality question.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of shape ``(size, size)``: air dark, bone and soft tissue bright.
    """
    _check_request(size, findings, scanner, opacity_side)
    strength = {finding: rng.uniform(0.35, 1.0) for finding in FINDINGS if finding in findings}
    thorax = _sample_thorax(rng, strength.get("enlarged_cardiomediastinum", 0.0))
    y, x = random_grid(rng, size)
    lungs = _lung_fields(y, x, thorax)
    density, air = _anatomy(rng, y, x, thorax, lungs)
    filled = []  # fractions of the air that findings replace with fluid or tissue
    if "lung_opacity" in strength:
        filled.append(_focal_opacities(rng, y, x, thorax, lungs, strength["lung_opacity"], opacity_side))
    if "covid19" in strength:
        filled.append(_ground_glass(rng, y, x, thorax, lungs, strength["covid19"]))
    if filled:
        density += _LUNG_AIR * air * np.minimum(sum(filled), 1.0)
    return _expose(rng, density, _scanner_style(operator.index(scanner)))


def _check_request(size: int, findings: frozenset[str], scanner: int, opacity_side: str | None) -> None:
    """Reject sizes, findings, scanners and sides the renderer cannot draw."""
    check_size(size)
    if isinstance(findings, str):
        raise TypeError(f"findings must be a set of names, not the string {findings!r}.")
    for finding in sorted(findings):
        check_choice("chest X-ray finding", finding, FINDINGS)
    if operator.index(scanner) < 0:
        raise ValueError(f"Scanner id {scanner!r} is negative; expected an integer >= 0.")
    if opacity_side is not None:
        check_choice("side", opacity_side, SIDES)


def _scanner_style(scanner: int) -> _Style:
    """The acquisition style of ``scanner``: each parameter walks its range along a Weyl sequence.

    Irrational steps spread consecutive ids far apart in every parameter at once, with no generator
    to seed; scanner 0 gets the middle of every range.
    """
    u = [(0.5 + scanner * step) % 1.0 for step in _STYLE_STEPS]
    gamma, contrast, brightness, noise, blur = (low + (high - low) * v for (low, high), v in zip(_STYLE_RANGES, u))
    border = 0.03 + 0.05 * u[5] if u[6] < 0.45 else 0.0
    return _Style(gamma, contrast, brightness, noise, blur, border, float(u[5] > 0.5))


def _sample_thorax(rng: np.random.Generator, enlargement: float) -> _Thorax:
    """Draw a patient's lungs, domes, heart and mediastinum; ``enlargement`` > 0 enlarges the latter."""
    lung_rx = rng.uniform(0.28, 0.34) * rng.uniform(0.95, 1.05, 2)
    lung_ry = rng.uniform(0.74, 0.84) * rng.uniform(0.96, 1.04, 2)
    lung_cx = np.array([-1.0, 1.0]) * (lung_rx + rng.uniform(0.07, 0.11, 2))
    lung_cy = rng.uniform(-0.02, 0.08)
    dome_y = lung_cy + 0.72 * lung_ry + np.array([-0.05, 0.0]) + rng.uniform(-0.03, 0.03, 2)
    thoracic_width = (lung_cx[1] + lung_rx[1]) - (lung_cx[0] - lung_rx[0])
    ratio = 0.52 + 0.14 * enlargement if enlargement else rng.uniform(0.4, 0.48)
    widen = enlargement > 0 and rng.random() < 0.4
    heart_rx = 0.5 * ratio * thoracic_width
    heart_ry = rng.uniform(0.42, 0.5) * (1.0 + 0.6 * (ratio - 0.44))
    heart = (float(dome_y.mean() - 0.05), float(0.4 * heart_rx), float(heart_ry), float(heart_rx))
    mediastinum = rng.uniform(0.08, 0.1) * (1.45 + 0.6 * enlargement if widen else 1.0)
    pairs = (tuple(values.tolist()) for values in (lung_cx, lung_rx, lung_ry, dome_y))
    return _Thorax(*pairs, lung_cy=lung_cy, heart=heart, mediastinum=mediastinum)


def _lung_fields(y: np.ndarray, x: np.ndarray, thorax: _Thorax) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the two lung fields (image left first), each cut from below by its diaphragm dome."""
    fields = []
    for i in range(2):
        cx, rx = thorax.lung_cx[i], thorax.lung_rx[i]
        ellipse = soft_ellipse(y, x, thorax.lung_cy, cx, thorax.lung_ry[i], rx, edge=0.05)
        dome = thorax.dome_y[i] - 0.18 * (1.0 - ((x - cx) * (1.0 / (1.2 * rx))) ** 2)
        fields.append(ellipse * ramp(dome - y, 0.04))
    return fields[0], fields[1]


def _anatomy(
    rng: np.random.Generator, y: np.ndarray, x: np.ndarray, thorax: _Thorax, lungs: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Attenuation of a normal chest (soft tissue, aerated lungs with markings, heart, bones) and the
    aerated fraction of each pixel, which opacities fill."""
    body = _body(y, x)
    cardiac = _cardiomediastinal(y, x, thorax)
    markings = 1.0 - 0.15 * smooth_noise(rng, y.shape[0], 18)
    hila = gaussian_blob(y, np.abs(x), thorax.lung_cy - 0.05, 0.2, 0.2, 0.16)
    air = (lungs[0] + lungs[1]) * (1.0 - 0.95 * cardiac) * (markings - 0.4 * hila)
    above_domes = ramp(max(thorax.dome_y) - 0.1 - y, 0.2)  # the heart merges with the diaphragm below
    density = _SOFT_TISSUE * body - _LUNG_AIR * air + _CARDIAC * cardiac * above_domes + _bones(y, x, thorax) * body
    if rng.random() < 0.5:  # about half of the patients show air in the stomach
        density -= 0.3 * _gastric_bubble(rng, y, x, thorax)
    return density, air


def _body(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Soft-tissue silhouette: chest wall reaching the image sides, rounded shoulders and the neck."""
    dx = np.abs(x)
    shoulders = -0.8 + 0.6 * np.maximum(dx - 0.3, 0.0) ** 2
    torso = soft_ellipse(y, x, 0.45, 0.0, 1.5, 1.02, edge=0.06) * ramp(y - shoulders, 0.08)
    return np.maximum(torso, band(x, 0.3, 0.05))


def _cardiomediastinal(y: np.ndarray, x: np.ndarray, thorax: _Thorax) -> np.ndarray:
    """Mask of the heart, the upper mediastinum (with the aortic knob) and the trachea's dark column."""
    cy, cx, ry, rx = thorax.heart
    heart = soft_ellipse(y, x, cy, cx, ry, rx, angle=math.radians(-12), edge=0.04)
    upper = band(x - 0.01, thorax.mediastinum, 0.03) * ramp(cy - y, 0.1)
    knob = soft_ellipse(y, x, thorax.lung_cy - 0.34, thorax.mediastinum, 0.1, 0.07)
    trachea = band(x, 0.03, 0.02) * ramp(thorax.lung_cy - 0.3 - y, 0.06)
    return np.maximum(np.maximum(heart, upper), knob) - 0.5 * trachea


def _bones(y: np.ndarray, x: np.ndarray, thorax: _Thorax) -> np.ndarray:
    """Extra attenuation of the spine, the (posterior) ribs and the clavicles."""
    dx, v = np.abs(x), y - thorax.lung_cy
    dx2 = dx * dx
    spacing = 0.17 * thorax.lung_ry[0]
    spine = band(x, 0.07, 0.03) * (0.04 + 0.04 * ramp(triangle_wave(v * (1.0 / spacing)) - 0.3, 0.3))
    posterior = ramp(triangle_wave((v + 0.4 * dx - 1.1 * dx2) * (1.0 / spacing)) - 0.5, 0.25)
    lateral = max(thorax.lung_cx[1] + thorax.lung_rx[1], thorax.lung_rx[0] - thorax.lung_cx[0]) + 0.05
    cage = band(dx - 0.5 * (lateral + 0.06), 0.5 * (lateral - 0.06), 0.06) * ramp(min(thorax.dome_y) - y, 0.12)
    clavicle = v + 0.8 * thorax.lung_ry[0] + 0.25 * dx - 0.2 * dx2
    clavicles = band(clavicle, 0.035) * band(dx - 0.36, 0.3, 0.05)
    return spine + 0.07 * cage * posterior + 0.2 * clavicles


def _gastric_bubble(rng: np.random.Generator, y: np.ndarray, x: np.ndarray, thorax: _Thorax) -> np.ndarray:
    """Mask of the stomach's air bubble, under the left dome (image right)."""
    cx = thorax.lung_cx[1] + rng.uniform(-0.08, 0.02)
    return soft_ellipse(y, x, thorax.dome_y[1] + 0.1, cx, 0.05, rng.uniform(0.06, 0.1), edge=0.03)


def _focal_opacities(
    rng: np.random.Generator, y: np.ndarray, x: np.ndarray, thorax: _Thorax,
    lungs: tuple[np.ndarray, np.ndarray], strength: float, side: str | None,
) -> np.ndarray:
    """Filled fraction of one to three well-defined rounded opacities, each inside one lung field."""
    density = np.zeros_like(y)
    for _ in range(rng.integers(1, 4)):
        lung = rng.integers(2) if side is None else int(image_x_sign(side) > 0)
        angle, reach = rng.uniform(0, 2 * math.pi), 0.6 * math.sqrt(rng.random())
        cy = thorax.lung_cy - 0.1 + 0.75 * reach * thorax.lung_ry[lung] * math.sin(angle)
        cx = thorax.lung_cx[lung] + reach * thorax.lung_rx[lung] * math.cos(angle)
        radius = rng.uniform(0.12, 0.21)
        blob = soft_ellipse(y, x, cy, cx, radius, radius * rng.uniform(0.75, 1.3), edge=0.3 * radius)
        density += blob * lungs[lung]
    return (0.75 + 0.25 * strength) * np.minimum(density, 1.0)


def _ground_glass(
    rng: np.random.Generator, y: np.ndarray, x: np.ndarray, thorax: _Thorax,
    lungs: tuple[np.ndarray, np.ndarray], strength: float,
) -> np.ndarray:
    """Filled fraction of patchy haze in the lower, peripheral zone of both lungs (bilateral ground glass)."""
    patches = np.clip(0.55 + 0.5 * smooth_noise(rng, y.shape[0], 7), 0.0, 1.0)
    haze = np.zeros_like(y)
    for i, outward in enumerate((-1.0, 1.0)):
        lower = ramp(y - thorax.lung_cy - rng.uniform(-0.1, 0.05), 0.35)
        peripheral = ramp(outward * (x - thorax.lung_cx[i]) + 0.1 * thorax.lung_rx[i], 0.3)
        haze += lungs[i] * lower * peripheral
    return (0.6 + 0.4 * strength) * haze * patches


def _expose(rng: np.random.Generator, density: np.ndarray, style: _Style) -> np.ndarray:
    """Map attenuation to display intensity with the scanner's curve, collimate, add noise and blur."""
    contrast = style.contrast * rng.uniform(0.92, 1.08)
    brightness = style.brightness + rng.uniform(-0.04, 0.04)
    image = tone_curve(brightness + contrast * density, style.gamma)
    size = density.shape[0]
    if style.border:
        edge = max(1, round(style.border * size))
        image[:edge] = image[-edge:] = style.border_value
        image[:, :edge] = image[:, -edge:] = style.border_value
    return finish(image, rng, noise=style.noise, blur=style.blur * size / _REFERENCE_SIZE)
