"""Instruction data: a split of a task as (decoded inputs, question, answer) triples for the foundation model.

Every FedMEKI record holds its ``question`` (the task's instruction for binary tasks) and ``answer``
(``yes``/``no`` or free text), so the same loader serves training on ``public`` splits and answering
``test`` splits, whichever the task.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from fedmeki_data.hub import load_task
from fedmeki_data.tasks import get_task
from fedmeki_models.config import LocalModelConfig
from fedmeki_models.data import TaskTensors, dataset_to_tensors

Batch = tuple[dict[str, torch.Tensor], list[str], list[str]]


@dataclass
class Instructions:
    """One split of one task: model inputs, and per record its question and reference answer."""

    task: str
    tensors: TaskTensors
    questions: list[str]
    answers: list[str]

    def __len__(self) -> int:
        return len(self.questions)

    def batches(self, batch_size: int, *, generator: torch.Generator | None = None) -> Iterator[Batch]:
        """``(inputs, questions, answers)`` of at most ``batch_size`` records: shuffled by ``generator``, else
        in row order."""
        order = (torch.randperm(len(self), generator=generator) if generator is not None
                 else torch.arange(len(self)))
        for start in range(0, len(self), batch_size):
            index = order[start:start + batch_size]
            inputs = {key: value.index_select(0, index) for key, value in self.tensors.inputs.items()}
            picked = index.tolist()
            yield inputs, [self.questions[i] for i in picked], [self.answers[i] for i in picked]


def load_instructions(data: str | Path, task: str, split: str, local: LocalModelConfig) -> Instructions:
    """``split`` of ``task`` decoded for the encoders of ``local``, with each record's question and answer."""
    dataset = load_task(data, task, split=split)
    tensors = dataset_to_tensors(dataset, task, split, image_size=local.image.image_size,
                                 max_steps=local.clinical.max_steps)
    instruction = get_task(task).instruction or ""
    questions = [question or instruction for question in dataset["question"]]
    return Instructions(task=task, tensors=tensors, questions=questions,
                        answers=[answer or "" for answer in dataset["answer"]])
