"""The FedMEKI model zoo: Hub-ready model repositories, their cards, a registry, download and publish.

    from fedmeki_models.zoo import load_model
    model = load_model("hf://org/name")   # a LocalModel, or a FoundationModel for an injected model

Modules: ``files`` (what a repository may hold), ``card`` (model cards with results), ``export``
(run folder -> repository folder), ``hub`` (``hf://`` specs, pull, push, load) and ``registry`` (the
published checkpoints shipped with the package).
"""

from __future__ import annotations

import importlib

_LAZY = {"load_model": "fedmeki_models.zoo.hub", "locate_model": "fedmeki_models.zoo.hub",
         "export_model": "fedmeki_models.zoo.export"}


def __getattr__(name: str):
    # The loaders import torch and the models, which themselves use ``zoo.files``: imported on first use.
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_LAZY)
