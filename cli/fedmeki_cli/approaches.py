"""``fedmeki approaches``: the paper's 16 benchmark approaches as named runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fedmeki_cli._options import FormatOpt, OverwriteOpt
from fedmeki_cli._output import Output, OutputFormat, table

app = typer.Typer(help="The paper's 16 approaches: {FedAvg, FedProx} x {single, multi-task} x 4 models.",
                  no_args_is_help=True)


@app.command("ls", epilog="Examples:\n\n  fedmeki approaches ls\n\n  fedmeki approaches ls --format json")
def list_approaches(output_format: FormatOpt = OutputFormat.text) -> None:
    """List the approaches: name, the paper's notation, and the run and model each one uses."""
    from fedmeki_models.approaches import APPROACHES

    records = [{"name": a.name, "label": a.label, "algorithm": a.algorithm, "setting": a.setting, "model": a.model,
                "run": a.run_name} for a in APPROACHES.values()]
    Output(output_format).result(records, lambda console, rows: console.print(table(
        None, ["name", "paper", "algorithm", "setting", "model", "run"],
        [[r["name"], r["label"], r["algorithm"], r["setting"], r["model"], r["run"]] for r in rows])))


@app.command("run", epilog=(
    "Examples:\n\n  fedmeki approaches run fedavg_m_returned,fedavg_m_fm --data demo --preset small --out paper\n\n"
    "  fedmeki approaches run all --data demo --preset small --rounds 5 --out paper-table"))
def run_approaches(
    names: Annotated[str, typer.Argument(help="Approach names, comma-separated, or 'all'.")],
    data: Annotated[str, typer.Option("--data", help="Dataset folder or Hub dataset repo id.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for runs/ and submissions/.")],
    rounds: Annotated[int | None, typer.Option("--rounds", help="FL rounds (default 10).")] = None,
    preset: Annotated[str | None, typer.Option("--preset", help="Model size: paper or small.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of every run (default 42).")] = None,
    fm: Annotated[str | None, typer.Option("--fm", help="Foundation model of the injection runs.")] = None,
    experts: Annotated[int | None, typer.Option("--experts", help="LoRA experts of the injection runs.")] = None,
    overwrite: OverwriteOpt = False,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Train the runs the named approaches need (each once) and write one submission per approach."""
    from fedmeki_models.approaches import get_approaches
    from fedmeki_models.approaches import run_approaches as run

    approaches = get_approaches([name.strip() for name in names.split(",") if name.strip()])
    options = {key: value for key, value in {"rounds": rounds, "preset": preset, "seed": seed}.items()
               if value is not None}
    options["injection"] = {key: value for key, value in {"fm": fm, "experts": experts}.items() if value is not None}
    output = Output(output_format)
    with output.progress() as progress:
        submissions = run(approaches, data, out, options=options, overwrite=overwrite, progress=progress)
    result = {name: str(out / "submissions" / name) for name in submissions}
    output.result(result, lambda console, rows: console.print(table(
        None, ["approach", "submission (score it with fedmeki eval)"], [[name, path] for name, path in rows.items()])))
