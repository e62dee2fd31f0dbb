"""The foundation model's answers to every task's test split: the eight tasks, zero-shot ones included.

Each record's question goes through :meth:`FoundationModel.generate` (greedy unless ``sampling``). For a
binary task the answer's first word is the prediction when it is ``yes`` or ``no`` (otherwise the text
stays, and the scorer counts it as unparseable), and the score is the probability of *yes* against *no*
for the first answer token, so AUROC needs no sampling.
"""

from __future__ import annotations

import torch

from fedmeki_data.progress import Progress
from fedmeki_data.tasks import get_task
from fedmeki_models.injection.instructions import Instructions
from fedmeki_models.injection.model import FoundationModel
from fedmeki_models.training import to_device


def answer_split(fm: FoundationModel, part: Instructions, *, batch_size: int = 16, max_new_tokens: int = 16,
                 sampling: bool = False, seed: int = 0, progress: Progress | None = None) -> list[dict]:
    """``{"id", "prediction"[, "score"]}`` for every record of ``part``, in order."""
    binary = get_task(part.task).is_binary
    device = next(fm.parameters()).device
    rows: list[dict] = []
    start = 0
    for inputs, questions, _ in part.batches(batch_size):
        inputs = to_device(inputs, device)
        texts = fm.generate(part.task, inputs, questions, max_new_tokens=max_new_tokens, sampling=sampling,
                            seed=seed + start)
        scores = yes_probability(fm, part.task, inputs, questions) if binary else [None] * len(texts)
        for index, (text, score) in enumerate(zip(texts, scores, strict=True)):
            row = {"id": part.tensors.ids[start + index], "prediction": _binary(text) if binary else text}
            if score is not None:
                row["score"] = score
            rows.append(row)
        start += len(questions)
        if progress:
            progress(part.task, start, len(part))
    return rows


@torch.inference_mode()
def yes_probability(fm: FoundationModel, task: str, inputs: dict[str, torch.Tensor],
                    questions: list[str]) -> list[float]:
    """P(*yes*) against P(*no*) as the first answer token, per record."""
    fm.eval()
    sequences = fm.sequences(task, inputs, questions, padding_side="left")
    yes, no = (fm.tokenizer(word, add_special_tokens=False)["input_ids"][0] for word in ("yes", "no"))
    with fm.gated(task, len(questions)):
        logits = fm.lm(inputs_embeds=sequences.embeds, attention_mask=sequences.mask.long()).logits[:, -1]
    pair = logits[:, [yes, no]].float().softmax(dim=-1)
    return pair[:, 0].tolist()


def _binary(text: str) -> str:
    words = text.strip().lower().split()
    first = words[0].strip(".,;:!") if words else ""
    return first if first in ("yes", "no") else text
