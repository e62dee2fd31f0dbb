"""Clinical encoder: hourly values and their missingness, embedded and attended over time."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from fedmeki_models.config import ClinicalEncoderConfig
from fedmeki_models.errors import ModelConfigError


class ClinicalEncoder(nn.Module):
    """Linear(values + mask) + ReLU, learned positions, Transformer over time, LayerNorm, ReLU, Linear.

    The paper's layer was sequence-first but fed batch-first tensors, so it attended across the batch;
    here attention runs over the hours of one stay, and padded hours are neither attended to nor
    returned as real tokens.

    Attributes
    ----------
    out_size : int
        Token width.
    """

    def __init__(self, config: ClinicalEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Sequential(nn.Linear(2 * config.variables, config.d_model), nn.ReLU())
        self.position = nn.Parameter(torch.zeros(config.max_steps, config.d_model))
        nn.init.normal_(self.position, std=0.02)
        layer = nn.TransformerEncoderLayer(config.d_model, config.num_heads, config.ff_size, config.dropout,
                                           batch_first=True)
        self.transformer = nn.TransformerEncoder(layer, config.num_layers, enable_nested_tensor=False)
        self.project = nn.Sequential(nn.LayerNorm(config.d_model), nn.ReLU(),
                                     nn.Linear(config.d_model, config.out_size))
        self.out_size = config.out_size

    def forward(self, batch: Mapping[str, Tensor]) -> tuple[Tensor, Tensor]:
        """Encode ``clinical`` and ``clinical_mask`` ``(B, T, V)`` into ``(B, T, out_size)``, masked by steps_mask."""
        values, steps_mask = batch["clinical"], batch["steps_mask"]
        steps = values.shape[1]
        if steps > self.config.max_steps:
            raise ModelConfigError(f"The clinical encoder takes at most {self.config.max_steps} hours, got {steps}.",
                                   hint="build the model with a larger clinical max_steps")
        hidden = self.embed(torch.cat([values, batch["clinical_mask"]], dim=-1)) + self.position[:steps]
        # A stay without any real hour would mask every key (NaN attention): let it attend to its padding,
        # its tokens are all masked out anyway.
        padding = ~steps_mask & steps_mask.any(dim=1, keepdim=True)
        hidden = self.transformer(hidden, src_key_padding_mask=padding)
        return self.project(hidden), steps_mask
