"""What a FedMEKI model repository may hold: safetensors, JSON, a tokenizer, a card and eval results.

Pickle-based formats can run arbitrary code when loaded, so a folder holding one is refused on load (never
unpickled) and on push. Pushing is stricter still: every file must be of a known kind, so nothing that
happens to lie in a folder (a log, a notebook, a dataset shard) reaches the Hub by accident.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

from fedmeki_models.errors import UnsafeFileError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz", ".dill")
"""Suffixes of formats that are, or may be, pickles (torch.save, joblib, numpy with allow_pickle)."""

PUBLISHABLE = (
    "README.md", "config.json", "results.json", "generation_config.json",
    "*.safetensors", "model.safetensors.index.json",
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json",
    "merges.txt", "tokenizer.model", "chat_template.jinja",
    ".eval_results/*.yaml", ".gitattributes",
)
"""Relative paths (glob patterns) a model repository may contain."""


def matches(name: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """Whether the relative path ``name`` matches one of the glob ``patterns``."""
    return any(fnmatch(name, pattern) for pattern in patterns)


def repo_files(folder: str | Path) -> list[str]:
    """Every file under ``folder`` as a sorted relative POSIX path."""
    folder = Path(folder)
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


def check_no_pickles(folder: str | Path) -> None:
    """Refuse a model folder that holds a pickle-based file.

    Raises
    ------
    UnsafeFileError
        Naming the files; none of them was opened.
    """
    pickles = [name for name in repo_files(folder) if name.lower().endswith(PICKLE_SUFFIXES)]
    if pickles:
        raise UnsafeFileError(
            f"{folder} holds pickle-based file(s) {', '.join(pickles)}, which can run code when loaded; "
            "FedMEKI loads safetensors only and did not open them.",
            hint="convert the weights to model.safetensors (safetensors.torch.save_file) and remove the pickles")


def publishable_files(folder: str | Path) -> list[str]:
    """The files of ``folder`` to upload, all of a known kind.

    Raises
    ------
    UnsafeFileError
        If a file is a pickle or of a kind a model repository does not hold.
    """
    check_no_pickles(folder)
    files = repo_files(folder)
    unknown = [name for name in files if not matches(name, PUBLISHABLE)]
    if unknown:
        raise UnsafeFileError(
            f"{folder} holds file(s) of a kind a model repository does not publish: {', '.join(unknown)}.",
            hint="push the folder written by 'fedmeki zoo export', or remove those files")
    return files
