"""``fedmeki train`` and ``fedmeki predict``: federated training of the local model, and its submission."""

from __future__ import annotations

import inspect
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from fedmeki_cli._options import FormatOpt, OverwriteOpt
from fedmeki_cli._output import Output, OutputFormat, table
from fedmeki_data.errors import InvalidParameterError

TRAIN_EXAMPLES = (
    "Examples:\n\n  fedmeki train --data fedmeki-demo/data --preset small --rounds 5 --out runs/fedavg\n\n"
    "  fedmeki train --data demo --tasks covid19,mortality --algorithm fedprox --param mu=0.01 "
    "--setting single_task --out runs/fedprox\n\n"
    "  fedmeki train --config runs/fedavg/config.yaml --algorithm centralised --out runs/central\n\n"
    "  fedmeki train --out runs/fedavg --resume\n\n"
    "  fedmeki train --engine flower --data demo --preset small --rounds 3 --out runs/flower"
)
INJECT_EXAMPLES = (
    "Examples:\n\n  fedmeki inject --data fedmeki-demo/data --preset small --rounds 5 --out runs/inject\n\n"
    "  fedmeki inject --data demo --algorithm fedprox --setting single_task --tasks covid19 --adapter lora "
    "--out runs/inject-covid\n\n"
    "  fedmeki inject --data DATA --fm Henrychur/MMedLM2 --fm-precision bf16 --gradient-checkpointing "
    "--grad-accumulation 4 --fm-batch-size 4 --out runs/mmedlm2\n\n"
    "  fedmeki predict --model runs/inject --data fedmeki-demo/data --out sub-fm"
)
PREDICT_EXAMPLES = (
    "Examples:\n\n  fedmeki predict --model runs/fedavg --data fedmeki-demo/data --out sub\n\n"
    "  fedmeki predict --model runs/local --client 2 --data demo --out sub-client2 --format json\n\n"
    "  fedmeki predict --model hf://my-org/fedmeki-fedavg-m@v1.0 --data my-org/fedmeki-demo --out sub-zoo"
)
_METRICS = ("accuracy", "f1", "auroc", "mcc")


class Engine(str, Enum):
    """Where the clients train: in this process, or on Flower SuperNodes."""

    in_process = "in-process"
    flower = "flower"


def train(
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder (config, history, curves, checkpoints, model).")],
    data: Annotated[str | None, typer.Option("--data", help="Dataset folder or Hub dataset repo id.")] = None,
    tasks: Annotated[list[str] | None, typer.Option(
        "--tasks", help="Training tasks, comma-separated or repeated (default: all four).")] = None,
    algorithm: Annotated[str | None, typer.Option(
        "--algorithm", help="fedavg, fedprox, fedavgm, fedadam, fedyogi, fedadagrad, fedbn, scaffold, fedmedian, "
                            "fedtrimmedavg, or a baseline: centralised, local_only.")] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", "-p", help="Algorithm hyper-parameter NAME=VALUE (repeat), e.g. mu=0.01.")] = None,
    setting: Annotated[str | None, typer.Option(
        "--setting", help="multi_task (one federation, shared encoders) or single_task (one per task).")] = None,
    variant: Annotated[str | None, typer.Option(
        "--variant", help="standard, or public_finetune (the server trains on the public split each round).")] = None,
    rounds: Annotated[int | None, typer.Option("--rounds", help="FL rounds (default 10).")] = None,
    fraction: Annotated[float | None, typer.Option("--fraction", help="Fraction of clients per round.")] = None,
    min_clients: Annotated[int | None, typer.Option(
        "--min-clients", help="Stop when fewer clients finish a task's round.")] = None,
    local_epochs: Annotated[int | None, typer.Option("--local-epochs", help="Local epochs per round.")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Local batch size (default 64).")] = None,
    optimizer: Annotated[str | None, typer.Option("--optimizer", help="adam, adamw or sgd.")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Local learning rate (default 1e-4).")] = None,
    precision: Annotated[str | None, typer.Option("--precision", help="fp32, or bf16 autocast.")] = None,
    preset: Annotated[str | None, typer.Option(
        "--preset", help="Model size: paper (DeiT-tiny at 224 px) or small (CPU demo).")] = None,
    image_weights: Annotated[str | None, typer.Option(
        "--image-weights", help="Hub id or folder of pretrained DeiT weights for the image encoder.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of every random draw (default 42).")] = None,
    eval_every: Annotated[int | None, typer.Option(
        "--eval-every", help="Evaluate every N rounds (0: only after the last).")] = None,
    device: Annotated[str | None, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", help="Run config YAML (a run's config.yaml); options given on the command line win.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its last round.")] = False,
    engine: Annotated[Engine, typer.Option(
        "--engine", help="in-process (one machine, resumable) or flower (a SuperNode per client; without "
                         "--superlink a local deployment on 127.0.0.1).")] = Engine.in_process,
    superlink: Annotated[str | None, typer.Option(
        "--superlink", help="Flower: HOST:PORT of a running SuperLink to submit to (see 'fedmeki flower').")] = None,
    root_certificates: Annotated[Path | None, typer.Option(
        "--root-certificates", help="Flower: CA certificate of the SuperLink's TLS (else unencrypted).")] = None,
    connect_timeout: Annotated[float, typer.Option(
        "--connect-timeout", help="Flower: seconds to wait for every client's SuperNode.")] = 600.0,
    round_timeout: Annotated[float, typer.Option(
        "--round-timeout", help="Flower: seconds to wait for a round's replies; later clients are dropped.")] = 3600.0,
    fm: Annotated[str | None, typer.Option(
        "--fm", help="Inject into this foundation model after every round: tiny (offline), a Hub causal LM id or "
                     "a folder ('fedmeki inject' defaults to tiny).")] = None,
    adapter: Annotated[str | None, typer.Option("--adapter", help="Injection: moe_lora (default) or lora.")] = None,
    experts: Annotated[int | None, typer.Option("--experts", help="Injection: LoRA experts (default 12).")] = None,
    rank: Annotated[int | None, typer.Option("--rank", help="Injection: LoRA rank (default 8).")] = None,
    fm_lr: Annotated[float | None, typer.Option("--fm-lr", help="Injection: AdamW lr (default 5e-4).")] = None,
    fm_epochs: Annotated[int | None, typer.Option(
        "--fm-epochs", help="Injection: passes over the public instructions per round (default 1).")] = None,
    fm_batch_size: Annotated[int | None, typer.Option("--fm-batch-size", help="Injection: batch size.")] = None,
    grad_accumulation: Annotated[int | None, typer.Option(
        "--grad-accumulation", help="Injection: batches per optimiser step.")] = None,
    fm_precision: Annotated[str | None, typer.Option("--fm-precision", help="Injection: fp32 or bf16.")] = None,
    gradient_checkpointing: Annotated[bool | None, typer.Option(
        "--gradient-checkpointing/--no-gradient-checkpointing",
        help="Injection: recompute activations to save GPU memory.")] = None,
    overwrite: OverwriteOpt = False,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Train the local model with a federated algorithm (or a baseline) and write a run folder."""
    from fedmeki_models.run_config import make_run_config
    from fedmeki_models.runs import CONFIG_FILE
    from fedmeki_models.runs import train as run_training

    output = Output(output_format)
    options = {"data": data, "tasks": _split(tasks), "algorithm": algorithm, "algorithm_params": _params(param),
               "setting": setting, "variant": variant, "rounds": rounds, "fraction": fraction,
               "min_clients": min_clients, "preset": preset, "image_weights": image_weights, "seed": seed,
               "eval_every": eval_every, "device": device,
               "training": {"epochs": local_epochs, "batch_size": batch_size, "optimizer": optimizer, "lr": lr,
                            "precision": precision},
               "injection": _injection(fm, adapter=adapter, experts=experts, rank=rank, lr=fm_lr, epochs=fm_epochs,
                                       batch_size=fm_batch_size, grad_accumulation=grad_accumulation,
                                       precision=fm_precision, gradient_checkpointing=gradient_checkpointing)}
    if resume and not (out / CONFIG_FILE).is_file():
        run_config = None  # not a run: the library says so (CheckpointError) rather than asking for --data
    else:
        if resume and config is None:
            config = out / CONFIG_FILE  # options given with --resume must agree with the run's config
        run_config = make_run_config(config, **options)
    if engine is Engine.flower:
        summary = _train_on_flower(run_config, out, output, resume=resume, overwrite=overwrite, superlink=superlink,
                                   root_certificates=root_certificates, connect_timeout=connect_timeout,
                                   round_timeout=round_timeout)
    else:
        if superlink is not None or root_certificates is not None:
            raise InvalidParameterError("--superlink and --root-certificates need --engine flower.",
                                        hint="add --engine flower, or drop them")
        with output.progress() as progress:
            summary = run_training(run_config, out, resume=resume, overwrite=overwrite, progress=progress)
    summary["run"] = str(out)
    output.result(summary, render_run)


def inject(**options: Any) -> None:
    """Train the local model with FL and inject its encoders into a foundation model after every round."""
    train(**{**options, "fm": options.get("fm") or "tiny"})


inject.__signature__ = inspect.signature(train, eval_str=True)  # typer reads the Annotated options from it
inject.__annotations__ = train.__annotations__


def _injection(fm: str | None, **options: Any) -> dict | None:
    """The run config's ``injection`` section: on with ``--fm``, whose options need it."""
    given = {name: value for name, value in options.items() if value is not None}
    if fm is None:
        if given:
            raise InvalidParameterError(f"--{next(iter(given)).replace('_', '-')} is an injection option.",
                                        hint="add --fm tiny (or a causal LM), or run 'fedmeki inject'")
        return None
    return {"fm": fm, **given}


def _train_on_flower(run_config, out: Path, output: Output, *, resume: bool, **options) -> dict:
    from fedmeki_models.flower import require_flower
    from fedmeki_models.runs import check_remote

    require_flower()
    check_remote(run_config, resume=resume)
    from fedmeki_models.flower.deployment import train_on_flower

    with output.progress() as progress:
        return train_on_flower(run_config, out, progress=progress, **options)


def predict(
    model: Annotated[str, typer.Option(
        "--model", help="Run folder of 'fedmeki train', a model folder, or hf://org/name[@revision].")],
    data: Annotated[str, typer.Option("--data", help="Dataset folder or Hub dataset repo id to predict.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Submission folder to write.")],
    client: Annotated[int | None, typer.Option("--client", help="Local-only runs: which client's model.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Submission name (default: the method).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Inference batch size.")] = 256,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")] = "auto",
    sampling: Annotated[bool, typer.Option(
        "--sampling", help="Foundation models: top-p sampling as in the paper (default: greedy).")] = False,
    max_new_tokens: Annotated[int, typer.Option(
        "--max-new-tokens", help="Foundation models: longest answer in tokens.")] = 16,
    overwrite: OverwriteOpt = False,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Predict the test split of every task the model covers and write a submission for 'fedmeki eval'.

    A foundation model (an injection run) answers all eight tasks, the validation tasks zero-shot."""
    from fedmeki_models.predict import predict as write_predictions

    output = Output(output_format)
    with output.progress() as progress:
        metadata = write_predictions(model, data, out, client=client, name=name, batch_size=batch_size,
                                     device=device, overwrite=overwrite, sampling=sampling,
                                     max_new_tokens=max_new_tokens, progress=progress)
    output.result({"submission": str(out), **metadata},
                  lambda console, result: console.print(
                      f"Wrote {result['submission']} ({result['name']}); score it with: "
                      f"fedmeki eval {result['submission']}"))


def render_run(console, summary: dict) -> None:
    """Final test metrics per task, communication and where everything is."""
    method = summary["method"]
    title = (f"{method['algorithm']} {method['setting']} ({method['variant']}): {method['clients']} clients, "
             f"{method['rounds']} rounds, seed {method['seed']}")
    rows = [[task, *(_cell(metrics.get(name)) for name in _METRICS), _cell(metrics.get("loss"))]
            for task, metrics in summary["test"].items()]
    console.print(table(f"{title} -- test split", ["task", *_METRICS, "loss"], rows))
    sent = summary["communication_bytes"]
    console.print(f"\nCommunication: {sent['total'] / 1e6:.1f} MB ({sent['sent'] / 1e6:.1f} MB sent, "
                  f"{sent['received'] / 1e6:.1f} MB received); {summary['seconds']} s.")
    for drop in summary.get("dropped", []):
        console.print(f"Dropped: client {drop['client']} in round {drop['round']} ({drop['task']}): {drop['error']}",
                      markup=False)
    if summary.get("engine") == "flower":
        console.print(f"Flower: {len(summary['sites'])} sites; logs in {summary['run']}/flower/")
    console.print(f"Run folder: {summary['run']} (history.json, curves.png, {', '.join(summary['models'])})")


def _cell(value: Any) -> str:
    return "-" if value is None or value != value else f"{value:.3f}"


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _params(values: list[str] | None) -> dict[str, Any] | None:
    if not values:
        return None
    params = {}
    for value in values:
        name, sep, raw = value.partition("=")
        if not sep or not name.strip():
            raise InvalidParameterError(f"--param {value!r} is not NAME=VALUE.", hint="e.g. --param mu=0.01")
        params[name.strip()] = _number(raw.strip())
    return params


def _number(raw: str) -> Any:
    """``"1e-6"`` -> 1e-06, ``"3"`` -> 3, ``"true"`` -> True, anything else as text."""
    for parse in (int, float):
        try:
            return parse(raw)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(raw.lower(), raw)
