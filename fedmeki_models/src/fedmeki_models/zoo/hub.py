"""Models by ``hf://org/name[@revision]`` or by folder: locate, download, load and publish them.

Downloads go through ``huggingface_hub.snapshot_download``, so they use the local cache and work with
``HF_HUB_OFFLINE=1`` once a snapshot is there. A download is checked as soon as it is on disk, and a
folder by the loaders before any weights are read: a pickle-based file is an error, never unpickled.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from fedmeki_data.atomic import atomic_folder
from fedmeki_data.errors import InvalidParameterError, PublishRefusedError
from fedmeki_data.hub import is_repo_id, upload_files
from fedmeki_data.tasks import TASKS
from fedmeki_eval.report import RESULTS_JSON
from fedmeki_models.errors import CheckpointError, ModelConfigError
from fedmeki_models.provenance import MODEL_CONFIG, read_provenance
from fedmeki_models.runs import model_folder
from fedmeki_models.zoo.files import check_no_pickles, publishable_files, repo_files
from fedmeki_models.zoo.registry import ZooEntry, pinned_revision

HF_SCHEME = "hf://"
CARD_FILE = "README.md"
LOCAL, FOUNDATION = "local", "foundation"


@dataclass(frozen=True)
class ModelSource:
    """A model folder on disk and, for a Hub model, the repo and the commit it was resolved to."""

    folder: Path
    repo_id: str | None = None
    revision: str | None = None


def is_hub_spec(spec: str | Path) -> bool:
    """Whether ``spec`` names a Hub model (``hf://org/name[@revision]``) rather than a folder."""
    return isinstance(spec, str) and spec.startswith(HF_SCHEME)


def parse_hub_spec(spec: str) -> tuple[str, str | None]:
    """``(repo_id, revision or None)`` of ``hf://org/name[@revision]``.

    Raises
    ------
    InvalidParameterError
        If ``spec`` is not of that form.
    """
    repo_id, at, revision = spec.removeprefix(HF_SCHEME).partition("@")
    if not spec.startswith(HF_SCHEME) or not is_repo_id(repo_id) or (at and not revision):
        raise InvalidParameterError(f"{spec!r} is not a Hub model.", hint="use hf://org/name or hf://org/name@revision")
    return repo_id, revision or None


def locate_model(spec: str | Path, *, client: int | None = None, cache_dir: str | Path | None = None) -> ModelSource:
    """The model folder that ``spec`` names, downloaded (and checked for pickles) first when it is ``hf://...``.

    A local folder is checked by the loaders (``LocalModel.from_pretrained``, ``load_foundation_model``), which
    are what read it.

    Parameters
    ----------
    spec : str or Path
        ``hf://org/name[@revision]`` (without a revision: the one pinned in the registry, else ``main``), a
        model folder, or a run folder of ``fedmeki train`` / ``fedmeki inject`` (see
        :func:`fedmeki_models.runs.model_folder`).
    client : int, optional
        For a local-only run folder: which client's model.
    cache_dir : str or Path, optional
        Hub cache (default: ``HF_HUB_CACHE``).

    Raises
    ------
    CheckpointError
        If the model cannot be found or downloaded.
    UnsafeFileError
        If a downloaded repo holds a pickle-based file.
    """
    if not is_hub_spec(spec):
        return ModelSource(model_folder(spec, client=client))
    if client is not None:
        raise InvalidParameterError("--client applies to local-only run folders, not to Hub models.",
                                    hint="drop --client")
    repo_id, revision = parse_hub_spec(str(spec))
    return download_model(repo_id, revision=revision, cache_dir=cache_dir)


def download_model(repo_id: str, *, revision: str | None = None, cache_dir: str | Path | None = None) -> ModelSource:
    """Download (or find in the cache) a model repository and check it; see :func:`locate_model`."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    if not is_repo_id(repo_id):
        raise InvalidParameterError(f"{repo_id!r} is not a Hub repo id.", hint="use the form org/name")
    revision = revision or pinned_revision(repo_id)
    try:
        folder = Path(snapshot_download(repo_id, revision=revision, cache_dir=cache_dir))
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as error:
        raise CheckpointError(
            f"Cannot download model {repo_id}{'@' + revision if revision else ''}: {str(error).splitlines()[0]}",
            hint="check the repo id and revision and your network; with HF_HUB_OFFLINE=1 it must be in the cache",
        ) from None
    check_no_pickles(folder)
    if not (folder / MODEL_CONFIG).is_file():
        raise CheckpointError(f"{repo_id} has no {MODEL_CONFIG}, so it is not a FedMEKI model.",
                              hint="list the published FedMEKI models with: fedmeki zoo ls")
    # The cache keeps each commit in snapshots/<commit hash>/: that is the revision actually used.
    return ModelSource(folder, repo_id, folder.name if folder.parent.name == "snapshots" else revision)


def model_kind(folder: str | Path) -> str:
    """``"foundation"`` for a foundation model folder, ``"local"`` for a local model folder.

    Raises
    ------
    ModelConfigError
        If ``config.json`` names an architecture FedMEKI does not know.
    """
    from fedmeki_models.config import ARCHITECTURE
    from fedmeki_models.injection.config import FM_ARCHITECTURE

    architecture = json.loads((Path(folder) / MODEL_CONFIG).read_text(encoding="utf-8")).get("architecture")
    kinds = {ARCHITECTURE: LOCAL, FM_ARCHITECTURE: FOUNDATION}
    if architecture not in kinds:
        raise ModelConfigError(f"{folder} holds an unknown model architecture {architecture!r}.",
                               hint=f"FedMEKI models are {' or '.join(kinds)}; upgrade fedmeki if it is newer")
    return kinds[architecture]


def load_model(spec: str | Path, *, device: str = "cpu"):
    """Load the model that ``spec`` names (see :func:`locate_model`) in evaluation mode.

    Returns
    -------
    LocalModel or FoundationModel
    """
    folder = locate_model(spec).folder
    if model_kind(folder) == FOUNDATION:
        from fedmeki_models.injection.build import load_foundation_model

        return load_foundation_model(folder).to(device).eval()
    from fedmeki_models.model import LocalModel

    return LocalModel.from_pretrained(folder).to(device).eval()


def pull_model(repo_id: str, *, revision: str | None = None, out: str | Path | None = None,
               overwrite: bool = False, cache_dir: str | Path | None = None) -> ModelSource:
    """Download a model repository into the Hub cache and, with ``out``, copy it into a folder of its own.

    Returns
    -------
    ModelSource
        ``folder`` is ``out`` when given, else the cache snapshot.
    """
    source = download_model(repo_id, revision=revision, cache_dir=cache_dir)
    if out is None:
        return source
    with atomic_folder(out, overwrite=overwrite, marker=MODEL_CONFIG, kind="FedMEKI model folder") as staging:
        for name in repo_files(source.folder):
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source.folder / name, target)  # the cache holds symlinks into blobs/: copy their targets
    return ModelSource(Path(out), source.repo_id, source.revision)


def push_model(folder: str | Path, repo_id: str, *, private: bool = False, commit_message: str | None = None,
               dry_run: bool = False, api=None) -> dict:
    """Upload a model repository folder written by :func:`fedmeki_models.zoo.export.export_model`.

    Parameters
    ----------
    folder : str or Path
    repo_id : str
        ``org/name``; created if missing.
    private : bool, default=False
        Create the repo as private. A model trained on a credentialed source (or on data whose sources
        the folder does not record) is refused otherwise.
    commit_message : str, optional
        The revision note (default: names the method and the dataset fingerprint).
    dry_run : bool, default=False
        Check and list the files only.
    api : huggingface_hub.HfApi, optional
        The client to use (default: a new ``HfApi()``).

    Returns
    -------
    dict
        ``repo_id``, ``private``, ``files``, ``uploaded``, and after an upload ``revision`` (the commit).

    Raises
    ------
    UnsafeFileError
        If the folder holds a pickle or a file of an unknown kind.
    PublishRefusedError
        If the model card is missing, or the model was trained on credentialed data and ``private`` is off.
    """
    folder = Path(folder)
    if not is_repo_id(repo_id):
        raise InvalidParameterError(f"{repo_id!r} is not a Hub repo id.", hint="use the form org/name")
    if not (folder / MODEL_CONFIG).is_file():
        raise CheckpointError(f"{folder} is not a model folder (no {MODEL_CONFIG}).",
                              hint="write one with: fedmeki zoo export RUN --out DIR")
    files = publishable_files(folder)
    if CARD_FILE not in files:
        raise PublishRefusedError(f"{folder} has no model card ({CARD_FILE}).",
                                  hint="write the repository folder with: fedmeki zoo export RUN --out DIR")
    provenance = read_provenance(folder)
    sources = (provenance.get("dataset") or {}).get("sources")
    if not private:
        if not sources:
            raise PublishRefusedError(f"{folder} does not record which data it was trained on.",
                                      hint="push with --private, or export it again from its run folder")
        credentialed = sorted(task for task, source in sources.items() if source["credentialed"])
        if credentialed:
            raise PublishRefusedError(
                f"Refusing to publish openly a model trained on credentialed data ({', '.join(credentialed)}).",
                hint="push with --private, and only where the source's data use agreement allows sharing models")
    result = {"repo_id": repo_id, "private": private, "files": files, "uploaded": False}
    if dry_run:
        return result
    method = provenance.get("method") or {}
    message = commit_message or (f"FedMEKI {method.get('algorithm', 'model')} {method.get('setting', '')} "
                                 f"(dataset {(provenance.get('dataset') or {}).get('fingerprint', 'unknown')})")
    commit = upload_files(folder, repo_id, files, repo_type="model", private=private, commit_message=message, api=api)
    return {**result, "uploaded": True, "revision": commit.oid,
            "registry_record": registry_record(folder, repo_id, commit.oid).to_dict()}


def registry_record(folder: str | Path, repo_id: str, revision: str) -> ZooEntry:
    """The registry record of the repository folder ``folder`` published as ``repo_id`` at ``revision``."""
    folder = Path(folder)
    config = json.loads((folder / MODEL_CONFIG).read_text(encoding="utf-8"))
    provenance, kind = read_provenance(folder), model_kind(folder)
    results_file = folder / RESULTS_JSON
    results = json.loads(results_file.read_text(encoding="utf-8")) if results_file.is_file() else {"tasks": {}}
    tasks = list(TASKS) if kind == FOUNDATION else config["tasks"]
    dataset = provenance.get("dataset") or {}
    return ZooEntry(repo_id=repo_id, revision=revision, kind=kind, tasks=tasks,
                    algorithm=provenance["method"]["algorithm"], setting=provenance["method"]["setting"],
                    dataset=f"{dataset.get('repo_or_path')} ({dataset.get('fingerprint')})",
                    scores={task: entry["main_score"] for task, entry in results["tasks"].items()})
