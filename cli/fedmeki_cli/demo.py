"""``fedmeki demo``: the whole FedMEKI loop on synthetic data, offline, on a laptop CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fedmeki_cli._options import FormatOpt, SeedOpt
from fedmeki_cli._output import Output, OutputFormat
from fedmeki_cli.data import make_demo, render_summary
from fedmeki_data.partition import PartitionConfig

DEFAULT_OUT = Path("fedmeki-demo")


def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Working folder of the demo.")] = DEFAULT_OUT,
    size: Annotated[str, typer.Option("--size", help="Demo size: tiny, small or medium.")] = "small",
    seed: SeedOpt = 42,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Run the demo: build the synthetic dataset (paper partition), summarise it and plot its clients.

    Re-running replaces the previous demo output; a folder that is not a FedMEKI dataset is never touched.
    """
    from fedmeki_data.plots import plot_label_distribution

    output = Output(output_format)
    summary = make_demo(out / "data", size=size, config=PartitionConfig(seed=seed), tasks=None, overwrite=True,
                        output=output)
    summary["plot"] = str(plot_label_distribution(summary, out / "data_clients.png"))
    output.result(summary, render_summary)
