"""What a foundation model is made of: the language model, the adapters, and the local model's encoders."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from fedmeki_models.config import LocalModelConfig
from fedmeki_models.errors import ModelConfigError, check_settings

FM_ARCHITECTURE = "fedmeki-fm-v1"
TINY = "tiny"
"""``--fm tiny``: a small Llama-style model built from :data:`TINY_LM` with a tokenizer trained here, offline."""
TINY_LM: dict[str, Any] = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
                           "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                           "max_position_embeddings": 1024, "tie_word_embeddings": False,
                           "initializer_range": 0.2}
"""Sizes of the tiny language model (its vocabulary is the trained tokenizer's). Its weights stay random
and frozen, so they are drawn 10x wider than Llama's 0.02: at 0.02 a frozen output layer cannot give any
token more than a few percent of probability, and the adapters could not teach it an answer."""
LLAMA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
"""LoRA targets of Llama-style models: the paper's ``wqkv, wo, w1, w2, w3`` of InternLM2 under Llama's names."""

Adapter = Literal["lora", "moe_lora"]


@dataclass(frozen=True)
class FoundationConfig:
    """A foundation model: which language model, which adapters, which encoders.

    Attributes
    ----------
    lm : str
        ``"tiny"``, or a Hugging Face causal LM by Hub id or local folder (the paper: MMedLM-2, 7B).
    lm_config : dict
        The language model's ``config.json`` content, filled in when the model is built (for ``tiny`` it
        rebuilds the model offline).
    local : LocalModelConfig
        The local model whose encoders the foundation model reads its inputs with.
    adapter : {"lora", "moe_lora"}
        One LoRA adapter, or a mixture of ``experts`` LoRA adapters weighted per sample by the gate.
    rank, alpha, dropout : int, float, float
        LoRA rank, scaling numerator (the update is ``alpha / rank * B A x``) and dropout (the paper: 8, 32, 0.1).
    experts : int
        LoRA experts of ``moe_lora`` (the paper: 12).
    target_modules : tuple of str
        Linear layers of the language model that get adapters.
    max_text_tokens : int
        Longest text (prompt + answer) kept per sample, in tokens (the paper: 128).
    architecture : str
    """

    lm: str = TINY
    lm_config: dict[str, Any] = field(default_factory=dict)
    local: LocalModelConfig = field(default_factory=LocalModelConfig)
    adapter: Adapter = "moe_lora"
    rank: int = 8
    alpha: float = 32.0
    dropout: float = 0.1
    experts: int = 12
    target_modules: tuple[str, ...] = LLAMA_TARGETS
    max_text_tokens: int = 128
    architecture: str = FM_ARCHITECTURE

    def __post_init__(self) -> None:
        if isinstance(self.local, dict):
            object.__setattr__(self, "local", LocalModelConfig(**self.local))
        object.__setattr__(self, "target_modules", tuple(self.target_modules))
        object.__setattr__(self, "lm_config", dict(self.lm_config))
        if self.architecture != FM_ARCHITECTURE:
            raise ModelConfigError(f"Unknown foundation model architecture {self.architecture!r}.",
                                   hint=f"this fedmeki builds {FM_ARCHITECTURE!r}; upgrade fedmeki to load it")
        checks = {"adapter": self.adapter in ("lora", "moe_lora"), "rank": self.rank >= 1, "alpha": self.alpha > 0,
                  "dropout": 0 <= self.dropout < 1, "experts": self.experts >= 1,
                  "target_modules": bool(self.target_modules), "max_text_tokens": self.max_text_tokens >= 8}
        check_settings(self, "foundation model", checks, hint="adapter lora|moe_lora, rank and experts >= 1, "
                                                              "alpha > 0, 0 <= dropout < 1, max_text_tokens >= 8")

    @property
    def scaling(self) -> float:
        """LoRA's ``alpha / rank``, which the original MoE-LoRA stored but never applied."""
        return self.alpha / self.rank

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the content of the saved ``config.json``)."""
        data = asdict(self)
        data["target_modules"] = list(self.target_modules)
        return data


@dataclass(frozen=True)
class InjectionConfig:
    """How a run injects knowledge into a foundation model (the ``injection`` section of a run config).

    Attributes
    ----------
    fm : str
        ``"tiny"``, or a causal LM by Hub id or folder.
    adapter, rank, alpha, dropout, experts, max_text_tokens
        As in :class:`FoundationConfig` (the paper's values are the defaults).
    epochs : int
        Passes over the public instructions of every trained task per round.
    batch_size : int
        Samples per forward pass (one task per batch).
    grad_accumulation : int
        Batches per optimiser step (the paper: micro-batch 4 x 4 = 16).
    lr, weight_decay : float
        AdamW (betas 0.9, 0.95, eps 1e-6, as the paper's DeepSpeed config; gradients clipped at 1).
    precision : {"fp32", "bf16"}
        ``bf16`` runs forward and loss under autocast (GPUs, or CPUs with bf16).
    gradient_checkpointing : bool
        Recompute activations in the backward pass (saves GPU memory on large language models).
    """

    # The adapter settings default to FoundationConfig's own (a dataclass keeps each default as a class attribute).
    fm: str = FoundationConfig.lm
    adapter: Adapter = FoundationConfig.adapter
    rank: int = FoundationConfig.rank
    alpha: float = FoundationConfig.alpha
    dropout: float = FoundationConfig.dropout
    experts: int = FoundationConfig.experts
    max_text_tokens: int = FoundationConfig.max_text_tokens
    epochs: int = 1
    batch_size: int = 16
    grad_accumulation: int = 1
    lr: float = 5e-4
    weight_decay: float = 1e-4
    precision: Literal["fp32", "bf16"] = "fp32"
    gradient_checkpointing: bool = False

    def __post_init__(self) -> None:
        checks = {"epochs": self.epochs >= 1, "batch_size": self.batch_size >= 1,
                  "grad_accumulation": self.grad_accumulation >= 1, "lr": self.lr > 0,
                  "weight_decay": self.weight_decay >= 0, "precision": self.precision in ("fp32", "bf16")}
        check_settings(self, "injection", checks,
                       hint="epochs, batch_size and grad_accumulation >= 1, lr > 0, weight_decay >= 0, "
                            "precision fp32|bf16")
        self.foundation_config(LocalModelConfig())  # the adapter settings are checked there

    def foundation_config(self, local: LocalModelConfig) -> FoundationConfig:
        """The foundation model this injection trains, reading inputs with the encoders of ``local``."""
        return FoundationConfig(lm=self.fm, local=local, adapter=self.adapter, rank=self.rank, alpha=self.alpha,
                                dropout=self.dropout, experts=self.experts, max_text_tokens=self.max_text_tokens)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
