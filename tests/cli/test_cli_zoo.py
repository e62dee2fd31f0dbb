"""`fedmeki zoo export|ls|pull|push` and `fedmeki predict --model hf://...`, run as a user runs them."""

import json
import pickle
import shutil

import pytest
from cli_helpers import assert_one_line_error, run

from fedmeki_eval.report import write_reports
from fedmeki_eval.scorer import score
from fedmeki_models.predict import predict
from fedmeki_models.run_config import make_run_config
from fedmeki_models.runs import train

REPO = "fedmeki-org/cli-model"


@pytest.mark.parametrize("verb", ["export", "ls", "pull", "push"])
def test_every_zoo_command_has_help_with_examples(verb):
    result = run("zoo", verb, "--help")
    assert result.returncode == 0 and "Examples" in result.stdout and f"fedmeki zoo {verb}" in result.stdout


@pytest.fixture(scope="module")
def exported(tiny_demo, tmp_path_factory):
    """A one-round FedAvg run, its submission and results (made in-process: train, predict and eval have their
    own CLI tests), and its repository folder written by `fedmeki zoo export` (tests must not modify them)."""
    tmp_path = tmp_path_factory.mktemp("zoo-cli")
    config = make_run_config(None, data=str(tiny_demo), tasks=("covid19", "mortality"), preset="small", rounds=1,
                             eval_every=0, training={"batch_size": 16})
    train(config, tmp_path / "run")
    predict(tmp_path / "run", tiny_demo, tmp_path / "sub")
    write_reports(score(tmp_path / "sub", references=tiny_demo, n_resamples=50), tmp_path / "reports")
    made = run("zoo", "export", tmp_path / "run", "--results", tmp_path / "reports" / "results.json",
               "--dataset-repo", "fedmeki-org/fedmeki-demo", "--repo-id", REPO, "--out", tmp_path / "repo",
               "--format", "json")
    assert made.returncode == 0, made.stderr
    return tmp_path, json.loads(made.stdout)


def test_export_push_dry_run_then_predict_from_the_offline_hub(exported, tiny_demo, tmp_path, hub_cache):
    made, exported = exported
    assert exported["files"] == [".eval_results/covid19.yaml", ".eval_results/mortality.yaml", "README.md",
                                 "config.json", "model.safetensors", "results.json"]
    assert exported["eval_results"] == 2
    planned = run("zoo", "push", made / "repo", REPO, "--dry-run", "--format", "json")
    assert planned.returncode == 0, planned.stderr
    assert json.loads(planned.stdout)["files"] == exported["files"]
    text = run("zoo", "push", made / "repo", REPO, "--dry-run")
    assert "Would upload 6 files to fedmeki-org/cli-model" in text.stdout and "  model.safetensors" in text.stdout

    commit = hub_cache.publish(made / "repo", REPO)
    predicted = run("predict", "--model", f"hf://{REPO}", "--data", tiny_demo, "--out", tmp_path / "sub-hub",
                    "--format", "json")
    assert predicted.returncode == 0, predicted.stderr
    assert json.loads(predicted.stdout)["model"] == {"repo_id": REPO, "revision": commit}
    for task in ("covid19", "mortality"):
        assert (tmp_path / "sub-hub" / f"{task}.jsonl").read_text() == (made / "sub" / f"{task}.jsonl").read_text()

    pulled = run("zoo", "pull", REPO, "--revision", commit, "--out", tmp_path / "pulled", "--format", "json")
    assert pulled.returncode == 0, pulled.stderr
    assert json.loads(pulled.stdout) == {"repo_id": REPO, "revision": commit, "folder": str(tmp_path / "pulled")}
    assert (tmp_path / "pulled" / "README.md").read_text() == (made / "repo" / "README.md").read_text()


def test_pickles_unknown_repos_and_bad_specs_fail_in_one_line(exported, tiny_demo, tmp_path, hub_cache):
    shutil.copytree(exported[0] / "repo", tmp_path / "repo")
    (tmp_path / "repo" / "pytorch_model.bin").write_bytes(pickle.dumps({"weights": 1}))
    hub_cache.publish(tmp_path / "repo", REPO)
    assert_one_line_error(run("zoo", "push", tmp_path / "repo", REPO, "--dry-run"), 1, "pytorch_model.bin")
    assert_one_line_error(run("predict", "--model", f"hf://{REPO}", "--data", tiny_demo, "--out", tmp_path / "s"),
                          1, "pytorch_model.bin")
    assert_one_line_error(run("zoo", "pull", "fedmeki-org/absent"), 1, "Cannot download model fedmeki-org/absent")
    assert_one_line_error(run("predict", "--model", "hf://just-a-name", "--data", tiny_demo, "--out", tmp_path / "s"),
                          2, "not a Hub model")
    assert not (tmp_path / "s").exists()


def test_ls_shows_the_shipped_registry_and_a_given_one(tmp_path):
    shipped = run("zoo", "ls", "--format", "json")
    assert shipped.returncode == 0 and isinstance(json.loads(shipped.stdout), list)
    record = {"repo_id": REPO, "revision": "ab" * 20, "kind": "local", "tasks": ["covid19", "mortality"],
              "algorithm": "fedavg", "setting": "multi_task", "dataset": "fedmeki-org/fedmeki-demo (e3b530caebd542e1)",
              "scores": {"covid19": 0.75}}
    (tmp_path / "registry.json").write_text(json.dumps([record]))
    listed = run("zoo", "ls", "--registry", tmp_path / "registry.json")
    assert listed.returncode == 0, listed.stderr
    assert f"hf://{REPO}@abababababab" in listed.stdout and "covid19 0.750" in listed.stdout
    (tmp_path / "registry.json").write_text(json.dumps([{**record, "revision": "main"}]))
    assert_one_line_error(run("zoo", "ls", "--registry", tmp_path / "registry.json"), 2, "40-hex commit")
