"""Folders that appear whole or not at all: write into a hidden sibling, rename it into place at the end.

Every FedMEKI command that writes a folder (dataset builds, submission templates, reports) goes through
:func:`atomic_folder`, so an interrupted or failed run never leaves a half-written output behind and
``--overwrite`` only ever replaces a folder of the same kind.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fedmeki_data.errors import OutputExistsError

_FOLDER_MODE = 0o755


def check_output(out: Path, *, overwrite: bool, marker: str, kind: str) -> None:
    """Refuse an existing ``out`` unless ``overwrite`` and it is empty or holds ``marker`` (one of ours).

    Raises
    ------
    OutputExistsError
        With a hint on what to pass instead.
    """
    if not out.exists():
        return
    if not overwrite:
        raise OutputExistsError(f"{out} already exists.", hint="pass --overwrite to replace it, or another --out")
    if not out.is_dir() or (any(out.iterdir()) and not (out / marker).is_file()):
        raise OutputExistsError(
            f"{out} exists and is not a {kind}; refusing to replace it.",
            hint="choose an empty or new --out folder",
        )


@contextmanager
def atomic_folder(out: str | Path, *, overwrite: bool, marker: str, kind: str) -> Iterator[Path]:
    """Yield an empty staging folder that replaces ``out`` when the block ends without an error.

    Parameters
    ----------
    out : str or Path
        Destination folder.
    overwrite : bool
        Allow replacing an existing folder that holds ``marker``.
    marker : str
        File name that identifies folders of this kind (``fedmeki_manifest.json``, ``submission.json``).
    kind : str
        What the folder is, for error messages ("FedMEKI dataset folder").

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "result"
    >>> with atomic_folder(out, overwrite=False, marker="a.txt", kind="test folder") as staging:
    ...     _ = (staging / "a.txt").write_text("done")
    >>> (out / "a.txt").read_text()
    'done'
    """
    out = Path(out)
    check_output(out, overwrite=overwrite, marker=marker, kind=kind)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    staging.chmod(_FOLDER_MODE)  # mkdtemp makes it private; outputs are meant to be shared
    try:
        yield staging
        _replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def _replace(staging: Path, out: Path) -> None:
    """Move ``staging`` to ``out``; an old ``out`` is moved aside first and removed only afterwards."""
    if not out.exists():
        staging.rename(out)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
    out.rename(aside / out.name)
    staging.rename(out)
    shutil.rmtree(aside)
