"""The injection loop: after every FL round, the aggregated encoders go into the foundation model, which
trains on the ``public`` splits as instructions, and its encoders go back to the clients.

:class:`Injector` is a round hook of :class:`~fedmeki_models.fl.engine.Federation`, so injection runs on
the server of either engine (in-process or Flower) and its state (the foundation model's trainable
tensors and optimiser) is part of every round checkpoint: ``--resume`` continues an injection run too.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from typing import TYPE_CHECKING

import torch

from fedmeki_data.progress import Progress
from fedmeki_models.fl.seeds import INJECTION, derive_seed, generator_for
from fedmeki_models.injection.config import InjectionConfig
from fedmeki_models.injection.instructions import Instructions
from fedmeki_models.injection.model import FoundationModel
from fedmeki_models.training import load_state, state_of, to_device

if TYPE_CHECKING:
    from fedmeki_models.fl.engine import Federation

logger = logging.getLogger(__name__)

ENCODERS = "encoders."


class Injector:
    """Inject, fine-tune, update: the foundation model's part of each round.

    Parameters
    ----------
    fm : FoundationModel
        Its ``local`` encoders have the keys of the federation's model (they are the same config).
    public : dict of str to Instructions
        The ``public`` split of each trained task.
    config : InjectionConfig
    seed : int
        The run's seed (batch order and dropout derive from it, the round and the task).
    progress : Progress, optional
    """

    def __init__(self, fm: FoundationModel, public: dict[str, Instructions], config: InjectionConfig, *, seed: int,
                 progress: Progress | None = None) -> None:
        self.fm, self.public, self.config, self.seed, self.progress = fm, public, config, seed, progress
        self.device = next(fm.parameters()).device
        self.optimizer = torch.optim.AdamW([p for p in fm.parameters() if p.requires_grad], lr=config.lr,
                                           betas=(0.9, 0.95), eps=1e-6, weight_decay=config.weight_decay)
        if config.gradient_checkpointing:  # transformers 5 renamed it; 4.x has only the old name
            enable = getattr(fm.lm, "activation_checkpointing_enable", None) or fm.lm.gradient_checkpointing_enable
            enable()

    def after_round(self, round_: int, federation: Federation) -> dict:
        """Inject the round's global encoders, train on the public instructions, send the encoders back."""
        began = time.perf_counter()
        self.inject(federation.final_weights())
        losses = self.train(round_)
        federation.global_weights.update(self.encoders())
        return {"injection": {"loss": losses, "seconds": round(time.perf_counter() - began, 3)}}

    def inject(self, weights: dict[str, torch.Tensor]) -> None:
        """Load the encoder tensors of the global ``weights`` into the foundation model."""
        load_state(self.fm.local, {key: value for key, value in weights.items() if key.startswith(ENCODERS)})

    def encoders(self) -> dict[str, torch.Tensor]:
        """The foundation model's encoder tensors, keyed as in the local model (CPU copies)."""
        return state_of(self.fm.local, [key for key in self.fm.local.state_dict() if key.startswith(ENCODERS)])

    def train(self, round_: int) -> dict[str, float]:
        """``config.epochs`` passes over every task's public instructions; the mean answer loss per task."""
        self.fm.train()
        accumulation = self.config.grad_accumulation
        losses: dict[str, list[float]] = {task: [] for task in self.public}
        total = sum(-(-len(part) // self.config.batch_size) for part in self.public.values()) * self.config.epochs
        done, pending = 0, 0
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            torch.manual_seed(derive_seed(self.seed, INJECTION, round_))
            for epoch in range(self.config.epochs):
                for task, part in self.public.items():
                    generator = generator_for(derive_seed(self.seed, INJECTION, round_, task, epoch))
                    for inputs, questions, answers in part.batches(self.config.batch_size, generator=generator):
                        # Gate and autocast stay on through backward: gradient checkpointing re-runs the
                        # forward there, and must see the same expert weights and dtypes.
                        with self.fm.gated(task, len(questions)), self._autocast():
                            loss = self.fm.loss(task, to_device(inputs, self.device), questions, answers)
                            (loss / accumulation).backward()
                        losses[task].append(loss.item())
                        pending += 1
                        if pending == accumulation:
                            self._step()
                            pending = 0
                        done += 1
                        if self.progress:
                            self.progress(f"inject {round_}", done, total)
            if pending:
                self._step()
        self.fm.eval()
        return {task: sum(values) / len(values) for task, values in losses.items() if values}

    def _step(self) -> None:
        torch.nn.utils.clip_grad_norm_([p for group in self.optimizer.param_groups for p in group["params"]], 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def _autocast(self):
        if self.config.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return nullcontext()

    def state(self) -> dict:
        """The foundation model's trainable tensors and the optimiser, for the round checkpoint."""
        return {"fm": self.fm.trainable_state(), "optimizer": self.optimizer.state_dict()}

    def restore(self, state: dict) -> None:
        load_state(self.fm, state["fm"])
        self.optimizer.load_state_dict(state["optimizer"])
