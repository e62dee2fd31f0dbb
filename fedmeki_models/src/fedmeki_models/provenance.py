"""Where a saved model came from, kept inside its own ``config.json`` under ``"fedmeki"``.

A model folder describes itself: the architecture's hyper-parameters and, beside them, the FL provenance
(dataset and fingerprint, the data sources and whether they are credentialed, algorithm, setting, clients,
rounds, seed, communication, the run config and the fedmeki version). ``fedmeki predict`` copies it into
submissions, ``fedmeki zoo export`` into model cards, and ``fedmeki zoo push`` reads it to refuse models
trained on credentialed data. The model loaders ignore the key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

PROVENANCE_KEY = "fedmeki"
MODEL_CONFIG = "config.json"


def write_provenance(folder: str | Path, provenance: Mapping) -> None:
    """Add ``provenance`` to the ``config.json`` of the model saved in ``folder`` (replaced atomically)."""
    path = Path(folder) / MODEL_CONFIG
    config = json.loads(path.read_text(encoding="utf-8"))
    config[PROVENANCE_KEY] = dict(provenance)
    staging = path.with_suffix(".json.partial")
    staging.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    staging.replace(path)


def read_provenance(folder: str | Path) -> dict:
    """The provenance in ``folder``'s ``config.json``, or ``{}`` when the model was saved without one."""
    path = Path(folder) / MODEL_CONFIG
    return dict(json.loads(path.read_text(encoding="utf-8")).get(PROVENANCE_KEY) or {})


def model_config(config: Mapping) -> dict:
    """``config.json``'s content without the provenance: what the model's architecture is built from."""
    return {key: value for key, value in config.items() if key != PROVENANCE_KEY}
