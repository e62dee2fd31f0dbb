"""Engine overhead: an FL run through the in-process engine beside centralised training, and train_local's speed.

Measured side by side in one run, on one training task of the `small` synthetic demo (built into a temporary
folder unless --data names one; only the chosen task is generated, its records are the same as in the full
demo because every task draws from its own seed) with the model of --preset:

(a) FL: ``fedmeki_models.fl.engine.Federation`` with FedAvg, K clients x R rounds x E local epochs, the task's
    validation and test evaluated only after the last round (``eval_every=0``; the engine always evaluates
    then), checkpoints and history.json written every round as in ``fedmeki train``. Every round, each
    client loads the global weights and builds a fresh optimiser, and the server checks and averages the
    updates: that is the engine overhead measured here.
(b) centralised: one model and one optimiser for the whole run, trained by a plain loop of
    ``train_local`` calls over the same K shards (R x K calls of E epochs). Same model, batch size, samples
    and optimiser steps, batch for batch the same shapes (pooling the shards into one tensor would merge
    their last partial batches and change the step count). It then runs the evaluation the engine runs
    after its last round (every client's validation rows and the test split, same batch size), so BOTH
    sides include the same evaluation; that evaluation is also timed alone and subtracted for a second ratio.
(c) data-pipeline efficiency: samples/s of ``train_local`` over the pooled shards against a pure loop of
    forward + loss + backward + optimiser step over the very batches ``train_local`` draws (same generator,
    same order), pre-built as dicts in a list before timing (no TaskTensors, no clipping), and the same pure
    loop with ``clip_grad_norm_`` added, because ``train_local`` clips by default (``grad_clip=1.0``).

Each side of (a)/(b) runs --repeat times (default twice) and each loop of (c) --pipeline-repeat times
(default 5, they are short), interleaved, and the fastest wall time is kept (the first run warms up);
process CPU times are printed beside, as they are less disturbed by other jobs on a shared machine,
with the spread between runs as the noise level. On a loaded 2-core machine pass --threads 1:
two threads competing with other processes can be several times slower than one. Targets:
FL / centralised <= 1.05, train_local / pure >= 0.9. --profile adds one profiled FL run (cProfile) and
prints where its time goes. The last line is JSON with every figure.

    python bench/engine_overhead.py                               # ecg_abnormal, small, K=5 R=3 E=1
    python bench/engine_overhead.py --task mortality --rounds 5 --threads 1 --profile
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import json
import math
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

TRAINING = ("lung_opacity", "covid19", "ecg_abnormal", "mortality")

# Functions whose cumulative time --profile reports: (label, module path suffix, function name).
PROFILED = (
    ("Federation.run (whole FL run)", "fl/engine.py", "run"),
    ("  train_local (all clients)", "fedmeki_models/training.py", "train_local"),
    ("    forward (LocalModel.forward)", "fedmeki_models/model.py", "forward"),
    ("    backward (Tensor.backward)", "torch/_tensor.py", "backward"),
    ("    optimiser step (Adam.step)", "torch/optim/adam.py", "step"),
    ("    clip_grad_norm_", "torch/nn/utils/clip_grad.py", "clip_grad_norm_"),
    ("    TaskTensors.batches", "fedmeki_models/data.py", "batches"),
    ("    make_optimizer", "fedmeki_models/training.py", "make_optimizer"),
    ("    fork_rng", "torch/random.py", "fork_rng"),
    ("  load_state (global -> client)", "fedmeki_models/training.py", "load_state"),
    ("  state_of (client -> update)", "fedmeki_models/training.py", "state_of"),
    ("  check_client_updates", "fl/aggregation.py", "check_client_updates"),
    ("  weighted_average", "fl/aggregation.py", "weighted_average"),
    ("  save_checkpoint", "fl/checkpoint.py", "save_checkpoint"),
    ("  write_history", "fl/history.py", "write_history"),
    ("  Federation.evaluate (last round)", "fl/engine.py", "evaluate"),
    ("  derive_seed", "fl/seeds.py", "derive_seed"),
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="a FedMEKI dataset folder (default: build the small demo)")
    parser.add_argument("--task", default="ecg_abnormal", choices=TRAINING,
                        help="training task (default: ecg_abnormal)")
    parser.add_argument("--preset", default="small", help="model preset (default: small)")
    parser.add_argument("--clients", "-K", type=int, default=None,
                        help="clients K (default: the dataset's partition, 5 for the demo; another K re-splits "
                             "the pooled client shards into K equal parts)")
    parser.add_argument("--rounds", "-R", type=int, default=3, help="FL rounds R (default: 3)")
    parser.add_argument("--epochs", "-E", type=int, default=1, help="local epochs per round E (default: 1)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default: 32, the demo recipe's)")
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (default: 2e-3)")
    parser.add_argument("--pipeline-epochs", type=int, default=1,
                        help="passes over the pooled shards per timing of (c) (default: 1)")
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs per side of (a)/(b); the fastest is kept (default: 2)")
    parser.add_argument("--pipeline-repeat", type=int, default=5,
                        help="runs per loop of (c), shorter than (a)/(b), so more of them (default: 5)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's default)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the model and the runs (default: 0)")
    parser.add_argument("--profile", action="store_true", help="profile one more FL run and print where time goes")
    args = parser.parse_args()
    for name in ("rounds", "epochs", "batch_size", "pipeline_epochs", "repeat", "pipeline_repeat"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.clients is not None and args.clients < 1:
        parser.error("--clients must be >= 1")
    return args


class Timer:
    """Wall and process CPU seconds of a ``with`` block (CPU time is less disturbed by other processes)."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def make_view(federated, task: str, clients: int | None):
    """The FederationData of ``task``: the dataset's client shards, or the pooled shards split in ``clients``."""
    import numpy as np

    from fedmeki_models.fl.engine import FederationData

    if clients is None or clients == federated.n_clients:
        shards = federated.clients[task]
        validation = [federated.client_validation(task, k) for k in range(federated.n_clients)]
    else:
        pooled, held = federated.pooled(task), federated.validation[task]
        if clients > len(pooled):
            sys.exit(f"--clients {clients} exceeds the {len(pooled)} training records of {task}")
        shards = [pooled.subset(part) for part in np.array_split(np.arange(len(pooled)), clients)]
        validation = [held.subset(part) for part in np.array_split(np.arange(len(held)), clients)]
    return FederationData(clients={task: shards}, validation={task: validation}, test={task: federated.test[task]})


def evaluate_like_engine(model, task: str, view, training) -> None:
    """What ``Federation.evaluate`` computes after the last round: every client's validation rows, then test."""
    from fedmeki_models.training import evaluate_binary

    options = {"batch_size": max(256, training.batch_size), "device": "cpu", "precision": training.precision}
    for part in view.validation[task]:
        if len(part):
            evaluate_binary(model, task, part, **options)
    evaluate_binary(model, task, view.test[task], **options)


def run_federation(config, view, initial, folder: Path) -> Timer:
    """Time one FedAvg run through the engine, from a copy of ``initial`` (construction included)."""
    from fedmeki_models.fl.algorithms import make_algorithm
    from fedmeki_models.fl.engine import Federation

    model = copy.deepcopy(initial)
    folder.mkdir(parents=True)
    with Timer() as timer:
        Federation.in_process(config, view, make_algorithm("fedavg"), model, folder).run()
    return timer


def run_centralised(config, view, initial) -> tuple[Timer, int, object]:
    """Time, optimiser steps and model of the plain train_local loop over the same shards, then evaluation."""
    from fedmeki_models.fl.seeds import generator_for
    from fedmeki_models.training import make_optimizer, train_local

    task = config.tasks[0]
    model = copy.deepcopy(initial)
    steps = 0
    with Timer() as timer:
        optimizer = make_optimizer(model.task_parameters(task), config.training)
        generator = generator_for(config.seed)
        for _ in range(config.rounds):
            for shard in view.clients[task]:
                steps += train_local(model, task, shard, config.training, generator=generator,
                                     optimizer=optimizer).num_steps
        evaluate_like_engine(model, task, view, config.training)
    return timer, steps, model


def same_batches(data, batch_size: int, epochs: int, seed: int) -> list[dict]:
    """The batches ``train_local`` draws from ``data`` with generator seed ``seed``, pre-built, in order."""
    import torch

    from fedmeki_models.fl.seeds import generator_for

    generator = generator_for(seed)
    torch.randint(0, 2**62, (1,), generator=generator)  # train_local's dropout seed comes first
    return [{key: value.clone() for key, value in batch.items()}
            for _ in range(epochs) for batch in data.batches(batch_size, generator=generator)]


def pure_loop(model, task: str, batches: list[dict], training, clip: bool) -> Timer:
    """Time forward + loss + backward [+ clip] + optimiser step over pre-built batches."""
    from torch import nn

    from fedmeki_models.training import make_optimizer

    model.train()
    with Timer() as timer:
        optimizer = make_optimizer(model.task_parameters(task), training)
        parameters = model.task_parameters(task)
        loss_fn = nn.BCEWithLogitsLoss()
        for batch in batches:
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(task, batch), batch["label"])
            loss.backward()
            if clip:
                nn.utils.clip_grad_norm_(parameters, training.grad_clip)
            optimizer.step()
    return timer


def train_local_loop(model, task: str, data, training, epochs: int, seed: int) -> Timer:
    """Time one ``train_local`` call of ``epochs`` epochs over ``data`` with generator seed ``seed``."""
    from dataclasses import replace

    from fedmeki_models.fl.seeds import generator_for
    from fedmeki_models.training import train_local

    with Timer() as timer:
        train_local(model, task, data, replace(training, epochs=epochs), generator=generator_for(seed))
    return timer


def profile_federation(config, view, initial, folder: Path) -> dict[str, float]:
    """Cumulative seconds of the :data:`PROFILED` functions in one profiled FL run (top list on stderr)."""
    profiler = cProfile.Profile()
    profiler.enable()
    run_federation(config, view, initial, folder)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stderr)
    print("\n--- cProfile of one FL run, top 25 by cumulative time (stderr) ---", file=sys.stderr)
    stats.sort_stats("cumulative").print_stats(25)
    found: dict[str, float] = {}
    for label, suffix, name in PROFILED:
        total = 0.0
        for (filename, _line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():
            if function == name and filename.replace(os.sep, "/").endswith(suffix):
                total += cumulative
        found[label] = total
    return found


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="fedmeki-engine-") as tmp:
        os.environ.setdefault("HF_DATASETS_CACHE", str(Path(tmp) / "datasets-cache"))
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
        import torch

        from fedmeki_data.synthetic.demo import build_demo
        from fedmeki_models.data import TaskTensors, load_federated_data
        from fedmeki_models.model import build_local_model
        from fedmeki_models.run_config import RunConfig
        from fedmeki_models.training import TrainingConfig

        if args.threads is not None:
            torch.set_num_threads(args.threads)
        data, build_s = args.data, None
        if data is None:
            data = Path(tmp) / "small"
            start = time.perf_counter()
            build_demo(data, size="small", tasks=[args.task])
            build_s = time.perf_counter() - start
            print(f"built the small demo ({args.task}) in {build_s:.1f} s", file=sys.stderr)
        training = TrainingConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr)
        config = RunConfig(data=str(data), tasks=(args.task,), algorithm="fedavg", rounds=args.rounds,
                           eval_every=0, training=training, preset=args.preset, seed=args.seed, device="cpu")
        initial = build_local_model(config.model_config(), seed=args.seed)
        federated = load_federated_data(data, [args.task], image_size=initial.config.image.image_size,
                                        max_steps=initial.config.clinical.max_steps,
                                        splits=("clients", "validation", "test"))
        view = make_view(federated, args.task, args.clients)
        shards = view.clients[args.task]
        k = len(shards)
        samples = args.rounds * args.epochs * sum(len(shard) for shard in shards)
        fl_steps = args.rounds * args.epochs * sum(math.ceil(len(shard) / args.batch_size) for shard in shards)

        # (a) and (b), interleaved: FL, centralised, FL, centralised, ...
        fl, central, central_steps, trained = [], [], 0, None
        for attempt in range(args.repeat):
            fl.append(run_federation(config, view, initial, Path(tmp) / "runs" / f"fl-{attempt}"))
            timer, central_steps, trained = run_centralised(config, view, initial)
            central.append(timer)
        evaluation = []
        for _ in range(args.repeat):
            with Timer() as timer:
                evaluate_like_engine(trained, args.task, view, training)
            evaluation.append(timer)

        # (c) train_local against pure forward + backward + step over the very batches it draws, pre-built.
        pooled = TaskTensors.concat(shards)
        batches = same_batches(pooled, args.batch_size, args.pipeline_epochs, args.seed)
        pipe_samples, pipe_steps = args.pipeline_epochs * len(pooled), len(batches)
        loops: dict[str, list[Timer]] = {"train_local": [], "pure": [], "pure_clip": []}
        for _ in range(args.pipeline_repeat):
            loops["train_local"].append(train_local_loop(copy.deepcopy(initial), args.task, pooled, training,
                                                         args.pipeline_epochs, args.seed))
            loops["pure"].append(pure_loop(copy.deepcopy(initial), args.task, batches, training, clip=False))
            loops["pure_clip"].append(pure_loop(copy.deepcopy(initial), args.task, batches, training, clip=True))

        profile = profile_federation(config, view, initial, Path(tmp) / "runs" / "profiled") if args.profile else None

    def best(timers: list[Timer], what: str = "wall") -> float:
        return min(getattr(timer, what) for timer in timers)

    def spread(timers: list[Timer]) -> float:
        walls = [timer.wall for timer in timers]
        return max(walls) / min(walls) - 1

    fl_s, central_s, eval_s = best(fl), best(central), best(evaluation)
    ratio, ratio_cpu = fl_s / central_s, best(fl, "cpu") / best(central, "cpu")
    ratio_no_eval = (fl_s - eval_s) / (central_s - eval_s)
    pipe = {name: best(timers) for name, timers in loops.items()}
    pipe_ratio, pipe_ratio_clip = pipe["pure"] / pipe["train_local"], pipe["pure_clip"] / pipe["train_local"]
    pipe_ratio_cpu = best(loops["pure"], "cpu") / best(loops["train_local"], "cpu")
    threads = torch.get_num_threads()
    params = sum(p.numel() for p in initial.task_parameters(args.task))

    print(f"task {args.task}, preset {args.preset} ({params:,} trainable parameters), K={k} clients "
          f"({', '.join(str(len(s)) for s in shards)} records), R={args.rounds} rounds x E={args.epochs} epochs, "
          f"batch {args.batch_size}, Adam lr {args.lr}, torch threads {threads}; best of {args.repeat} interleaved "
          f"runs for (a)/(b), {args.pipeline_repeat} for (c)")
    print("evaluation: the engine evaluates after its last round; the centralised side runs the same evaluation, "
          "so both include it")
    print()
    header = f"{'wall s':>8}{'CPU s':>8}{'spread':>8}{'steps':>7}{'samples':>9}{'samples/s':>11}"
    print(f"{'(a) vs (b)':<48}{header}")
    rows = (("FL engine, FedAvg (incl. final evaluation)", fl, fl_steps, samples),
            ("centralised train_local loop (incl. same eval)", central, central_steps, samples),
            ("  the final evaluation alone", evaluation, None, None))
    for label, timers, steps, count in rows:
        figures = f"{steps:>7}{count:>9}{count / best(timers):>11.0f}" if steps else ""
        print(f"{label:<48}{best(timers):>8.2f}{best(timers, 'cpu'):>8.2f}{spread(timers):>8.0%}{figures}")
    print(f"ratio FL / centralised, wall, both with the same evaluation: {ratio:.3f}  (target <= 1.05: "
          f"{'met' if ratio <= 1.05 else 'MISSED'})")
    print(f"ratio FL / centralised, wall, evaluation subtracted:         {ratio_no_eval:.3f}")
    print(f"ratio FL / centralised, CPU time (less load-sensitive):      {ratio_cpu:.3f}")
    print(f"engine overhead (wall): {(fl_s - central_s) * 1000 / args.rounds:+.0f} ms per round, "
          f"{(fl_s - central_s) * 1000 / (args.rounds * k):+.1f} ms per client update")
    print()
    print(f"{'(c) ' + str(len(pooled)) + ' pooled records, the same batches':<48}{header}")
    names = {"train_local": "train_local (TaskTensors, clip 1.0)", "pure": "pure fwd+bwd+step (pre-built batches)",
             "pure_clip": "pure fwd+bwd+clip+step (pre-built batches)"}
    for name, label in names.items():
        print(f"{label:<48}{best(loops[name]):>8.2f}{best(loops[name], 'cpu'):>8.2f}{spread(loops[name]):>8.0%}"
              f"{pipe_steps:>7}{pipe_samples:>9}{pipe_samples / pipe[name]:>11.0f}")
    print(f"ratio train_local / pure samples/s, wall:       {pipe_ratio:.3f}  (target >= 0.9: "
          f"{'met' if pipe_ratio >= 0.9 else 'MISSED'})")
    print(f"ratio train_local / pure+clip samples/s, wall:  {pipe_ratio_clip:.3f}")
    print(f"ratio train_local / pure samples/s, CPU time:   {pipe_ratio_cpu:.3f}")
    print("spread = slowest / fastest run - 1: the timing noise of this machine during the run")
    noisiest = max(spread(timers) for timers in (fl, central, *loops.values()))
    if noisiest > 0.25:
        print(f"WARNING: runs of the same work differed by up to {noisiest:.0%}: other processes competed for the "
              f"CPU, so the ratios above are unreliable{'; rerun with --threads 1' if threads > 1 else ''} "
              f"(or a larger --repeat)")
    if profile is not None:
        print()
        whole = profile[PROFILED[0][0]] or 1.0
        inside = sum(profile[label] for label in (PROFILED[1][0], "  Federation.evaluate (last round)"))
        print(f"{'profiled FL run (cProfile, cumulative)':<48}{'seconds':>8}{'share':>8}")
        for label, seconds in profile.items():
            print(f"{label:<48}{seconds:>8.3f}{seconds / whole:>8.1%}")
        print(f"{'engine bookkeeping (run - train_local - evaluate)':<48}{whole - inside:>8.3f}"
              f"{(whole - inside) / whole:>8.1%}")

    def figures(timers: list[Timer]) -> dict[str, list[float]]:
        return {"wall_s": [timer.wall for timer in timers], "cpu_s": [timer.cpu for timer in timers]}

    print(json.dumps({
        "data": str(args.data) if args.data else "small demo (temporary)", "build_s": build_s, "task": args.task,
        "preset": args.preset, "trainable_parameters": params, "clients": k, "rounds": args.rounds,
        "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "torch_threads": threads,
        "repeat": args.repeat, "pipeline_repeat": args.pipeline_repeat,
        "evaluation": "both sides include the engine's final evaluation (also subtracted)",
        "fl": figures(fl), "centralised": figures(central), "evaluation_alone": figures(evaluation),
        "steps": fl_steps, "centralised_steps": central_steps, "samples": samples,
        "fl_over_centralised": ratio, "fl_over_centralised_without_eval": ratio_no_eval,
        "fl_over_centralised_cpu": ratio_cpu,
        "pipeline": {"samples": pipe_samples, "steps": pipe_steps,
                     **{name: figures(timers) for name, timers in loops.items()},
                     "train_local_over_pure": pipe_ratio, "train_local_over_pure_clip": pipe_ratio_clip,
                     "train_local_over_pure_cpu": pipe_ratio_cpu},
        "profile_s": profile,
    }))


if __name__ == "__main__":
    main()
