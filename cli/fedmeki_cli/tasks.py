"""``fedmeki tasks``: the task registry."""

from __future__ import annotations

import typer

from fedmeki_cli._options import FormatOpt
from fedmeki_cli._output import Output, OutputFormat, table
from fedmeki_data.tasks import TASKS

app = typer.Typer(help="The eight FedMEKI tasks.", no_args_is_help=True)


@app.command("ls", epilog="Examples:\n\n  fedmeki tasks ls\n\n  fedmeki tasks ls --format json")
def list_tasks(output_format: FormatOpt = OutputFormat.text) -> None:
    """List the tasks: role, modalities, source, metrics and prompt."""
    records = [
        {**spec.model_dump(mode="json"), "credentialed": spec.credentialed, "is_binary": spec.is_binary}
        for spec in TASKS.values()
    ]
    Output(output_format).result(records, _render)


def _render(console, records) -> None:
    rows = [
        (r["id"], r["role"], ", ".join(r["modalities"]), " + ".join(s["name"] for s in r["sources"]),
         "yes" if r["credentialed"] else "no", r["main_metric"], r["instruction"] or "(per-record question)")
        for r in records
    ]
    console.print(table(None, ["task", "role", "modalities", "source", "credentialed", "main metric", "prompt"],
                        rows))
    console.print("Full records (descriptions, licenses, URLs, citations): fedmeki tasks ls --format json")
