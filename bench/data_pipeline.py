"""Data pipeline speed: decoding each training task once, then batching client shards from the tensors.

For every training task of the `small` demo (built into a temporary folder unless --data names one), times
``load_federated_data`` (every split, each record decoded once, from a cold `datasets` cache), then the
batches/s and samples/s of iterating ``TaskTensors.batches(batch_size, generator=...)`` over the five client
shards, beside the same loop written by hand over pre-made random tensors of the same shapes and dtypes
(``randperm`` + ``index_select``). The two should agree within a few percent: batching adds nothing to
indexing. The last line is JSON with every figure.

    python bench/data_pipeline.py                       # small demo, 64 px images, batch 64
    python bench/data_pipeline.py --data DIR --image-size 224
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

TRAINING = ("lung_opacity", "covid19", "ecg_abnormal", "mortality")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a FedMEKI dataset folder (default: build the small demo)")
    parser.add_argument("--image-size", type=int, default=64, help="image side in pixels (default: 64, preset small)")
    parser.add_argument("--max-steps", type=int, default=48, help="clinical hours kept (default: 48)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (default: 64)")
    parser.add_argument("--epochs", type=int, default=100, help="passes over the shards per timing (default: 100)")
    parser.add_argument("--repeat", type=int, default=7, help="timings per loop; the best is kept (default: 7)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the shuffling generators (default: 0)")
    return parser.parse_args()


def best_of(repeat: int, *loops) -> list[float]:
    """Fastest of ``repeat`` timings of each ``(run, *run_args)`` in ``loops``, in seconds, runs interleaved."""
    times = [[] for _ in loops]
    for _ in range(repeat):
        for spent, (run, *run_args) in zip(times, loops):
            start = time.perf_counter()
            run(*run_args)
            spent.append(time.perf_counter() - start)
    return [min(spent) for spent in times]


def batches_loop(shards, args: argparse.Namespace) -> None:
    """``args.epochs`` shuffled passes over the client shards with ``TaskTensors.batches``."""
    import torch

    generator = torch.Generator().manual_seed(args.seed)
    for _ in range(args.epochs):
        for shard in shards:
            for _batch in shard.batches(args.batch_size, generator=generator):
                pass


def baseline_loop(fakes, args: argparse.Namespace) -> None:
    """The same passes written by hand over pre-made tensors: ``randperm`` then ``index_select``."""
    import torch

    generator = torch.Generator().manual_seed(args.seed)
    for _ in range(args.epochs):
        for fake in fakes:
            n = len(fake["label"])
            order = torch.randperm(n, generator=generator)
            for begin in range(0, n, args.batch_size):
                index = order[begin:begin + args.batch_size]
                _batch = {key: value.index_select(0, index) for key, value in fake.items()}


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="fedmeki-bench-") as tmp:
        # A fresh `datasets` cache: the decode times include reading Parquet, as on a first run.
        os.environ["HF_DATASETS_CACHE"] = str(Path(tmp) / "datasets-cache")
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
        import torch

        from fedmeki_data.synthetic.demo import build_demo
        from fedmeki_models.data import load_federated_data

        torch.set_num_threads(1)
        build_s = None
        data = args.data
        if data is None:
            data = Path(tmp) / "small"
            start = time.perf_counter()
            build_demo(data, size="small")
            build_s = time.perf_counter() - start
            print(f"built the small demo in {build_s:.1f} s", file=sys.stderr)
        print(f"{'task':<14}{'records':>8}{'decode s':>10}{'rec/s':>8}{'batches/s':>11}{'samples/s':>11}"
              f"{'base batch/s':>14}{'base smp/s':>12}{'ratio':>7}")
        results = {}
        for task in TRAINING:
            start = time.perf_counter()
            federated = load_federated_data(data, [task], image_size=args.image_size, max_steps=args.max_steps)
            decode_s = time.perf_counter() - start
            shards = federated.clients[task]
            records = sum(len(shard) for shard in shards) + sum(
                len(split[task]) for split in (federated.validation, federated.public, federated.test))
            fakes = [{key: torch.rand(value.shape).to(value.dtype) for key, value in
                      {**shard.inputs, "label": shard.labels}.items()} for shard in shards]

            n_batches = args.epochs * sum(-(-len(shard) // args.batch_size) for shard in shards)
            n_samples = args.epochs * sum(len(shard) for shard in shards)
            loop_s, base_s = best_of(args.repeat, (batches_loop, shards, args), (baseline_loop, fakes, args))
            row = {"records": records, "decode_s": decode_s, "decode_records_per_s": records / decode_s,
                   "batches_per_s": n_batches / loop_s, "samples_per_s": n_samples / loop_s,
                   "baseline_batches_per_s": n_batches / base_s, "baseline_samples_per_s": n_samples / base_s,
                   "speed_vs_baseline": base_s / loop_s}
            results[task] = row
            print(f"{task:<14}{records:>8}{decode_s:>10.2f}{row['decode_records_per_s']:>8.0f}"
                  f"{row['batches_per_s']:>11.0f}{row['samples_per_s']:>11.0f}{row['baseline_batches_per_s']:>14.0f}"
                  f"{row['baseline_samples_per_s']:>12.0f}{row['speed_vs_baseline']:>7.2f}")
        print(json.dumps({"data": str(args.data) if args.data else "small demo (temporary)", "build_s": build_s,
                          "image_size": args.image_size, "max_steps": args.max_steps, "batch_size": args.batch_size,
                          "torch_threads": 1, "tasks": results}))


if __name__ == "__main__":
    main()
