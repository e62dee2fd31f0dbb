"""The metrics history of a run: one JSON record per round, and its learning curves as a PNG.

A round record holds ``round``, ``seconds``, ``clients`` (sampled), ``dropped`` (``{client, task,
error}``), ``bytes_sent`` and ``bytes_received`` (server view, raw tensor payload), ``train_loss`` per
task, and, on evaluated rounds, ``validation`` (per task: ``mean`` over clients and ``clients``) and
``test`` (per task) metric dicts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

HISTORY_FILE = "history.json"
CURVES_FILE = "curves.png"


def write_history(run: Path, history: Sequence[dict]) -> None:
    """Write ``history.json`` (replaced whole each round; small)."""
    (run / HISTORY_FILE).write_text(json.dumps(list(history), indent=1) + "\n", encoding="utf-8")


def plot_history(history: Sequence[dict], path: Path, *, title: str = "") -> Path:
    """Plot per task: test F1 and AUROC, mean client-validation F1 and the training loss, by round."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = sorted({task for record in history for task in record.get("train_loss", {})})
    figure, axes = plt.subplots(1, max(len(tasks), 1), figsize=(4.2 * max(len(tasks), 1), 3.4), squeeze=False)
    for axis, task in zip(axes[0], tasks, strict=False):
        _curve(axis, history, ("test", task, "f1"), "test F1", "C0", "-")
        _curve(axis, history, ("test", task, "auroc"), "test AUROC", "C1", "-")
        _curve(axis, history, ("validation", task, "mean", "f1"), "validation F1 (client mean)", "C0", ":")
        axis.set_ylim(0, 1.02)
        axis.set_xlabel("round")
        axis.set_title(task)
        loss_axis = axis.twinx()
        _curve(loss_axis, history, ("train_loss", task), "train loss", "C3", "--")
        loss_axis.set_ylabel("train loss", color="C3")
        lines = axis.get_lines() + loss_axis.get_lines()
        axis.legend(lines, [line.get_label() for line in lines], fontsize=7, loc="lower left")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _curve(axis, history: Sequence[dict], keys: tuple[str, ...], label: str, color: str, style: str) -> None:
    points = []
    for record in history:
        value = record
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, (int, float)):
            points.append((record["round"], value))
    if points:
        axis.plot(*zip(*points, strict=True), style, color=color, marker="o", markersize=3, label=label)
