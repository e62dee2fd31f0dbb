"""The local model's hyper-parameters: one dataclass per encoder, one for the model, and named presets.

Every hyper-parameter lives here, because ``PyTorchModelHubMixin`` saves exactly this dataclass as
``config.json``: a model folder rebuilds the same architecture from it without any download.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from fedmeki_data.schema import CLINICAL_VARIABLES, ECG_LEADS, ECG_SAMPLES
from fedmeki_data.tasks import get_task, tasks_with_role
from fedmeki_models.errors import ModelConfigError

ARCHITECTURE = "fedmeki-local-v1"
"""Name of the local model architecture in ``config.json``; a folder naming another one is refused."""

DEIT_TINY = "facebook/deit-tiny-distilled-patch16-224"
"""The paper's pretrained image encoder (DeiT-tiny, distilled, 224 px)."""


@dataclass(frozen=True)
class ImageEncoderConfig:
    """DeiT-shaped ViT over chest X-rays (CLS and distillation tokens, then patches)."""

    image_size: int = 224
    patch_size: int = 16
    hidden_size: int = 192
    num_layers: int = 12
    num_heads: int = 3
    mlp_size: int = 768
    dropout: float = 0.0


@dataclass(frozen=True)
class EcgEncoderConfig:
    """The paper's ECG stack: ``conv_layers`` x (Conv1d + BatchNorm + ReLU), then Linear over time.

    The paper keeps ``channels == leads`` (one token per lead) and no pooling. ``channels`` and ``pool``
    (max-pool factor after each layer) widen it: the ``small`` preset needs them to learn from a few
    hundred records (see ``bench/ecg_encoder.py``).
    """

    leads: int = len(ECG_LEADS)
    samples: int = ECG_SAMPLES
    conv_layers: int = 2
    kernel_size: int = 3
    channels: int = len(ECG_LEADS)
    pool: int = 1
    out_size: int = 4096

    @property
    def pooled_samples(self) -> int:
        """Time steps left for the Linear after pooling."""
        return self.samples // self.pool**self.conv_layers


@dataclass(frozen=True)
class ClinicalEncoderConfig:
    """Linear embedding of hourly values and their missingness mask, Transformer over time, projection."""

    variables: int = len(CLINICAL_VARIABLES)
    max_steps: int = 48
    d_model: int = 512
    num_heads: int = 8
    ff_size: int = 512
    num_layers: int = 1
    dropout: float = 0.1
    out_size: int = 4096


_SUBCONFIGS = {"image": ImageEncoderConfig, "ecg": EcgEncoderConfig, "clinical": ClinicalEncoderConfig}


@dataclass(frozen=True)
class LocalModelConfig:
    """The local multimodal model: encoders for the modalities of ``tasks`` and one binary head per task.

    Attributes
    ----------
    tasks : tuple of str
        Training tasks with a head, in registry order.
    shared_encoders : bool
        ``True`` (multi-task): tasks of one modality share its encoder (``encoders.image``).
        ``False`` (single-task): every task has its own encoder (``encoders.covid19``), so each task is
        its own federation even inside one model.
    head_hidden : int
        Hidden width of the image heads (the paper's Linear(192, 128) + ReLU + Linear(128, 1)).
    image_init : str
        Where the image encoder's initial weights came from: ``"random"`` or a Hub model id. Provenance
        only: loading a saved model never downloads.
    architecture : str
        Always :data:`ARCHITECTURE` for this class.
    """

    tasks: tuple[str, ...] = field(default_factory=lambda: tuple(task.id for task in tasks_with_role("training")))
    shared_encoders: bool = True
    image: ImageEncoderConfig = field(default_factory=ImageEncoderConfig)
    ecg: EcgEncoderConfig = field(default_factory=EcgEncoderConfig)
    clinical: ClinicalEncoderConfig = field(default_factory=ClinicalEncoderConfig)
    head_hidden: int = 128
    image_init: str = "random"
    architecture: str = ARCHITECTURE

    def __post_init__(self) -> None:
        # config.json gives lists and dicts back; normalise them so a reloaded config equals the saved one.
        object.__setattr__(self, "tasks", tuple(self.tasks))
        for name, cls in _SUBCONFIGS.items():
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, _from_dict(cls, value, name))
        if self.architecture != ARCHITECTURE:
            raise ModelConfigError(f"Unknown model architecture {self.architecture!r}.",
                                   hint=f"this fedmeki builds {ARCHITECTURE!r}; upgrade fedmeki to load this model")
        if not self.tasks:
            raise ModelConfigError("A local model needs at least one task.", hint="pass --tasks")
        for task in self.tasks:
            spec = get_task(task)
            if spec.role != "training" or not spec.is_binary:
                raise ModelConfigError(f"Task {task!r} has no local-model head: it is a validation task.",
                                       hint="train on lung_opacity, covid19, ecg_abnormal or mortality")

    def modality_of(self, task: str) -> str:
        """The encoder modality of ``task`` (``image``, ``ecg`` or ``clinical``)."""
        return next(modality for modality in get_task(task).modalities if modality != "text")

    def encoder_name(self, task: str) -> str:
        """Key of ``task``'s encoder in the model: its modality when shared, else the task id."""
        return self.modality_of(task) if self.shared_encoders else task

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the content of ``config.json``)."""
        return asdict(self)


def _from_dict(cls: type, value: dict, name: str):
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ModelConfigError(f"Unknown {name} encoder setting(s): {', '.join(unknown)}.",
                               hint=f"known settings: {', '.join(sorted(known))}")
    return cls(**value)


PRESETS: dict[str, LocalModelConfig] = {
    "paper": LocalModelConfig(),
    "small": LocalModelConfig(
        image=ImageEncoderConfig(image_size=64, patch_size=8, hidden_size=64, num_layers=2, num_heads=2, mlp_size=128),
        ecg=EcgEncoderConfig(conv_layers=4, kernel_size=7, channels=32, pool=2, out_size=64),
        clinical=ClinicalEncoderConfig(d_model=64, num_heads=4, ff_size=128, out_size=64),
        head_hidden=32,
    ),
}
"""``paper``: the paper's sizes (DeiT-tiny at 224 px, 4096-wide ECG and clinical outputs), the default for real
data. ``small``: a few hundred thousand parameters that train the demo in minutes on 2 CPU cores."""


def model_config(preset: str = "paper", *, tasks: tuple[str, ...] | None = None, shared_encoders: bool = True,
                 **overrides: Any) -> LocalModelConfig:
    """Return preset ``preset`` for ``tasks`` with top-level ``overrides`` (e.g. ``image_init``).

    Raises
    ------
    ModelConfigError
        If the preset is unknown.
    """
    if preset not in PRESETS:
        raise ModelConfigError(f"Unknown model preset {preset!r}.", hint=f"choose one of: {', '.join(PRESETS)}")
    base = PRESETS[preset]
    changes: dict[str, Any] = {"shared_encoders": shared_encoders, **overrides}
    if tasks is not None:
        changes["tasks"] = tuple(tasks)
    return replace(base, **changes)
