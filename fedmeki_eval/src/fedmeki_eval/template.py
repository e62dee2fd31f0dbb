"""``fedmeki eval template``: a valid example submission, the quickest way to see the format."""

from __future__ import annotations

from pathlib import Path

from fedmeki_eval import __version__
from fedmeki_eval.references import load_references
from fedmeki_eval.writer import write_submission

CONSTANT_ANSWER = "no"


def write_template(out: str | Path, references: str | Path, *, overwrite: bool = False) -> dict:
    """Write a submission that answers ``"no"`` to every test record of every task of ``references``.

    Binary tasks also get ``score`` 0.5, so AUROC and AUPRC are defined (and at chance level).

    Parameters
    ----------
    out : str or Path
        Submission folder to create (atomically).
    references : str or Path
        Dataset folder or Hub repo id whose test splits the submission answers.
    overwrite : bool, default=False
        Replace an existing submission folder.

    Returns
    -------
    dict
        The ``submission.json`` written.
    """
    loaded = load_references(references)
    metadata = {
        "name": "constant baseline (fedmeki eval template)",
        "model": {"repo_id": None, "revision": None},
        "dataset": {"repo_or_path": str(references), "fingerprint": loaded.fingerprint},
        "method": {"algorithm": "none", "setting": "single_task", "variant": "constant", "clients": 0, "rounds": 0,
                   "seed": 0},
        "communication_bytes": 0,
        "external_data": False,
        "fedmeki_version": __version__,
    }
    predictions = {}
    for task_id, reference in loaded.tasks.items():
        extra = {"score": 0.5} if reference.task.is_binary else {}
        predictions[task_id] = [{"id": id_, "prediction": CONSTANT_ANSWER, **extra} for id_ in reference.ids]
    write_submission(out, metadata, predictions, overwrite=overwrite)
    return metadata
