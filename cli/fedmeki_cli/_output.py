"""One output sink for every command: data to stdout (text or JSON), errors and hints to stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

_PIPE_WIDTH = 160  # rich assumes 80 columns when stdout is not a terminal; tables would wrap every cell


class OutputFormat(str, Enum):
    """``text`` for people, ``json`` for programs (exactly one JSON document on stdout, no progress bars)."""

    text = "text"
    json = "json"


class Output:
    """Where a command's results, progress, errors and hints go."""

    def __init__(self, output_format: OutputFormat = OutputFormat.text) -> None:
        self.format = output_format
        self.stdout = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else _PIPE_WIDTH)
        self.stderr = Console(stderr=True, highlight=False, soft_wrap=True)

    def result(self, data: Any, render: Callable[[Console, Any], None]) -> None:
        """Print ``data`` as JSON, or through ``render`` for people."""
        if self.format is OutputFormat.json:
            print(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            render(self.stdout, data)

    def error(self, message: str, hint: str = "") -> None:
        self.stderr.print(f"Error: {message}", markup=False)
        if hint:
            self.stderr.print(f"Hint: {hint}", markup=False)

    @contextmanager
    def progress(self) -> Iterator[Callable[[str, int, int], None]]:
        """Yield a ``progress(label, done, total)`` callback: rich bars in text mode, silent in JSON mode."""
        if self.format is OutputFormat.json:
            yield lambda label, done, total: None
            return
        bars: dict[str, int] = {}
        columns = (TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self.stderr, transient=True) as progress:
            def update(label: str, done: int, total: int) -> None:
                if label not in bars:
                    bars[label] = progress.add_task(label, total=total)
                progress.update(bars[label], completed=done)
            yield update


def table(title: str | None, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A plain rich table; ``No results found.`` is the caller's job for empty data."""
    result = Table(title=title, title_justify="left", show_edge=False, header_style="bold")
    for index, header in enumerate(headers):
        result.add_column(header, no_wrap=index == 0)
    for row in rows:
        result.add_row(*(str(cell) for cell in row))
    return result
