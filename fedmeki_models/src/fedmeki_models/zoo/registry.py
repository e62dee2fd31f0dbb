"""The published FedMEKI checkpoints: one record per model, pinned to a commit, shipped in the package.

``registry.json`` beside this module lists them; ``fedmeki zoo ls`` shows it, and a download of a listed
repo without an explicit revision gets the pinned commit, so a result reproduces with the weights it was
reported for. ``fedmeki zoo push`` prints the record to add after an upload.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fedmeki_data.errors import UsageError
from fedmeki_data.hub import is_repo_id
from fedmeki_data.tasks import get_task

REGISTRY_FILE = Path(__file__).with_name("registry.json")
KINDS = ("local", "foundation")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


class RegistryError(UsageError):
    """A registry file that cannot be read, or a record in it that breaks the contract."""


@dataclass(frozen=True)
class ZooEntry:
    """One published checkpoint.

    Attributes
    ----------
    repo_id : str
        Hub model repo, ``org/name``.
    revision : str
        The 40-hex commit the scores belong to.
    kind : str
        ``local`` (multi-task local model) or ``foundation`` (injected foundation model).
    tasks : tuple of str
        Tasks the model answers.
    algorithm, setting : str
        FL algorithm and setting it was trained with.
    dataset : str
        Dataset repo or path and fingerprint it was trained on.
    scores : dict of str to float
        Main score per task on the test split (``fedmeki eval``, strict protocol).
    """

    repo_id: str
    revision: str
    kind: str
    tasks: tuple[str, ...]
    algorithm: str
    setting: str
    dataset: str
    scores: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tuple(self.tasks))
        problems = {
            "repo_id is not org/name": not is_repo_id(self.repo_id),
            "revision is not a 40-hex commit": not _COMMIT.match(self.revision),
            f"kind is not one of {', '.join(KINDS)}": self.kind not in KINDS,
            "scores name tasks the model does not have": not set(self.scores) <= set(self.tasks),
        }
        failed = [problem for problem, broken in problems.items() if broken]
        if failed:
            raise RegistryError(f"Registry record {self.repo_id!r}: {'; '.join(failed)}.",
                                hint="fix the record, or write it with the output of 'fedmeki zoo push'")
        for task in self.tasks:
            get_task(task)

    def to_dict(self) -> dict:
        return {**asdict(self), "tasks": list(self.tasks)}


def load_registry(path: str | Path | None = None) -> list[ZooEntry]:
    """The records of ``path`` (default: the registry shipped with the package), validated.

    Raises
    ------
    RegistryError
        If the file is not a JSON list of valid records, or names a repo twice.
    """
    path = Path(path) if path is not None else REGISTRY_FILE
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RegistryError(f"Cannot read the model registry {path}: {error}",
                            hint="a registry is a JSON list of records (see fedmeki zoo ls --help)") from None
    if not isinstance(records, list):
        raise RegistryError(f"The model registry {path} is not a JSON list.", hint="wrap the records in [ ]")
    try:
        entries = [ZooEntry(**record) for record in records]
    except TypeError as error:
        raise RegistryError(f"A record of {path} has missing or unknown fields: {error}",
                            hint=f"records have the fields {', '.join(ZooEntry.__dataclass_fields__)}") from None
    repos = [entry.repo_id for entry in entries]
    twice = sorted({repo for repo in repos if repos.count(repo) > 1})
    if twice:
        raise RegistryError(f"The model registry {path} lists {', '.join(twice)} more than once.",
                            hint="keep one record per repo, pinned to the commit its scores belong to")
    return entries


def pinned_revision(repo_id: str, path: str | Path | None = None) -> str | None:
    """The commit the registry pins ``repo_id`` to, or None when it is not listed."""
    return next((entry.revision for entry in load_registry(path) if entry.repo_id == repo_id), None)
