"""Image decoding shared by the image sources: DICOM as radiologists see it, then one stored size."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from fedmeki_data.encoding import image_value
from fedmeki_data.sources.base import Record, Skipped, error_reason
from fedmeki_data.tasks import get_task

_GRAY_MODES = ("1", "L", "I", "I;16", "I;16B", "I;16L", "F")


def dicom_pixels(path: str | Path) -> np.ndarray:
    """Pixels of a DICOM image as float, with the VOI LUT (or window) applied and MONOCHROME1 inverted.

    Raises whatever pydicom raises for an unreadable file; callers turn that into a skipped record.
    """
    import pydicom
    from pydicom.pixels import apply_voi_lut

    dataset = pydicom.dcmread(str(path))
    pixels = apply_voi_lut(dataset.pixel_array, dataset).astype(np.float64)
    if dataset.get("PhotometricInterpretation") == "MONOCHROME1":
        pixels = pixels.max() - pixels
    return pixels


def stored_image(pixels: np.ndarray | Image.Image, size: int) -> dict:
    """The ``image`` cell of a record: grayscale, min-max scaled to 8 bits, resized to ``size`` square (bicubic)."""
    if isinstance(pixels, Image.Image):
        pixels = np.asarray(pixels.convert("L"), dtype=np.float64)
    pixels = np.asarray(pixels, dtype=np.float64)
    if pixels.ndim == 3:
        pixels = pixels.mean(axis=2)
    low, high = float(pixels.min()), float(pixels.max())
    scaled = np.zeros_like(pixels) if high <= low else (pixels - low) / (high - low) * 255.0
    image = Image.fromarray(np.round(scaled).astype(np.uint8)).resize((size, size), Image.Resampling.BICUBIC)
    return image_value(np.asarray(image))


def image_file(path: str | Path, size: int) -> dict:
    """The image cell of a PNG or JPG file (16-bit grayscale kept at full depth before scaling).

    Raises whatever Pillow raises for an unreadable file; callers turn that into a skipped record.
    """
    with Image.open(path) as image:
        image.load()
        pixels = np.asarray(image if image.mode in _GRAY_MODES else image.convert("L"), dtype=np.float64)
    return stored_image(pixels, size)


def binary_image_record(task: str, record_id: str, image: str, *, group: str, site: str, label: int, size: int,
                        decode: Callable[[str, int], dict] = image_file, kind: str = "image") -> Record | Skipped:
    """The record of a yes/no image task, or why its image file cannot be used (missing, unreadable ``kind``)."""
    if not Path(image).is_file():
        return Skipped(record_id, "missing image")
    try:
        cell = decode(image, size)
    except Exception as error:  # noqa: BLE001  (any decoding failure is a skipped record, not a crash)
        return Skipped(record_id, f"unreadable {kind}: {error_reason(error)}")
    spec = get_task(task)
    return Record(id=record_id, group=group, site=site, question=spec.instruction, answer=spec.label_names[label],
                  label=label, inputs={"image": cell})


def dicom_file(path: str, size: int) -> dict:
    """The image cell of a DICOM file (see :func:`dicom_pixels`)."""
    return stored_image(dicom_pixels(path), size)
