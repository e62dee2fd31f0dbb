"""Turning exceptions into one ``Error:`` line, one ``Hint:`` line and an exit code."""

from __future__ import annotations

import click

from fedmeki_data.errors import FedmekiError

DEBUG_HINT = "set FEDMEKI_DEBUG=1 to see the traceback, and report it if it looks like a bug"
EXIT_INTERRUPTED = 130


def describe(error: BaseException) -> tuple[str, str, int]:
    """Return (message, hint, exit code) for any exception reaching the top of the CLI."""
    if isinstance(error, FedmekiError):
        return error.message, error.hint, error.exit_code
    if isinstance(error, click.UsageError):
        command = error.ctx.command_path if error.ctx else "fedmeki"
        return error.format_message(), f"run '{command} --help'", 2
    if isinstance(error, click.ClickException):
        return error.format_message(), "", error.exit_code
    if isinstance(error, (KeyboardInterrupt, click.Abort)):
        return ("interrupted", "outputs appear only when complete; continue an interrupted training run with "
                           "fedmeki train --out RUN --resume", EXIT_INTERRUPTED)
    first_line = (str(error).splitlines() or [""])[0]
    return f"unexpected {type(error).__name__}: {first_line}", DEBUG_HINT, 1
