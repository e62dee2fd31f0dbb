"""Options shared by several commands, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fedmeki_cli._output import OutputFormat

FormatOpt = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="Output format: 'text' for people, 'json' for programs."),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the data and the partition (the paper used 42).")]
OverwriteOpt = Annotated[
    bool, typer.Option("--overwrite", help="Replace the output folder if FedMEKI wrote it (never another folder)."),
]
DatasetArg = Annotated[str, typer.Argument(help="Dataset folder, or Hub dataset repo id (org/name).",
                                           metavar="DATASET")]
OutDirOpt = Annotated[Path, typer.Option("--out", "-o", help="Output folder (written atomically).")]
