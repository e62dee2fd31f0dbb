"""Vectorised drawing primitives shared by the synthetic image generators.

Shapes are drawn on normalised coordinates: ``y`` runs from -1 (top row) to 1 (bottom row) and ``x``
from -1 (left column) to 1 (right column), so one anatomy description serves every image size. Masks
are float32 in [0, 1] with soft edges, which keeps the images anti-aliased without supersampling.

Images follow the radiological convention: the patient faces the viewer, so the patient's left side
is drawn on the image right (``x > 0``) and the patient's right side on the image left.

Examples
--------
>>> y, x = grid(5)
>>> round(float(y[0, 0]), 3), round(float(x[0, -1]), 3)
(-0.8, 0.8)
>>> disc = soft_ellipse(y, x, 0.0, 0.0, 0.5, 0.5)
>>> float(disc[2, 2]), float(disc[0, 0])
(1.0, 0.0)
"""

from __future__ import annotations

import math
import operator

import numpy as np
from PIL import Image

SIDES = ("left", "right")
"""Patient sides a lateralised finding can sit on."""


def check_choice(kind: str, value: object, allowed: tuple[str, ...]) -> None:
    """Raise ``ValueError`` naming ``value`` and the allowed values when ``value`` is not one of them.

    Parameters
    ----------
    kind : str
        What ``value`` is, for the message (e.g. ``"organ"``).
    value : object
        The value to check.
    allowed : tuple of str
        The accepted values.
    """
    if value not in allowed:
        raise ValueError(f"Unknown {kind} {value!r}; expected one of {', '.join(map(repr, allowed))}.")


def check_size(size: int) -> None:
    """Raise ``ValueError`` for image sizes too small to hold the anatomy.

    Parameters
    ----------
    size : int
        Image side in pixels; at least 16.
    """
    if operator.index(size) < 16:
        raise ValueError(f"Image size {size!r} is too small; expected at least 16 pixels.")


def image_x_sign(side: str) -> float:
    """Which half of the image shows the patient's ``side``, by the radiological convention.

    Parameters
    ----------
    side : {"left", "right"}
        The patient's side.

    Returns
    -------
    float
        +1.0 for the patient's left (image right, ``x > 0``), -1.0 for the patient's right.
    """
    check_choice("side", side, SIDES)
    return 1.0 if side == "left" else -1.0


def grid(
    size: int, *, center: tuple[float, float] = (0.0, 0.0), scale: float = 1.0, angle: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(y, x)`` in the frame of a posed patient.

    Parameters
    ----------
    size : int
        Image side in pixels.
    center : tuple of float, default=(0, 0)
        Where the patient's origin lies in the image, as normalised ``(y, x)``.
    scale : float, default=1.0
        Patient size relative to the image; above 1 the patient fills more of the frame.
    angle : float, default=0.0
        In-plane rotation of the patient, in radians.

    Returns
    -------
    y, x : numpy.ndarray
        Float32 arrays of shape ``(size, size)``; drawing on them poses every shape at once.
    """
    axis = (np.arange(size, dtype=np.float32) + 0.5) * (2.0 / operator.index(size)) - 1.0
    dy = (axis[:, None] - center[0]) / scale
    dx = (axis[None, :] - center[1]) / scale
    cos, sin = math.cos(angle), math.sin(angle)
    return dy * cos - dx * sin, dx * cos + dy * sin


def random_grid(
    rng: np.random.Generator, size: int, *, shift: float = 0.05, scale: tuple[float, float] = (0.9, 1.02),
    degrees: float = 4.0,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`grid` for a randomly posed patient, so that no two patients line up pixel for pixel.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the pose.
    size : int
        Image side in pixels.
    shift : float, default=0.05
        Largest shift of the patient along each axis, in normalised units.
    scale : tuple of float, default=(0.9, 1.02)
        Range of the patient's size relative to the image.
    degrees : float, default=4.0
        Largest in-plane rotation.

    Returns
    -------
    y, x : numpy.ndarray
        As :func:`grid`.
    """
    center = (rng.uniform(-shift, shift), rng.uniform(-shift, shift))
    angle = math.radians(rng.uniform(-degrees, degrees))
    return grid(size, center=center, scale=rng.uniform(*scale), angle=angle)


def paint(image: np.ndarray, mask: np.ndarray, value: float | np.ndarray) -> np.ndarray:
    """Cover ``image`` with ``value`` where ``mask`` is 1, as a painter covers what lies behind.

    Parameters
    ----------
    image : numpy.ndarray
        Float image, changed in place.
    mask : numpy.ndarray
        Coverage in [0, 1]; fractional at soft edges, which blend.
    value : float or numpy.ndarray
        A level, or a texture of the image's shape.

    Returns
    -------
    numpy.ndarray
        ``image``, for chaining.
    """
    image += mask * (value - image)
    return image


def ramp(signed_distance: np.ndarray, edge: float) -> np.ndarray:
    """Anti-aliased inside test: a linear step from 0 to 1 across a border.

    Parameters
    ----------
    signed_distance : numpy.ndarray
        Distance to the border, positive inside.
    edge : float
        Width of the step, centred on the border.

    Returns
    -------
    numpy.ndarray
        Coverage in [0, 1].
    """
    return np.clip(signed_distance * (1.0 / edge) + 0.5, 0.0, 1.0)


def soft_ellipse(
    y: np.ndarray, x: np.ndarray, cy: float, cx: float, ry: float, rx: float, *,
    angle: float = 0.0, edge: float = 0.04,
) -> np.ndarray:
    """Filled ellipse mask with a soft border, the building block of organs and lesions.

    Parameters
    ----------
    y, x : numpy.ndarray
        Coordinates from :func:`grid`.
    cy, cx : float
        Centre.
    ry, rx : float
        Semi-axes along ``y`` and ``x`` before rotation.
    angle : float, default=0.0
        Rotation in radians.
    edge : float, default=0.04
        About how wide the border blurs, in normalised units.

    Returns
    -------
    numpy.ndarray
        Coverage in [0, 1]: 1 inside, 0 outside.
    """
    dy, dx = y - cy, x - cx
    if angle:
        cos, sin = math.cos(angle), math.sin(angle)
        dy, dx = dy * cos - dx * sin, dx * cos + dy * sin
    # Near the border (1 - r^2) / 2 approximates the distance to it in radii, with no square root; the
    # ramp's scale is folded into the coefficients to spare whole-image operations.
    slope = 0.25 * (rx + ry) / edge
    inside = (slope + 0.5) - (dy * dy * (slope / (ry * ry)) + dx * dx * (slope / (rx * rx)))
    return np.clip(inside, 0.0, 1.0)


def band(distance: np.ndarray, half_width: float, edge: float = 0.02) -> np.ndarray:
    """Mask of a stripe along a curve (a rib, the spine, a clavicle).

    Parameters
    ----------
    distance : numpy.ndarray
        Signed distance of each pixel to the curve.
    half_width : float
        Half the stripe's width.
    edge : float, default=0.02
        Width of the soft border.

    Returns
    -------
    numpy.ndarray
        Coverage in [0, 1].
    """
    return ramp(half_width - np.abs(distance), edge)


def gaussian_blob(
    y: np.ndarray, x: np.ndarray, cy: float, cx: float, sigma_y: float, sigma_x: float,
) -> np.ndarray:
    """Axis-aligned Gaussian bump, for diffuse densities without a border (the hila).

    Parameters
    ----------
    y, x : numpy.ndarray
        Coordinates from :func:`grid`.
    cy, cx : float
        Centre.
    sigma_y, sigma_x : float
        Widths along each axis.

    Returns
    -------
    numpy.ndarray
        Values in (0, 1], 1 at the centre.
    """
    return np.exp(-0.5 * (((y - cy) * (1.0 / sigma_y)) ** 2 + ((x - cx) * (1.0 / sigma_x)) ** 2))


def triangle_wave(t: np.ndarray) -> np.ndarray:
    """Periodic profile that draws repeated stripes (ribs, vertebrae) through :func:`ramp`.

    Parameters
    ----------
    t : numpy.ndarray
        Phase, in periods.

    Returns
    -------
    numpy.ndarray
        1 at integer ``t``, falling linearly to 0 half-way between.
    """
    return np.abs(2.0 * (t - np.floor(t)) - 1.0)


def smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Low-frequency random texture, about N(0, 1) per pixel, varying over ``size / cells`` pixels.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the random coarse grid.
    size : int
        Output side in pixels.
    cells : int
        Number of independent values along each side; few cells give blotchy, many give fine texture.

    Returns
    -------
    numpy.ndarray
        Float32 array of shape ``(size, size)``.
    """
    coarse = rng.standard_normal((cells, cells), dtype=np.float32)
    resized = Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(resized, dtype=np.float32)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur with edge padding: the point spread of the imaging system.

    Parameters
    ----------
    image : numpy.ndarray
        2-D float image.
    sigma : float
        Standard deviation in pixels; <= 0 returns ``image`` unchanged.

    Returns
    -------
    numpy.ndarray
        Blurred image of the same shape.
    """
    if sigma <= 0:
        return image
    radius = max(1, int(3.0 * sigma + 0.5))
    taps = np.arange(-radius, radius + 1, dtype=np.float32)
    kernel = np.exp(-0.5 * (taps / sigma) ** 2)
    kernel /= kernel.sum()
    return _blur_rows(_blur_rows(image, kernel).T, kernel).T


def _blur_rows(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve every column of ``image`` with ``kernel`` along axis 0 (one shifted slice per tap)."""
    radius, rows = len(kernel) // 2, image.shape[0]
    padded = np.pad(image, ((radius, radius), (0, 0)), mode="edge")
    out = kernel[0] * padded[:rows]
    for tap in range(1, len(kernel)):
        out += kernel[tap] * padded[tap:tap + rows]
    return out


def finish(image: np.ndarray, rng: np.random.Generator, *, noise: float, blur: float) -> np.ndarray:
    """Add detector noise, blur it with the imaging system's spread and quantise to ``uint8``.

    Parameters
    ----------
    image : numpy.ndarray
        Float intensities, 0 = black and 1 = white.
    rng : numpy.random.Generator
        Source of the noise.
    noise : float
        Standard deviation of the noise, in intensity units, before the blur softens it. The noise is
        uniform (four times cheaper to draw than normal); the blur makes it about Gaussian.
    blur : float
        Gaussian blur sigma in pixels.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array of the same shape.
    """
    uniform = rng.random(image.shape, dtype=np.float32) - 0.5
    blurred = gaussian_blur(image + (noise * math.sqrt(12.0)) * uniform, blur)
    return (np.clip(blurred, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def tone_curve(image: np.ndarray, gamma: float) -> np.ndarray:
    """Display curve of a detector: clip to [0, 1], then raise to ``gamma``.

    A 1024-entry table is about five times faster than ``**`` on float32 images.

    Parameters
    ----------
    image : numpy.ndarray
        Float intensities.
    gamma : float
        Exponent; above 1 darkens the mid-tones.

    Returns
    -------
    numpy.ndarray
        Float32 intensities in [0, 1].
    """
    table = np.linspace(0.0, 1.0, 1024, dtype=np.float32) ** gamma
    return table[(np.clip(image, 0.0, 1.0) * 1023.0 + 0.5).astype(np.intp)]
