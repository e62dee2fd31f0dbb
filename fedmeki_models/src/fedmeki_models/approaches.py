"""The paper's 16 benchmark approaches as named runs: {FedAvg, FedProx} x {single-, multi-task} x 4 models.

The four models of an algorithm and setting (paper notation X, X^dagger, X^*, X^F):

* ``local``: the FL local model (``fedmeki train``);
* ``public``: the local model fine-tuned on the public split after every round (``--variant public_finetune``);
* ``returned``: the local model of an injection run, whose encoders came back from the foundation model;
* ``fm``: the injected foundation model of that run (it answers all eight tasks).

``returned`` and ``fm`` share one injection run. :func:`run_approaches` trains each distinct run once and
writes one submission per approach.

Examples
--------
>>> APPROACHES["fedprox_m_fm"].label
'FedProx_m^F'
>>> len(APPROACHES)
16
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedmeki_data.progress import Progress
from fedmeki_models.errors import ModelConfigError

_MODELS = {"local": "", "public": "^†", "returned": "^*", "fm": "^F"}
_ALGORITHMS = {"fedavg": "FedAvg", "fedprox": "FedProx"}
_SETTINGS = {"single_task": "s", "multi_task": "m"}


@dataclass(frozen=True)
class Approach:
    """One of the paper's benchmark approaches.

    Attributes
    ----------
    name : str
        ``<algorithm>_<s|m>_<model>``, e.g. ``fedavg_s_public``.
    algorithm, setting, model : str
    """

    name: str
    algorithm: str
    setting: str
    model: str

    @property
    def label(self) -> str:
        """The paper's notation, e.g. ``FedAvg_s^†``."""
        return f"{_ALGORITHMS[self.algorithm]}_{_SETTINGS[self.setting]}{_MODELS[self.model]}"

    @property
    def run_name(self) -> str:
        """The training run this approach's model comes from (``returned`` and ``fm`` share one)."""
        kind = {"local": "standard", "public": "public_finetune"}.get(self.model, "injection")
        return f"{self.algorithm}_{_SETTINGS[self.setting]}_{kind}"

    def run_options(self) -> dict[str, Any]:
        """The run config values of that training run."""
        options: dict[str, Any] = {"algorithm": self.algorithm, "setting": self.setting,
                                   "variant": "public_finetune" if self.model == "public" else "standard"}
        if self.model in ("returned", "fm"):
            options["injection"] = {}
        return options

    def model_path(self, run: Path) -> Path:
        """What ``fedmeki predict`` reads: the run's foundation model for ``fm``, else its local model."""
        return run if self.model == "fm" else run / "model"


APPROACHES: dict[str, Approach] = {
    f"{algorithm}_{short}_{model}": Approach(f"{algorithm}_{short}_{model}", algorithm, setting, model)
    for algorithm in _ALGORITHMS for setting, short in _SETTINGS.items() for model in _MODELS
}
"""The 16 approaches of the paper's Tables 2 and 3, by name."""


def get_approaches(names: Sequence[str]) -> list[Approach]:
    """The approaches ``names`` (``all`` for the 16), in the order given.

    Raises
    ------
    ModelConfigError
        For an unknown name.
    """
    if list(names) == ["all"]:
        return list(APPROACHES.values())
    unknown = [name for name in names if name not in APPROACHES]
    if unknown:
        raise ModelConfigError(f"Unknown approach(es): {', '.join(unknown)}.",
                               hint="see 'fedmeki approaches ls' (names like fedavg_m_fm), or 'all'")
    return [APPROACHES[name] for name in names]


def run_approaches(approaches: Sequence[Approach], data: str | Path, out: str | Path, *,
                   options: dict[str, Any] | None = None, overwrite: bool = False,
                   progress: Progress | None = None) -> dict[str, dict]:
    """Train each distinct run of ``approaches`` once into ``out/runs/`` and write each approach's submission
    to ``out/submissions/<name>/``; returns the submission metadata by approach name.

    ``options`` are run config values shared by every run (rounds, preset, seed, training, ...); an
    ``injection`` mapping there sets the foundation model of the injection runs.
    """
    from fedmeki_models.predict import predict
    from fedmeki_models.run_config import make_run_config
    from fedmeki_models.runs import train

    out = Path(out)
    shared = dict(options or {})
    injection = shared.pop("injection", None) or {}
    runs: dict[str, Path] = {}
    for approach in approaches:
        if approach.run_name not in runs:
            values = {**shared, "data": str(data), **approach.run_options()}
            if "injection" in values:
                values["injection"] = injection
            runs[approach.run_name] = out / "runs" / approach.run_name
            train(make_run_config(None, **values), runs[approach.run_name], overwrite=overwrite, progress=progress)
    return {approach.name: predict(approach.model_path(runs[approach.run_name]), data,
                                   out / "submissions" / approach.name, name=approach.label, overwrite=overwrite,
                                   progress=progress)
            for approach in approaches}
