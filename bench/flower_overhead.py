"""Flower overhead: wall time per round of a local Flower deployment against the in-process engine.

Both engines run the same FL run (FedAvg, --preset model, one task of the `tiny` synthetic demo split IID
over --clients sites, R rounds, evaluation only after the last round), measured side by side in one run:

(a) in-process: ``fedmeki_models.runs.train``; the clients train one after the other in this process.
(b) Flower: ``fedmeki_models.flower.deployment.train_on_flower``: a SuperLink and one SuperNode per client
    on 127.0.0.1; every round each SuperNode starts a fresh ClientApp process that imports torch and
    FedMEKI, decodes its shard, builds the model, trains and replies. The clients run in parallel, each
    with a share of the cores (``threads_per_node``).

The ratio compares the mean wall time of the steady rounds (2..R-1: round 1 warms up, round R also
evaluates; the run's ``history.json`` times each round), and the whole run including start-up.
"Where the time goes" then times, in this process, what one ClientApp does per message (its imports in a
fresh interpreter, decoding its shard, building the model, the client update) and attributes the rest of
a Flower round to Flower itself: the SuperNode polls the SuperLink every 3 s when idle, spawns the
ClientApp process, and the server polls for replies every 0.5 s. The last line is JSON with every figure.

    python bench/flower_overhead.py                        # ecg_abnormal, small, 3 clients, 4 rounds
    python bench/flower_overhead.py --task mortality --clients 2 --rounds 4
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRAINING = ("lung_opacity", "covid19", "ecg_abnormal", "mortality")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="ecg_abnormal", choices=TRAINING,
                        help="training task (default: ecg_abnormal)")
    parser.add_argument("--clients", "-K", type=int, default=3, help="sites, one SuperNode each (default: 3)")
    parser.add_argument("--rounds", "-R", type=int, default=4, help="FL rounds, >= 3 (default: 4)")
    parser.add_argument("--preset", default="small", help="model preset (default: small)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data split and the run (default: 0)")
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("--rounds must be >= 3: round 1 warms up and the last round also evaluates")
    if args.clients < 1:
        parser.error("--clients must be >= 1")
    return args


def median_seconds(function, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def client_costs(config, data: Path, task: str) -> dict[str, float]:
    """Seconds of what one ClientApp does per train message, measured here (median of 3)."""
    from fedmeki_models.data import load_task_tensors
    from fedmeki_models.fl.algorithms import make_algorithm
    from fedmeki_models.fl.clients import client_round
    from fedmeki_models.model import LocalModel, build_local_model
    from fedmeki_models.training import state_of

    imports = [sys.executable, "-c", "import fedmeki_models.flower.clientapp"]
    model = build_local_model(config.model_config(), seed=config.seed)
    sizes = {"image_size": model.config.image.image_size, "max_steps": model.config.clinical.max_steps}
    shard = load_task_tensors(data, task, "client_0", **sizes)
    weights = state_of(model, model.task_state_keys(task))
    return {
        "import (fresh interpreter)": median_seconds(lambda: subprocess.run(imports, check=True)),
        "decode its shard": median_seconds(lambda: load_task_tensors(data, task, "client_0", **sizes)),
        "build the model": median_seconds(lambda: LocalModel(model.config)),
        "client update": median_seconds(lambda: client_round(
            make_algorithm("fedavg"), model, task, shard, config, round_=1, client=0, weights=weights, payload={},
            client_state={}, device="cpu")),
    }


def main() -> None:
    args = parse_args()
    import torch

    from fedmeki_data.partition import PartitionConfig
    from fedmeki_data.synthetic.demo import build_demo
    from fedmeki_models.flower.deployment import threads_per_node, train_on_flower
    from fedmeki_models.run_config import make_run_config
    from fedmeki_models.runs import train

    with tempfile.TemporaryDirectory(prefix="fedmeki-bench-flower-") as scratch:
        data = Path(scratch) / "data"
        build_demo(data, size="tiny", tasks=[args.task],
                   partition_config=PartitionConfig(scheme="iid", n_clients=args.clients, seed=args.seed))
        config = make_run_config(None, data=str(data), tasks=[args.task], preset=args.preset, rounds=args.rounds,
                                 seed=args.seed, eval_every=0, device="cpu")
        runs = {}
        for engine, run in (("in-process", train), ("flower", train_on_flower)):
            began = time.perf_counter()
            run(config, Path(scratch) / engine)
            total = time.perf_counter() - began
            history = json.loads((Path(scratch) / engine / "history.json").read_text())
            runs[engine] = {"round_seconds": [record["seconds"] for record in history], "total_seconds": total}
            print(f"{engine}: rounds {runs[engine]['round_seconds']} s, whole run {total:.1f} s", flush=True)
        costs = client_costs(config, data, args.task)

    per_round = {engine: statistics.mean(run["round_seconds"][1:-1]) for engine, run in runs.items()}
    cores, threads = os.cpu_count() or 1, threads_per_node(args.clients)
    waves = -(-args.clients * threads // cores)  # ClientApps that cannot all run at once queue for the cores
    client_work = sum(costs.values()) * waves
    figures = {
        "task": args.task, "preset": args.preset, "clients": args.clients, "rounds": args.rounds,
        "cores": cores, "torch_threads_in_process": torch.get_num_threads(), "threads_per_node": threads,
        "in_process_round_s": per_round["in-process"], "flower_round_s": per_round["flower"],
        "round_ratio": per_round["flower"] / per_round["in-process"],
        "in_process_run_s": runs["in-process"]["total_seconds"], "flower_run_s": runs["flower"]["total_seconds"],
        "run_ratio": runs["flower"]["total_seconds"] / runs["in-process"]["total_seconds"],
        "client_costs_s": costs, "flower_messaging_s": per_round["flower"] - client_work,
    }
    print(f"\nWall time per steady round ({args.task}, {args.preset}, {args.clients} clients):")
    print(f"  in-process {per_round['in-process']:7.2f} s")
    print(f"  Flower     {per_round['flower']:7.2f} s   ratio {figures['round_ratio']:.1f}x"
          f"   (whole run {figures['run_ratio']:.1f}x, start-up included)")
    print(f"\nWhere a Flower round goes ({args.clients} ClientApps on {cores} cores, {threads} thread(s) each):")
    for name, seconds in costs.items():
        print(f"  {name:<28} {seconds:6.2f} s per client per message")
    print(f"  {'client work per round':<28} {client_work:6.2f} s ({waves} wave(s) of ClientApps)")
    print(f"  {'Flower messaging and polling':<28} {figures['flower_messaging_s']:6.2f} s "
          "(rest of the round: SuperNode polls every 3 s, process spawn, transfers)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
