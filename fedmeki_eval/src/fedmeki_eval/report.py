"""Reports of a scored submission: ``results.json``, ``results.md``, Hub ``.eval_results`` and a plot."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import yaml

from fedmeki_data.errors import UsageError

RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"
EVAL_RESULTS = ".eval_results"


def write_reports(results: Mapping, out: str | Path) -> list[Path]:
    """Write ``results.json``, ``results.md`` and ``.eval_results/<task>.yaml`` into ``out``.

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / RESULTS_JSON, out / RESULTS_MD]
    written[0].write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written[1].write_text(render_markdown(results), encoding="utf-8")
    return written + write_eval_results(results, out)


def write_eval_results(results: Mapping, folder: str | Path, *, dataset_id: str | None = None) -> list[Path]:
    """Write ``folder/.eval_results/<task>.yaml`` (see :func:`eval_results_entries`) and return the paths."""
    (Path(folder) / EVAL_RESULTS).mkdir(parents=True, exist_ok=True)
    written = []
    for task_id, entry in eval_results_entries(results, dataset_id=dataset_id).items():
        path = Path(folder) / EVAL_RESULTS / f"{task_id}.yaml"
        path.write_text(yaml.safe_dump(entry, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written


def eval_results_entries(results: Mapping, *, dataset_id: str | None = None) -> dict[str, list[dict]]:
    """One Hub ``.eval_results`` entry per scored task: the main score on the FedMEKI test split.

    Entries are built as ``huggingface_hub.EvalResultEntry`` records, so they follow the Hub's format.

    Parameters
    ----------
    results : Mapping
        What :func:`fedmeki_eval.scorer.score` returned.
    dataset_id : str, optional
        The Hub dataset repo of the references (default: the references' own source).
    """
    from huggingface_hub import EvalResultEntry, eval_result_entries_to_yaml

    notes = f"fedmeki eval {results['fedmeki_version']}, {results['protocol']} protocol"
    return {
        task_id: eval_result_entries_to_yaml([EvalResultEntry(
            dataset_id=dataset_id or results["references"]["source"], task_id=task_id, value=entry["main_score"],
            date=results["date"][:10], notes=f"{notes}, {entry['main_metric']}")])
        for task_id, entry in results["tasks"].items()
    }


def render_markdown(results: Mapping) -> str:
    """A readable report: the table of main scores with intervals, every metric, summary and notes."""
    submission = results["submission"]
    lines = [
        f"# FedMEKI results: {submission['name']}",
        "",
        f"Protocol `{results['protocol']}`, references `{results['references']['source']}` (fingerprint "
        f"`{results['references']['fingerprint']}`), FedMEKI {results['fedmeki_version']}, {results['date']}. "
        "Scores in %, with bootstrap 95 % intervals.",
        "",
        "| task | role | n | main metric | score [95 % CI] | all metrics |",
        "|---|---|---|---|---|---|",
    ]
    for task_id, entry in results["tasks"].items():
        others = ", ".join(f"{name} {format_score(value)}" for name, value in entry["metrics"].items())
        lines.append(f"| `{task_id}` | {entry['role']} | {entry['n']} | {entry['main_metric']} "
                     f"| {format_score(entry['main_score'], entry['ci95'][entry['main_metric']])} | {others} |")
    lines += ["", "| summary | tasks | mean main score |", "|---|---|---|"]
    for group, entry in results["summary"].items():
        lines.append(f"| {group} | {entry['n_tasks']} | {format_score(entry['mean_main_score'])} |")
    if results["missing_tasks"]:
        lines += ["", f"Missing tasks (not scored): {', '.join(results['missing_tasks'])}."]
    notes = [f"- `{task_id}`: {note}" for task_id, entry in results["tasks"].items() for note in entry["notes"]]
    return "\n".join(lines + (["", "Notes:", *notes] if notes else [])) + "\n"


def format_score(value: float | None, interval: list[float] | None = None) -> str:
    """``95.31`` or ``95.31 [94.10, 96.42]`` in percent; ``-`` for an undefined value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    text = f"{100 * value:.2f}"
    if interval is not None and not any(math.isnan(bound) for bound in interval):
        text += f" [{100 * interval[0]:.2f}, {100 * interval[1]:.2f}]"
    return text


def plot_results(results: Mapping, path: str | Path) -> Path:
    """Save a PNG of each task's main score with its 95 % interval, training and validation tasks apart."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("Plotting needs matplotlib.", hint="pip install matplotlib") from None
    tasks = results["tasks"]
    names = list(tasks)
    scores = np.array([tasks[name]["main_score"] for name in names]) * 100
    intervals = np.array([tasks[name]["ci95"][tasks[name]["main_metric"]] for name in names]) * 100
    errors = np.clip([scores - intervals[:, 0], intervals[:, 1] - scores], 0, None)
    colors = ["#4C72B0" if tasks[name]["role"] == "training" else "#55A868" for name in names]
    figure, axis = plt.subplots(figsize=(max(6.0, 1.1 * len(names)), 4.0))
    axis.bar(range(len(names)), scores, yerr=errors, capsize=4, color=colors)
    axis.set_xticks(range(len(names)), [f"{name}\n({tasks[name]['main_metric']})" for name in names],
                    rotation=30, ha="right", fontsize=8)
    axis.set_ylim(0, 100)
    axis.set_ylabel("main score (%)")
    axis.set_title(f"{results['submission']['name']} ({results['protocol']} protocol; blue: training, "
                   "green: validation tasks)", fontsize=9)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
