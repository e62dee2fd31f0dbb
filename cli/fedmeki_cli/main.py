"""The ``fedmeki`` command: registers the command groups and turns errors into one line and an exit code."""

from __future__ import annotations

import logging
import os
import sys

import typer

from fedmeki_cli import approaches, data, evaluation, flower, tasks, train, zoo
from fedmeki_cli._errors import describe
from fedmeki_cli._output import Output
from fedmeki_cli.demo import demo

app = typer.Typer(
    name="fedmeki",
    help="FedMEKI: federated medical knowledge injection benchmark toolkit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(tasks.app, name="tasks")
app.add_typer(data.app, name="data")
app.add_typer(evaluation.app, name="eval")
app.add_typer(approaches.app, name="approaches")
app.add_typer(zoo.app, name="zoo")
app.command("validate", epilog="Examples:\n\n  fedmeki validate my-submission/\n\n"
            "  fedmeki validate my-submission/ --references demo-data --format json")(evaluation.validate)
app.command("train", epilog=train.TRAIN_EXAMPLES)(train.train)
app.command("inject", epilog=train.INJECT_EXAMPLES)(train.inject)
app.command("predict", epilog=train.PREDICT_EXAMPLES)(train.predict)
app.command("flower", epilog=flower.FLOWER_EXAMPLES)(flower.flower)
app.command("demo", epilog="Examples:\n\n  fedmeki demo\n\n  fedmeki demo --size tiny --out /tmp/fedmeki-demo")(demo)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; exit codes: 0 success, 1 failure, 2 bad usage, 130 interrupted."""
    # Our own progress bars cover loading; datasets' per-split bars would interleave with them.
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    logging.basicConfig(level=os.environ.get("FEDMEKI_LOG_LEVEL", "WARNING"), format="%(levelname)s %(message)s")
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="fedmeki", standalone_mode=False)
    except (Exception, KeyboardInterrupt) as error:
        if os.environ.get("FEDMEKI_DEBUG") == "1":
            raise
        message, hint, code = describe(error)
        Output().error(message, hint)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
