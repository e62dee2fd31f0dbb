"""Pictures of a dataset: the per-client label distribution, the first thing FL researchers look at."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from fedmeki_data.errors import UsageError
from fedmeki_data.tasks import get_task

_COLORS = {"no": "#4C72B0", "yes": "#DD8452", "rows": "#8C8C8C"}
_MIN_SLOTS = 8


def plot_label_distribution(summary: Mapping, path: str | Path) -> Path:
    """Save a PNG with one panel per task: stacked label counts per split (rows for free-text tasks).

    Parameters
    ----------
    summary : Mapping
        A manifest or :func:`fedmeki_data.info.summarize` result.
    path : str or Path
        Output ``.png`` file.

    Raises
    ------
    UsageError
        If matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("Plotting needs matplotlib.", hint="pip install 'fedmeki-data[plot]'") from None
    tasks = summary["tasks"]
    columns = min(2, len(tasks))
    rows = math.ceil(len(tasks) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(6.5 * columns, 3.2 * rows), squeeze=False)
    for axis, (task_id, entry) in zip(axes.flat, tasks.items()):
        _draw_task(axis, task_id, entry)
    for axis in axes.flat[len(tasks):]:
        axis.set_visible(False)
    figure.suptitle(f"Label distribution per split (fingerprint {summary['fingerprint']})")
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _draw_task(axis, task_id: str, entry: Mapping) -> None:
    splits = list(entry["splits"])
    labels = get_task(task_id).label_names or ("rows",)
    bottom = [0] * len(splits)
    for label in labels:
        counts = [entry["splits"][split]["label_counts"].get(label, 0) if label != "rows"
                  else entry["splits"][split]["rows"] for split in splits]
        axis.bar(splits, counts, bottom=bottom, label=label, color=_COLORS[label])
        bottom = [b + c for b, c in zip(bottom, counts)]
    axis.set_xlim(-0.75, max(len(splits), _MIN_SLOTS) - 0.25)  # a lone `test` bar stays bar-sized
    axis.set_title(f"{task_id} ({entry['role']})")
    axis.set_ylabel("records")
    axis.tick_params(axis="x", labelrotation=45, labelsize=8)
    axis.legend(fontsize=8)
