"""Local training and inference of a :class:`~fedmeki_models.model.LocalModel` on one task's tensors.

One loop serves every client update, the centralised and local-only baselines, the server's
public-data fine-tuning and the benchmarks, so an algorithm only adds its term (a loss term, a
gradient hook) and never re-implements the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from torch import nn

from fedmeki_models.errors import ModelConfigError, check_settings
from fedmeki_models.fl.types import Weights

if TYPE_CHECKING:
    from fedmeki_models.data import TaskTensors

OptimizerName = Literal["adam", "adamw", "sgd"]
Precision = Literal["fp32", "bf16"]


@dataclass(frozen=True)
class TrainingConfig:
    """How a client trains locally (the paper's values are the defaults).

    Attributes
    ----------
    epochs : int
        Local epochs per round (passes over the client's shard of a task).
    batch_size : int
    optimizer : {"adam", "adamw", "sgd"}
    lr : float
    weight_decay : float
    momentum : float
        SGD momentum (ignored by Adam).
    grad_clip : float or None
        Max gradient norm, None for no clipping.
    precision : {"fp32", "bf16"}
        ``bf16`` runs forward and loss under ``torch.autocast`` (CUDA, or CPUs with bf16 support).
    """

    epochs: int = 1
    batch_size: int = 64
    optimizer: OptimizerName = "adam"
    lr: float = 1e-4
    weight_decay: float = 0.0
    momentum: float = 0.0
    grad_clip: float | None = 1.0
    precision: Precision = "fp32"

    def __post_init__(self) -> None:
        checks = {"epochs": self.epochs >= 1, "batch_size": self.batch_size >= 1, "lr": self.lr > 0,
                  "weight_decay": self.weight_decay >= 0, "momentum": 0 <= self.momentum < 1,
                  "grad_clip": self.grad_clip is None or self.grad_clip > 0,
                  "optimizer": self.optimizer in ("adam", "adamw", "sgd"),
                  "precision": self.precision in ("fp32", "bf16")}
        check_settings(self, "training", checks, hint="epochs and batch_size >= 1, lr > 0, 0 <= momentum < 1, "
                                                      "optimizer adam|adamw|sgd, precision fp32|bf16")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict for run configs."""
        return asdict(self)


@dataclass
class LocalResult:
    """What one call of :func:`train_local` did."""

    num_examples: int
    num_steps: int
    loss: float
    optimizer: torch.optim.Optimizer


LossTerm = Callable[[], torch.Tensor]
"""Extra loss added to every step's task loss (FedProx's proximal term)."""
GradHook = Callable[[], None]
"""Called after ``backward`` and before clipping and the step (SCAFFOLD's gradient correction)."""


def make_optimizer(parameters: Iterable[nn.Parameter], config: TrainingConfig) -> torch.optim.Optimizer:
    """The optimiser ``config`` names over ``parameters``."""
    parameters = list(parameters)
    if config.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    cls = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return cls(parameters, lr=config.lr, weight_decay=config.weight_decay)


def train_local(model: nn.Module, task: str, data: TaskTensors, config: TrainingConfig, *,
                generator: torch.Generator, device: torch.device | str = "cpu",
                optimizer: torch.optim.Optimizer | None = None, optimizer_state: Mapping | None = None,
                loss_term: LossTerm | None = None, grad_hook: GradHook | None = None) -> LocalResult:
    """Train ``model`` on ``task`` for ``config.epochs`` epochs over ``data`` with binary cross-entropy.

    Only the task's encoder and head (``model.task_parameters(task)``) are optimised. Shuffling and
    dropout draw from ``generator`` alone: the global torch RNG is forked and restored, so the same
    generator state gives bit-identical weights on CPU, whatever ran before.

    Parameters
    ----------
    model : LocalModel
        Trained in place, on ``device``.
    task : str
    data : TaskTensors
        The client's tensors of ``task`` (with labels).
    config : TrainingConfig
    generator : torch.Generator
        Source of the shuffling order and the dropout seed.
    device : torch.device or str, default="cpu"
    optimizer : torch.optim.Optimizer, optional
        Reuse this optimiser (it must hold the task's parameters); a new one is made otherwise.
    optimizer_state : mapping, optional
        ``state_dict`` to load into a new optimiser, for optimisers that persist across rounds.
    loss_term, grad_hook : callable, optional
        The algorithm's additions (see :data:`LossTerm`, :data:`GradHook`).

    Returns
    -------
    LocalResult
        Examples per epoch, steps taken, mean loss and the optimiser.
    """
    if data.labels is None:
        raise ModelConfigError(f"The {task} data has no labels to train on.", hint="train on a training task")
    if optimizer is None:
        optimizer = make_optimizer(model.task_parameters(task), config)
        if optimizer_state is not None:
            optimizer.load_state_dict(optimizer_state)
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    loss_fn = nn.BCEWithLogitsLoss()
    device = torch.device(device)
    total, steps = torch.zeros((), device=device), 0  # summed on the device: no host sync per step
    model.train()
    dropout_seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(dropout_seed)
        for _ in range(config.epochs):
            for batch in data.batches(config.batch_size, generator=generator):
                batch = to_device(batch, device)
                optimizer.zero_grad(set_to_none=True)
                with _autocast(config.precision, device):
                    loss = loss_fn(model(task, batch).float(), batch["label"])
                    if loss_term is not None:
                        loss = loss + loss_term()
                loss.backward()
                if grad_hook is not None:
                    grad_hook()
                if config.grad_clip is not None:
                    nn.utils.clip_grad_norm_(parameters, config.grad_clip)
                optimizer.step()
                total += loss.detach().float()
                steps += 1
    return LocalResult(num_examples=len(data), num_steps=steps, loss=float(total) / max(steps, 1), optimizer=optimizer)


@torch.inference_mode()
def predict_proba(model: nn.Module, task: str, data: TaskTensors, *, batch_size: int = 256,
                  device: torch.device | str = "cpu", precision: Precision = "fp32") -> np.ndarray:
    """Probability of *yes* for every record of ``data``, in order, as float64 (sigmoid of the logits)."""
    model.eval()
    device = torch.device(device)
    outputs = []
    for batch in data.batches(batch_size):
        with _autocast(precision, device):
            logits = model(task, to_device(batch, device))
        outputs.append(torch.sigmoid(logits.float()).cpu())
    if not outputs:
        return np.zeros(0)
    return torch.cat(outputs).double().numpy()


def to_device(batch: Mapping[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """Move a batch to ``device`` (a no-op on the CPU)."""
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}


def state_of(model: nn.Module, keys: Iterable[str]) -> Weights:
    """Detached CPU copies of ``keys`` of ``model.state_dict()``."""
    state = model.state_dict()
    return {key: state[key].detach().to("cpu", copy=True) for key in keys}


def load_state(model: nn.Module, weights: Mapping[str, torch.Tensor]) -> None:
    """Copy ``weights`` (a subset of the state) into ``model`` in place, keeping its device and dtypes."""
    state = model.state_dict()
    with torch.no_grad():
        for key, value in weights.items():
            state[key].copy_(value)


def _autocast(precision: Precision, device: torch.device):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


def evaluate_binary(model: nn.Module, task: str, data: TaskTensors, *, batch_size: int = 256,
                    device: torch.device | str = "cpu", precision: Precision = "fp32") -> dict[str, float]:
    """Loss, accuracy, precision, recall, F1, MCC, AUROC and AUPRC of ``model`` on ``data`` (threshold 0.5).

    The threshold applies to probabilities (the original code thresholded logits at 0.5, i.e. p > 0.62).
    AUROC and AUPRC are NaN when ``data`` holds one class only.
    """
    from fedmeki_eval.metrics.binary import binary_metrics

    probabilities = predict_proba(model, task, data, batch_size=batch_size, device=device, precision=precision)
    labels = data.labels.numpy().astype(np.int64)
    clipped = np.clip(probabilities, 1e-7, 1 - 1e-7)
    loss = float(-np.mean(labels * np.log(clipped) + (1 - labels) * np.log(1 - clipped)))
    return {"loss": loss, **binary_metrics(labels, (probabilities >= 0.5).astype(np.int64), probabilities)}
