"""``fedmeki zoo``: export trained models as Hub repositories, list, download and publish them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from fedmeki_cli._options import FormatOpt, OverwriteOpt
from fedmeki_cli._output import Output, OutputFormat, table

app = typer.Typer(help="The model zoo: Hub-ready FedMEKI checkpoints (export, ls, pull, push).",
                  no_args_is_help=True)

RepoArg = Annotated[str, typer.Argument(help="Hub model repo id (org/name).", metavar="REPO_ID")]


@app.command(epilog=(
    "Examples:\n\n  fedmeki zoo export runs/fedavg --out zoo/fedavg-m\n\n"
    "  fedmeki zoo export runs/inject --results reports/results.json --dataset-repo my-org/fedmeki-demo "
    "--repo-id my-org/fedmeki-fm --out zoo/fm"))
def export(
    run: Annotated[str, typer.Argument(help="Run folder of 'fedmeki train' / 'fedmeki inject', or a model folder.",
                                       metavar="RUN")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Repository folder to write (atomically).")],
    results: Annotated[Path | None, typer.Option(
        "--results", help="results.json of 'fedmeki eval' on this model's submission: goes into the card.")] = None,
    dataset_repo: Annotated[str | None, typer.Option(
        "--dataset-repo", help="Hub dataset repo the model was trained on (default: the run's, if a repo id).")] = None,
    repo_id: Annotated[str | None, typer.Option(
        "--repo-id", help="Model repo it will be pushed to, written into the card's usage lines.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Model name in the card.")] = None,
    overwrite: OverwriteOpt = False,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Write a Hub-ready repository: safetensors, config.json with provenance, model card (and eval results)."""
    from fedmeki_models.zoo.export import export_model

    summary = export_model(run, out, results=results, dataset_repo=dataset_repo, repo_id=repo_id, name=name,
                           overwrite=overwrite)
    Output(output_format).result(summary, _render_export)


def _render_export(console, summary: dict) -> None:
    console.print(f"Wrote {summary['out']} ({summary['kind']} model '{summary['name']}'): "
                  + ", ".join(summary["files"]), markup=False)
    if summary["eval_results"]:
        console.print(f"Results of {summary['eval_results']} tasks in the card and .eval_results/ "
                      f"(dataset {summary['dataset_repo']}).", markup=False)
    elif "results.json" in summary["files"]:
        console.print("Results are in the card's table only: pass --dataset-repo ORG/NAME to link them to the "
                      "Hub dataset.", markup=False)
    console.print(f"Check and publish it with: fedmeki zoo push {summary['out']} {summary['repo_id'] or 'ORG/NAME'} "
                  "--dry-run", markup=False)


@app.command("ls", epilog="Examples:\n\n  fedmeki zoo ls\n\n  fedmeki zoo ls --format json\n\n"
                          "  fedmeki zoo ls --registry my-registry.json")
def list_models(
    registry: Annotated[Path | None, typer.Option(
        "--registry", help="A registry file to read instead of the one shipped with fedmeki.")] = None,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """List the published FedMEKI checkpoints: repo, pinned revision, kind, tasks, algorithm, main scores."""
    from fedmeki_models.zoo.registry import REGISTRY_FILE, load_registry

    records = [entry.to_dict() for entry in load_registry(registry)]
    Output(output_format).result(records, lambda console, rows: _render_registry(console, rows,
                                                                                 registry or REGISTRY_FILE))


def _render_registry(console, rows: list[dict], source: Path) -> None:
    if not rows:
        console.print(f"No published checkpoints in {source} yet; train one with fedmeki train, "
                      "then fedmeki zoo export and fedmeki zoo push.", markup=False)
        return
    console.print(table(None, ["model (use as --model)", "kind", "algorithm", "setting", "tasks", "main scores"], [
        [f"hf://{row['repo_id']}@{row['revision'][:12]}", row["kind"], row["algorithm"], row["setting"],
         str(len(row["tasks"])), ", ".join(f"{task} {score:.3f}" for task, score in row["scores"].items()) or "-"]
        for row in rows]))


@app.command(epilog=(
    "Examples:\n\n  fedmeki zoo pull my-org/fedmeki-fedavg-m\n\n"
    "  fedmeki zoo pull my-org/fedmeki-fedavg-m --revision v1.0 --out models/fedavg-m\n\n"
    "  HF_HUB_OFFLINE=1 fedmeki zoo pull my-org/fedmeki-fedavg-m   # from the cache only"))
def pull(
    repo_id: RepoArg,
    revision: Annotated[str | None, typer.Option(
        "--revision", help="Branch, tag or commit (default: the registry's pinned commit, else main).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Copy the model into this folder too (default: the Hub cache only).")] = None,
    overwrite: OverwriteOpt = False,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Download a FedMEKI model (safetensors only; a repo with a pickle in it is refused) into the Hub cache."""
    from fedmeki_models.zoo.hub import pull_model

    source = pull_model(repo_id, revision=revision, out=out, overwrite=overwrite)
    result = {"repo_id": source.repo_id, "revision": source.revision, "folder": str(source.folder)}
    Output(output_format).result(result, lambda console, data: console.print(
        f"{data['repo_id']} at {data['revision']} is in {data['folder']}; predict with: fedmeki predict --model "
        f"hf://{data['repo_id']}@{data['revision']} --data DATASET --out SUBMISSION", markup=False))


@app.command(epilog=(
    "Examples:\n\n  fedmeki zoo push zoo/fedavg-m my-org/fedmeki-fedavg-m --dry-run\n\n"
    "  fedmeki zoo push zoo/fedavg-m my-org/fedmeki-fedavg-m --revision-note 'FedAvg, 10 rounds, seed 42'\n\n"
    "  fedmeki zoo push zoo/mimic-model my-org/fedmeki-mimic --private"))
def push(
    folder: Annotated[Path, typer.Argument(help="Repository folder written by 'fedmeki zoo export'.",
                                           metavar="DIR")],
    repo_id: RepoArg,
    private: Annotated[bool, typer.Option("--private", help="Create the repo as private.")] = False,
    revision_note: Annotated[str | None, typer.Option(
        "--revision-note", help="Commit message of the upload (default: method and dataset fingerprint).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and list the files; upload nothing.")] = False,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Upload a model repository (refuses pickles, unknown files and credentialed training data unless --private)."""
    from fedmeki_models.zoo.hub import push_model

    result = push_model(folder, repo_id, private=private, commit_message=revision_note, dry_run=dry_run)
    Output(output_format).result(result, _render_push)


def _render_push(console, result: dict) -> None:
    verb = "Uploaded" if result["uploaded"] else "Would upload"
    console.print(f"{verb} {len(result['files'])} files to {result['repo_id']}"
                  f"{' (private)' if result['private'] else ''}:\n  " + "\n  ".join(result["files"]), markup=False)
    if result["uploaded"]:
        console.print(f"Revision {result['revision']}. To list it in 'fedmeki zoo ls', add this record to the "
                      f"registry:\n{json.dumps(result['registry_record'], indent=2)}", markup=False)
