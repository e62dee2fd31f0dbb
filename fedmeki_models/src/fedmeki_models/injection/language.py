"""The language model of a foundation model: the offline ``tiny`` one, or any Hugging Face causal LM.

``tiny`` is a small Llama-style model built from :data:`~fedmeki_models.injection.config.TINY_LM` with a
byte-level BPE tokenizer trained here on the task registry's texts: nothing is downloaded, any text can be
tokenized (bytes never fall out of the vocabulary), and the same texts give the same tokenizer.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from fedmeki_data.tasks import TASKS
from fedmeki_models.errors import ModelConfigError
from fedmeki_models.injection.config import TINY, TINY_LM, FoundationConfig

PAD, BOS, EOS = "<pad>", "<s>", "</s>"
TINY_VOCABULARY = 1024
MODALITY_TAGS = {"image": ("<Img>", "</Img>"), "ecg": ("<Signal>", "</Signal>"), "clinical": ("<Ts>", "</Ts>")}
"""The paper's tags around a modality's tokens (plain text: no new embeddings in a frozen model)."""
HUMAN, ASSISTANT = "### Human: ", "\n### Assistant: "


def registry_texts() -> list[str]:
    """Every text the prompts are made of: instructions, task and modality descriptions, labels, tags."""
    texts = [HUMAN, ASSISTANT, *(tag for pair in MODALITY_TAGS.values() for tag in pair)]
    for task in TASKS.values():
        texts += [task.instruction or "", task.task_description, task.modality_description, *task.label_names]
    return [text for text in texts if text]


def train_tokenizer(texts: Iterable[str], *, vocab_size: int = TINY_VOCABULARY) -> PreTrainedTokenizerBase:
    """A byte-level BPE tokenizer trained on ``texts`` (deterministic for the same texts, in order)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[PAD, BOS, EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(list(texts), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token=PAD, bos_token=BOS, eos_token=EOS)


def build_language_model(config: FoundationConfig, *, seed: int, tokenizer: PreTrainedTokenizerBase | None = None,
                         dtype: torch.dtype = torch.float32) -> tuple[PreTrainedModel, PreTrainedTokenizerBase,
                                                                      FoundationConfig]:
    """The frozen language model and tokenizer of ``config``, and ``config`` with ``lm_config`` filled in.

    ``tiny`` is initialised from ``seed`` (its tokenizer trained on :func:`registry_texts` unless given);
    another ``lm`` is loaded with ``from_pretrained`` (safetensors only; offline from the cache with
    ``HF_HUB_OFFLINE=1``), its tokenizer getting a padding token if it has none.
    """
    from dataclasses import replace

    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    if config.lm == TINY:
        tokenizer = tokenizer or train_tokenizer(registry_texts())
        lm_config = LlamaConfig(**{**TINY_LM, **config.lm_config, "vocab_size": len(tokenizer),
                                   "pad_token_id": tokenizer.pad_token_id, "bos_token_id": tokenizer.bos_token_id,
                                   "eos_token_id": tokenizer.eos_token_id})
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = LlamaForCausalLM(lm_config).to(dtype)
    else:
        hint = "name a causal LM on the Hub or a local folder with safetensors weights, or use --fm tiny offline"
        try:
            tokenizer = tokenizer or AutoTokenizer.from_pretrained(config.lm)
            model, loading = AutoModelForCausalLM.from_pretrained(config.lm, dtype=dtype, use_safetensors=True,
                                                                  output_loading_info=True)
        except (OSError, ValueError) as error:
            raise ModelConfigError(f"Cannot load the language model {config.lm!r}: {str(error).splitlines()[0]}",
                                   hint=hint) from None
        missing = sorted(loading["missing_keys"])
        if missing:  # transformers would start them from random values and only log it
            raise ModelConfigError(f"The language model {config.lm!r} lacks {len(missing)} weights, e.g. {missing[0]}.",
                                   hint=hint)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
    model.requires_grad_(False)
    config = replace(config, lm_config={key: value for key, value in model.config.to_dict().items()
                                        if key not in ("transformers_version", "dtype", "torch_dtype")})
    return model, tokenizer, config
