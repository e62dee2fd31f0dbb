"""Where the ``evaluate`` metric module lies: ``evaluate.load(MODULE_PATH, task_id)`` (extra ``[evaluate]``)."""

from pathlib import Path

MODULE_PATH = str(Path(__file__).parent / "fedmeki")
