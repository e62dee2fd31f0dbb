"""The model card (``README.md``) of an exported FedMEKI model, from its config, provenance and results.

The YAML header is built as ``huggingface_hub.ModelCardData``, so the Hub reads it as it reads any card:
``library_name: fedmeki``, tags, ``datasets``, ``base_model`` (an injected foundation model's language
model), ``pipeline_tag``, and with results a ``model-index`` beside the ``.eval_results/*.yaml`` files.
The body says what the model is for, how it was trained, how to load it, its scores, and its limits.
"""

from __future__ import annotations

from collections.abc import Mapping

from fedmeki_data.hub import is_repo_id
from fedmeki_data.tasks import FEDMEKI_CITATION, get_task
from fedmeki_eval.report import format_score
from fedmeki_models.injection.config import TINY

PIPELINE_TAGS = {"local": "other", "foundation": "any-to-any"}
"""The local model answers yes/no per task from images, ECGs or clinical series; the foundation model
turns any of them plus an instruction into text."""

_SHOWN_ADAPTER_KEYS = ("fm", "adapter", "rank", "alpha", "experts")
_TASK_TYPES = {"image": "image-classification", "ecg": "time-series-classification",
               "clinical": "time-series-classification"}


def render_model_card(config: Mapping, provenance: Mapping, *, kind: str, name: str, results: Mapping | None = None,
                      dataset_id: str | None = None) -> str:
    """Return the full ``README.md`` text of a model repository.

    Parameters
    ----------
    config : Mapping
        The model's ``config.json`` without provenance.
    provenance : Mapping
        Its provenance (:mod:`fedmeki_models.provenance`).
    kind : str
        ``local`` or ``foundation``.
    name : str
        The model's name in the card.
    results : Mapping, optional
        ``results.json`` of ``fedmeki eval`` on this model's submission.
    dataset_id : str, optional
        The Hub dataset repo the model was trained and scored on; without it the results stay in the body.
    """
    from huggingface_hub import ModelCard, ModelCardData

    data = ModelCardData(
        model_name=name, library_name="fedmeki", license="apache-2.0", pipeline_tag=PIPELINE_TAGS[kind],
        tags=["fedmeki", "federated-learning", "medical", *(["synthetic-data"] if _synthetic(provenance) else [])],
        datasets=[dataset_id] if dataset_id else None,
        base_model=config["lm"] if kind == "foundation" and is_repo_id(config["lm"]) else None,
        eval_results=_model_index(results, dataset_id) if results and dataset_id else None,
    )
    sections = [
        f"# {name}",
        _summary(config, provenance, kind),
        _usage(kind, _tasks(config, kind)[0]),
        _training(config, provenance, kind),
        _results(results) if results else "## Results\n\nNot scored yet: export with `--results RESULTS.json` "
                                           "from `fedmeki eval`.",
        _intended_use(provenance),
        "## Citation\n\n```bibtex\n" + FEDMEKI_CITATION + "\n```",
    ]
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n\n".join(sections) + "\n"))


def _tasks(config: Mapping, kind: str) -> list[str]:
    return list(config["local"]["tasks"] if kind == "foundation" else config["tasks"])


def _summary(config: Mapping, provenance: Mapping, kind: str) -> str:
    method = provenance["method"]
    rounds = f"{method['rounds']} round{'s' if method['rounds'] != 1 else ''}"
    trained = (f"trained with **{method['algorithm']}** ({method['setting'].replace('_', '-')}) over "
               f"{method['clients']} clients (hospitals) for {rounds}")
    privacy = "Its raw data never left the clients; only model updates did."
    if method["algorithm"] == "centralised":
        trained = (f"trained **centrally** on the pooled data of {method['clients']} clients for {rounds} "
                   "(the centralised reference baseline, not federated)")
        privacy = "Its training data were pooled in one place: it is a reference point, not a federated model."
    elif method["algorithm"] == "local_only":
        trained = (f"trained on **one client's data only** for {rounds} "
                   "(the local-only reference baseline, not federated)")
        privacy = "It saw the data of one client, which never left it."
    if kind == "foundation":
        lm = (f"`{TINY}` (a 2-layer Llama built offline from a config, randomly initialised)" if config["lm"] == TINY
              else f"`{config['lm']}`")
        return (f"A FedMEKI **foundation model** with federated medical knowledge injected: the modality encoders "
                f"were {trained}, then injected each round into the language model {lm} with "
                f"{config['adapter']} adapters (rank {config['rank']}). It answers the eight FedMEKI tasks by "
                "generation, the four validation tasks zero-shot.")
    tasks = ", ".join(f"`{task}`" for task in config["tasks"])
    return (f"A FedMEKI **local multi-task model** {trained}: one encoder per modality and one yes/no head per "
            f"task ({tasks}). {privacy}")


def _usage(kind: str, task: str) -> str:
    if kind == "foundation":
        code = ("from fedmeki_models.injection.answer import answer_split\n"
                "from fedmeki_models.injection.instructions import load_instructions\n"
                "from fedmeki_models.zoo import load_model\n\n"
                'model = load_model("hf://ORG/NAME")\n'
                f'test = load_instructions("DATASET", "{task}", "test", model.config.local)\n'
                "answers = answer_split(model, test)  # [{'id', 'prediction', 'score'}, ...]")
    else:
        code = ("from fedmeki_models.data import load_task_tensors\n"
                "from fedmeki_models.training import predict_proba\n"
                "from fedmeki_models.zoo import load_model\n\n"
                'model = load_model("hf://ORG/NAME")\n'
                f'test = load_task_tensors("DATASET", "{task}", "test", image_size=model.config.image.image_size)\n'
                f'probabilities = predict_proba(model, "{task}", test)  # P(yes) per record')
    return (f"## How to use\n\n```python\n{code}\n```\n\n"
            "Or predict every task and score the submission with the standard scorer:\n\n```bash\n"
            "pip install fedmeki\nfedmeki predict --model hf://ORG/NAME --data DATASET --out submission\n"
            "fedmeki eval submission\n```\n\n"
            "`ORG/NAME` is this repository and `DATASET` a FedMEKI dataset folder or Hub repo; loading reads "
            "safetensors only and refuses pickles.")


def _training(config: Mapping, provenance: Mapping, kind: str) -> str:
    method, dataset = provenance["method"], provenance["dataset"]
    run = provenance.get("config") or {}
    training = run.get("training") or {}
    algorithm = provenance.get("algorithm") or {}
    params = ", ".join(f"{key}={value}" for key, value in algorithm.items() if key != "name")
    rows = [
        ("algorithm", f"{method['algorithm']} ({params})" if params else method["algorithm"]),
        ("setting", method["setting"]),
        ("clients", method["clients"]),
        ("rounds", method["rounds"]),
        ("seed", method["seed"]),
        ("local training", ", ".join(f"{key} {value}" for key, value in training.items()) or "-"),
        ("engine", provenance.get("engine", "in-process")),
        ("dataset", f"`{dataset['repo_or_path']}` (fingerprint `{dataset['fingerprint']}`)"),
        ("communication", f"{(provenance.get('communication_bytes') or {}).get('total', 0) / 1e6:.1f} MB"),
        ("fedmeki", provenance.get("fedmeki_version", "-")),
    ]
    if kind == "foundation":
        injection = run.get("injection") or {}
        rows += [("language model", f"`{config['lm']}` (frozen)"),
                 ("adapters", f"{config['adapter']}, rank {config['rank']}, alpha {config['alpha']}, "
                              f"{config['experts']} experts"),
                 ("injection", ", ".join(f"{key} {value}" for key, value in injection.items()
                                         if key not in _SHOWN_ADAPTER_KEYS) or "-")]
    lines = ["## Training", "", "| | |", "|---|---|", *(f"| {key} | {value} |" for key, value in rows)]
    sources = dataset.get("sources") or {}
    if sources:
        lines += ["", "| task | source | license | credentialed |", "|---|---|---|---|"]
        lines += [f"| `{task}` | {entry['source']} | {entry['license']} | {'yes' if entry['credentialed'] else 'no'} |"
                  for task, entry in sources.items()]
    lines += ["", "Every hyper-parameter is in `config.json` (the provenance under `fedmeki`)."]
    return "\n".join(lines)


def _results(results: Mapping) -> str:
    lines = ["## Results", "",
             f"`fedmeki eval` ({results['protocol']} protocol) on the test splits, in %, with bootstrap 95 % "
             f"intervals; references fingerprint `{results['references']['fingerprint']}`.", "",
             "| task | role | n | metric | score [95 % CI] |", "|---|---|---|---|---|"]
    for task, entry in results["tasks"].items():
        interval = entry["ci95"][entry["main_metric"]]
        lines.append(f"| `{task}` | {entry['role']} | {entry['n']} | {entry['main_metric']} "
                     f"| {format_score(entry['main_score'], interval)} |")
    lines += ["", "All metrics are in `results.json`."]
    return "\n".join(lines)


def _model_index(results: Mapping, dataset_id: str) -> list:
    from huggingface_hub import EvalResult

    entries = []
    for task, entry in results["tasks"].items():
        spec = get_task(task)
        task_type = _TASK_TYPES[spec.modalities[0]] if spec.is_binary else "text-generation"
        entries.append(EvalResult(
            task_type=task_type, task_name=spec.name, dataset_type=dataset_id, dataset_name=f"FedMEKI {task}",
            dataset_config=task, dataset_split="test", metric_type=entry["main_metric"],
            metric_value=entry["main_score"], metric_name=f"{entry['main_metric']} ({results['protocol']} protocol)"))
    return entries


def _synthetic(provenance: Mapping) -> bool:
    sources = (provenance.get("dataset") or {}).get("sources") or {}
    return bool(sources) and all("synthetic" in entry["source"] for entry in sources.values())


def _intended_use(provenance: Mapping) -> str:
    sources = (provenance.get("dataset") or {}).get("sources") or {}
    credentialed = sorted(task for task, entry in sources.items() if entry["credentialed"])
    if _synthetic(provenance):
        data = ("It was trained on **synthetic data** (`fedmeki data demo`): its scores say that the pipeline "
                "works, not that it knows medicine.")
    elif credentialed:
        data = (f"It was trained on **credentialed data** ({', '.join(credentialed)}): share it only as the "
                "sources' data use agreements allow.")
    else:
        data = "It was trained on the public sources listed above."
    return ("## Intended use and limitations\n\n"
            "For research on federated learning and knowledge injection in medical AI: reproducing FedMEKI "
            f"numbers, and a baseline to compare new methods with. {data}\n\n"
            "**Not for clinical use.** It is not a medical device, was not validated on any patient population, "
            "and its answers must not inform diagnosis or treatment. Per-client data were split from public "
            "datasets, so its clients are simulated hospitals, not real ones.")
