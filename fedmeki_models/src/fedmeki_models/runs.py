"""``fedmeki train``: a run folder from a :class:`RunConfig`, with FL algorithms and baselines on one engine.

Run folder layout::

    RUN/
      config.yaml          the RunConfig (``--resume`` refuses another)
      run.json             status, provenance, communication, final test metrics
      history.json         one record per round (see fedmeki_models.fl.history)
      curves.png           learning curves
      model/               the trained global model (safetensors + config.json with its provenance)
      fm/                  injection runs: the foundation model (safetensors + config.json + tokenizer)
      checkpoints/         the last completed round
      clients/client_k/    local-only baseline: one sub-run (history, checkpoints, model) per client
"""

from __future__ import annotations

import copy
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from fedmeki_data.errors import OutputExistsError
from fedmeki_data.progress import Progress
from fedmeki_data.schema import PUBLIC, TEST
from fedmeki_models import __version__
from fedmeki_models.config import LocalModelConfig
from fedmeki_models.data import FederatedData, load_federated_data
from fedmeki_models.errors import CheckpointError, ModelConfigError
from fedmeki_models.fl.algorithms import make_algorithm
from fedmeki_models.fl.clients import Clients
from fedmeki_models.fl.engine import Federation, FederationData, FederationResult, RoundHook
from fedmeki_models.fl.history import CURVES_FILE, plot_history
from fedmeki_models.model import LocalModel, build_local_model
from fedmeki_models.provenance import write_provenance
from fedmeki_models.run_config import RunConfig, make_run_config

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.yaml"
RUN_FILE = "run.json"
MODEL_DIR = "model"
FM_DIR = "fm"
CLIENTS_DIR = "clients"

RemoteClients = Callable[[RunConfig, LocalModelConfig, int], Clients]
"""Connects to clients that hold their own data (Flower SuperNodes): ``(config, model config, n_clients)``."""


def train(config: RunConfig | None, out: str | Path, *, resume: bool = False, overwrite: bool = False,
          progress: Progress | None = None, remote: RemoteClients | None = None) -> dict:
    """Run ``config`` into the run folder ``out`` and return its ``run.json`` summary.

    Parameters
    ----------
    config : RunConfig or None
        None only with ``resume``: the run's own ``config.yaml`` is used.
    out : str or Path
        Run folder.
    resume : bool, default=False
        Continue an interrupted run from its last checkpoint; the weights at the end equal those of
        an uninterrupted run.
    overwrite : bool, default=False
        Replace an existing run folder.
    progress : Progress, optional
        Called for data decoding and for every client update.
    remote : RemoteClients, optional
        Train with clients that hold their own data (the Flower engine's ServerApp): this process reads
        only the ``test`` (and, for ``public_finetune``, ``public``) splits of ``config.data``.

    Raises
    ------
    ModelConfigError
        If the algorithm or one of its parameters is unknown (before ``out`` is touched), or ``remote``
        is given with a baseline or ``resume``.
    OutputExistsError
        If ``out`` exists and neither ``resume`` nor ``overwrite`` is given.
    CheckpointError
        If ``resume`` finds no run, or a config different from the run's.
    TooFewClientsError
        If a round ends with fewer than ``min_clients`` successful clients.
    """
    folder = Path(out)
    if remote is not None:
        check_remote(config, resume=resume)
    if config is not None and not config.is_baseline:
        # An unknown algorithm or parameter fails here, before the folder is created or replaced.
        make_algorithm(config.algorithm, **config.algorithm_params)
    config = _prepare_folder(config, folder, resume=resume, overwrite=overwrite)
    summary = read_summary(folder) if resume else {}
    if summary.get("status") == "completed":
        logger.info("%s is already complete", folder)
        return summary
    started = time.perf_counter()
    write_summary(folder, {"status": "running", "started": _now(), "config": config.to_dict()})
    try:
        # Built first: pretrained image weights may change the image size the data is prepared at.
        model = build_local_model(config.model_config(), seed=config.seed, image_weights=config.image_weights)
        splits = (PUBLIC, TEST) if config.variant == "public_finetune" else (TEST,)
        data = load_federated_data(config.data, config.tasks, image_size=model.config.image.image_size,
                                   max_steps=model.config.clinical.max_steps, progress=progress,
                                   **({"splits": splits} if remote is not None else {}))
        injector = _injector(config, model, progress) if config.injection is not None else None
        if remote is None:
            results = _run(config, data, model, folder, resume=resume, progress=progress, hook=injector)
        else:
            results = {MODEL_DIR: _federate_remote(config, data, model, folder, remote, progress, hook=injector)}
    except BaseException as error:
        write_summary(folder, {"status": "failed", "error": f"{type(error).__name__}: {error}",
                                "hint": getattr(error, "hint", ""), "config": config.to_dict()})
        raise
    summary = _summarise(config, data, results, seconds=time.perf_counter() - started)
    for name, result in results.items():
        _save_model(folder / name, result, provenance=_provenance(summary))
    if injector is not None:
        _save_foundation(folder / FM_DIR, injector, provenance=_provenance(summary))
    plot_history(results[MODEL_DIR].history if MODEL_DIR in results else _mean_history(results),
                 folder / CURVES_FILE, title=f"{config.algorithm} {config.setting}")
    write_summary(folder, summary)
    return summary


def check_remote(config: RunConfig | None, *, resume: bool) -> None:
    """Refuse what only the in-process engine can do: baselines (they pool or isolate data) and resume."""
    if resume or config is None:
        raise ModelConfigError("A run with remote clients cannot be resumed: the sites' own state is gone.",
                               hint="start it again (--overwrite), or run it in-process to use --resume")
    if config.is_baseline:
        raise ModelConfigError(f"The {config.algorithm} baseline runs in-process only: it needs every client's data.",
                               hint="drop --engine flower, or choose an FL algorithm")


def model_folder(path: str | Path, *, client: int | None = None) -> Path:
    """The model folder of a model folder or a run folder: an injection run's foundation model (``fm/``),
    else its global model (``model/``); ``client`` picks a local-only client's model.

    Raises
    ------
    CheckpointError
        If ``path`` holds neither, or a local-only run is given without ``client``.
    """
    path = Path(path)
    if (path / "config.json").is_file():
        return path
    if not (path / CONFIG_FILE).is_file():
        raise CheckpointError(f"{path} is neither a model folder (config.json) nor a run folder ({CONFIG_FILE}).",
                              hint="pass the --out folder of 'fedmeki train' or its model/ folder")
    if client is None and (path / FM_DIR / "config.json").is_file():
        return path / FM_DIR
    if (path / MODEL_DIR / "config.json").is_file():
        if client is not None:
            raise CheckpointError(f"{path} has one global model; --client applies to local-only runs.",
                                  hint="drop --client")
        return path / MODEL_DIR
    clients = sorted((path / CLIENTS_DIR).glob("client_*/model"))
    if clients and client is None:
        raise CheckpointError(f"{path} is a local-only run with {len(clients)} client models.",
                              hint="pick one with --client K")
    if client is not None and (path / CLIENTS_DIR / f"client_{client}" / MODEL_DIR / "config.json").is_file():
        return path / CLIENTS_DIR / f"client_{client}" / MODEL_DIR
    which = f" for client {client}" if client is not None else ""
    raise CheckpointError(f"{path} has no finished model{which}.",
                          hint="finish the run first (fedmeki train --resume --out RUN)")


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; anything else as torch reads it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _injector(config: RunConfig, model: LocalModel, progress: Progress | None) -> RoundHook:
    """The round hook of an injection run: a new foundation model over ``model``'s encoders, and the
    ``public`` instructions of the trained tasks."""
    from fedmeki_models.injection.build import build_foundation_model
    from fedmeki_models.injection.instructions import load_instructions
    from fedmeki_models.injection.loop import Injector

    fm = build_foundation_model(config.injection.foundation_config(model.config), seed=config.seed)
    public = {task: load_instructions(config.data, task, PUBLIC, model.config) for task in config.tasks}
    return Injector(fm.to(resolve_device(config.device)), public, config.injection, seed=config.seed,
                    progress=progress)


def _run(config: RunConfig, data: FederatedData, model: LocalModel, folder: Path, *, resume: bool,
         progress: Progress | None, hook: RoundHook | None = None) -> dict[str, FederationResult]:
    """Train and return the results keyed by the model folder each is saved to, relative to the run."""
    if config.algorithm == "local_only":
        return {f"{CLIENTS_DIR}/client_{client}/{MODEL_DIR}": _federate(
            replace(config, min_clients=1, fraction=1.0), _local_view(data, client), model,
            folder / CLIENTS_DIR / f"client_{client}", baseline=True, resume=resume, progress=progress)
            for client in range(data.n_clients)}
    if config.algorithm == "centralised":
        return {MODEL_DIR: _federate(replace(config, min_clients=1, fraction=1.0), _pooled_view(data), model,
                                     folder, baseline=True, resume=resume, progress=progress)}
    return {MODEL_DIR: _federate(config, _federated_view(data), model, folder, baseline=False, resume=resume,
                                 progress=progress, hook=hook)}


def _federate(config: RunConfig, view: FederationData, initial: LocalModel, folder: Path, *, baseline: bool,
              resume: bool, progress: Progress | None, hook: RoundHook | None = None) -> FederationResult:
    folder.mkdir(parents=True, exist_ok=True)
    algorithm = make_algorithm("fedavg") if baseline else make_algorithm(config.algorithm, **config.algorithm_params)
    model = copy.deepcopy(initial).to(resolve_device(config.device))
    federation = Federation.in_process(config, view, algorithm, model, folder, baseline=baseline, hook=hook,
                                       progress=progress)
    return federation.run(resume=resume)


def _federate_remote(config: RunConfig, data: FederatedData, initial: LocalModel, folder: Path,
                     remote: RemoteClients, progress: Progress | None,
                     hook: RoundHook | None = None) -> FederationResult:
    folder.mkdir(parents=True, exist_ok=True)
    algorithm = make_algorithm(config.algorithm, **config.algorithm_params)
    model = initial.to(resolve_device(config.device))
    clients = remote(config, model.config, data.n_clients)
    return Federation(config, clients, algorithm, model, folder, public=data.public, test=data.test, hook=hook,
                      progress=progress).run()


def _federated_view(data: FederatedData) -> FederationData:
    return FederationData(clients=data.clients,
                          validation={task: [data.client_validation(task, k) for k in range(data.n_clients)]
                                      for task in data.tasks},
                          public=data.public, test=data.test)


def _pooled_view(data: FederatedData) -> FederationData:
    return FederationData(clients={task: [data.pooled(task)] for task in data.tasks},
                          validation={task: [data.validation[task]] for task in data.tasks}, test=data.test)


def _local_view(data: FederatedData, client: int) -> FederationData:
    return FederationData(clients={task: [data.clients[task][client]] for task in data.tasks},
                          validation={task: [data.client_validation(task, client)] for task in data.tasks},
                          test=data.test)


def _prepare_folder(config: RunConfig | None, folder: Path, *, resume: bool, overwrite: bool) -> RunConfig:
    saved = folder / CONFIG_FILE
    if resume:
        if not saved.is_file():
            raise CheckpointError(f"{folder} is not a run folder (no {CONFIG_FILE}).",
                                  hint="start the run without --resume")
        stored = make_run_config(saved)
        if config is not None and config.to_dict() != stored.to_dict():
            raise CheckpointError(f"The options differ from the config of {folder}.",
                                  hint=f"resume with only --out {folder} --resume, or start a new run")
        return stored
    if config is None:
        raise CheckpointError("No run config given.", hint="pass --data (and options) or --config FILE.yaml")
    if folder.exists() and any(folder.iterdir()):
        if not overwrite:
            raise OutputExistsError(f"Run folder {folder} already exists.",
                                    hint="pass --resume to continue it, --overwrite to replace it, or another --out")
        if not (saved.is_file() or (folder / RUN_FILE).is_file()):
            raise OutputExistsError(f"{folder} is not a run folder; --overwrite replaces only run folders.",
                                    hint="choose another --out")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config.save(saved)
    return config


def _summarise(config: RunConfig, data: FederatedData, results: dict[str, FederationResult], *,
               seconds: float) -> dict:
    sent = sum(result.bytes_sent for result in results.values())
    received = sum(result.bytes_received for result in results.values())
    finals = {name: result.history[-1].get("test", {}) for name, result in results.items()}
    return {
        "status": "completed", "finished": _now(), "seconds": round(seconds, 1), "fedmeki_version": __version__,
        "dataset": {"repo_or_path": str(config.data), "fingerprint": data.fingerprint, "sources": data.sources},
        "method": {"algorithm": config.algorithm, "setting": config.setting, "variant": config.variant,
                   "clients": data.n_clients, "rounds": config.rounds, "seed": config.seed},
        "algorithm": make_algorithm(config.algorithm, **config.algorithm_params).to_config()
        if not config.is_baseline else {"name": config.algorithm},
        "communication_bytes": {"sent": sent, "received": received, "total": sent + received},
        **next(iter(results.values())).clients,
        "dropped": [{"round": record["round"], **drop} for result in results.values() for record in result.history
                    for drop in record["dropped"]],
        "models": sorted(results) + ([FM_DIR] if config.injection is not None else []),
        "test": _mean_metrics(list(finals.values())),
        "test_per_model": finals if len(finals) > 1 else None, "config": config.to_dict(),
    }


def _mean_metrics(per_model: list[dict]) -> dict:
    """Mean of each test metric over models (the local-only baseline's mean client)."""
    tasks = per_model[0].keys()
    return {task: {name: float(np.nanmean([metrics[task][name] for metrics in per_model]))
                   for name in per_model[0][task]} for task in tasks}


def _mean_history(results: dict[str, FederationResult]) -> list[dict]:
    histories = [result.history for result in results.values()]
    merged = []
    for records in zip(*histories, strict=True):
        merged.append({"round": records[0]["round"],
                       "train_loss": {task: float(np.mean([r["train_loss"][task] for r in records]))
                                      for task in records[0]["train_loss"]},
                       "test": _mean_metrics([r["test"] for r in records]) if "test" in records[0] else {}})
    return merged


def _provenance(summary: dict) -> dict:
    keys = ("fedmeki_version", "dataset", "method", "algorithm", "communication_bytes", "engine", "config")
    return {key: summary[key] for key in keys}


def _save_model(folder: Path, result: FederationResult, *, provenance: dict) -> None:
    result.model.to("cpu").save_pretrained(folder)
    write_provenance(folder, provenance)


def _save_foundation(folder: Path, injector, *, provenance: dict) -> None:
    from fedmeki_models.injection.build import save_foundation_model

    save_foundation_model(injector.fm.to("cpu"), folder)
    write_provenance(folder, provenance)


def read_summary(folder: Path) -> dict:
    """A run folder's ``run.json``, or ``{}`` when it has none."""
    path = folder / RUN_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_summary(folder: Path, summary: dict) -> None:
    """Replace a run folder's ``run.json`` atomically (written beside, then renamed)."""
    path = folder / RUN_FILE
    staging = path.with_suffix(".json.partial")
    staging.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    staging.replace(path)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
