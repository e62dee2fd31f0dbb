"""``fedmeki flower``: the commands of a real multi-hospital deployment on Flower."""

from __future__ import annotations

from typing import Annotated

import typer

from fedmeki_cli._options import FormatOpt
from fedmeki_cli._output import Output, OutputFormat
from fedmeki_data.errors import InvalidParameterError

FLOWER_EXAMPLES = (
    "Examples:\n\n  fedmeki flower --superlink fl.example.org:9093 --clients 5 --data-dir /data/fedmeki\n\n"
    "  fedmeki flower --superlink 10.0.0.1:9093 --data fedmeki-demo/data --insecure --format json"
)


def flower(
    superlink: Annotated[str, typer.Option(
        "--superlink", help="HOST:PORT the hospitals reach the server at.")] = "SERVER:9093",
    clients: Annotated[int | None, typer.Option("--clients", help="Hospitals (one SuperNode each).")] = None,
    data: Annotated[str | None, typer.Option(
        "--data", help="Read the number of clients from this dataset's partition instead of --clients.")] = None,
    data_dir: Annotated[str, typer.Option(
        "--data-dir", help="Dataset folder at each hospital (its own client split).")] = "DATA_DIR",
    out: Annotated[str, typer.Option("--out", help="Run folder on the server.")] = "runs/flower",
    insecure: Annotated[bool, typer.Option(
        "--insecure", help="No TLS and no SuperNode authentication (a closed test network only).")] = False,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Print the commands of a real deployment: the SuperLink on the server, a SuperNode per hospital, the run."""
    from fedmeki_models.flower.deployment import deployment_commands, partition_clients

    if clients is None:
        if data is None:
            raise InvalidParameterError("Say how many hospitals take part.", hint="pass --clients N or --data DATASET")
        from fedmeki_data.hub import resolve_dataset

        clients = partition_clients(resolve_dataset(data))
    if clients < 1:
        raise InvalidParameterError(f"--clients must be >= 1, got {clients}.", hint="one SuperNode per hospital")
    steps = deployment_commands(superlink=superlink, clients=clients, data_dir=data_dir, out=out, insecure=insecure)
    Output(output_format).result({"steps": [{"where": where, "command": command} for where, command in steps]},
                                 _render)


def _render(console, result: dict) -> None:
    console.print("Run each command where it says, in this order (guide: docs/deployment.md):\n")
    for number, step in enumerate(result["steps"], start=1):
        console.print(f"{number:>2}. {step['where']}:\n    {step['command']}", markup=False)
