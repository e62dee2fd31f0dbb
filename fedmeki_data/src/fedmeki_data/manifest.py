"""``fedmeki_manifest.json``: what a dataset folder holds, the sha256 of every data file and fingerprints.

The dataset fingerprint is what a submission names and the scorer checks: two folders with the same
fingerprint hold byte-identical Parquet files. Each task also has its own fingerprint, so one config can
be checked alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from fedmeki_data.errors import DatasetIntegrityError, DatasetNotFoundError

MANIFEST_NAME = "fedmeki_manifest.json"
FORMAT_VERSION = 1
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(file_hashes: Mapping[str, str], prefix: str = "") -> str:
    """A 16-hex-digit fingerprint of the files whose relative path starts with ``prefix``.

    Examples
    --------
    >>> hashes = {"a/x.parquet": "00", "b/y.parquet": "11"}
    >>> fingerprint(hashes) == fingerprint(dict(reversed(hashes.items())))
    True
    >>> fingerprint({"a/x.parquet": "00"}) == fingerprint({"a/x.parquet": "01"})
    False
    """
    digest = hashlib.sha256()
    for path in sorted(file_hashes):
        if path.startswith(prefix):
            digest.update(f"{path}\t{file_hashes[path]}\n".encode())
    return digest.hexdigest()[:16]


def hash_files(root: Path, paths: Iterable[Path]) -> dict[str, str]:
    """Map each file's POSIX path relative to ``root`` to its sha256, sorted by path."""
    return {path.relative_to(root).as_posix(): sha256_file(path) for path in sorted(paths)}


def write_manifest(root: Path, manifest: Mapping) -> Path:
    """Write the manifest as JSON in insertion order (canonical task and split order; byte-identical for
    identical builds)."""
    path = root / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_manifest(root: Path) -> dict:
    """Read the manifest of a dataset folder.

    Raises
    ------
    DatasetNotFoundError
        If ``root`` is not a readable FedMEKI dataset folder.
    """
    path = Path(root) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetNotFoundError(
            f"{root} is not a FedMEKI dataset folder (no {MANIFEST_NAME}).",
            hint="build one with 'fedmeki data demo --out DIR' or 'fedmeki data build'",
        ) from None
    except (OSError, json.JSONDecodeError) as error:
        raise DatasetNotFoundError(f"Cannot read {path}: {error}.", hint="rebuild the dataset folder") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise DatasetNotFoundError(
            f"{path} has format_version {manifest.get('format_version')!r}; this FedMEKI reads {FORMAT_VERSION}.",
            hint="rebuild the dataset with this FedMEKI version",
        )
    return manifest


def verify_files(root: Path, manifest: Mapping, *, only_listed: bool = False) -> None:
    """Check data files against their recorded sha256.

    Parameters
    ----------
    root : Path
        Dataset folder.
    manifest : Mapping
        Its manifest, or any mapping with a ``files`` entry (relative path -> sha256).
    only_listed : bool, default=False
        Check only the listed files; by default a Parquet file that is not listed is an error too.

    Raises
    ------
    DatasetIntegrityError
        Naming the first missing, changed or unlisted file.
    """
    root = Path(root)
    recorded = manifest["files"]
    if not only_listed:
        unlisted = sorted({path.relative_to(root).as_posix() for path in root.rglob("*.parquet")} - set(recorded))
        if unlisted:
            raise DatasetIntegrityError(f"{root / unlisted[0]} is not listed in the manifest.",
                                        hint="remove it or rebuild")
    for relative, expected in sorted(recorded.items()):
        if not (root / relative).is_file():
            raise DatasetIntegrityError(f"{root / relative} is missing.", hint="download or rebuild the dataset")
        if sha256_file(root / relative) != expected:
            raise DatasetIntegrityError(
                f"{root / relative} does not match its sha256 in {MANIFEST_NAME}.",
                hint="the file was changed or truncated: download or rebuild the dataset",
            )
