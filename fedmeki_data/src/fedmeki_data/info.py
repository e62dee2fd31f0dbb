"""What a dataset folder holds: a summary from its manifest (after checking the files against it)."""

from __future__ import annotations

from pathlib import Path

from fedmeki_data.hub import resolve_dataset
from fedmeki_data.manifest import read_manifest, verify_files


def summarize(path_or_repo: str | Path, *, verify: bool = True) -> dict:
    """Return the manifest of a dataset folder or Hub repo without its file list.

    Parameters
    ----------
    path_or_repo : str or Path
        Dataset folder or Hub dataset repo id.
    verify : bool, default=True
        Check every Parquet file against its sha256 first.

    Returns
    -------
    dict
        ``path``, ``fingerprint``, ``fedmeki_version``, ``build``, ``partition``, ``tasks`` (per task: role,
        source, credentialed, ``n_clients`` and per split ``rows``, ``client_id``, ``sites``,
        ``label_counts``), ``n_files`` and ``verified``.

    Raises
    ------
    DatasetNotFoundError, DatasetIntegrityError
    """
    folder = resolve_dataset(path_or_repo)
    manifest = read_manifest(folder)
    if verify:
        verify_files(folder, manifest)
    return manifest_summary(folder, manifest, verified=verify)


def manifest_summary(folder: str | Path, manifest: dict, *, verified: bool) -> dict:
    """The summary of :func:`summarize` for a manifest already in hand (e.g. the one a build returns,
    whose hashes were just computed from the files)."""
    summary = {key: value for key, value in manifest.items() if key != "files"}
    return {"path": str(folder), **summary, "n_files": len(manifest["files"]), "verified": verified}
