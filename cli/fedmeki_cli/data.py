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


ImageSizeOpt = Annotated[int, typer.Option("--image-size", help="Stored image resolution in pixels (square).")]
HoursOpt = Annotated[int, typer.Option("--hours", help="mortality: hours from the start of the stay (24 = paper).")]
MaxHoursOpt = Annotated[int, typer.Option("--max-hours", help="sepsis: longest window before the first positive hour.")]
NumProcOpt = Annotated[int, typer.Option("--num-proc", help="Worker processes decoding records.")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Fail on the first unusable record instead of skipping it.")]


def _build(sources: dict, out: Path, *, partition: str, clients: int | None, alpha: float, min_size: int, seed: int,
           image_size: int, hours: int, max_hours: int, num_proc: int, strict: bool, overwrite: bool,
           output_format: OutputFormat) -> None:
    from fedmeki_data.info import manifest_summary
    from fedmeki_data.sources.base import BuildOptions
    from fedmeki_data.sources.build import build_sources

    output = Output(output_format)
    config = PartitionConfig(scheme=partition, n_clients=clients, alpha=alpha, min_size=min_size, seed=seed)
    options = BuildOptions(image_size=image_size, hours=hours, max_hours=max_hours)
    with output.progress() as progress:
        manifest = build_sources(sources, out, partition_config=config, options=options, num_proc=num_proc,
                                 strict=strict, overwrite=overwrite, progress=progress)
    summary = manifest_summary(out, manifest, verified=True)
    summary["skipped"] = manifest["build"]["skipped"]
    output.result(summary, _render_build)


def _render_build(console, summary) -> None:
    render_summary(console, summary)
    for task_id, report in summary["skipped"].items():
        if report["count"]:
            rows = [(record["id"], record["reason"]) for record in report["records"][:20]]
            more = report["count"] - len(rows)
            console.print(f"\n[bold]{task_id}[/bold]: {report['count']} record(s) skipped"
                          + (f" (first {len(rows)} shown; all in the manifest)" if more > 0 else ""))
            console.print(table(None, ["id", "reason"], rows))


@app.command(epilog=(
    "Examples:\n\n  fedmeki data build ecg_abnormal --source ~/ptb-xl-1.0.3 --out ptbxl-build\n\n"
    "  fedmeki data build mortality --source ~/mimic3-benchmarks/data --out mimic --hours 24 --num-proc 4\n\n"
    "  fedmeki data build covid19 --source ~/COVID-19_Radiography_Dataset --out covid --partition natural"
))
def build(
    task: Annotated[str, typer.Argument(help="Task id (fedmeki tasks ls).")],
    source: Annotated[Path, typer.Option("--source", help="The source's folder as downloaded and unzipped.")],
    out: OutDirOpt,
    partition: PartitionOpt = "paper",
    clients: ClientsOpt = None,
    alpha: AlphaOpt = 0.5,
    min_size: MinSizeOpt = 2,
    seed: SeedOpt = 42,
    image_size: ImageSizeOpt = 224,
    hours: HoursOpt = 48,
    max_hours: MaxHoursOpt = 168,
    num_proc: NumProcOpt = 1,
    strict: StrictOpt = False,
    overwrite: OverwriteOpt = False,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Build one task from its raw source into a dataset folder (skipped records are reported)."""
    _build({task: source}, out, partition=partition, clients=clients, alpha=alpha, min_size=min_size, seed=seed,
           image_size=image_size, hours=hours, max_hours=max_hours, num_proc=num_proc, strict=strict,
           overwrite=overwrite, output_format=output_format)


@app.command("build-all", epilog=(
    "Examples:\n\n  fedmeki data build-all --sources sources.yaml --out fedmeki-data\n\n"
    "  fedmeki data build-all --sources sources.yaml --out fedmeki-data --num-proc 8 --strict\n\n"
    "sources.yaml maps task ids to source folders, e.g. 'ecg_abnormal: /data/ptb-xl-1.0.3'."
))
def build_all(
    sources: Annotated[Path, typer.Option("--sources", help="YAML file: task id -> source folder.")],
    out: OutDirOpt,
    partition: PartitionOpt = "paper",
    clients: ClientsOpt = None,
    alpha: AlphaOpt = 0.5,
    min_size: MinSizeOpt = 2,
    seed: SeedOpt = 42,
    image_size: ImageSizeOpt = 224,
    hours: HoursOpt = 48,
    max_hours: MaxHoursOpt = 168,
    num_proc: NumProcOpt = 1,
    strict: StrictOpt = False,
    overwrite: OverwriteOpt = False,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Build every task listed in a sources file into one multi-config dataset folder."""
    from fedmeki_data.sources.build import read_sources_file

    _build(read_sources_file(sources), out, partition=partition, clients=clients, alpha=alpha, min_size=min_size,
           seed=seed, image_size=image_size, hours=hours, max_hours=max_hours, num_proc=num_proc, strict=strict,
           overwrite=overwrite, output_format=output_format)


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
