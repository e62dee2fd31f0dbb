"""Image encoder: a DeiT-shaped Vision Transformer from ``transformers`` over chest X-rays."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from fedmeki_models.config import ImageEncoderConfig
from fedmeki_models.errors import ModelConfigError

if TYPE_CHECKING:
    from transformers import DeiTConfig

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
"""Normalisation of the DeiT preprocessor, which the pretrained weights expect."""


def deit_config(config: ImageEncoderConfig) -> DeiTConfig:
    """The ``transformers`` configuration of the ViT that ``config`` describes (3 input channels)."""
    from transformers import DeiTConfig  # imported on use: transformers' vision models cost seconds to import

    return DeiTConfig(
        image_size=config.image_size, patch_size=config.patch_size, hidden_size=config.hidden_size,
        num_hidden_layers=config.num_layers, num_attention_heads=config.num_heads,
        intermediate_size=config.mlp_size, hidden_dropout_prob=config.dropout,
        attention_probs_dropout_prob=config.dropout, num_channels=3,
    )


class ImageEncoder(nn.Module):
    """DeiT over uint8 images: tokens are the CLS and distillation tokens, then one per patch.

    Scaling to [0, 1], grey-to-RGB repetition and ImageNet normalisation happen here, inside the model,
    so that training, prediction and knowledge injection can never preprocess differently.

    Attributes
    ----------
    deit : transformers.DeiTModel
        Without pooling layer; its ``state_dict`` matches the ``deit.`` part of a DeiT checkpoint.
    out_size : int
        Token width (``hidden_size``).
    """

    def __init__(self, config: ImageEncoderConfig) -> None:
        super().__init__()
        from transformers import DeiTModel

        self.config = config
        self.deit = DeiTModel(deit_config(config), add_pooling_layer=False)
        self.out_size = config.hidden_size
        # Constants, not weights: kept out of the state dict so federated averaging never sees them.
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, batch: Mapping[str, Tensor]) -> tuple[Tensor, None]:
        """Encode ``batch["image"]``, uint8 ``(B, C, S, S)`` with C = 1 or 3, into ``(B, 2 + patches, D)``."""
        image = batch["image"]
        size = self.config.image_size
        if image.dim() != 4 or image.shape[1] not in (1, 3) or tuple(image.shape[2:]) != (size, size):
            raise ModelConfigError(f"The image encoder expects images of shape (B, 1 or 3, {size}, {size}), "
                                   f"got {tuple(image.shape)}.",
                                   hint="prepare the task tensors with the image size of this model's config")
        pixels = image.float().div(255.0).expand(-1, 3, -1, -1)
        pixels = (pixels - self.mean) / self.std
        return self.deit(pixel_values=pixels).last_hidden_state, None
