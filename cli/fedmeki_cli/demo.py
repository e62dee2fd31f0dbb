"""``fedmeki demo``: the whole FedMEKI loop on synthetic data, offline, on a laptop CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fedmeki_cli._options import FormatOpt, SeedOpt
from fedmeki_cli._output import Output, OutputFormat
from fedmeki_cli.data import make_demo, render_summary
from fedmeki_cli.evaluation import render_results, score_and_report
from fedmeki_data.partition import PartitionConfig

DEFAULT_OUT = Path("fedmeki-demo")


def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Working folder of the demo.")] = DEFAULT_OUT,
    size: Annotated[str, typer.Option("--size", help="Demo size: tiny, small or medium.")] = "small",
    seed: SeedOpt = 42,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Run the demo: build the synthetic dataset (paper partition), plot its clients, and score a baseline.

    The baseline is the constant submission of ``fedmeki eval template``, scored by ``fedmeki eval``; the
    trained models of later releases are scored the same way. Re-running replaces the previous demo
    output; a folder that is not a FedMEKI output is never touched.
    """
    from fedmeki_data.plots import plot_label_distribution
    from fedmeki_eval.template import write_template

    output = Output(output_format)
    data = make_demo(out / "data", size=size, config=PartitionConfig(seed=seed), tasks=None, overwrite=True,
                     output=output)
    data["plot"] = str(plot_label_distribution(data, out / "data_clients.png"))
    write_template(out / "baseline", out / "data", overwrite=True)
    baseline = score_and_report(out / "baseline", plot=out / "baseline_scores.png")
    output.result({"data": data, "baseline": baseline}, _render)


def _render(console, result) -> None:
    render_summary(console, result["data"])
    console.print("\n[bold]Constant baseline[/bold] (every answer \"no\"; your method's submission is scored the "
                  "same way with: fedmeki eval SUBMISSION)")
    render_results(console, result["baseline"])
