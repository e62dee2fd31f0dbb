"""FedMEKI's Flower ServerApp: the in-process engine's server loop, with the clients on SuperNodes.

It waits until every client of the partition is connected (:meth:`FlowerClients.connect`), then runs
:func:`fedmeki_models.runs.train` with those clients: the same sampling, aggregation, evaluation,
checkpoints, history and run folder as ``fedmeki train`` in-process. The run folder is written on the
machine running the SuperLink; the server reads only the ``test`` (and ``public``) splits there.
"""

from __future__ import annotations

import logging

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from fedmeki_models.config import LocalModelConfig
from fedmeki_models.flower.app import ServerSettings
from fedmeki_models.flower.clients import FlowerClients
from fedmeki_models.run_config import RunConfig
from fedmeki_models.runs import train

app = ServerApp()
logger = logging.getLogger(__name__)

PROGRESS = "fedmeki-progress"
"""Prefix of the log lines that carry progress (``fedmeki-progress <done>/<total> <label>``)."""


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Run the federation described by the run config and write its run folder."""
    _log_to_stderr()
    settings = ServerSettings.from_run_config(dict(context.run_config))

    def connect(config: RunConfig, model_config: LocalModelConfig, n_clients: int) -> FlowerClients:
        clients = FlowerClients(grid, config, model_config, n_clients, round_timeout=settings.round_timeout)
        clients.connect(settings.connect_timeout)
        return clients

    summary = train(settings.config, settings.out, overwrite=settings.overwrite, progress=_log_progress,
                    remote=connect)
    logger.info("run finished: %s", summary["status"])


def _log_progress(label: str, done: int, total: int) -> None:
    logger.info("%s %d/%d %s", PROGRESS, done, total, label)


def _log_to_stderr() -> None:
    """Show FedMEKI's INFO log in the ServerApp's output (Flower streams it to ``flwr run --stream``)."""
    package = logging.getLogger("fedmeki_models")
    if not package.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        package.addHandler(handler)
    package.setLevel(logging.INFO)
