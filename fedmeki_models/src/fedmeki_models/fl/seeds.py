"""Every random draw of a run derives from ``(seed, purpose, round, task, client)``.

Both engines draw from here, so a client's update is the same whether it runs in this process or in a
Flower ClientApp at a hospital, and a resumed run needs no saved RNG state: the round number restores it.
"""

from __future__ import annotations

import numpy as np
import torch

from fedmeki_data.tasks import TASKS

SAMPLING, CLIENT, SERVER, INJECTION = 0, 1, 2, 3
"""Purposes: the clients sampled in a round, a client's local training, the server's own training, and the
foundation model's training in knowledge injection."""
_TASK_NUMBER = {task_id: number for number, task_id in enumerate(TASKS)}


def derive_seed(seed: int, purpose: int, round_: int, task: str | None = None, client: int = 0) -> int:
    """A 63-bit seed for one random draw of a run; the task counts by its registry position, so a task
    gets the same draws whether it trains alone or beside others."""
    task_number = _TASK_NUMBER[task] + 1 if task is not None else 0
    sequence = np.random.SeedSequence([seed, purpose, round_, task_number, client])
    return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def generator_for(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``."""
    return torch.Generator().manual_seed(seed)


def client_generator(seed: int, round_: int, task: str, client: int) -> torch.Generator:
    """The generator of ``client``'s local training on ``task`` in ``round_`` (shuffling and dropout)."""
    return generator_for(derive_seed(seed, CLIENT, round_, task, client))
