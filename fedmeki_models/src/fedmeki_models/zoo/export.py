"""``fedmeki zoo export``: a trained model -> a Hub-ready repository folder.

The folder holds the weights (safetensors only), ``config.json`` (every hyper-parameter, the provenance
under ``fedmeki``), the tokenizer of a foundation model, and a model card. Given ``fedmeki eval`` results
of the same model, it also holds ``results.json``, one ``.eval_results/<task>.yaml`` per task and a
results table in the card. Results of another model or dataset are refused.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

from fedmeki_data.atomic import atomic_folder
from fedmeki_data.errors import InvalidParameterError
from fedmeki_data.hub import is_repo_id
from fedmeki_eval.report import RESULTS_JSON, write_eval_results
from fedmeki_models.errors import CheckpointError
from fedmeki_models.provenance import MODEL_CONFIG, model_config, read_provenance
from fedmeki_models.runs import model_folder
from fedmeki_models.zoo.card import render_model_card
from fedmeki_models.zoo.files import PUBLISHABLE, check_no_pickles, matches, repo_files
from fedmeki_models.zoo.hub import CARD_FILE, FOUNDATION, model_kind

_COPIED = [pattern for pattern in PUBLISHABLE if pattern not in (CARD_FILE, RESULTS_JSON, ".eval_results/*.yaml")]
_KIND = "FedMEKI model repository folder"
_METHOD_KEYS = ("algorithm", "setting", "clients", "rounds", "seed")


def export_model(run: str | Path, out: str | Path, *, results: str | Path | None = None,
                 dataset_repo: str | None = None, repo_id: str | None = None, name: str | None = None,
                 overwrite: bool = False) -> dict:
    """Write the repository folder of the model in ``run`` to ``out`` and describe what was written.

    Parameters
    ----------
    run : str or Path
        Run folder of ``fedmeki train`` / ``fedmeki inject`` (an injection run exports its foundation model;
        pass ``RUN/model`` for its local model), or a model folder.
    out : str or Path
        The repository folder to create (atomically).
    results : str or Path, optional
        ``results.json`` (or the folder holding it) of ``fedmeki eval`` on this model's submission.
    dataset_repo : str, optional
        The Hub dataset repo (``org/name``) the model was trained and scored on, for the card's ``datasets``
        and the ``.eval_results`` entries; default: the dataset the run names, when that is a repo id.
    repo_id : str, optional
        The model repo it will be pushed to, written into the card's usage lines.
    name : str, optional
        The model's name in the card (default: the repo name, else ``fedmeki-<algorithm>-<setting>-<kind>``).
    overwrite : bool, default=False

    Returns
    -------
    dict
        ``out``, ``kind``, ``name``, ``repo_id``, ``files``, ``dataset_repo`` and ``eval_results``: how many
        tasks have ``.eval_results`` entries (0 when the dataset is not on the Hub: the results are then in
        the card's table only).

    Raises
    ------
    CheckpointError
        If the folder holds no model, or the model has no provenance.
    InvalidParameterError
        If the results are not ``fedmeki eval`` results of this model on its dataset.
    UnsafeFileError
        If the model folder holds a pickle.
    """
    folder = model_folder(run)
    check_no_pickles(folder)
    kind = model_kind(folder)
    provenance = read_provenance(folder)
    if not provenance:
        raise CheckpointError(f"{folder} does not record how it was trained (no 'fedmeki' key in {MODEL_CONFIG}).",
                              hint="export the model of a run folder written by fedmeki train or fedmeki inject")
    for value, option in ((dataset_repo, "--dataset-repo"), (repo_id, "--repo-id")):
        if value is not None and not is_repo_id(value):
            raise InvalidParameterError(f"{option} {value!r} is not a Hub repo id.", hint="use the form org/name")
    trained_on = str(provenance["dataset"]["repo_or_path"])
    dataset_repo = dataset_repo or (trained_on if is_repo_id(trained_on) else None)
    config = model_config(json.loads((folder / MODEL_CONFIG).read_text(encoding="utf-8")))
    scored = _read_results(results, provenance, kind) if results is not None else None
    method = provenance["method"]
    name = name or (repo_id.split("/")[1] if repo_id else f"fedmeki-{method['algorithm']}-{method['setting']}-{kind}")
    card = render_model_card(config, provenance, kind=kind, name=name, results=scored, dataset_id=dataset_repo)
    if repo_id:
        card = card.replace("ORG/NAME", repo_id)
    with atomic_folder(out, overwrite=overwrite, marker=MODEL_CONFIG, kind=_KIND) as staging:
        for file in repo_files(folder):
            if matches(file, _COPIED):
                shutil.copyfile(folder / file, staging / file)
        (staging / CARD_FILE).write_text(card, encoding="utf-8")
        if scored is not None:
            (staging / RESULTS_JSON).write_text(json.dumps(scored, indent=2) + "\n", encoding="utf-8")
            if dataset_repo:
                write_eval_results(scored, staging, dataset_id=dataset_repo)
        files = repo_files(staging)
    return {"out": str(out), "kind": kind, "name": name, "repo_id": repo_id, "files": files,
            "dataset_repo": dataset_repo,
            "eval_results": len(scored["tasks"]) if scored is not None and dataset_repo else 0}


def _read_results(path: str | Path, provenance: Mapping, kind: str) -> dict:
    path = Path(path)
    path = path / RESULTS_JSON if path.is_dir() else path
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        missing = sorted({"submission", "references", "tasks"} - set(results))
    except (OSError, ValueError, TypeError) as error:
        missing = [str(error)]
    if missing:
        raise InvalidParameterError(f"{path} is not a results.json of fedmeki eval (missing: {', '.join(missing)}).",
                                    hint="score the model's submission first: fedmeki eval SUBMISSION --out REPORTS")
    submission, references = results["submission"], results["references"]
    fingerprint = provenance["dataset"]["fingerprint"]
    if references["fingerprint"] != fingerprint:
        raise InvalidParameterError(
            f"{path} scores data with fingerprint {references['fingerprint']}, but the model was trained on "
            f"{fingerprint}.", hint="score the model on the dataset it was trained on")
    method = {key: submission["method"].get(key) for key in _METHOD_KEYS}
    expected = {key: provenance["method"][key] for key in _METHOD_KEYS}
    is_foundation = submission["method"].get("variant") == "foundation"
    if method != expected or is_foundation != (kind == FOUNDATION):
        raise InvalidParameterError(
            f"{path} scores another model ({submission['name']}: {method}) than the {kind} model exported "
            f"({expected}).", hint="pass the results of this model's own submission (fedmeki predict --model RUN)")
    return results
