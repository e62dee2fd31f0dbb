"""``fedmeki data``: build, inspect and publish FedMEKI datasets.

The library modules are imported inside the commands: they pull in ``datasets`` (a second of start-up)
that ``--help`` and the other command groups do not need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fedmeki_cli._options import DatasetArg, FormatOpt, OutDirOpt, OverwriteOpt, SeedOpt
from fedmeki_cli._output import Output, OutputFormat, table
from fedmeki_data.partition import SCHEMES, PartitionConfig
from fedmeki_data.synthetic.sizes import SIZES

app = typer.Typer(help="Build, inspect and publish FedMEKI datasets.", no_args_is_help=True)

SizeOpt = Annotated[str, typer.Option("--size", help=f"Dataset size: {', '.join(SIZES)}.")]
PartitionOpt = Annotated[str, typer.Option("--partition", help=f"Client partition: {', '.join(SCHEMES)}.")]
ClientsOpt = Annotated[
    int | None, typer.Option("--clients", help="Number of clients (default 5; one per site for 'natural').")
]
AlphaOpt = Annotated[float, typer.Option("--alpha", help="Dirichlet concentration for --partition dirichlet.")]
MinSizeOpt = Annotated[int, typer.Option("--min-size", help="Smallest client shard --partition dirichlet accepts.")]
TasksOpt = Annotated[
    list[str] | None, typer.Option("--tasks", help="Build only these task ids (repeat the option).")
]


def make_demo(out: Path, *, size: str, config: PartitionConfig, tasks: list[str] | None, overwrite: bool,
              output: Output) -> dict:
    """Build the demo dataset with progress bars and return its summary (shared with ``fedmeki demo``)."""
    from fedmeki_data.info import manifest_summary
    from fedmeki_data.synthetic.demo import build_demo

    with output.progress() as progress:
        manifest = build_demo(out, size=size, partition_config=config, tasks=tasks, overwrite=overwrite,
                              progress=progress)
    return manifest_summary(out, manifest, verified=True)  # the build hashed the files it wrote


@app.command(epilog=(
    "Examples:\n\n  fedmeki data demo --out demo-data\n\n"
    "  fedmeki data demo --out tiny --size tiny --partition dirichlet --alpha 0.1 --clients 8\n\n"
    "  fedmeki data demo --out sites --partition natural --tasks covid19 --tasks mortality"
))
def demo(
    out: OutDirOpt,
    size: SizeOpt = "small",
    partition: PartitionOpt = "paper",
    clients: ClientsOpt = None,
    alpha: AlphaOpt = 0.5,
    min_size: MinSizeOpt = 2,
    seed: SeedOpt = 42,
    tasks: TasksOpt = None,
    overwrite: OverwriteOpt = False,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Generate the synthetic demo dataset (all eight tasks, offline) in the FedMEKI dataset contract."""
    output = Output(output_format)
    config = PartitionConfig(scheme=partition, n_clients=clients, alpha=alpha, min_size=min_size, seed=seed)
    summary = make_demo(out, size=size, config=config, tasks=tasks, overwrite=overwrite, output=output)
    output.result(summary, render_summary)


@app.command(epilog=(
    "Examples:\n\n  fedmeki data info demo-data\n\n  fedmeki data info demo-data --plot clients.png\n\n"
    "  fedmeki data info org/fedmeki-demo --format json"
))
def info(
    dataset: DatasetArg,
    plot: Annotated[Path | None, typer.Option("--plot", help="Save the per-client label distribution as PNG.")]
    = None,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Show a dataset's tasks, splits and per-client label counts (files checked against the manifest)."""
    from fedmeki_data.info import summarize
    from fedmeki_data.plots import plot_label_distribution

    output = Output(output_format)
    summary = summarize(dataset)
    if plot is not None:
        summary["plot"] = str(plot_label_distribution(summary, plot))
    output.result(summary, render_summary)


@app.command(epilog=(
    "Examples:\n\n  fedmeki data push demo-data my-org/fedmeki-demo\n\n"
    "  fedmeki data push mimic-build my-org/fedmeki-mimic --private\n\n"
    "  fedmeki data push demo-data my-org/fedmeki-demo --dry-run"
))
def push(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder to upload.", metavar="DIR")],
    repo_id: Annotated[str, typer.Argument(help="Hub dataset repo id (org/name); created if missing.")],
    private: Annotated[bool, typer.Option("--private", help="Create the repo as private.")] = False,
    gated: Annotated[bool, typer.Option("--gated", help="Gate the repo (manual approval of each user).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and list the files; upload nothing.")] = False,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Upload a dataset folder to the Hub (refuses credentialed builds unless --private or --gated)."""
    from fedmeki_data.hub import push_dataset

    files = push_dataset(dataset, repo_id, private=private, gated=gated, dry_run=dry_run)
    result = {"repo_id": repo_id, "uploaded": not dry_run, "files": files}
    Output(output_format).result(result, lambda console, data: console.print(
        ("Would upload" if dry_run else "Uploaded") + f" {len(files)} files to {repo_id}:\n  " + "\n  ".join(files)
    ))


def render_summary(console, summary) -> None:
    """Print a dataset summary: one line of provenance, then one table per task."""
    build = summary["build"]
    part = summary["partition"]
    console.print(
        f"{summary['path']}  fingerprint {summary['fingerprint']}  ({build['builder']}, size {build.get('size', '-')}, "
        f"seed {build.get('seed', '-')}, partition {part['scheme']}, files verified: {summary['verified']})"
    )
    for task_id, entry in summary["tasks"].items():
        labels = list(next(iter(entry["splits"].values()))["label_counts"])
        rows = [(split, info["client_id"] if info["client_id"] >= 0 else "", ", ".join(info["sites"]),
                 info["rows"], *(info["label_counts"][label] for label in labels))
                for split, info in entry["splits"].items()]
        clients = f"{entry['n_clients']} clients" if entry["n_clients"] else "test only"
        console.print(f"\n[bold]{task_id}[/bold] ({entry['role']}, {clients})")
        console.print(table(None, ["split", "client", "sites", "rows", *labels], rows))
    if "plot" in summary:
        console.print(f"\nPlot: {summary['plot']}")
