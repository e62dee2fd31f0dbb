"""ECG encoder shape: the paper's ECG stack beside the widened one of the `small` preset, on the demo's ECG task.

Both train centrally on the pooled client shards of ``ecg_abnormal`` of the `small` synthetic demo (built into
a temporary folder unless --data names one; only that task is generated, its records are the same as in the
full demo because every task draws from its own seed), with the same head (mean over the channel tokens ->
Linear(64, 1)), optimiser, batch size, epochs and seed. Only the ECG stack differs:

* paper shape, ``EcgEncoderConfig(out_size=64)``: 2 x (Conv1d 12 -> 12 channels, kernel 3, BatchNorm, ReLU),
  no pooling, then Linear(1000 -> 64) over time;
* widened, ``model_config("small").ecg``: 4 x (Conv1d, 32 channels, kernel 7, BatchNorm, ReLU, MaxPool 2),
  then Linear(62 -> 64).

Test F1 and AUROC are printed every --every epochs, beside the majority class of the training labels on the
same test split. This is the evidence the `small` preset's docstring (fedmeki_models/config.py) cites for
widening the ECG stack: with a few hundred records the paper's shape stays far below the widened one.
The last line is JSON with every figure.

    python bench/ecg_encoder.py                      # 20 epochs, Adam lr 2e-3, batch 32 (about a minute)
    python bench/ecg_encoder.py --epochs 40 --seed 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

TASK = "ecg_abnormal"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="a FedMEKI dataset folder (default: build the small demo)")
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (default: 20)")
    parser.add_argument("--every", type=int, default=5, help="evaluate on test every this many epochs (default: 5)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default: 32)")
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (default: 2e-3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the models and the shuffling (default: 0)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch.set_num_threads (default: 1, steady on a shared 2-core machine)")
    args = parser.parse_args()
    for name in ("epochs", "every", "batch_size", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def encoders() -> dict[str, tuple[str, object]]:
    """Name -> (description, LocalModelConfig) of the two models, which differ only in their ECG stack."""
    from dataclasses import replace

    from fedmeki_models.config import EcgEncoderConfig, model_config

    widened = model_config("small", tasks=(TASK,))
    paper = replace(widened, ecg=EcgEncoderConfig(out_size=64))
    assert paper.ecg.out_size == widened.ecg.out_size, "the heads must have the same width"

    def describe(ecg) -> str:
        pool = f"max-pool {ecg.pool}" if ecg.pool > 1 else "no pooling"
        return (f"{ecg.conv_layers} x Conv1d({ecg.channels} ch, kernel {ecg.kernel_size}), {pool}, "
                f"Linear({ecg.pooled_samples} -> {ecg.out_size})")

    return {"paper": (describe(paper.ecg), paper), "widened": (describe(widened.ecg), widened)}


def train_and_evaluate(config, train, test, args: argparse.Namespace) -> dict:
    """Train one model for ``args.epochs`` epochs; test metrics every ``args.every`` epochs and at the end."""
    from fedmeki_models.fl.seeds import generator_for
    from fedmeki_models.model import build_local_model
    from fedmeki_models.training import TrainingConfig, evaluate_binary, make_optimizer, train_local

    model = build_local_model(config, seed=args.seed)
    training = TrainingConfig(epochs=1, batch_size=args.batch_size, lr=args.lr)
    optimizer = make_optimizer(model.task_parameters(TASK), training)
    generator = generator_for(args.seed)
    curve, train_s = {}, 0.0
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        result = train_local(model, TASK, train, training, generator=generator, optimizer=optimizer)
        train_s += time.perf_counter() - start
        if epoch % args.every == 0 or epoch == args.epochs:
            metrics = evaluate_binary(model, TASK, test)
            curve[epoch] = {"train_loss": result.loss, "test_loss": metrics["loss"], "f1": metrics["f1"],
                            "auroc": metrics["auroc"], "accuracy": metrics["accuracy"]}
    return {"parameters": sum(p.numel() for p in model.encoders["ecg"].parameters()),
            "train_s": train_s, "samples_per_s": args.epochs * len(train) / train_s, "curve": curve}


def majority(train, test) -> dict:
    """Test metrics of always answering the majority class of the training labels."""
    import numpy as np

    from fedmeki_eval.metrics.binary import binary_metrics

    answer = int(train.labels.mean() >= 0.5)
    truth = test.labels.numpy().astype(np.int64)
    metrics = binary_metrics(truth, np.full_like(truth, answer), np.full(len(truth), 0.5))
    return {"answer": "yes" if answer else "no", "f1": metrics["f1"], "accuracy": metrics["accuracy"]}


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="fedmeki-ecg-") as tmp:
        os.environ.setdefault("HF_DATASETS_CACHE", str(Path(tmp) / "datasets-cache"))
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
        import torch

        from fedmeki_data.synthetic.demo import build_demo
        from fedmeki_models.data import load_federated_data

        torch.set_num_threads(args.threads)
        data = args.data
        if data is None:
            data = Path(tmp) / "small"
            start = time.perf_counter()
            build_demo(data, size="small", tasks=[TASK])
            print(f"built the small demo ({TASK}) in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        loaded = load_federated_data(data, [TASK], image_size=8, max_steps=1, splits=("clients", "test"))
        train, test = loaded.pooled(TASK), loaded.test[TASK]
        models = encoders()
        results = {}
        for name, (_, config) in models.items():
            results[name] = train_and_evaluate(config, train, test, args)
            print(f"trained {name} in {results[name]['train_s']:.1f} s", file=sys.stderr)
        base = majority(train, test)

    paper, widened = results["paper"], results["widened"]
    print(f"{TASK} of {'the small demo' if args.data is None else args.data}: {len(train)} pooled training records "
          f"({loaded.n_clients} client shards, {float(train.labels.mean()):.0%} yes), {len(test)} test records "
          f"({float(test.labels.mean()):.0%} yes)")
    print(f"both: head mean(tokens) -> Linear(64, 1), Adam lr {args.lr}, batch {args.batch_size}, grad clip 1.0, "
          f"{args.epochs} epochs, seed {args.seed}, torch threads {args.threads}")
    for name, (description, _) in models.items():
        label = "paper shape" if name == "paper" else "widened (small preset)"
        print(f"  {label:<23} {description}: {results[name]['parameters']:,} encoder parameters, "
              f"{results[name]['samples_per_s']:.0f} training samples/s")
    print(f"majority class ({base['answer']!r} for every record) on test: F1 {base['f1']:.3f}, "
          f"accuracy {base['accuracy']:.3f}, AUROC 0.500")
    print()
    print(f"{'':<7}{'---- paper shape ----':>30}{'-- widened (small) --':>30}")
    metrics_header = f"{'loss':>10}{'F1':>10}{'AUROC':>10}"
    print(f"{'epoch':<7}{metrics_header}{metrics_header}{'AUROC gain':>12}")
    for epoch in paper["curve"]:
        points = [results[name]["curve"][epoch] for name in ("paper", "widened")]
        cells = "".join(f"{point['train_loss']:>10.3f}{point['f1']:>10.3f}{point['auroc']:>10.3f}" for point in points)
        gain = widened["curve"][epoch]["auroc"] - paper["curve"][epoch]["auroc"]
        print(f"{epoch:<7}{cells}{gain:>+12.3f}")
    print("(loss: mean training loss of that epoch; F1 and AUROC on the test split)")
    last_p, last_w = paper["curve"][args.epochs], widened["curve"][args.epochs]
    print(f"\nafter {args.epochs} epochs: paper shape AUROC {last_p['auroc']:.3f}, F1 {last_p['f1']:.3f}; "
          f"widened AUROC {last_w['auroc']:.3f}, F1 {last_w['f1']:.3f}; majority F1 {base['f1']:.3f}")
    verdict = "widening clearly helps at this data size" \
        if last_w["auroc"] - last_p["auroc"] >= 0.1 else "no clear gain from widening at these settings"
    print(f"widened - paper: AUROC {last_w['auroc'] - last_p['auroc']:+.3f}, F1 {last_w['f1'] - last_p['f1']:+.3f} "
          f"({verdict})")
    print(json.dumps({"data": str(args.data) if args.data else "small demo (temporary)", "task": TASK,
                      "train_records": len(train), "test_records": len(test), "epochs": args.epochs,
                      "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed, "torch_threads": args.threads,
                      "majority": base, "models": {name: {"encoder": models[name][0], **results[name]}
                                                   for name in models}}))


if __name__ == "__main__":
    main()
