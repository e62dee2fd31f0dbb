"""``fedmeki predict``: a trained local model -> a submission folder the standard scorer reads.

The scorer never sees a model: this module writes, for every task the model has a head for, one
prediction and the probability of *yes* per test record.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from fedmeki_data.hub import resolve_dataset
from fedmeki_data.manifest import read_manifest
from fedmeki_data.progress import Progress
from fedmeki_eval.writer import write_submission
from fedmeki_models import __version__
from fedmeki_models.data import load_task_tensors
from fedmeki_models.errors import CheckpointError
from fedmeki_models.model import LocalModel
from fedmeki_models.runs import CLIENTS_DIR, CONFIG_FILE, MODEL_DIR, TRAINING_FILE, resolve_device
from fedmeki_models.training import predict_proba

logger = logging.getLogger(__name__)

THRESHOLD = 0.5
"""A record is predicted *yes* when the probability of *yes* reaches this."""


def model_folder(path: str | Path, *, client: int | None = None) -> Path:
    """The model folder of a model folder or a run folder (``client`` picks a local-only client's model).

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


def predict(model: str | Path, data: str | Path, out: str | Path, *, client: int | None = None,
            name: str | None = None, batch_size: int = 256, device: str = "auto", overwrite: bool = False,
            progress: Progress | None = None) -> dict:
    """Write the submission of ``model`` on the test split of ``data`` to ``out`` and return its metadata.

    Parameters
    ----------
    model : str or Path
        Model folder, or run folder of ``fedmeki train``.
    data : str or Path
        Dataset folder or Hub dataset repo id whose ``test`` splits are predicted.
    out : str or Path
        Submission folder to create (atomically).
    client : int, optional
        For a local-only run: which client's model.
    name : str, optional
        Submission name (default: the method, e.g. ``fedavg multi_task standard``).
    batch_size : int, default=256
    device : str, default="auto"
    overwrite : bool, default=False
    progress : Progress, optional
        ``progress(task, done, total)`` per predicted task.
    """
    folder = model_folder(model, client=client)
    target = resolve_device(device)
    local = LocalModel.from_pretrained(folder).to(target)
    provenance = _provenance(folder)
    dataset_folder = resolve_dataset(data)
    manifest = read_manifest(dataset_folder)
    config = local.config
    predictions = {}
    for done, task in enumerate(config.tasks, start=1):
        tensors = load_task_tensors(dataset_folder, task, "test", image_size=config.image.image_size,
                                    max_steps=config.clinical.max_steps)
        scores = predict_proba(local, task, tensors, batch_size=batch_size, device=target)
        predictions[task] = [{"id": record, "prediction": "yes" if score >= THRESHOLD else "no", "score": float(score)}
                             for record, score in zip(tensors.ids, scores, strict=True)]
        if progress:
            progress("predict", done, len(config.tasks))
    method = provenance.get("method") or {"algorithm": "unknown", "setting": "multi_task" if config.shared_encoders
                                          else "single_task", "variant": "standard", "clients": 0, "rounds": 0,
                                          "seed": 0}
    metadata = {
        "name": name or f"{method['algorithm']} {method['setting']} {method['variant']}",
        "model": {"repo_id": None, "revision": None},
        "dataset": {"repo_or_path": str(data), "fingerprint": manifest["fingerprint"]},
        "method": method,
        "communication_bytes": (provenance.get("communication_bytes") or {}).get("total"),
        "external_data": config.image_init != "random",
        "fedmeki_version": __version__,
    }
    write_submission(out, metadata, predictions, overwrite=overwrite)
    return metadata


def _provenance(folder: Path) -> dict:
    path = folder / TRAINING_FILE
    if not path.is_file():
        logger.warning("%s has no %s; the submission's method fields will say 'unknown'", folder, TRAINING_FILE)
        return {}
    return json.loads(path.read_text(encoding="utf-8"))
