"""Reference table on the synthetic demo: majority class, local-only, FedAvg multi-task and centralised.

Every method trains the demo recipe (``fedmeki_models.run_config.demo_run_config``: the same model,
epochs, optimiser and seed); the only difference is who sees which data. Expected order on most tasks:
centralised >= FedAvg >= mean local-only, and FedAvg well above the majority class.

    python bench/reference_table.py                 # builds the small demo in a temp folder (~6 min)
    python bench/reference_table.py --data DIR --rounds 5
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from fedmeki_data.synthetic.demo import build_demo
from fedmeki_eval.metrics.binary import binary_metrics
from fedmeki_models.data import load_federated_data
from fedmeki_models.run_config import demo_run_config
from fedmeki_models.runs import train

METHODS = ("local_only", "fedavg", "centralised")
METRICS = ("f1", "auroc", "accuracy")


def majority(data: str, tasks: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Metrics of always answering the majority class of the pooled client shards."""
    loaded = load_federated_data(data, tasks, image_size=8, max_steps=1, splits=("clients", "test"))
    result = {}
    for task in tasks:
        answer = int(loaded.pooled(task).labels.mean() >= 0.5)
        truth = loaded.test[task].labels.numpy().astype(int)
        result[task] = binary_metrics(truth, np.full_like(truth, answer), np.full(len(truth), 0.5))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="dataset folder (default: build the small demo in a temp folder)")
    parser.add_argument("--rounds", type=int, help="override the demo recipe's rounds")
    parser.add_argument("--out", type=Path, help="keep the run folders here (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fedmeki-reference-") as scratch:
        data = args.data or str(Path(scratch) / "data")
        if not args.data:
            build_demo(data, size="small")
        runs = args.out or Path(scratch) / "runs"
        table, seconds = {}, {}
        for method in METHODS:
            began = time.perf_counter()
            summary = train(demo_run_config(data, algorithm=method, rounds=args.rounds), runs / method,
                            overwrite=True)
            table[method], seconds[method] = summary["test"], round(time.perf_counter() - began, 1)
        tasks = tuple(table["fedavg"])
        table = {"majority": majority(data, tasks), **table}
    _print(table, tasks, seconds)
    print(json.dumps({"test": table, "seconds": seconds}))


def _print(table: dict, tasks: tuple[str, ...], seconds: dict) -> None:
    methods = list(table)
    print(f"{'task':<14}{'metric':<10}" + "".join(f"{method:>13}" for method in methods))
    for task in tasks:
        for metric in METRICS:
            cells = "".join(f"{table[method][task][metric]:>13.3f}" for method in methods)
            print(f"{task:<14}{metric:<10}{cells}")
    ordered = [task for task in tasks
               if table["centralised"][task]["f1"] >= table["fedavg"][task]["f1"] >= table["local_only"][task]["f1"]]
    above = [task for task in tasks if table["fedavg"][task]["f1"] > table["majority"][task]["f1"] + 0.1]
    print(f"\ncentralised >= FedAvg >= local-only (F1) on {len(ordered)}/{len(tasks)} tasks: {', '.join(ordered)}")
    print(f"FedAvg F1 above majority + 0.1 on {len(above)}/{len(tasks)} tasks: {', '.join(above)}")
    print("seconds: " + ", ".join(f"{method} {value}" for method, value in seconds.items()))


if __name__ == "__main__":
    main()
