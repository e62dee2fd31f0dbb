"""The dataset card (``README.md``) of a FedMEKI dataset folder, rendered from its manifest.

The YAML header is what the Hub and ``datasets`` read (``configs`` with their ``data_files``, features
per config); the body is what a researcher reads first: the tasks, the per-client sizes and label
counts, how to load a split, the licenses, the citations, intended use and limitations.
"""

from __future__ import annotations

from collections.abc import Mapping

import yaml

from fedmeki_data.schema import task_features
from fedmeki_data.tasks import FEDMEKI_CITATION, get_task


def render_card(manifest: Mapping) -> str:
    """Return the full ``README.md`` text for a dataset folder described by ``manifest``."""
    header = yaml.safe_dump(_card_metadata(manifest), sort_keys=False, allow_unicode=True, width=1000)
    sections = [
        f"# {manifest['build']['pretty_name']}",
        manifest["build"]["description"],
        _tasks_table(manifest),
        *(_clients_table(task_id, entry) for task_id, entry in manifest["tasks"].items() if entry["n_clients"]),
        _usage(manifest),
        _LIMITATIONS,
        _citations(manifest),
    ]
    return f"---\n{header}---\n\n" + "\n\n".join(sections) + "\n"


def _card_metadata(manifest: Mapping) -> dict:
    from datasets.info import DatasetInfo  # imported on use, like every `datasets` import of this package

    tasks = manifest["tasks"]
    return {
        "license": manifest["build"]["license"],
        "pretty_name": manifest["build"]["pretty_name"],
        "tags": ["medical", "federated-learning", "fedmeki", *manifest["build"].get("tags", [])],
        "configs": [
            {"config_name": task_id, "data_files": [
                {"split": split, "path": f"{task_id}/{split}-*.parquet"} for split in entry["splits"]
            ]}
            for task_id, entry in tasks.items()
        ],
        "dataset_info": [
            {"config_name": task_id,
             **DatasetInfo(features=task_features(task_id))._to_yaml_dict(),
             "splits": [{"name": split, "num_bytes": info["num_bytes"], "num_examples": info["rows"]}
                        for split, info in entry["splits"].items()]}
            for task_id, entry in tasks.items()
        ],
    }


def _tasks_table(manifest: Mapping) -> str:
    rows = ["## Tasks", "",
            "| config | task | role | modalities | source | license | credentialed | rows |",
            "|---|---|---|---|---|---|---|---|"]
    for task_id, entry in manifest["tasks"].items():
        spec = get_task(task_id)
        total = sum(info["rows"] for info in entry["splits"].values())
        rows.append(
            f"| `{task_id}` | {spec.name} | {spec.role} | {', '.join(spec.modalities)} | {entry['source']} "
            f"| {entry['license']} | {'yes' if entry['credentialed'] else 'no'} | {total} |"
        )
    return "\n".join(rows)


def _clients_table(task_id: str, entry: Mapping) -> str:
    labels = get_task(task_id).label_names
    rows = [f"### `{task_id}`: splits", "",
            "| split | client | site | rows | " + " | ".join(labels) + (" |" if labels else ""),
            "|---|---|---|---|" + "---|" * len(labels)]
    for split, info in entry["splits"].items():
        counts = "".join(f" {info['label_counts'].get(name, 0)} |" for name in labels)
        client = "" if info["client_id"] < 0 else str(info["client_id"])
        rows.append(f"| `{split}` | {client} | {', '.join(info['sites'])} | {info['rows']} |{counts}")
    return "\n".join(rows)


def _usage(manifest: Mapping) -> str:
    first = next(iter(manifest["tasks"]))
    split = next(iter(manifest["tasks"][first]["splits"]))
    return (
        "## Usage\n\n"
        "```python\nfrom datasets import load_dataset\n\n"
        f'shard = load_dataset("path/or/org-name", "{first}", split="{split}")\n```\n\n'
        "or, with FedMEKI (local folder, or Hub repo id resolved through the cache, offline with "
        "`HF_HUB_OFFLINE=1`):\n\n"
        f"```python\nfrom fedmeki_data.hub import load_task\n\nshard = load_task(\"path/or/org-name\", \"{first}\", "
        f"split=\"{split}\")\n```\n\n"
        f"Dataset fingerprint: `{manifest['fingerprint']}` (FedMEKI {manifest['fedmeki_version']}). "
        "Submissions name it; `fedmeki eval` checks it against the references."
    )


_LIMITATIONS = """## Intended use and limitations

For research on federated learning and knowledge injection in medicine: benchmarking FL algorithms,
injection methods and zero-shot transfer under the FedMEKI protocol. **Not for clinical use**: no model
trained or evaluated on this data is a medical device. Client splits simulate hospitals; natural
partitions follow real sites where the source has them, other partitions are simulated. Synthetic builds
imitate the structure of the real sources (image findings, ECG morphology and noise, ICU charting
patterns) but carry no real patient information and say nothing about clinical performance. Builds from
credentialed sources (MIMIC-III, CheXpert) must stay private under their data use agreements."""


def _citations(manifest: Mapping) -> str:
    entries = [FEDMEKI_CITATION]
    for task_id in manifest["tasks"]:
        citation = manifest["tasks"][task_id].get("citation") or ""
        if citation and citation not in entries:
            entries.append(citation)
    return "## Citation\n\n```bibtex\n" + "\n\n".join(entries) + "\n```"
