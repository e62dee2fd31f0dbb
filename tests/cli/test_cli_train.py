"""`fedmeki train` and `fedmeki predict` as a user runs them: real processes on the tiny demo.

Library-level engine behaviour (determinism, dropped clients, baselines) is tested in
tests/fedmeki_models/test_engine.py; here every check goes through the installed console script.
Runs shared by several tests are module-scoped fixtures; tests only read them.
"""

import json
import os
import signal
import subprocess
import time

import pytest
import torch
import yaml
from cli_helpers import FEDMEKI, assert_one_line_error
from cli_helpers import run as run_cli
from safetensors.torch import load_file

from fedmeki_data.hub import load_task

# Torch's default of one thread per core oversubscribes shared CPUs (rounds ran 20-50x slower); one
# thread per process keeps the module near a minute and changes nothing the tests compare.
ENV = {"OMP_NUM_THREADS": "1"}
TASKS = ("covid19", "mortality")
OTHER_TASKS = {"lung_opacity", "ecg_abnormal", "sepsis", "enlarged_cardiomediastinum", "medical_vqa",
               "ecg_noise_clarification"}


def run(*args, env=None):
    return run_cli(*args, env={**ENV, **(env or {})})


def train_options(data, *, rounds=1, tasks=TASKS):
    return ["train", "--data", data, "--preset", "small", "--batch-size", "16", "--rounds", str(rounds),
            "--tasks", ",".join(tasks)]


def kill_options(data):
    """Three rounds of three local epochs: about a second a round, so a kill after round 1 lands before round 3."""
    return [*train_options(data, rounds=3), "--local-epochs", "3", "--eval-every", "0"]


def hint(result):
    return result.stderr.strip().splitlines()[1]


def weights(run_folder, model="model"):
    return load_file(str(run_folder / model / "model.safetensors"))


def jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def trained(tiny_demo, tmp_path_factory):
    """One round of FedAvg on covid19 and mortality, text output: (run folder, completed process)."""
    folder = tmp_path_factory.mktemp("train") / "run"
    return folder, run(*train_options(tiny_demo), "--out", folder)


@pytest.fixture(scope="module")
def submission(trained, tiny_demo):
    """`fedmeki predict` of the trained run: (submission folder, completed process)."""
    folder = trained[0].parent / "submission"
    return folder, run("predict", "--model", trained[0], "--data", tiny_demo, "--out", folder)


@pytest.fixture(scope="module")
def straight(tiny_demo, tmp_path_factory):
    """The uninterrupted run the killed-and-resumed one must equal, with JSON output."""
    folder = tmp_path_factory.mktemp("straight") / "run"
    return folder, run(*kill_options(tiny_demo), "--out", folder, "--format", "json")


@pytest.fixture(scope="module")
def local_run(tiny_demo, tmp_path_factory):
    folder = tmp_path_factory.mktemp("local") / "run"
    result = run(*train_options(tiny_demo, tasks=("covid19",)), "--algorithm", "local_only", "--out", folder)
    assert result.returncode == 0, result.stderr
    return folder


@pytest.mark.parametrize("command", ["train", "predict"])
def test_help_shows_examples(command):
    result = run(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Examples:" in result.stdout and f"fedmeki {command} --" in result.stdout


def test_train_prints_the_results_table_and_writes_a_run_folder(trained):
    folder, result = trained
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    header = next(line for line in result.stdout.splitlines() if "task" in line and "f1" in line)
    assert "accuracy" in header and "auroc" in header
    assert all(any(line.split()[:1] == [task] for line in result.stdout.splitlines()) for task in TASKS)
    assert "Communication:" in result.stdout and f"Run folder: {folder}" in result.stdout
    assert json.loads((folder / "run.json").read_text())["status"] == "completed"
    assert (folder / "model" / "model.safetensors").is_file() and (folder / "curves.png").is_file()


def test_json_format_prints_exactly_one_document(straight):
    folder, result = straight
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)  # raises on anything around or after the one document
    assert summary["status"] == "completed" and summary["run"] == str(folder)
    assert summary["method"]["rounds"] == 3 and set(summary["test"]) == set(TASKS)
    assert summary == {**json.loads((folder / "run.json").read_text()), "run": str(folder)}


def test_predict_writes_one_line_per_test_record(submission, tiny_demo):
    folder, result = submission
    assert result.returncode == 0, result.stderr
    assert f"fedmeki eval {folder}" in result.stdout
    assert (folder / "submission.json").is_file()
    assert sorted(path.name for path in folder.glob("*.jsonl")) == ["covid19.jsonl", "mortality.jsonl"]
    for task in TASKS:
        lines = jsonl(folder / f"{task}.jsonl")
        assert sorted(line["id"] for line in lines) == sorted(load_task(tiny_demo, task, "test")["id"])
        for line in lines:
            assert set(line) == {"id", "prediction", "score"}
            assert 0.0 <= line["score"] <= 1.0
            assert line["prediction"] == ("yes" if line["score"] >= 0.5 else "no")
    metadata = json.loads((folder / "submission.json").read_text())
    manifest = json.loads((tiny_demo / "fedmeki_manifest.json").read_text())
    assert metadata["method"]["algorithm"] == "fedavg" and metadata["method"]["rounds"] == 1
    assert metadata["dataset"]["fingerprint"] == manifest["fingerprint"]


def test_eval_scores_the_predicted_tasks_and_reports_the_rest_missing(submission):
    folder, _ = submission
    scored = run("eval", folder, "--format", "json")
    assert scored.returncode == 0, scored.stderr
    results = json.loads(scored.stdout)
    assert set(results["tasks"]) == set(TASKS)
    assert all(results["tasks"][task]["main_metric"] == "f1" and results["tasks"][task]["metrics"] for task in TASKS)
    assert set(results["missing_tasks"]) == OTHER_TASKS
    assert results["summary"]["training"]["n_tasks"] == 2
    text = run("eval", folder)
    assert text.returncode == 0, text.stderr
    assert "covid19" in text.stdout and "mortality" in text.stdout


def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_run(straight, tiny_demo, tmp_path):
    folder = tmp_path / "killed"
    checkpoints = folder / "checkpoints"
    with open(tmp_path / "stderr.txt", "w") as stderr:
        process = subprocess.Popen([FEDMEKI, *map(str, kill_options(tiny_demo)), "--out", str(folder)],
                                   stdout=subprocess.DEVNULL, stderr=stderr, env={**os.environ, **ENV})
        try:
            deadline = time.monotonic() + 120
            while not any(checkpoints.glob("round_*")):
                assert process.poll() is None, (tmp_path / "stderr.txt").read_text()
                assert time.monotonic() < deadline, "no checkpoint within 120 s"
                time.sleep(0.02)
            process.kill()
            assert process.wait(timeout=30) == -signal.SIGKILL  # it was still running: killed, not finished
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    killed_at = max(int(path.name.removeprefix("round_")) for path in checkpoints.glob("round_*"))
    assert killed_at < 3
    assert json.loads((folder / "run.json").read_text())["status"] == "running"
    assert not (folder / "model").exists()

    resumed = run("train", "--out", folder, "--resume", env={"FEDMEKI_LOG_LEVEL": "INFO"})

    assert resumed.returncode == 0, resumed.stderr
    assert f"after round {killed_at}" in resumed.stderr  # continued from the checkpoint, not from scratch
    assert json.loads((folder / "run.json").read_text())["status"] == "completed"
    assert [record["round"] for record in json.loads((folder / "history.json").read_text())] == [1, 2, 3]
    expected, got = weights(straight[0]), weights(folder)
    assert expected.keys() == got.keys()
    for key in expected:
        assert torch.equal(expected[key], got[key]), key


def test_config_file_and_command_line_override(trained, tmp_path):
    config = yaml.safe_load((trained[0] / "config.yaml").read_text())
    config.update(rounds=2, seed=7, eval_every=0)
    config["training"]["lr"] = 0.002
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))

    result = run("train", "--config", tmp_path / "run.yaml", "--seed", "9", "--out", tmp_path / "run2",
                 "--format", "json")

    assert result.returncode == 0, result.stderr
    assert yaml.safe_load((tmp_path / "run2" / "config.yaml").read_text()) == {**config, "seed": 9}
    method = json.loads(result.stdout)["method"]
    assert (method["rounds"], method["seed"]) == (2, 9)
    assert len(json.loads((tmp_path / "run2" / "history.json").read_text())) == 2


@pytest.mark.parametrize("args, message, hint_text", [
    (["--algorithm", "fedavgg"], "Unknown FL algorithm 'fedavgg'", "fedavg"),
    (["--tasks", "sepsis"], "'sepsis' is a validation task", "covid19"),
    (["--param", "mu"], "--param 'mu' is not NAME=VALUE", "mu=0.01"),
])
def test_bad_train_options_exit_2_and_write_nothing(tiny_demo, tmp_path, args, message, hint_text):
    result = run(*train_options(tiny_demo), *args, "--out", tmp_path / "run")
    assert_one_line_error(result, 2, message)
    assert hint_text in hint(result)
    assert not (tmp_path / "run").exists()


def test_an_existing_run_folder_needs_resume_or_overwrite(trained, tiny_demo):
    folder = trained[0]
    before = (folder / "run.json").read_text()
    result = run(*train_options(tiny_demo), "--out", folder)
    assert_one_line_error(result, 2, "already exists")
    assert "--resume" in hint(result) and "--overwrite" in hint(result)
    assert (folder / "run.json").read_text() == before


def test_resume_on_a_folder_that_is_not_a_run_exits_1(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    result = run("train", "--out", tmp_path, "--resume")
    assert_one_line_error(result, 1, "is not a run folder")  # CheckpointError: a runtime failure
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]


def test_predict_on_a_folder_that_is_neither_a_run_nor_a_model_exits_1(tiny_demo, tmp_path):
    result = run("predict", "--model", tiny_demo, "--data", tiny_demo, "--out", tmp_path / "sub")
    assert_one_line_error(result, 1, "is neither a model folder")
    assert not (tmp_path / "sub").exists()


def test_predict_on_a_local_only_run_needs_a_client(local_run, tiny_demo, tmp_path):
    result = run("predict", "--model", local_run, "--data", tiny_demo, "--out", tmp_path / "sub")
    assert_one_line_error(result, 1, "local-only run with 5 client models")
    assert "--client" in hint(result)
    assert not (tmp_path / "sub").exists()

    picked = run("predict", "--model", local_run, "--client", "0", "--data", tiny_demo, "--out", tmp_path / "sub",
                 "--format", "json")
    assert picked.returncode == 0, picked.stderr
    assert json.loads(picked.stdout)["method"]["algorithm"] == "local_only"
    assert sorted(path.name for path in (tmp_path / "sub").glob("*.jsonl")) == ["covid19.jsonl"]
    ids = [line["id"] for line in jsonl(tmp_path / "sub" / "covid19.jsonl")]
    assert sorted(ids) == sorted(load_task(tiny_demo, "covid19", "test")["id"])
