"""Building, saving and loading a foundation model: safetensors and a config, never pickles.

A saved foundation model is a folder::

    config.json         the FoundationConfig (language model, adapters, the local model's config)
    model.safetensors   encoders, projectors, adapters and gate; for ``tiny`` also the language model
    tokenizer.json ...  the tokenizer (``tiny``: the one trained at build time)

A Hub language model is not copied: loading reads it from the Hub or its cache by its id.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from fedmeki_models.errors import CheckpointError
from fedmeki_models.injection.config import TINY, FoundationConfig
from fedmeki_models.injection.language import build_language_model
from fedmeki_models.injection.model import FoundationModel
from fedmeki_models.provenance import model_config
from fedmeki_models.training import load_state
from fedmeki_models.zoo.files import check_no_pickles

CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"
_LM = "lm.base_model.model."


def build_foundation_model(config: FoundationConfig, *, seed: int = 0, tokenizer=None,
                           dtype: torch.dtype = torch.float32) -> FoundationModel:
    """A new foundation model: the language model of ``config`` with new adapters, encoders, projectors
    and gate, all initialised from ``seed`` (the global torch RNG is left as it was)."""
    lm, tokenizer, config = build_language_model(config, seed=seed, tokenizer=tokenizer, dtype=dtype)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return FoundationModel(config, lm, tokenizer)


def save_foundation_model(model: FoundationModel, folder: str | Path) -> Path:
    """Write ``model`` to ``folder`` (see the module docstring) and return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = model.trainable_state()
    if model.config.lm == TINY:
        state.update({key: value for key, value in model.state_dict().items() if key.startswith(_LM)})
    save_file({key: value.detach().cpu().contiguous() for key, value in state.items()}, str(folder / WEIGHTS_FILE),
              metadata={"format": "pt"})
    (folder / CONFIG_FILE).write_text(json.dumps(model.config.to_dict(), indent=2) + "\n", encoding="utf-8")
    model.tokenizer.save_pretrained(folder)
    return folder


def load_foundation_model(folder: str | Path, *, dtype: torch.dtype = torch.float32) -> FoundationModel:
    """The foundation model saved in ``folder``, every saved tensor checked against the built model.

    Raises
    ------
    CheckpointError
        If the folder has no config or weights, or a tensor is missing, unexpected or of another shape.
    UnsafeFileError
        If the folder holds a pickle-based file (never opened).
    ModelConfigError
        If the config names an unknown architecture or setting.
    """
    from transformers import AutoTokenizer

    folder = Path(folder)
    if not (folder / CONFIG_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise CheckpointError(f"{folder} is not a foundation model folder (no {CONFIG_FILE} and {WEIGHTS_FILE}).",
                              hint="pass the fm/ folder of a 'fedmeki inject' run")
    check_no_pickles(folder)
    config = FoundationConfig(**model_config(json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))))
    model = build_foundation_model(config, tokenizer=AutoTokenizer.from_pretrained(folder), dtype=dtype)
    saved = load_file(str(folder / WEIGHTS_FILE))
    expected = model.trainable_state()
    if config.lm == TINY:
        expected.update({key: value for key, value in model.state_dict().items() if key.startswith(_LM)})
    problems = sorted(set(expected) ^ set(saved)) or [key for key in saved if saved[key].shape != expected[key].shape]
    if problems:
        raise CheckpointError(f"{folder / WEIGHTS_FILE} does not fit its config (e.g. {problems[0]}).",
                              hint="the folder was changed by hand, or written by another fedmeki version")
    load_state(model, saved)
    return model
