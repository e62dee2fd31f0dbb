"""The FL algorithms, one module each, and their registry.

Examples
--------
>>> make_algorithm("fedprox", mu=0.1).to_config()
{'name': 'fedprox', 'mu': 0.1}
"""

from __future__ import annotations

import difflib
from typing import Any

from fedmeki_models.errors import ModelConfigError
from fedmeki_models.fl.algorithms.base import Algorithm, ClientOutcome
from fedmeki_models.fl.algorithms.fedadagrad import FedAdagrad
from fedmeki_models.fl.algorithms.fedadam import FedAdam
from fedmeki_models.fl.algorithms.fedavg import FedAvg
from fedmeki_models.fl.algorithms.fedavgm import FedAvgM
from fedmeki_models.fl.algorithms.fedbn import FedBN
from fedmeki_models.fl.algorithms.fedmedian import FedMedian
from fedmeki_models.fl.algorithms.fedopt import FedOpt
from fedmeki_models.fl.algorithms.fedprox import FedProx
from fedmeki_models.fl.algorithms.fedtrimmedavg import FedTrimmedAvg
from fedmeki_models.fl.algorithms.fedyogi import FedYogi
from fedmeki_models.fl.algorithms.scaffold import Scaffold

__all__ = ["ALGORITHMS", "Algorithm", "ClientOutcome", "FedAdagrad", "FedAdam", "FedAvg", "FedAvgM", "FedBN",
           "FedMedian", "FedOpt", "FedProx", "FedTrimmedAvg", "FedYogi", "Scaffold", "make_algorithm"]

ALGORITHMS: dict[str, type[Algorithm]] = {
    cls.name: cls
    for cls in (FedAvg, FedProx, FedAvgM, FedAdam, FedYogi, FedAdagrad, FedBN, Scaffold, FedMedian, FedTrimmedAvg)
}
"""Every FL algorithm by its name (the ``--algorithm`` value)."""


def make_algorithm(name: str, **params: Any) -> Algorithm:
    """The algorithm ``name`` (case-insensitive) with hyper-parameters ``params``.

    Raises
    ------
    ModelConfigError
        An unknown name or parameter (with a "did you mean" hint), or an illegal value.
    """
    key = name.lower()
    if key not in ALGORITHMS:
        raise ModelConfigError(f"Unknown FL algorithm {name!r}.", hint=_suggest(key, ALGORITHMS, "algorithms"))
    cls = ALGORITHMS[key]
    known = cls.hyperparameters()
    for param in params:
        if param not in known:
            raise ModelConfigError(f"{cls.__name__} has no parameter {param!r}.",
                                   hint=_suggest(param, known, f"{cls.__name__} parameters"))
    try:
        return cls(**params)
    except ValueError as error:
        raise ModelConfigError(str(error), hint=f"{cls.__name__} parameters: {', '.join(known)}") from error


def _suggest(word: str, choices, what: str) -> str:
    """``did you mean 'x'?`` where a choice is close, then the full list."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    listed = f"{what}: {', '.join(choices) or 'none'}"
    return f"did you mean {close[0]!r}? {listed}" if close else listed
