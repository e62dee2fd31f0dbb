"""The local multimodal model: one encoder per modality (or per task) and one binary head per task.

Clients train it, the FL algorithms average its ``state_dict`` task by task, and knowledge injection
reuses its encoders. It saves as ``model.safetensors`` + ``config.json`` (the whole
:class:`~fedmeki_models.config.LocalModelConfig`), so ``LocalModel.from_pretrained(folder)`` rebuilds it
offline.

Parameter counts measured with the four training tasks and shared encoders: ``LocalModel(model_config("paper"))``
has 13,431,020 (DeiT-tiny 5,524,800; ECG 4,101,032; clinical 3,747,328; heads 57,860) and the ``small`` preset
162,884 (image 83,776; ECG 28,608; clinical 46,144; heads 4,356).
"""

# No ``from __future__ import annotations``: PyTorchModelHubMixin reads the real type of ``__init__``'s
# ``config`` annotation to turn config.json back into a LocalModelConfig.

import dataclasses
import logging
import os
from pathlib import Path

import safetensors.torch
import torch
from huggingface_hub import PyTorchModelHubMixin, constants, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError
from torch import Tensor, nn

from fedmeki_models.config import ImageEncoderConfig, LocalModelConfig
from fedmeki_models.encoders import EncoderOutput, build_encoder
from fedmeki_models.errors import CheckpointError, ModelConfigError
from fedmeki_models.zoo.files import check_no_pickles

logger = logging.getLogger(__name__)


class LocalModel(nn.Module, PyTorchModelHubMixin, library_name="fedmeki",
                 tags=["fedmeki", "federated-learning", "medical"], license="apache-2.0"):
    """Encoders keyed by :meth:`LocalModelConfig.encoder_name`, heads keyed by task.

    Image heads are the paper's mean over tokens -> Linear(D, head_hidden) -> ReLU -> Linear(head_hidden, 1);
    ECG and clinical heads are a (masked) mean over tokens -> Linear(D, 1). Build new models with
    :func:`build_local_model`, which seeds the initialisation.

    Parameters
    ----------
    config : LocalModelConfig
    """

    def __init__(self, config: LocalModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoders = nn.ModuleDict()
        self.heads = nn.ModuleDict()
        for task in config.tasks:
            name = config.encoder_name(task)
            if name not in self.encoders:
                self.encoders[name] = build_encoder(config.modality_of(task), config)
            width = self.encoders[name].out_size
            if config.modality_of(task) == "image":
                self.heads[task] = nn.Sequential(nn.Linear(width, config.head_hidden), nn.ReLU(),
                                                 nn.Linear(config.head_hidden, 1))
            else:
                self.heads[task] = nn.Sequential(nn.Linear(width, 1))

    def forward(self, task: str, batch: dict[str, Tensor]) -> Tensor:
        """Logits ``(B,)`` of *yes* for ``task`` on ``batch`` (the inputs of a TaskTensors batch)."""
        tokens, mask = self.encode(task, batch)
        return self.heads[task](masked_mean(tokens, mask)).squeeze(-1)

    def encode(self, task: str, batch: dict[str, Tensor]) -> EncoderOutput:
        """``(tokens (B, L, D), token_mask (B, L) or None)`` of ``task``'s encoder, for knowledge injection."""
        self._check_task(task)
        return self.encoders[self.config.encoder_name(task)](batch)

    def task_state_keys(self, task: str) -> tuple[str, ...]:
        """Sorted ``state_dict`` keys (parameters and buffers) of ``task``'s encoder and head: what FL exchanges."""
        self._check_task(task)
        prefixes = (f"encoders.{self.config.encoder_name(task)}.", f"heads.{task}.")
        return tuple(sorted(key for key in self.state_dict() if key.startswith(prefixes)))

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        """Trainable parameters of ``task``'s encoder and head, in registration order (stable for optimisers)."""
        self._check_task(task)
        return [*self.encoders[self.config.encoder_name(task)].parameters(), *self.heads[task].parameters()]

    def _check_task(self, task: str) -> None:
        if task not in self.heads:
            raise ModelConfigError(f"This model has no head for task {task!r}.",
                                   hint=f"its tasks are: {', '.join(self.config.tasks)}")

    @classmethod
    def _from_pretrained(cls, *, model_id: str, revision: str | None, cache_dir: str | Path | None,
                         force_download: bool, local_files_only: bool, token: str | bool | None,
                         map_location: str = "cpu", **model_kwargs) -> "LocalModel":
        # Replaces the mixin's loader, which loads non-strictly (missing heads would stay random) and
        # falls back to pickled weights.
        if "config" not in model_kwargs:
            raise CheckpointError(f"{model_id} has no config.json, so its architecture is unknown.",
                                  hint="point to a folder written by LocalModel.save_pretrained")
        model = cls(**model_kwargs)
        try:
            if os.path.isdir(model_id):
                check_no_pickles(model_id)
                weights = Path(model_id) / constants.SAFETENSORS_SINGLE_FILE
            else:
                weights = Path(hf_hub_download(model_id, constants.SAFETENSORS_SINGLE_FILE, revision=revision,
                                               cache_dir=cache_dir, force_download=force_download, token=token,
                                               local_files_only=local_files_only))
            missing, unexpected = safetensors.torch.load_model(model, weights, strict=False, device=map_location)
        except (OSError, EntryNotFoundError) as error:
            raise CheckpointError(f"Cannot read the weights of {model_id}: {error}",
                                  hint="a model folder holds model.safetensors and config.json") from error
        except RuntimeError as error:  # torch's "size mismatch for <key>" when a shape differs from config.json
            mismatch = next((line.strip() for line in str(error).splitlines() if "size mismatch" in line), error)
            raise CheckpointError(f"The weights of {model_id} do not match its config.json ({mismatch})",
                                  hint="the folder was modified or written by another fedmeki version") from None
        if missing or unexpected:
            raise CheckpointError(f"The weights of {model_id} do not match its config.json "
                                  f"(missing: {sorted(missing)[:3]}, unexpected: {sorted(unexpected)[:3]}).",
                                  hint="the folder was modified or written by another fedmeki version")
        return model.eval()


def masked_mean(tokens: Tensor, mask: Tensor | None) -> Tensor:
    """Mean of ``tokens`` ``(B, L, D)`` over the tokens where ``mask`` is True (all when None); 0 if none."""
    if mask is None:
        return tokens.mean(dim=1)
    keep = mask.unsqueeze(-1)
    total = tokens.masked_fill(~keep, 0.0).sum(dim=1)
    return total / keep.sum(dim=1).clamp(min=1).to(tokens.dtype)


def build_local_model(config: LocalModelConfig, *, seed: int = 0, image_weights: str | None = None,
                      cache_dir: str | Path | None = None) -> LocalModel:
    """A new :class:`LocalModel`, initialised from ``seed`` and optionally from pretrained DeiT weights.

    The global torch RNG is forked, so building a model neither depends on nor changes it.

    Parameters
    ----------
    config : LocalModelConfig
    seed : int, default=0
    image_weights : str, optional
        Hub id or local folder of a DeiT checkpoint (e.g. :data:`~fedmeki_models.config.DEIT_TINY`) for
        every image encoder; ``None`` or ``"random"`` for random weights. Its sizes replace ``config.image``
        and ``config.image_init`` records it, so the saved config.json rebuilds the same architecture.
        Only safetensors checkpoints are read. If it cannot be loaded (offline, unknown id, no
        safetensors), a WARNING says why and the image encoder keeps random weights (``image_init="random"``).
    cache_dir : str or Path, optional
        Hugging Face cache to read ``image_weights`` from (default: the Hub cache).
    """
    image_encoders = sorted({config.encoder_name(task) for task in config.tasks if config.modality_of(task) == "image"})
    with torch.random.fork_rng(devices=[]):
        pretrained = None
        if image_encoders and image_weights not in (None, "random"):
            pretrained = _load_deit(image_weights, config.image, cache_dir)
            if pretrained is None:
                config = dataclasses.replace(config, image_init="random")
            else:
                config = dataclasses.replace(config, image=pretrained[0], image_init=image_weights)
        torch.manual_seed(seed)
        model = LocalModel(config)
    if pretrained is not None:
        for name in image_encoders:
            model.encoders[name].deit.load_state_dict(pretrained[1])
    return model


def _load_deit(source: str, image: ImageEncoderConfig,
               cache_dir: str | Path | None) -> tuple[ImageEncoderConfig, dict[str, Tensor]] | None:
    """``(config.image with the checkpoint's sizes, DeiTModel state dict)``, or None after a WARNING."""
    from transformers import DeiTModel  # imported on use: transformers' vision models cost seconds to import

    try:
        deit, info = DeiTModel.from_pretrained(source, use_safetensors=True, add_pooling_layer=False,
                                               cache_dir=cache_dir, output_loading_info=True)
    except (OSError, ValueError, RuntimeError) as error:  # what from_pretrained raises for unusable checkpoints
        reason = f"{type(error).__name__}: {error}"
    else:
        reason = _unsupported(deit.config, info["missing_keys"])
        if not reason:
            return _adopt_sizes(image, deit.config), deit.state_dict()
    logger.warning("The image encoder starts from random weights: cannot load %r (%s).", source,
                   reason.splitlines()[0])
    return None


def _unsupported(deit: "DeiTConfig", missing_keys: list[str]) -> str:  # noqa: F821 (imported on use)
    """Why a loaded DeiT cannot be rebuilt from an ImageEncoderConfig, or ``""``."""
    from transformers import DeiTConfig

    reference = DeiTConfig()
    if missing_keys:
        return f"the checkpoint lacks {len(missing_keys)} DeiT weights, e.g. {missing_keys[0]}"
    if deit.model_type != "deit":
        return f"it is a {deit.model_type!r} model, not DeiT"
    for name in ("num_channels", "hidden_act", "layer_norm_eps", "qkv_bias"):
        if getattr(deit, name) != getattr(reference, name):
            return f"its {name}={getattr(deit, name)!r} is not supported (only {getattr(reference, name)!r})"
    if len(set(_pair(deit.image_size))) != 1 or len(set(_pair(deit.patch_size))) != 1:
        return "its images or patches are not square"
    return ""


def _adopt_sizes(image: ImageEncoderConfig, deit: "DeiTConfig") -> ImageEncoderConfig:  # noqa: F821
    return dataclasses.replace(image, image_size=_pair(deit.image_size)[0], patch_size=_pair(deit.patch_size)[0],
                               hidden_size=deit.hidden_size, num_layers=deit.num_hidden_layers,
                               num_heads=deit.num_attention_heads, mlp_size=deit.intermediate_size)


def _pair(value: int | list[int] | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (value[0], value[1])
