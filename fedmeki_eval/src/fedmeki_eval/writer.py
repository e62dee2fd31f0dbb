"""Write a submission folder: the one writer behind ``fedmeki eval template`` and ``fedmeki predict``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from fedmeki_data.atomic import atomic_folder
from fedmeki_eval.submission import METADATA_FILE, TASK_FILE_SUFFIX


def write_submission(out: str | Path, metadata: Mapping, predictions: Mapping[str, Iterable[Mapping]], *,
                     overwrite: bool = False) -> Path:
    """Write ``submission.json`` and one ``<task>.jsonl`` per task of ``predictions``, atomically.

    Parameters
    ----------
    out : str or Path
        Submission folder to create.
    metadata : mapping
        The content of ``submission.json`` (see :class:`fedmeki_eval.submission.SubmissionMetadata`).
    predictions : mapping of str to iterable of mapping
        Task id -> rows ``{"id", "prediction"[, "score"]}``.
    overwrite : bool, default=False
        Replace an existing submission folder.

    Returns
    -------
    Path
        The folder written.
    """
    with atomic_folder(out, overwrite=overwrite, marker=METADATA_FILE, kind="submission folder") as staging:
        (staging / METADATA_FILE).write_text(json.dumps(dict(metadata), indent=2) + "\n", encoding="utf-8")
        for task_id, rows in predictions.items():
            (staging / f"{task_id}{TASK_FILE_SUFFIX}").write_text("".join(json.dumps(dict(row)) + "\n" for row in rows),
                                                              encoding="utf-8")
    return Path(out)
