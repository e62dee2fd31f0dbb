"""The foundation model: the local model's encoders, a projector per encoder and a frozen causal LM with adapters.

A sample becomes the paper's prompt, with the projected modality tokens between the modality's tags::

    <s>### Human: <Img> [projected image tokens] </Img> Is there ... ?\\n### Assistant: yes</s>

The loss is the LM's cross-entropy on the answer tokens only. Adapters come from ``peft``:

* ``lora``: one LoRA adapter, ``W x + (alpha / r) B A dropout(x)`` on every target linear layer.
* ``moe_lora``: ``E`` LoRA experts weighted by a gate ``g`` that sums to 1 per sample,
  ``W x + sum_e g_e (alpha / r) B_e A_e dropout(x)`` (the original forgot the ``alpha / r`` scaling).
  The gate reads the task's ``modality_description`` (queries) and ``task_description`` (keys and
  values) through the LM's frozen embeddings: ``g = softmax(W_g mean_q(softmax(Q K^T / sqrt(H)) V))``,
  one vector per sample shared by every layer, as in the paper. It is computed from text alone, so a
  zero-shot task gets its own mixture from its description.

Only the encoders, the projectors, the adapters and the gate train; the LM's own weights never change.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from fedmeki_data.tasks import get_task
from fedmeki_models.config import LocalModelConfig
from fedmeki_models.injection.config import FoundationConfig
from fedmeki_models.injection.language import ASSISTANT, HUMAN, MODALITY_TAGS
from fedmeki_models.model import LocalModel

IGNORE = -100
"""Label of the tokens the loss skips (prompt, modality tokens, padding)."""


@dataclass
class Sequences:
    """A batch of embedded prompts (and answers), padded: ``embeds (B, T, H)``, ``mask (B, T)``, ``labels (B, T)``."""

    embeds: Tensor
    mask: Tensor
    labels: Tensor


class ExpertGate(nn.Module):
    """Cross-attention from the modality description (queries) to the task description (keys, values),
    mean-pooled over the queries, then a linear layer and a softmax over the experts."""

    def __init__(self, hidden: int, experts: int) -> None:
        super().__init__()
        self.scale = 1.0 / math.sqrt(hidden)
        self.out = nn.Linear(hidden, experts)

    def forward(self, queries: Tensor, query_mask: Tensor, keys: Tensor, key_mask: Tensor) -> Tensor:
        """Gate weights ``(B, E)``, each row summing to 1, from ``(B, Lq, H)`` queries and ``(B, Lk, H)`` keys."""
        scores = torch.einsum("bqh,bkh->bqk", queries, keys) * self.scale
        attention = scores.masked_fill(~key_mask[:, None, :], float("-inf")).softmax(dim=-1)
        context = torch.einsum("bqk,bkh->bqh", attention, keys)
        weights = query_mask.unsqueeze(-1).to(context.dtype)
        pooled = (context * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)
        return self.out(pooled).softmax(dim=-1)


class FoundationModel(nn.Module):
    """A causal LM that reads images, ECGs and clinical time series through the local model's encoders.

    Build it with :func:`fedmeki_models.injection.build.build_foundation_model` (or load a saved one with
    :func:`fedmeki_models.injection.build.load_foundation_model`).

    Parameters
    ----------
    config : FoundationConfig
    lm : transformers.PreTrainedModel
        The causal LM, frozen.
    tokenizer : transformers.PreTrainedTokenizerBase
    """

    def __init__(self, config: FoundationConfig, lm: nn.Module, tokenizer) -> None:
        super().__init__()
        from peft import LoraConfig, get_peft_model
        from peft.tuners.lora import LoraLayer

        self.config, self.tokenizer = config, tokenizer
        hidden = lm.config.hidden_size
        self.local = LocalModel(config.local)
        self.local.heads.requires_grad_(False)  # the FM answers in words; the heads stay the clients' business
        self.projectors = nn.ModuleDict({name: nn.Linear(encoder.out_size, hidden)
                                         for name, encoder in self.local.encoders.items()})
        lora = LoraConfig(r=config.rank, lora_alpha=config.alpha, lora_dropout=config.dropout,
                          target_modules=list(config.target_modules), bias="none")
        self.adapter_names = (["default"] if config.adapter == "lora"
                              else [f"expert_{expert}" for expert in range(config.experts)])
        with warnings.catch_warnings():  # peft 0.21 reads an attribute that transformers 5 deprecates
            warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated",
                                    category=FutureWarning)
            self.lm = get_peft_model(lm, lora, adapter_name=self.adapter_names[0])
        for name in self.adapter_names[1:]:
            self.lm.add_adapter(name, lora)
        self.lm.base_model.set_adapter(self.adapter_names)
        self._lora_layers = [module for module in self.lm.modules() if isinstance(module, LoraLayer)]
        self.gate = ExpertGate(hidden, config.experts) if config.adapter == "moe_lora" else None
        self._gating = False

    # Inputs ------------------------------------------------------------------------------------

    def source_task(self, task: str) -> str | None:
        """The trained task whose encoder reads ``task``'s input: itself, else the first trained task of the
        same modality (zero-shot tasks), else None (no encoder for that modality: a text-only prompt)."""
        local: LocalModelConfig = self.config.local
        if task in local.tasks:
            return task
        modality = _modality(task)
        return next((trained for trained in local.tasks if local.modality_of(trained) == modality), None)

    def modality_tokens(self, task: str, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """Projected modality tokens ``(B, L, H)`` of ``batch`` and their mask ``(B, L)`` (L = 0 without encoder)."""
        size = next(iter(batch.values())).shape[0]
        source = self.source_task(task)
        embeddings = self.lm.get_input_embeddings()
        if source is None:
            empty = torch.zeros(size, 0, embeddings.embedding_dim, device=embeddings.weight.device)
            return empty, torch.zeros(size, 0, dtype=torch.bool, device=empty.device)
        tokens, mask = self.local.encode(source, batch)
        projected = self.projectors[self.config.local.encoder_name(source)](tokens).to(embeddings.weight.dtype)
        if mask is None:
            mask = torch.ones(projected.shape[:2], dtype=torch.bool, device=projected.device)
        return projected, mask

    def sequences(self, task: str, batch: dict[str, Tensor], questions: Sequence[str],
                  answers: Sequence[str] | None = None, *, padding_side: str = "right") -> Sequences:
        """Embed each sample's prompt (and answer), padded on ``padding_side`` (left for generation).

        Text beyond ``max_text_tokens`` is cut from the question; ``labels`` mark the answer tokens only.
        """
        tokens, token_mask = self.modality_tokens(task, batch)
        embed = self.lm.get_input_embeddings()
        device = embed.weight.device
        opening, closing = MODALITY_TAGS[_modality(task)]
        rows = []
        for index, question in enumerate(questions):
            before = [self.tokenizer.bos_token_id, *self._ids(HUMAN + opening)]
            after_tag, ask = self._ids(closing + " "), self._ids(ASSISTANT)
            answer = [] if answers is None else [*self._ids(answers[index]), self.tokenizer.eos_token_id]
            room = self.config.max_text_tokens - len(before) - len(after_tag) - len(ask) - len(answer)
            after = [*after_tag, *self._ids(question)[:max(room, 0)], *ask]
            text = torch.tensor(before + after + answer, device=device)
            parts = [embed(text[:len(before)]), tokens[index], embed(text[len(before):])]
            mask = torch.cat([torch.ones(len(before), dtype=torch.bool, device=device), token_mask[index],
                              torch.ones(len(after) + len(answer), dtype=torch.bool, device=device)])
            labels = torch.full((len(mask),), IGNORE, device=device)
            if answer:
                labels[-len(answer):] = text[-len(answer):]
            rows.append((torch.cat(parts), mask, labels))
        return _pad(rows, padding_side, embed(torch.tensor([self.tokenizer.pad_token_id], device=device))[0])

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    # Gate --------------------------------------------------------------------------------------

    def gate_weights(self, task: str) -> Tensor | None:
        """The expert weights ``(E,)`` of ``task`` (None for plain LoRA), from its descriptions."""
        if self.gate is None:
            return None
        spec = get_task(task)
        embed = self.lm.get_input_embeddings()
        queries = embed(torch.tensor([self._ids(spec.modality_description)], device=embed.weight.device))
        keys = embed(torch.tensor([self._ids(spec.task_description)], device=embed.weight.device))
        ones = torch.ones(queries.shape[:2], dtype=torch.bool, device=queries.device)
        key_ones = torch.ones(keys.shape[:2], dtype=torch.bool, device=keys.device)
        return self.gate(queries.float(), ones, keys.float(), key_ones)[0]

    @contextmanager
    def gated(self, task: str, batch_size: int) -> Iterator[None]:
        """Weight every expert's LoRA update by ``task``'s gate for a batch of ``batch_size`` samples.

        A nested block keeps the outer block's weights. Keep the block open through ``backward`` when the
        LM recomputes activations (gradient checkpointing), so the recomputation sees the same weights.
        """
        weights = None if self._gating else self.gate_weights(task)
        if weights is None:
            yield
            return
        column = weights.view(1, -1, 1, 1).expand(batch_size, -1, 1, 1)
        saved = [dict(layer.scaling) for layer in self._lora_layers]
        try:
            self._gating = True
            for layer in self._lora_layers:
                for expert, name in enumerate(self.adapter_names):
                    layer.scaling[name] = self.config.scaling * column[:, expert]
            yield
        finally:
            self._gating = False
            for layer, scaling in zip(self._lora_layers, saved, strict=True):
                layer.scaling.clear()
                layer.scaling.update(scaling)

    # Training and generation ---------------------------------------------------------------------

    def loss(self, task: str, batch: dict[str, Tensor], questions: Sequence[str], answers: Sequence[str]) -> Tensor:
        """Mean cross-entropy of the answer tokens given the prompts."""
        sequences = self.sequences(task, batch, questions, answers)
        with self.gated(task, len(questions)):
            logits = self.lm(inputs_embeds=sequences.embeds, attention_mask=sequences.mask.long()).logits
        targets = sequences.labels[:, 1:]
        return nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(),
                                           targets.reshape(-1), ignore_index=IGNORE)

    @torch.inference_mode()
    def generate(self, task: str, batch: dict[str, Tensor], questions: Sequence[str], *, max_new_tokens: int = 16,
                 sampling: bool = False, top_p: float = 0.9, temperature: float = 1.0, seed: int = 0) -> list[str]:
        """Answers to ``questions``: greedy (deterministic) by default; ``sampling`` draws with top-p as the
        paper did, from ``seed``. Prompts are left-padded, so every sample continues its own last token."""
        self.eval()
        sequences = self.sequences(task, batch, questions, padding_side="left")
        options = {"do_sample": sampling, **({"top_p": top_p, "temperature": temperature} if sampling else {})}
        with torch.random.fork_rng(devices=[]), self.gated(task, len(questions)):
            torch.manual_seed(seed)
            output = self.lm.generate(inputs_embeds=sequences.embeds, attention_mask=sequences.mask.long(),
                                      max_new_tokens=max_new_tokens, pad_token_id=self.tokenizer.pad_token_id,
                                      eos_token_id=self.tokenizer.eos_token_id, **options)
        return [self.tokenizer.decode(_until_eos(row.tolist(), self.tokenizer.eos_token_id),
                                      skip_special_tokens=True).strip() for row in output]

    def trainable_state(self) -> dict[str, Tensor]:
        """What training changes: encoders, projectors, adapters and gate (the LM's own weights never change)."""
        names = {name for name, parameter in self.named_parameters() if parameter.requires_grad}
        return {key: value for key, value in self.state_dict().items()
                if key in names or key.startswith("local.encoders.")}  # encoders' buffers (BatchNorm) too


def _modality(task: str) -> str:
    return next(modality for modality in get_task(task).modalities if modality != "text")


def _until_eos(ids: list[int], eos: int) -> list[int]:
    return ids[:ids.index(eos)] if eos in ids else ids


def _pad(rows: list[tuple[Tensor, Tensor, Tensor]], side: str, pad: Tensor) -> Sequences:
    length = max(len(mask) for _, mask, _ in rows)
    embeds, masks, labels = [], [], []
    for embed, mask, label in rows:
        missing = length - len(mask)
        fill = pad.expand(missing, -1).to(embed.dtype)
        no = torch.zeros(missing, dtype=torch.bool, device=mask.device)
        ignore = torch.full((missing,), IGNORE, device=label.device)
        if side == "left":
            embeds.append(torch.cat([fill, embed]))
            masks.append(torch.cat([no, mask]))
            labels.append(torch.cat([ignore, label]))
        else:
            embeds.append(torch.cat([embed, fill]))
            masks.append(torch.cat([mask, no]))
            labels.append(torch.cat([label, ignore]))
    return Sequences(torch.stack(embeds), torch.stack(masks), torch.stack(labels))
