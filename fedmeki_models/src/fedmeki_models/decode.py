"""Decoders from the dataset contract's columns to the model's input arrays (numpy, whole columns at once).

Each function takes what a split stores and returns what :class:`fedmeki_models.data.TaskTensors` holds:

- :func:`decode_image`: encoded image bytes -> uint8 ``(S, S)`` grayscale, resized with bicubic filtering;
- :func:`normalise_ecg`: ``(N, 1000, 12)`` millivolts -> z-scored per record and lead;
- :func:`clinical_window`: hourly rows of every stay -> the last ``max_steps`` hours, scaled by each
  variable's normal range, with the measured and real-hour masks;
- :func:`nested_values`: an Arrow ``list<list<float>>`` column (``Array2D``) -> one 2-D array of all rows and
  the row count of each record, without a Python loop over records.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fedmeki_data.errors import DatasetIntegrityError
from fedmeki_data.schema import CLINICAL_VARIABLES

FLAT_LEAD_STD = 1e-6
"""A lead whose standard deviation over time is below this is flat (disconnected) and becomes zeros."""


def _clinical_scale() -> tuple[np.ndarray, np.ndarray]:
    """``(mid, half_width)`` per canonical variable, from its ``normal_range``.

    A few variables have a single normal value (capillary refill 0, Glasgow scores at their maximum); they
    are scaled by ``max(|mid| / 2, 1)`` instead, so a Glasgow score of 3..15 maps to about -1.6..0.
    """
    low = np.array([variable.normal_range[0] for variable in CLINICAL_VARIABLES], dtype=np.float64)
    high = np.array([variable.normal_range[1] for variable in CLINICAL_VARIABLES], dtype=np.float64)
    mid, half = (low + high) / 2, (high - low) / 2
    degenerate = half <= 0
    half[degenerate] = np.maximum(np.abs(mid[degenerate]) / 2, 1.0)
    return mid.astype(np.float32), half.astype(np.float32)


CLINICAL_MID, CLINICAL_HALF_WIDTH = _clinical_scale()
"""Centre and half-width of each variable's scaling, in ``CLINICAL_VARIABLES`` order."""


def decode_image(data: bytes | None, path: str | None, size: int) -> np.ndarray:
    """One stored image as uint8 grayscale ``(size, size)``.

    Parameters
    ----------
    data : bytes or None
        The encoded image (PNG, JPEG, ...), as an ``Image(decode=False)`` column stores it.
    path : str or None
        Used only when ``data`` is None.
    size : int
        Output side in pixels (bicubic resize; the aspect ratio is not kept, as in the paper's transform).

    Notes
    -----
    16-bit and 32-bit images (modes ``I;16``, ``I``, ``F``) are scaled by their own maximum to 0..255,
    since their stored range differs between sources; 8-bit images keep their values.
    """
    from PIL import Image

    if data is None:
        if not path:
            raise DatasetIntegrityError("An image record holds neither bytes nor a path.",
                                        hint="rebuild the dataset folder")
        data = Path(path).read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        if image.mode.startswith("I") or image.mode == "F":
            pixels = np.asarray(image, dtype=np.float64)
            peak = pixels.max(initial=0.0)
            pixels = np.clip(pixels, 0, None) * (255.0 / peak) if peak > 0 else np.zeros_like(pixels)
            gray = Image.fromarray(np.rint(pixels).astype(np.uint8), mode="L")
        else:
            gray = image.convert("L")
    if gray.size != (size, size):
        gray = gray.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(gray, dtype=np.uint8)


def nested_values(column: pa.ChunkedArray | pa.Array, width: int, *, name: str) -> tuple[np.ndarray, np.ndarray]:
    """All rows of a ``list<list<float>>`` (``Array2D``) column as one float32 ``(sum(rows), width)`` array.

    Returns
    -------
    values : ndarray of float32
        Row ``offsets[i]:offsets[i + 1]`` belongs to record ``i``; nulls become NaN.
    offsets : ndarray of int64
        ``(N + 1,)`` start of each record's rows, then the total.

    Raises
    ------
    DatasetIntegrityError
        If some row does not have ``width`` values.
    """
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    arrays = [chunk.storage if isinstance(chunk, pa.ExtensionArray) else chunk for chunk in chunks]
    if not arrays:
        return np.zeros((0, width), np.float32), np.zeros(1, np.int64)
    outer = pa.concat_arrays(arrays) if len(arrays) > 1 else arrays[0]
    rows = outer.flatten()
    lengths = pc.list_value_length(rows).to_numpy(zero_copy_only=False)
    if len(lengths) and (lengths != width).any():
        bad = int(np.flatnonzero(lengths != width)[0])
        raise DatasetIntegrityError(f"{name}: a row has {lengths[bad]} values where the contract has {width}.",
                                    hint="rebuild the dataset with this FedMEKI version")
    values = rows.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    counts = pc.list_value_length(outer).to_numpy(zero_copy_only=False).astype(np.int64)
    return values.reshape(-1, width), np.concatenate([[0], np.cumsum(counts)])


def normalise_ecg(signals: np.ndarray, *, name: str = "ecg") -> np.ndarray:
    """Z-score ``(N, T, leads)`` signals per record and lead over time; a flat lead becomes zeros."""
    signals = np.asarray(signals, dtype=np.float32)
    finite = np.isfinite(signals).all(axis=(1, 2))
    if not finite.all():
        raise DatasetIntegrityError(f"{name}: record {int(np.flatnonzero(~finite)[0])} holds NaN or infinite samples.",
                                    hint="the ECG column must be finite millivolts; rebuild the dataset")
    # Statistics in float64 (one value per lead), the arithmetic on the signals in float32 (memory).
    mean = signals.mean(axis=1, keepdims=True, dtype=np.float64)
    std = signals.std(axis=1, keepdims=True, dtype=np.float64)
    flat = std < FLAT_LEAD_STD
    out = (signals - mean.astype(np.float32)) / np.where(flat, 1.0, std).astype(np.float32)
    out[np.broadcast_to(flat, out.shape)] = 0.0
    return out


def clinical_window(values: np.ndarray, offsets: np.ndarray, max_steps: int, *, name: str = "clinical"
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The last ``max_steps`` hours of each stay, scaled, padded at the end.

    Parameters
    ----------
    values : ndarray
        ``(sum(T_i), V)`` hourly rows of all stays, NaN = not measured (from :func:`nested_values`).
    offsets : ndarray
        ``(N + 1,)`` row offsets of the stays.
    max_steps : int
        Hours kept: the last ones, closest to the prediction time.

    Returns
    -------
    clinical : float32 ``(N, max_steps, V)``
        ``(x - mid) / half_width`` per variable, 0 where not measured or padded.
    clinical_mask : float32 ``(N, max_steps, V)``
        1 where measured.
    steps_mask : bool ``(N, max_steps)``
        True for a real hour.
    """
    if max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    hours = np.diff(offsets)
    if (hours < 1).any():
        raise DatasetIntegrityError(f"{name}: stay {int(np.flatnonzero(hours < 1)[0])} has no hourly rows.",
                                    hint="every clinical record needs at least one hour; rebuild the dataset")
    kept = np.minimum(hours, max_steps)
    start = offsets[1:] - kept
    steps = np.arange(max_steps)
    steps_mask = steps[None, :] < kept[:, None]
    source_rows = (start[:, None] + steps[None, :])[steps_mask]
    window = np.full((len(hours), max_steps, values.shape[1]), np.nan, dtype=np.float32)
    window[steps_mask] = values[source_rows]
    measured = ~np.isnan(window)
    scaled = (window - CLINICAL_MID) / CLINICAL_HALF_WIDTH
    return np.where(measured, scaled, 0.0).astype(np.float32), measured.astype(np.float32), steps_mask
