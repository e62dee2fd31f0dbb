"""The model zoo: export -> load from the folder and from an offline Hub cache -> identical predictions;
cards that huggingface_hub reads back; pickles refused; publishing rules; the registry."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import yaml
from huggingface_hub import ModelCard, parse_eval_result_entries

from fedmeki_data.errors import InvalidParameterError, PublishRefusedError
from fedmeki_eval.report import write_reports
from fedmeki_eval.scorer import score
from fedmeki_models.errors import CheckpointError, ModelConfigError, UnsafeFileError
from fedmeki_models.predict import predict
from fedmeki_models.provenance import model_config, read_provenance, write_provenance
from fedmeki_models.run_config import make_run_config
from fedmeki_models.runs import train
from fedmeki_models.zoo import load_model
from fedmeki_models.zoo.card import render_model_card
from fedmeki_models.zoo.export import export_model
from fedmeki_models.zoo.files import PICKLE_SUFFIXES
from fedmeki_models.zoo.hub import pull_model, push_model, registry_record
from fedmeki_models.zoo.registry import REGISTRY_FILE, RegistryError, load_registry, pinned_revision

TASKS = ("covid19", "ecg_abnormal", "mortality")
DATASET_REPO = "fedmeki-org/fedmeki-demo"


def _train(data, out, **changes):
    values = {"data": str(data), "tasks": TASKS, "preset": "small", "rounds": 1, "seed": 5, "eval_every": 0,
              "training": {"batch_size": 16, "lr": 1e-3}, **changes}
    train(make_run_config(None, **values), out)
    return out


@pytest.fixture(scope="module")
def local_run(tiny_demo, tmp_path_factory):
    return _train(tiny_demo, tmp_path_factory.mktemp("zoo") / "local")


@pytest.fixture(scope="module")
def fm_run(tiny_demo, tmp_path_factory):
    return _train(tiny_demo, tmp_path_factory.mktemp("zoo") / "inject",
                  injection={"experts": 2, "lr": 2e-3, "batch_size": 8, "dropout": 0.0})


@pytest.fixture(scope="module")
def scored_local(local_run, tiny_demo, tmp_path_factory):
    """The local run's submission and the results.json that fedmeki eval writes for it."""
    folder = tmp_path_factory.mktemp("scored")
    predict(local_run, tiny_demo, folder / "submission")
    write_reports(score(folder / "submission", references=tiny_demo, n_resamples=50), folder / "reports")
    return folder / "submission", folder / "reports" / "results.json"


def predictions(submission: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(submission.glob("*.jsonl"))}


@pytest.mark.parametrize("run_fixture, kind", [("local_run", "local"), ("fm_run", "foundation")])
def test_export_then_folder_then_offline_hub_give_identical_predictions(run_fixture, kind, request, tiny_demo,
                                                                        tmp_path, hub_cache):
    run = request.getfixturevalue(run_fixture)
    summary = export_model(run, tmp_path / "repo")
    assert summary["kind"] == kind
    weights_and_config = ["README.md", "config.json", "model.safetensors"]
    tokenizer = ["tokenizer.json", "tokenizer_config.json"] if kind == "foundation" else []
    assert summary["files"] == sorted(weights_and_config + tokenizer)
    assert read_provenance(tmp_path / "repo") == read_provenance(run / ("fm" if kind == "foundation" else "model"))

    from_run = predict(run, tiny_demo, tmp_path / "from-run")
    from_folder = predict(tmp_path / "repo", tiny_demo, tmp_path / "from-folder")
    commit = hub_cache.publish(tmp_path / "repo", "fedmeki-org/zoo-model")
    from_hub = predict("hf://fedmeki-org/zoo-model", tiny_demo, tmp_path / "from-hub")

    expected = predictions(tmp_path / "from-run")
    assert len(expected) == (8 if kind == "foundation" else 3)
    assert predictions(tmp_path / "from-folder") == expected
    assert predictions(tmp_path / "from-hub") == expected
    assert from_run["method"] == from_folder["method"] == from_hub["method"]
    assert from_hub["model"] == {"repo_id": "fedmeki-org/zoo-model", "revision": commit}
    assert from_folder["model"] == {"repo_id": None, "revision": None}
    assert type(load_model(f"hf://fedmeki-org/zoo-model@{commit}")).__name__ == (
        "FoundationModel" if kind == "foundation" else "LocalModel")


def test_the_card_metadata_validates_and_its_results_equal_results_json(local_run, scored_local, tmp_path):
    _, results_file = scored_local
    results = json.loads(results_file.read_text())
    summary = export_model(local_run, tmp_path / "repo", results=results_file, dataset_repo=DATASET_REPO,
                           repo_id="fedmeki-org/fedavg-m")
    assert summary["eval_results"] == 3 and summary["name"] == "fedavg-m"

    card = ModelCard.load(tmp_path / "repo" / "README.md")
    data = card.data
    assert data.library_name == "fedmeki" and data.pipeline_tag == "other" and data.license == "apache-2.0"
    assert {"fedmeki", "federated-learning", "medical", "synthetic-data"} <= set(data.tags)
    assert data.datasets == [DATASET_REPO] and data.base_model is None
    main_scores = {task: entry["main_score"] for task, entry in results["tasks"].items()}
    assert {result.dataset_config: result.metric_value for result in data.eval_results} == main_scores
    assert {result.dataset_type for result in data.eval_results} == {DATASET_REPO}

    files = sorted((tmp_path / "repo" / ".eval_results").glob("*.yaml"))
    assert [path.stem for path in files] == sorted(TASKS)
    entries = [entry for path in files for entry in parse_eval_result_entries(yaml.safe_load(path.read_text()))]
    assert {entry.task_id: entry.value for entry in entries} == main_scores
    assert {entry.dataset_id for entry in entries} == {DATASET_REPO}
    assert json.loads((tmp_path / "repo" / "results.json").read_text()) == results

    for task, value in main_scores.items():
        assert f"| `{task}` | training |" in card.text and f"{100 * value:.2f}" in card.text
    assert "Not for clinical use" in card.text and "synthetic data" in card.text
    assert 'load_model("hf://fedmeki-org/fedavg-m")' in card.text and "ORG/NAME" not in card.text


def test_the_cards_usage_lines_run(local_run, tiny_demo, tmp_path, hub_cache):
    export_model(local_run, tmp_path / "repo", repo_id="fedmeki-org/usage")
    hub_cache.publish(tmp_path / "repo", "fedmeki-org/usage")
    text = ModelCard.load(tmp_path / "repo" / "README.md").text
    code = text.split("```python\n")[1].split("```")[0].replace("DATASET", str(tiny_demo))
    namespace = {}
    exec(code, namespace)  # noqa: S102 -- the card's own snippet, as a user would paste it
    assert len(namespace["probabilities"]) == len(namespace["test"].ids)


def test_results_of_another_model_or_dataset_are_refused(fm_run, local_run, scored_local, tmp_path):
    _, results_file = scored_local
    with pytest.raises(InvalidParameterError, match="scores another model"):
        export_model(fm_run, tmp_path / "fm", results=results_file)
    results = json.loads(results_file.read_text())
    results["references"]["fingerprint"] = "0000000000000000"
    (tmp_path / "other.json").write_text(json.dumps(results))
    with pytest.raises(InvalidParameterError, match="fingerprint 0000000000000000"):
        export_model(local_run, tmp_path / "local", results=tmp_path / "other.json")
    assert not (tmp_path / "fm").exists() and not (tmp_path / "local").exists()


def test_results_without_a_hub_dataset_stay_in_the_card_table(local_run, scored_local, tmp_path):
    summary = export_model(local_run, tmp_path / "repo", results=scored_local[1])
    assert summary["eval_results"] == 0 and summary["dataset_repo"] is None
    assert not (tmp_path / "repo" / ".eval_results").exists()
    assert ModelCard.load(tmp_path / "repo" / "README.md").data.eval_results is None


class _Trap:
    """Unpickling this creates the file ``path``: proof that a loader opened a pickle."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return Path.touch, (self.path,)


@pytest.mark.parametrize("name", ["pytorch_model.bin", "weights.pt", "extra.pkl"])
def test_a_pickle_in_a_model_folder_is_refused_on_load_and_push_and_never_opened(local_run, tmp_path, hub_cache,
                                                                                 name):
    export_model(local_run, tmp_path / "repo")
    trap = tmp_path / "unpickled"
    (tmp_path / "repo" / name).write_bytes(pickle.dumps(_Trap(trap)))
    hub_cache.publish(tmp_path / "repo", "fedmeki-org/trap")

    for spec in (tmp_path / "repo", "hf://fedmeki-org/trap"):
        with pytest.raises(UnsafeFileError, match=f"{name}.*did not open"):
            load_model(spec)
    with pytest.raises(UnsafeFileError, match=name):
        pull_model("fedmeki-org/trap", out=tmp_path / "pulled")
    with pytest.raises(UnsafeFileError, match=name):
        push_model(tmp_path / "repo", "fedmeki-org/trap", dry_run=True)
    assert not trap.exists() and not (tmp_path / "pulled").exists()


def test_unknown_architecture_and_shape_mismatch_fail_cleanly(local_run, fm_run, tmp_path):
    for run, name in ((local_run, "local"), (fm_run, "fm")):
        export_model(run, tmp_path / name)
        config = json.loads((tmp_path / name / "config.json").read_text())
        (tmp_path / name / "config.json").write_text(json.dumps({**config, "architecture": "fedmeki-local-v9"}))
        with pytest.raises(ModelConfigError, match="fedmeki-local-v9"):
            load_model(tmp_path / name)
        if name == "local":
            config["head_hidden"] += 1
        else:
            config["rank"] += 1
        (tmp_path / name / "config.json").write_text(json.dumps(config))
        with pytest.raises(CheckpointError, match="do not match|does not fit"):
            load_model(tmp_path / name)


class RecordingApi:
    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs["repo_id"], kwargs))
        return type("CommitInfo", (), {"oid": "ab" * 20})()


def test_push_lists_uploads_and_records_exactly_the_checked_files(local_run, scored_local, tmp_path):
    export_model(local_run, tmp_path / "repo", results=scored_local[1], dataset_repo=DATASET_REPO)
    planned = push_model(tmp_path / "repo", "fedmeki-org/fedavg-m", dry_run=True)
    assert planned["files"] == [".eval_results/covid19.yaml", ".eval_results/ecg_abnormal.yaml",
                                ".eval_results/mortality.yaml", "README.md", "config.json", "model.safetensors",
                                "results.json"]
    assert planned["uploaded"] is False

    api = RecordingApi()
    pushed = push_model(tmp_path / "repo", "fedmeki-org/fedavg-m", commit_message="FedAvg, 1 round", api=api)
    assert api.calls[0] == ("create_repo", "fedmeki-org/fedavg-m",
                            {"repo_type": "model", "private": False, "exist_ok": True})
    upload = api.calls[1][2]
    assert upload["allow_patterns"] == planned["files"] and upload["commit_message"] == "FedAvg, 1 round"
    record = pushed["registry_record"]
    assert record["revision"] == "ab" * 20 and record["kind"] == "local" and record["tasks"] == list(TASKS)
    results = json.loads(scored_local[1].read_text())
    assert record["scores"] == {task: entry["main_score"] for task, entry in results["tasks"].items()}


def test_push_refuses_unknown_files_credentialed_data_and_folders_without_a_card(local_run, tmp_path):
    export_model(local_run, tmp_path / "repo")
    (tmp_path / "repo" / "notes.txt").write_text("scratch")
    with pytest.raises(UnsafeFileError, match="notes.txt"):
        push_model(tmp_path / "repo", "fedmeki-org/m", dry_run=True)
    (tmp_path / "repo" / "notes.txt").unlink()

    provenance = read_provenance(tmp_path / "repo")
    provenance["dataset"]["sources"]["mortality"]["credentialed"] = True
    write_provenance(tmp_path / "repo", provenance)
    api = RecordingApi()
    with pytest.raises(PublishRefusedError, match="credentialed data \\(mortality\\)"):
        push_model(tmp_path / "repo", "fedmeki-org/m", api=api)
    assert api.calls == []
    push_model(tmp_path / "repo", "fedmeki-org/m", private=True, api=api)
    assert api.calls[0][2]["private"] is True

    (tmp_path / "repo" / "README.md").unlink()
    with pytest.raises(PublishRefusedError, match="no model card"):
        push_model(tmp_path / "repo", "fedmeki-org/m", private=True, dry_run=True)


def test_pull_copies_a_cached_repo_into_a_folder_of_its_own(local_run, tmp_path, hub_cache):
    export_model(local_run, tmp_path / "repo")
    commit = hub_cache.publish(tmp_path / "repo", "fedmeki-org/pulled")
    source = pull_model("fedmeki-org/pulled", out=tmp_path / "copy")
    assert source.revision == commit and source.folder == tmp_path / "copy"
    for path in (tmp_path / "repo").iterdir():
        assert (tmp_path / "copy" / path.name).read_bytes() == path.read_bytes()
        assert not (tmp_path / "copy" / path.name).is_symlink()
    with pytest.raises(CheckpointError, match="Cannot download model fedmeki-org/absent"):
        pull_model("fedmeki-org/absent")


def test_the_shipped_registry_is_valid_and_records_pin_revisions(local_run, tmp_path):
    assert isinstance(load_registry(), list) and REGISTRY_FILE.is_file()
    export_model(local_run, tmp_path / "repo")
    record = registry_record(tmp_path / "repo", "fedmeki-org/fedavg-m", "cd" * 20).to_dict()
    (tmp_path / "registry.json").write_text(json.dumps([record]))
    (entry,) = load_registry(tmp_path / "registry.json")
    assert entry.repo_id == "fedmeki-org/fedavg-m" and entry.scores == {}
    assert pinned_revision("fedmeki-org/fedavg-m", tmp_path / "registry.json") == "cd" * 20
    assert pinned_revision("fedmeki-org/other", tmp_path / "registry.json") is None

    for broken, message in (({**record, "revision": "main"}, "40-hex"), ({**record, "kind": "big"}, "kind"),
                            ({**record, "scores": {"sepsis": 0.5}}, "scores name tasks"),
                            ({**record, "extra": 1}, "unknown fields")):
        (tmp_path / "broken.json").write_text(json.dumps([broken]))
        with pytest.raises(RegistryError, match=message):
            load_registry(tmp_path / "broken.json")
    (tmp_path / "twice.json").write_text(json.dumps([record, record]))
    with pytest.raises(RegistryError, match="more than once"):
        load_registry(tmp_path / "twice.json")


def test_hub_specs_are_parsed_strictly(local_run):
    with pytest.raises(InvalidParameterError, match="not a Hub model"):
        load_model("hf://no-slash")
    with pytest.raises(InvalidParameterError, match="not a Hub model"):
        load_model("hf://org/name@")
    with pytest.raises(InvalidParameterError, match="--client"):
        predict("hf://org/name", "unused", "unused", client=1)


def test_the_docs_name_every_refused_suffix():
    text = (Path(__file__).resolve().parents[2] / "docs" / "zoo.md").read_text()
    assert [suffix for suffix in PICKLE_SUFFIXES if f"`{suffix}`" not in text] == []


def test_the_card_of_a_baseline_does_not_claim_federated_privacy(local_run):
    folder = local_run / "model"
    config = model_config(json.loads((folder / "config.json").read_text()))
    provenance = read_provenance(folder)
    federated = render_model_card(config, provenance, kind="local", name="m")
    assert "Its raw data never left the clients" in federated
    for baseline, claim in (("centralised", "pooled"), ("local_only", "one client's data only")):
        provenance["method"]["algorithm"] = baseline
        card = render_model_card(config, provenance, kind="local", name="m")
        assert claim in card and "not federated" in card and "never left the clients" not in card


def test_a_file_that_is_not_fedmeki_results_is_refused(local_run, tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"tasks": {}}))
    with pytest.raises(InvalidParameterError, match="missing: references, submission"):
        export_model(local_run, tmp_path / "repo", results=tmp_path)
    (tmp_path / "results.json").write_text("not json")
    with pytest.raises(InvalidParameterError, match="not a results.json"):
        export_model(local_run, tmp_path / "repo", results=tmp_path / "results.json")
