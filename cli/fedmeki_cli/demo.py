"""``fedmeki demo``: the whole FedMEKI loop on synthetic data, offline, on a laptop CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fedmeki_cli._options import FormatOpt, SeedOpt
from fedmeki_cli._output import Output, OutputFormat, table
from fedmeki_cli.data import make_demo, render_summary
from fedmeki_cli.evaluation import render_results, score_and_report
from fedmeki_cli.train import render_run
from fedmeki_data.partition import PartitionConfig

DEFAULT_OUT = Path("fedmeki-demo")


def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Working folder of the demo.")] = DEFAULT_OUT,
    size: Annotated[str, typer.Option("--size", help="Demo size: tiny, small or medium.")] = "small",
    rounds: Annotated[int | None, typer.Option("--rounds", help="FL rounds (default: the demo recipe's 15).")] = None,
    seed: SeedOpt = 42,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Run the whole loop: synthetic data -> FedAvg multi-task training with knowledge injection into the tiny
    foundation model -> predict with both models -> standard scorer.

    Writes DIR/data (the dataset, with data_clients.png), DIR/run (the run: history, curves, the local
    model and the foundation model fm/), DIR/submission and DIR/submission-fm (the predictions of the
    local model and of the foundation model, each with results/), and DIR/zoo/local and DIR/zoo/foundation
    (both models as Hub repositories with their scores in the card). Re-running replaces the previous demo
    output; a folder that is not a FedMEKI output is never touched.
    """
    from fedmeki_data.plots import plot_label_distribution
    from fedmeki_models.predict import predict
    from fedmeki_models.run_config import DEMO_INJECTION, demo_run_config
    from fedmeki_models.runs import MODEL_DIR, train
    from fedmeki_models.zoo.export import export_model

    output = Output(output_format)
    data = make_demo(out / "data", size=size, config=PartitionConfig(seed=seed), tasks=None, overwrite=True,
                     output=output)
    data["plot"] = str(plot_label_distribution(data, out / "data_clients.png"))
    with output.progress() as progress:
        run = train(demo_run_config(out / "data", rounds=rounds, seed=seed, injection=DEMO_INJECTION), out / "run",
                    overwrite=True, progress=progress)
        predict(out / "run" / MODEL_DIR, out / "data", out / "submission", overwrite=True, progress=progress)
        predict(out / "run", out / "data", out / "submission-fm", overwrite=True, progress=progress)
    run["run"] = str(out / "run")
    results = {"local": score_and_report(out / "submission", plot=out / "scores.png"),
               "foundation": score_and_report(out / "submission-fm", plot=out / "scores-fm.png")}
    zoo = {name: export_model(model, out / "zoo" / name, results=results[name]["reports"]["folder"], overwrite=True)
           for name, model in (("local", out / "run" / MODEL_DIR), ("foundation", out / "run"))}
    output.result({"data": data, "training": run, "results": results, "zoo": zoo}, _render)


def _render(console, result) -> None:
    render_summary(console, result["data"])
    console.print()
    render_run(console, result["training"])
    for name, title in (("local", "the local model"), ("foundation", "the injected foundation model")):
        console.print(f"\n[bold]Standard scorer[/bold] on the predictions of {title} (your method's submission is "
                      "scored the same way: fedmeki eval SUBMISSION)")
        render_results(console, result["results"][name])
    console.print("\n[bold]Side by side[/bold] (main metric, %; the local model has no head for validation tasks)")
    console.print(side_by_side(result["results"]))
    folders = [summary["out"] for summary in result["zoo"].values()]
    console.print(f"\nHub-ready model repositories, each with a model card holding its scores: {', '.join(folders)}"
                  f"\nCheck what would be published with: fedmeki zoo push {folders[-1]} ORG/NAME --dry-run",
                  markup=False)


def side_by_side(results: dict) -> Table:
    """One row per task: its role, main metric, and each submission's main score."""
    from fedmeki_data.tasks import TASKS
    from fedmeki_eval.report import format_score

    rows = []
    for task_id, task in TASKS.items():
        scores = [results[name]["tasks"].get(task_id) for name in results]
        rows.append([task_id, task.role, task.main_metric,
                     *(format_score(entry["main_score"]) if entry else "-" for entry in scores)])
    return table(None, ["task", "role", "main", *(f"{name} model" for name in results)], rows)
