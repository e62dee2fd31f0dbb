"""Encoder training speed at the paper's sizes: pure steps on ready tensors beside train_local, on GPU or CPU.

One script for one short session on a GPU machine (it also runs on the CPU, and says which device it used).
For each encoder of the ``paper`` preset, each in a one-task model with its head:

* image: DeiT-tiny ViT (12 layers, width 192) at 224 px, task lung_opacity, uint8 images (B, 1, 224, 224);
* ecg: the paper's conv stack (12 channels, kernel 3, 2 layers, Linear(1000 -> 4096)), task ecg_abnormal,
  float32 (B, 1000, 12);
* clinical: the Transformer (d_model 512, 1 layer, out 4096) over 24 hourly steps (``clinical.max_steps``
  set to 24 with ``dataclasses.replace``), task mortality, values and mask (B, 24, V), every step real;

it measures training samples/s of (i) pure forward + loss + backward + Adam step on batches already on the
device (a list of distinct pre-built batches, bf16 autocast on CUDA) and (ii) ``train_local`` over a
``TaskTensors`` of synthetic CPU tensors of the same shapes, with ``TrainingConfig(precision="bf16")`` on
CUDA (so its own batching, host-to-device copies, gradient clipping at 1.0 and per-step loss read-back
are included). Both run --warmup untimed steps first; CUDA timings are bracketed by
``torch.cuda.synchronize()``. Beside them it prints reference figures measured on one H100 at batch 64 for
pure forward + backward (no optimiser step): DeiT-tiny 1,679/s, ECG conv 21,900/s, clinical Transformer
(24 steps) 11,700/s. On the CPU, precision is fp32 unless --bf16 is given and the CPU supports bf16, and
the defaults shrink to 3 timed steps after 1 warm-up step, and to 1 timed step without warm-up for the ViT
(a batch of 64 images at 224 px takes 15-20 s a step on 2 cores): a CPU run checks that the script works,
its figures are no benchmark. The last line is JSON with every figure.

    python bench/gpu_encoders.py                      # CUDA if available: 30 steps after 5 warm-up, batch 64
    python bench/gpu_encoders.py --device cpu --encoders ecg clinical
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

ENCODERS = {"image": "lung_opacity", "ecg": "ecg_abnormal", "clinical": "mortality"}
"""Encoder -> the training task whose one-task model holds it."""
REFERENCE = {"image": 1679.0, "ecg": 21900.0, "clinical": 11700.0}
"""Samples/s of pure forward + backward at batch 64 on one H100 (bf16 autocast)."""
LABELS = {"image": "DeiT-tiny ViT, 224 px", "ecg": "ECG conv, paper shape",
          "clinical": "clinical Transformer, 24 steps"}
CLINICAL_STEPS = 24


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto: CUDA when available, else CPU (default: auto)")
    parser.add_argument("--steps", type=int,
                        help="timed steps per measurement (default: 30 on CUDA; on CPU 3, and 1 for the ViT)")
    parser.add_argument("--warmup", type=int,
                        help="untimed steps before each measurement (default: 5 on CUDA; on CPU 1, and 0 for the ViT)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (default: 64, the reference's)")
    parser.add_argument("--encoders", nargs="+", choices=tuple(ENCODERS), default=list(ENCODERS),
                        help="encoders to measure (default: all three)")
    parser.add_argument("--bf16", action="store_true", help="on the CPU, use bf16 autocast where the CPU supports it")
    parser.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (default: 1e-4, the paper's)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads on the CPU (default: torch's default)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the models and the synthetic tensors")
    args = parser.parse_args()
    for name in ("steps", "warmup", "batch_size", "threads"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "warmup" else 1):
            parser.error(f"--{name.replace('_', '-')} must be >= {0 if name == 'warmup' else 1}")
    return args


def choose_device(name: str):
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA device")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def cpu_supports_bf16() -> bool:
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def synthetic_inputs(encoder: str, config, n: int, generator) -> dict:
    """``n`` records of random inputs in the model's input format (CPU), with 0/1 labels under ``label``."""
    import torch

    if encoder == "image":
        size = config.image.image_size
        inputs = {"image": torch.randint(0, 256, (n, 1, size, size), dtype=torch.uint8, generator=generator)}
    elif encoder == "ecg":
        inputs = {"ecg": torch.randn(n, config.ecg.samples, config.ecg.leads, generator=generator)}
    else:
        shape = (n, config.clinical.max_steps, config.clinical.variables)
        inputs = {"clinical": torch.randn(shape, generator=generator),
                  "clinical_mask": (torch.rand(shape, generator=generator) < 0.5).float(),
                  "steps_mask": torch.ones(shape[:2], dtype=torch.bool)}
    inputs["label"] = torch.randint(0, 2, (n,), generator=generator).float()
    return inputs


def synchronize(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def pure_steps(model, task: str, batches: list[dict], warmup: int, autocast, lr: float, device) -> float:
    """Seconds of ``len(batches) - warmup`` timed steps of forward + loss + backward + Adam step."""
    from torch import nn

    from fedmeki_models.training import TrainingConfig, make_optimizer

    optimizer = make_optimizer(model.task_parameters(task), TrainingConfig(lr=lr))
    loss_fn = nn.BCEWithLogitsLoss()
    model.train()
    start = None
    for index, batch in enumerate(batches):
        if index == warmup:
            synchronize(device)
            start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            loss = loss_fn(model(task, batch).float(), batch["label"])
        loss.backward()
        optimizer.step()
    synchronize(device)
    return time.perf_counter() - start


def train_local_steps(model, task: str, inputs: dict, warmup: int, batch_size: int, precision: str, lr: float,
                      device, seed: int) -> float:
    """Seconds of ``train_local`` over the records after the first ``warmup`` batches (those warm it up)."""
    import torch

    from fedmeki_models.data import TaskTensors
    from fedmeki_models.training import TrainingConfig, train_local

    def tensors(begin: int, end: int) -> TaskTensors:
        features = {key: value[begin:end] for key, value in inputs.items() if key != "label"}
        return TaskTensors(task=task, ids=tuple(str(i) for i in range(begin, end)), inputs=features,
                           labels=inputs["label"][begin:end], client_ids=torch.zeros(end - begin, dtype=torch.int64))

    config = TrainingConfig(epochs=1, batch_size=batch_size, lr=lr, precision=precision)
    split = warmup * batch_size
    if split:
        train_local(model, task, tensors(0, split), config, generator=torch.Generator().manual_seed(seed),
                    device=device)
    timed = tensors(split, len(inputs["label"]))
    synchronize(device)
    start = time.perf_counter()
    train_local(model, task, timed, config, generator=torch.Generator().manual_seed(seed + 1), device=device)
    synchronize(device)
    return time.perf_counter() - start


def measure(encoder: str, args: argparse.Namespace, device, precision: str, steps: int, warmup: int) -> dict:
    import contextlib

    import torch

    from fedmeki_models.config import model_config
    from fedmeki_models.model import build_local_model

    task = ENCODERS[encoder]
    config = model_config("paper", tasks=(task,))
    if encoder == "clinical":
        config = replace(config, clinical=replace(config.clinical, max_steps=CLINICAL_STEPS))
    model = build_local_model(config, seed=args.seed).to(device)
    n = (warmup + steps) * args.batch_size
    inputs = synthetic_inputs(encoder, config, n, torch.Generator().manual_seed(args.seed))
    batches = [{key: value[begin:begin + args.batch_size].to(device) for key, value in inputs.items()}
               for begin in range(0, n, args.batch_size)]
    if precision == "bf16":
        def autocast():
            return torch.autocast(device.type, dtype=torch.bfloat16)
    else:
        autocast = contextlib.nullcontext
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    pure_s = pure_steps(model, task, batches, warmup, autocast, args.lr, device)
    del batches
    local_s = train_local_steps(model, task, inputs, warmup, args.batch_size, precision, args.lr, device, args.seed)
    samples = steps * args.batch_size
    result = {"task": task, "steps": steps, "warmup": warmup,
              "parameters": sum(p.numel() for p in model.task_parameters(task)),
              "pure_samples_per_s": samples / pure_s, "train_local_samples_per_s": samples / local_s,
              "pure_s": pure_s, "train_local_s": local_s}
    result["train_local_over_pure"] = result["train_local_samples_per_s"] / result["pure_samples_per_s"]
    result["pure_over_h100_reference"] = result["pure_samples_per_s"] / REFERENCE[encoder]
    if device.type == "cuda":
        result["peak_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    del model
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return result


def main() -> None:
    args = parse_args()
    import torch

    device = choose_device(args.device)
    on_cuda = device.type == "cuda"

    def steps_of(encoder: str) -> tuple[int, int]:
        """(timed steps, warm-up steps) of ``encoder``: the options, else this device's defaults."""
        small_cpu = not on_cuda and encoder == "image"
        steps = args.steps if args.steps is not None else 30 if on_cuda else 1 if small_cpu else 3
        warmup = args.warmup if args.warmup is not None else 5 if on_cuda else 0 if small_cpu else 1
        return steps, warmup

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    note = ""
    if on_cuda:
        precision = "bf16"
        name = f"cuda ({torch.cuda.get_device_name(device)}, torch {torch.__version__}, CUDA {torch.version.cuda})"
    else:
        precision = "bf16" if args.bf16 and cpu_supports_bf16() else "fp32"
        if args.bf16 and precision == "fp32":
            note = " (--bf16 asked, but this CPU has no bf16 support: fp32)"
        name = f"cpu ({torch.get_num_threads()} torch threads, {torch.backends.cpu.get_cpu_capability()}, " \
               f"torch {torch.__version__}; no GPU used)"
    print(f"device used: {name}")
    plan = ", ".join(f"{encoder} {'/'.join(map(str, steps_of(encoder)))}" for encoder in args.encoders)
    print(f"precision {precision}{note}, batch {args.batch_size}, Adam lr {args.lr}; models: paper preset, one task "
          f"each; timed/warm-up steps: {plan}")
    results = {}
    for encoder in args.encoders:
        began = time.perf_counter()
        results[encoder] = measure(encoder, args, device, precision, *steps_of(encoder))
        results[encoder]["wall_s"] = time.perf_counter() - began

    print()
    print(f"{'encoder (task)':<46}{'params':>11}{'pure/s':>10}{'train_local/s':>15}{'ratio':>7}"
          f"{'H100 ref/s':>12}{'pure/ref':>10}" + (f"{'peak GiB':>10}" if on_cuda else ""))
    def rate(value: float) -> str:
        return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"

    for encoder, row in results.items():
        label = f"{LABELS[encoder]} ({row['task']})"
        versus = f"{row['pure_over_h100_reference']:.2f}" if on_cuda else "n/a"
        print(f"{label:<46}{row['parameters']:>11,}{rate(row['pure_samples_per_s']):>10}"
              f"{rate(row['train_local_samples_per_s']):>15}{row['train_local_over_pure']:>7.2f}"
              f"{REFERENCE[encoder]:>12,.0f}{versus:>10}" + (f"{row['peak_gib']:>10.2f}" if on_cuda else ""))
    print("pure/s: forward + loss + backward + Adam step on batches already on the device; train_local/s: the "
          "library loop\nover CPU TaskTensors (copies, clipping, loss read-back included); ratio = train_local / "
          "pure.\nH100 ref/s: one H100, batch 64, bf16, forward + backward only (no optimiser step)"
          + ("" if on_cuda else "; not comparable with a CPU run"))
    print(json.dumps({"device": name, "device_type": device.type, "precision": precision,
                      "batch_size": args.batch_size, "lr": args.lr,
                      "reference_h100_fwd_bwd": REFERENCE, "encoders": results}))


if __name__ == "__main__":
    main()
