"""One encoder per modality, each turning its batch inputs into a sequence of tokens.

Every encoder maps a batch (see :class:`fedmeki_models.data.TaskTensors`) to ``(tokens, token_mask)``:
tokens ``(B, L, D)`` and a bool ``(B, L)`` mask of the real tokens, or None when all are real. The
task heads pool these tokens, and knowledge injection feeds them to the foundation model.
"""

from __future__ import annotations

from torch import Tensor, nn

from fedmeki_models.config import LocalModelConfig
from fedmeki_models.encoders.clinical import ClinicalEncoder
from fedmeki_models.encoders.ecg import EcgEncoder
from fedmeki_models.encoders.image import ImageEncoder

EncoderOutput = tuple[Tensor, Tensor | None]
"""``(tokens (B, L, D), token_mask (B, L) bool or None)``."""

__all__ = ["ClinicalEncoder", "EcgEncoder", "EncoderOutput", "ImageEncoder", "build_encoder"]


def build_encoder(modality: str, config: LocalModelConfig) -> nn.Module:
    """A new, randomly initialised encoder for ``modality`` from its sub-config in ``config``."""
    if modality == "image":
        return ImageEncoder(config.image)
    if modality == "ecg":
        return EcgEncoder(config.ecg)
    return ClinicalEncoder(config.clinical)
