"""One training run's configuration: what ``fedmeki train`` options and ``--config FILE.yaml`` fill in.

The run folder keeps it as ``config.yaml``; ``--resume`` refuses a different one, so a resumed run is
the run that was started.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import yaml

from fedmeki_data.tasks import get_task, tasks_with_role
from fedmeki_models.config import PRESETS, LocalModelConfig, model_config
from fedmeki_models.errors import ModelConfigError, check_settings
from fedmeki_models.injection.config import InjectionConfig
from fedmeki_models.training import TrainingConfig

Setting = Literal["multi_task", "single_task"]
Variant = Literal["standard", "public_finetune"]
BASELINES = ("centralised", "local_only")
"""Reference baselines run by the same engine: pooled data as one client, and each client alone."""

_VARIANTS = ("standard", "public_finetune")
_SETTINGS = ("multi_task", "single_task")


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a training run's result.

    Attributes
    ----------
    data : str
        Dataset folder or Hub dataset repo id.
    tasks : tuple of str
        Training tasks, trained in registry order.
    algorithm : str
        An FL algorithm of :data:`fedmeki_models.fl.algorithms.ALGORITHMS`, or a baseline
        (``centralised``, ``local_only``).
    algorithm_params : dict
        The algorithm's hyper-parameters (``{"mu": 0.01}`` for FedProx).
    setting : {"multi_task", "single_task"}
        One federation over all tasks with shared encoders, or one federation (and encoder) per task.
    variant : {"standard", "public_finetune"}
        ``public_finetune`` trains the global model on the ``public`` split after each round.
    rounds : int
    fraction : float
        Fraction of clients sampled per round (at least one).
    min_clients : int
        A task aggregation with fewer successful clients stops the run.
    training : TrainingConfig
        Local training (epochs, batch size, optimiser, learning rate, precision).
    preset : str
        Model size preset (``paper`` or ``small``).
    image_weights : str or None
        Hub id or folder of pretrained DeiT weights for the image encoder.
    seed : int
        The one seed every random choice of the run derives from.
    eval_every : int
        Evaluate on validation and test every this many rounds (and after the last); 0 = only the last.
    device : str
        ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``.
    injection : InjectionConfig or None
        Inject the clients' knowledge into a foundation model after every round (``fedmeki inject``).
    """

    data: str
    tasks: tuple[str, ...] = field(default_factory=lambda: tuple(task.id for task in tasks_with_role("training")))
    algorithm: str = "fedavg"
    algorithm_params: Mapping[str, Any] = field(default_factory=dict)
    setting: Setting = "multi_task"
    variant: Variant = "standard"
    rounds: int = 10
    fraction: float = 1.0
    min_clients: int = 1
    training: TrainingConfig = field(default_factory=TrainingConfig)
    preset: str = "paper"
    image_weights: str | None = None
    seed: int = 42
    eval_every: int = 1
    device: str = "auto"
    injection: InjectionConfig | None = None

    def __post_init__(self) -> None:
        if isinstance(self.training, Mapping):  # from YAML
            object.__setattr__(self, "training", _build(TrainingConfig, self.training, "training"))
        if isinstance(self.injection, Mapping):
            object.__setattr__(self, "injection", _build(InjectionConfig, self.injection, "injection"))
        order = [task.id for task in tasks_with_role("training")]
        for task in self.tasks:
            if get_task(task).role != "training":
                raise ModelConfigError(f"{task!r} is a validation task; it is never trained on.",
                                       hint=f"train on: {', '.join(order)}")
        object.__setattr__(self, "tasks", tuple(sorted(set(self.tasks), key=order.index)))
        object.__setattr__(self, "algorithm_params", dict(self.algorithm_params))
        checks = {
            "tasks": bool(self.tasks), "rounds": self.rounds >= 1, "fraction": 0 < self.fraction <= 1,
            "min_clients": self.min_clients >= 1, "eval_every": self.eval_every >= 0,
            "setting": self.setting in _SETTINGS, "variant": self.variant in _VARIANTS,
        }
        check_settings(self, "run", checks,
                       hint="rounds and min_clients >= 1, 0 < fraction <= 1, eval_every >= 0, "
                            f"setting {'|'.join(_SETTINGS)}, variant {'|'.join(_VARIANTS)}")
        if self.preset not in PRESETS:
            raise ModelConfigError(f"Unknown model preset {self.preset!r}.",
                                   hint=f"choose one of: {', '.join(PRESETS)}")
        if self.is_baseline and (self.variant != "standard" or self.algorithm_params or self.injection):
            raise ModelConfigError(f"The {self.algorithm} baseline takes no variant, algorithm parameters or "
                                   "injection.", hint="drop --variant, --param and injection options for baselines")

    @property
    def is_baseline(self) -> bool:
        """Whether the algorithm is a reference baseline rather than an FL algorithm."""
        return self.algorithm in BASELINES

    def model_config(self) -> LocalModelConfig:
        """The local model this run trains."""
        return model_config(self.preset, tasks=self.tasks, shared_encoders=self.setting == "multi_task")

    def to_dict(self) -> dict[str, Any]:
        """Plain data, as written to ``config.yaml``."""
        data = asdict(self)
        data["tasks"] = list(self.tasks)
        return data

    def save(self, path: Path) -> None:
        """Write ``config.yaml``."""
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False), encoding="utf-8")


def make_run_config(config_file: str | Path | None = None, **values: Any) -> RunConfig:
    """Build a run config from an optional YAML file (``--config``) with ``values`` on top.

    ``None`` values are ignored, so unset command-line options leave the file's values; ``training``
    may be a partial mapping merged into the file's ``training`` section.

    Raises
    ------
    ModelConfigError
        If the file is not a YAML mapping, names unknown settings, or no data is given.
    """
    content: dict[str, Any] = {}
    where = "the options"
    if config_file is not None:
        path = Path(config_file)
        where = str(path)
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise ModelConfigError(f"Cannot read run config {path}: {str(error).splitlines()[0]}",
                                   hint="pass a YAML file such as the config.yaml of a run folder") from None
        if not isinstance(content, dict):
            raise ModelConfigError(f"Run config {path} must be a YAML mapping.",
                                   hint="see the config.yaml of a run folder")
    training = {**(content.get("training") or {}), **_set(values.pop("training", None) or {})}
    injection = values.pop("injection", None)
    if injection is not None:  # a (partial) mapping turns injection on, over the file's section
        content["injection"] = {**(content.get("injection") or {}), **_set(injection)}
    content.update(_set(values))
    content["training"] = training
    return _build(RunConfig, content, where)


def _set(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _build(cls: type, values: Mapping[str, Any], where: str):
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ModelConfigError(f"Unknown setting(s) in {where}: {', '.join(unknown)}.",
                               hint=f"known: {', '.join(sorted(known))}")
    if "data" in known and "data" not in values:
        raise ModelConfigError(f"No data to train on in {where}.", hint="pass --data, or set data: in the config")
    return cls(**values)


DEMO_INJECTION: dict[str, Any] = {"fm": "tiny", "experts": 4, "lr": 2e-3, "batch_size": 16, "dropout": 0.0}
"""The demo's injection recipe: the tiny foundation model with 4 LoRA experts (see ``fedmeki demo``)."""


def demo_run_config(data: str | Path, **values: Any) -> RunConfig:
    """The demo's recipe: the ``small`` preset trained for 15 rounds of 2 local epochs (Adam, lr 2e-3, batch 32).

    Tuned so the ``small`` synthetic demo trains in about two minutes on 2 CPU cores and every training
    task ends well above its majority baseline; ``values`` override it (as in :func:`make_run_config`).
    """
    recipe: dict[str, Any] = {"data": str(data), "preset": "small", "rounds": 15, "eval_every": 5,
                              "training": {"epochs": 2, "batch_size": 32, "lr": 2e-3}}
    recipe["training"].update(values.pop("training", None) or {})
    return make_run_config(None, **{**recipe, **{key: value for key, value in values.items() if value is not None}})
