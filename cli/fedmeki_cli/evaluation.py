"""``fedmeki eval`` and ``fedmeki validate``: score a submission folder the standard way.

The scorer's modules are imported inside the commands (they read Parquet and pull in the metric
libraries), so ``--help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import click
import typer
from typer.core import TyperGroup

from fedmeki_cli._options import FormatOpt, OverwriteOpt
from fedmeki_cli._output import Output, OutputFormat, table
from fedmeki_eval.protocols import PROTOCOLS

DEFAULT_COMMAND = "score"


class _DefaultCommandGroup(TyperGroup):
    """``fedmeki eval DIR`` means ``fedmeki eval score DIR``; ``fedmeki eval template ...`` stays a verb."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_DefaultCommandGroup, no_args_is_help=True,
                  help="Score a submission folder (fedmeki eval DIR), or write an example one (template).",
                  epilog="Examples:\n\n  fedmeki eval my-submission/\n\n"
                         "  fedmeki eval template my-submission --references demo-data")

SubmissionArg = Annotated[Path, typer.Argument(help="Submission folder.", metavar="SUBMISSION")]
ReferencesOpt = Annotated[
    str | None,
    typer.Option("--references", "-r", help="Dataset folder or Hub repo id with the test splits "
                                            "(default: the dataset named in submission.json)."),
]


@app.command(DEFAULT_COMMAND, epilog=(
    "Examples:\n\n  fedmeki eval my-submission/\n\n"
    "  fedmeki eval my-submission/ --references demo-data --protocol paper --plot scores.png\n\n"
    "  fedmeki eval my-submission/ --format json > results.json"
))
def score(
    submission: SubmissionArg,
    references: ReferencesOpt = None,
    protocol: Annotated[str, typer.Option("--protocol", click_type=click.Choice(PROTOCOLS),
                                          help="'strict' (exact yes/no) or 'paper' (the original substring rules, "
                                               "comparable with the paper's tables).")] = "strict",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Report folder (default: SUBMISSION/results).")]
    = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Save each task's main score with its 95 % CI as "
                                                             "PNG.")] = None,
    resamples: Annotated[int, typer.Option("--resamples", help="Bootstrap resamples per interval.", min=1)] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Validate and score a submission: metrics with 95 % intervals, results.json/.md, Hub .eval_results."""
    results = score_and_report(submission, references=references, protocol=protocol, out=out, plot=plot,
                               n_resamples=resamples, seed=seed)
    Output(output_format).result(results, render_results)


def score_and_report(submission: Path, *, references: str | Path | None = None, protocol: str = "strict",
                     out: Path | None = None, plot: Path | None = None, n_resamples: int = 1000,
                     seed: int = 0) -> dict:
    """Score a submission and write its reports (shared with ``fedmeki demo``); returns the results."""
    from fedmeki_data.atomic import atomic_folder
    from fedmeki_eval.report import RESULTS_JSON, plot_results, write_reports
    from fedmeki_eval.scorer import score as score_submission

    results = score_submission(submission, references=references, protocol=protocol, n_resamples=n_resamples,
                               seed=seed)
    report_dir = out or submission / "results"
    with atomic_folder(report_dir, overwrite=True, marker=RESULTS_JSON, kind="FedMEKI results folder") as staging:
        write_reports(results, staging)
    return {**results, "reports": {"folder": str(report_dir),
                                   "plot": str(plot_results(results, plot)) if plot else None}}


@app.command("template", epilog=(
    "Examples:\n\n  fedmeki eval template my-submission --references demo-data\n\n"
    "  fedmeki eval template my-submission --references org/fedmeki-demo --overwrite"
))
def template(
    out: Annotated[Path, typer.Argument(help="Submission folder to create.", metavar="DIR")],
    references: Annotated[str, typer.Option("--references", "-r", help="Dataset folder or Hub repo id whose test "
                                                                       "splits to answer.")],
    overwrite: OverwriteOpt = False,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Write a valid example submission: every test id of every task, answered with a constant "no"."""
    from fedmeki_eval.template import write_template

    metadata = write_template(out, references, overwrite=overwrite)
    Output(output_format).result({"folder": str(out), "submission": metadata}, lambda console, data: console.print(
        f"Wrote {data['folder']}/ (dataset fingerprint {data['submission']['dataset']['fingerprint']}). "
        f"Score it with: fedmeki eval {data['folder']}"
    ))


def validate(
    submission: SubmissionArg,
    references: ReferencesOpt = None,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Check a submission against every rule of the format without scoring it (exit 1 if invalid)."""
    from fedmeki_eval.scorer import validate as validate_submission

    checked, loaded = validate_submission(submission, references=references)
    result = {
        "valid": True,
        "references": {"source": loaded.source, "fingerprint": loaded.fingerprint},
        "tasks": {task_id: len(predictions.predictions) for task_id, predictions in checked.tasks.items()},
        "missing_tasks": list(checked.missing_tasks),
    }
    Output(output_format).result(result, _render_validation)


def _render_validation(console, result) -> None:
    console.print(f"Valid submission: {len(result['tasks'])} tasks, "
                  f"{sum(result['tasks'].values())} predictions, dataset {result['references']['fingerprint']}.")
    if result["missing_tasks"]:
        console.print(f"Missing tasks (will not be scored): {', '.join(result['missing_tasks'])}")


def render_results(console, results) -> None:
    from fedmeki_eval.report import format_score

    console.print(f"{results['submission']['name']}: protocol {results['protocol']}, references "
                  f"{results['references']['source']} ({results['references']['fingerprint']}); scores in %")
    rows = [(task_id, entry["role"], entry["n"], entry["main_metric"],
             format_score(entry["main_score"], entry["ci95"][entry["main_metric"]]),
             ", ".join(f"{name} {format_score(value)}" for name, value in entry["metrics"].items()
                       if name != entry["main_metric"]))
            for task_id, entry in results["tasks"].items()]
    console.print(table(None, ["task", "role", "n", "main", "score [95% CI]", "other metrics"], rows))
    means = [f"{group} {format_score(entry['mean_main_score'])} ({entry['n_tasks']} tasks)"
             for group, entry in results["summary"].items()]
    console.print("Mean main score: " + ", ".join(means))
    if results["missing_tasks"]:
        console.print(f"Missing tasks (not scored): {', '.join(results['missing_tasks'])}")
    for task_id, entry in results["tasks"].items():
        for note in entry["notes"]:
            console.print(f"Note ({task_id}): {note}")
    console.print(f"Reports: {results['reports']['folder']}"
                  + (f", plot {results['reports']['plot']}" if results["reports"]["plot"] else ""))
