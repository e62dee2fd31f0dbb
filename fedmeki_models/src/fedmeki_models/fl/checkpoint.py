"""Round checkpoints of the in-process engine: safetensors for every tensor, JSON for the rest.

A checkpoint holds the global weights, the server state of each task, each client's kept state
(control variates, batch-norm tensors, persistent optimiser state) and the engine's JSON state (the
round, the history so far, bytes counted). Randomness needs no saved state: every draw derives from
``(seed, round, task, client)`` (see :func:`fedmeki_models.fl.seeds.derive_seed`), so the round number
restores it. Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from fedmeki_models.errors import CheckpointError

CHECKPOINTS = "checkpoints"
_TENSORS = "tensors.safetensors"
_STATE = "state.json"
_FORMAT_VERSION = 2


def round_folder(run: Path, round_: int) -> Path:
    """``run/checkpoints/round_0003``."""
    return run / CHECKPOINTS / f"round_{round_:04d}"


def save_checkpoint(run: Path, round_: int, tree: Any) -> Path:
    """Write ``tree`` (nested dicts/lists of tensors and JSON values) as round ``round_``'s checkpoint.

    The folder appears complete or not at all (written beside, then renamed); older rounds are removed
    afterwards, so a crash at any point leaves the previous checkpoint intact.
    """
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _flatten(tree, tensors)
    final = round_folder(run, round_)
    staging = final.with_name(f".{final.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    save_file({key: value.contiguous() for key, value in tensors.items()}, str(staging / _TENSORS))
    (staging / _STATE).write_text(json.dumps({"format_version": _FORMAT_VERSION, "round": round_,
                                              "tree": skeleton}), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    for older in (run / CHECKPOINTS).glob("round_*"):
        if older != final:
            shutil.rmtree(older, ignore_errors=True)
    return final


def latest_checkpoint(run: Path) -> tuple[int, Any] | None:
    """The last complete checkpoint of ``run`` as ``(round, tree)``, or None when there is none."""
    folders = sorted((run / CHECKPOINTS).glob("round_*"))
    if not folders:
        return None
    folder = folders[-1]
    try:
        state = json.loads((folder / _STATE).read_text(encoding="utf-8"))
        tensors = load_file(str(folder / _TENSORS))
    except (OSError, ValueError) as error:
        raise CheckpointError(f"Checkpoint {folder} is unreadable: {str(error).splitlines()[0]}",
                              hint="delete that folder to resume from scratch, or start a new run") from None
    if state.get("format_version") != _FORMAT_VERSION:
        raise CheckpointError(f"Checkpoint {folder} has format {state.get('format_version')!r}.",
                              hint="resume it with the fedmeki version that wrote it")
    return int(state["round"]), _unflatten(state["tree"], tensors)


def _flatten(node: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(node, torch.Tensor):
        key = str(len(tensors))
        tensors[key] = node.detach().cpu().clone()
        return {"__tensor__": key}
    if isinstance(node, dict):
        # Keys keep their type (optimiser states are keyed by int), so dicts are stored as pairs.
        return {"__dict__": [[key, _flatten(value, tensors)] for key, value in node.items()]}
    if isinstance(node, (list, tuple)):
        return [_flatten(value, tensors) for value in node]
    return node


def _unflatten(node: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(node, dict) and "__tensor__" in node:
        return tensors[node["__tensor__"]]
    if isinstance(node, dict):
        return {key: _unflatten(value, tensors) for key, value in node["__dict__"]}
    if isinstance(node, list):
        return [_unflatten(value, tensors) for value in node]
    return node
