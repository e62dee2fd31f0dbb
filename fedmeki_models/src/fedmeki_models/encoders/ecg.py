"""ECG encoder: the paper's 1-D convolution stack over the leads, then a linear map of each lead's signal."""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn

from fedmeki_models.config import EcgEncoderConfig


class EcgEncoder(nn.Module):
    """``conv_layers`` x (Conv1d + BatchNorm + ReLU [+ MaxPool]), then Linear(time -> out_size).

    The output has one token per channel, ``(B, channels, out_size)``: one per lead with the paper's
    ``channels == leads``, as the foundation model expects.

    Attributes
    ----------
    out_size : int
        Token width.
    """

    def __init__(self, config: EcgEncoderConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        width = config.leads
        for _ in range(config.conv_layers):
            layers += [nn.Conv1d(width, config.channels, config.kernel_size, padding=config.kernel_size // 2),
                       nn.BatchNorm1d(config.channels), nn.ReLU()]
            if config.pool > 1:
                layers.append(nn.MaxPool1d(config.pool))
            width = config.channels
        self.conv = nn.Sequential(*layers)
        self.project = nn.Linear(config.pooled_samples, config.out_size)
        self.out_size = config.out_size

    def forward(self, batch: Mapping[str, Tensor]) -> tuple[Tensor, None]:
        """Encode ``batch["ecg"]``, float32 ``(B, samples, leads)``, into ``(B, channels, out_size)``."""
        signal = batch["ecg"].transpose(1, 2)
        return self.project(self.conv(signal)), None
