"""Cell values of the contract's modality columns, encoded the same way by every builder."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

_PNG_COMPRESSION = 6


def image_value(pixels: np.ndarray) -> dict:
    """Encode a grayscale ``uint8`` array as the ``Image()`` cell ``{"bytes": png, "path": None}``.

    PNG encoding with fixed settings and no metadata chunks, so equal pixels give equal bytes.

    Examples
    --------
    >>> import numpy as np
    >>> cell = image_value(np.zeros((4, 4), dtype=np.uint8))
    >>> cell["bytes"][:8] == b"\\x89PNG\\r\\n\\x1a\\n", cell["path"]
    (True, None)
    """
    if pixels.dtype != np.uint8 or pixels.ndim != 2:
        raise ValueError(f"expected a 2-D uint8 array, got {pixels.dtype} with shape {pixels.shape}")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=_PNG_COMPRESSION)
    return {"bytes": buffer.getvalue(), "path": None}
