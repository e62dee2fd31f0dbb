"""``fedmeki eval template``: a valid example submission, the quickest way to see the format."""

from __future__ import annotations

import json
from pathlib import Path

from fedmeki_data.atomic import atomic_folder
from fedmeki_eval import __version__
from fedmeki_eval.references import load_references
from fedmeki_eval.submission import METADATA_FILE, TASK_FILE_SUFFIX

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
    with atomic_folder(out, overwrite=overwrite, marker=METADATA_FILE, kind="submission folder") as staging:
        (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
        for task_id, reference in loaded.tasks.items():
            extra = {"score": 0.5} if reference.task.is_binary else {}
            rows = ({"id": record_id, "prediction": CONSTANT_ANSWER, **extra} for record_id in reference.ids)
            (staging / f"{task_id}{TASK_FILE_SUFFIX}").write_text("".join(json.dumps(row) + "\n" for row in rows),
                                                      encoding="utf-8")
    return metadata
