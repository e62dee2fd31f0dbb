"""``fedmeki predict``: a trained model -> a submission folder the standard scorer reads.

The scorer never sees a model. A local model answers the tasks it has a head for, with the probability
of *yes*; a foundation model (the ``fm/`` of an injection run) answers all eight tasks by generation,
the four validation tasks zero-shot.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fedmeki_data.hub import resolve_dataset
from fedmeki_data.manifest import read_manifest
from fedmeki_data.progress import Progress
from fedmeki_eval.writer import write_submission
from fedmeki_models import __version__
from fedmeki_models.data import load_task_tensors
from fedmeki_models.model import LocalModel
from fedmeki_models.provenance import read_provenance
from fedmeki_models.runs import resolve_device
from fedmeki_models.training import predict_proba
from fedmeki_models.zoo.hub import FOUNDATION, locate_model, model_kind

logger = logging.getLogger(__name__)

THRESHOLD = 0.5
"""A record is predicted *yes* when the probability of *yes* reaches this."""


def predict(model: str | Path, data: str | Path, out: str | Path, *, client: int | None = None,
            name: str | None = None, batch_size: int = 256, device: str = "auto", overwrite: bool = False,
            sampling: bool = False, max_new_tokens: int = 16, progress: Progress | None = None) -> dict:
    """Write the submission of ``model`` on the test split of ``data`` to ``out`` and return its metadata.

    Parameters
    ----------
    model : str or Path
        ``hf://org/name[@revision]``, a model folder, or a run folder of ``fedmeki train`` / ``fedmeki inject``
        (an injection run predicts with its foundation model; pass ``RUN/model`` for its local model).
    data : str or Path
        Dataset folder or Hub dataset repo id whose ``test`` splits are predicted.
    out : str or Path
        Submission folder to create (atomically).
    client : int, optional
        For a local-only run: which client's model.
    name : str, optional
        Submission name (default: the method, e.g. ``fedavg multi_task standard``).
    batch_size : int, default=256
        Records per forward pass (a foundation model uses at most 32).
    device : str, default="auto"
    overwrite : bool, default=False
    sampling : bool, default=False
        Foundation models: top-p sampling as in the paper instead of greedy decoding.
    max_new_tokens : int, default=16
        Foundation models: longest answer.
    progress : Progress, optional
        ``progress(task, done, total)``.
    """
    source = locate_model(model, client=client)
    folder = source.folder
    target = resolve_device(device)
    provenance = read_provenance(folder)
    if not provenance:
        logger.warning("%s does not record how it was trained; the submission's method fields say 'unknown'", folder)
    dataset_folder = resolve_dataset(data)
    manifest = read_manifest(dataset_folder)
    method = dict(provenance.get("method") or {"algorithm": "unknown", "setting": "multi_task", "variant": "standard",
                                               "clients": 0, "rounds": 0, "seed": 0})
    if model_kind(folder) == FOUNDATION:
        predictions, external = _foundation_predictions(folder, dataset_folder, manifest, target, batch_size=batch_size,
                                                        sampling=sampling, max_new_tokens=max_new_tokens,
                                                        progress=progress)
        method["variant"] = "foundation"
    else:
        predictions, external = _local_predictions(folder, dataset_folder, target, batch_size, progress)
        if (provenance.get("config") or {}).get("injection"):
            method["variant"] = "injection"  # the local model whose encoders came back from the foundation model
    metadata = {
        "name": name or f"{method['algorithm']} {method['setting']} {method['variant']}",
        "model": {"repo_id": source.repo_id, "revision": source.revision},
        "dataset": {"repo_or_path": str(data), "fingerprint": manifest["fingerprint"]},
        "method": method,
        "communication_bytes": (provenance.get("communication_bytes") or {}).get("total"),
        "external_data": external,
        "fedmeki_version": __version__,
    }
    write_submission(out, metadata, predictions, overwrite=overwrite)
    return metadata


def _local_predictions(folder: Path, data: Path, device, batch_size: int,
                       progress: Progress | None) -> tuple[dict, bool]:
    local = LocalModel.from_pretrained(folder).to(device)
    config = local.config
    predictions = {}
    for done, task in enumerate(config.tasks, start=1):
        tensors = load_task_tensors(data, task, "test", image_size=config.image.image_size,
                                    max_steps=config.clinical.max_steps)
        scores = predict_proba(local, task, tensors, batch_size=batch_size, device=device)
        predictions[task] = [{"id": record, "prediction": "yes" if score >= THRESHOLD else "no", "score": float(score)}
                             for record, score in zip(tensors.ids, scores, strict=True)]
        if progress:
            progress("predict", done, len(config.tasks))
    return predictions, config.image_init != "random"


def _foundation_predictions(folder: Path, data: Path, manifest: dict, device, *, batch_size: int, sampling: bool,
                            max_new_tokens: int, progress: Progress | None) -> tuple[dict, bool]:
    from fedmeki_models.injection.answer import answer_split
    from fedmeki_models.injection.build import load_foundation_model
    from fedmeki_models.injection.config import TINY
    from fedmeki_models.injection.instructions import load_instructions

    fm = load_foundation_model(folder).to(device)
    predictions = {}
    for task in manifest["tasks"]:
        part = load_instructions(data, task, "test", fm.config.local)
        predictions[task] = answer_split(fm, part, batch_size=min(batch_size, 32), max_new_tokens=max_new_tokens,
                                         sampling=sampling, progress=progress)
    return predictions, fm.config.lm != TINY or fm.config.local.image_init != "random"
