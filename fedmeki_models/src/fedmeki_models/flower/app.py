"""The Flower app folder that ``flwr run`` submits, and the run settings it is submitted with.

The folder holds only a ``pyproject.toml``: its components point at the installed
``fedmeki_models.flower`` modules, so the SuperLink and SuperNodes run the FedMEKI version installed on
their machines (the ServerApp warns when a node's version differs). Run settings travel as Flower run
config (``context.run_config``): the whole :class:`~fedmeki_models.run_config.RunConfig` as JSON, the run
folder on the server machine, and the timeouts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from fedmeki_models import __version__
from fedmeki_models.run_config import RunConfig, make_run_config

PUBLISHER = "fedmeki"
APP_NAME = "fedmeki-app"
RUN_CONFIG, OUT, OVERWRITE = "run-config", "out", "overwrite"
CONNECT_TIMEOUT, ROUND_TIMEOUT = "connect-timeout", "round-timeout"


@dataclass(frozen=True)
class ServerSettings:
    """What the ServerApp runs: a run config, a run folder on the server machine and its patience.

    Attributes
    ----------
    config : RunConfig
    out : Path
        The run folder, written by the ServerApp on the machine that runs the SuperLink.
    overwrite : bool
    connect_timeout : float
        Seconds to wait for every client's SuperNode before the first round.
    round_timeout : float
        Seconds to wait for the replies of one round; clients without a reply are dropped.
    """

    config: RunConfig
    out: Path
    overwrite: bool = False
    connect_timeout: float = 600.0
    round_timeout: float = 3600.0

    def to_run_config(self) -> dict[str, Any]:
        """The Flower run config (``--run-config`` TOML) of these settings."""
        return {RUN_CONFIG: json.dumps(self.config.to_dict()), OUT: str(self.out), OVERWRITE: self.overwrite,
                CONNECT_TIMEOUT: self.connect_timeout, ROUND_TIMEOUT: self.round_timeout}

    @classmethod
    def from_run_config(cls, values: dict[str, Any]) -> ServerSettings:
        """The settings in a ServerApp's ``context.run_config``."""
        return cls(config=make_run_config(None, **json.loads(str(values[RUN_CONFIG]))), out=Path(str(values[OUT])),
                   overwrite=bool(values[OVERWRITE]), connect_timeout=float(values[CONNECT_TIMEOUT]),
                   round_timeout=float(values[ROUND_TIMEOUT]))


def write_app(folder: str | Path) -> Path:
    """Write the Flower app folder (its ``pyproject.toml``) to ``folder`` and return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    project = {
        "build-system": {"requires": ["hatchling"], "build-backend": "hatchling.build"},
        "project": {"name": APP_NAME, "version": __version__, "license": "Apache-2.0",
                    "description": "FedMEKI federated training of the local multimodal model on Flower",
                    "dependencies": [f"fedmeki-models[flower]=={__version__}"]},
        "tool": {"flwr": {"app": {
            "publisher": PUBLISHER,
            "components": {"serverapp": "fedmeki_models.flower.serverapp:app",
                           "clientapp": "fedmeki_models.flower.clientapp:app"},
            "config": {RUN_CONFIG: "", OUT: "", OVERWRITE: False, CONNECT_TIMEOUT: 600.0, ROUND_TIMEOUT: 3600.0},
        }}},
    }
    (folder / "pyproject.toml").write_text(tomli_w.dumps(project), encoding="utf-8")
    return folder


def write_settings(settings: ServerSettings, path: str | Path) -> Path:
    """Write ``settings`` as the TOML file ``flwr run --run-config`` reads."""
    path = Path(path)
    path.write_text(tomli_w.dumps(settings.to_run_config()), encoding="utf-8")
    return path
