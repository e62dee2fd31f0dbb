"""The `fedmeki` console script, run as a user runs it: real processes, real folders."""

import json
import subprocess

import pytest
from cli_helpers import assert_one_line_error, run


@pytest.mark.parametrize("command", [["tasks", "ls"], ["data", "demo"], ["data", "info"], ["data", "push"], ["demo"]])
def test_every_command_has_help_with_examples(command):
    result = run(*command, "--help")
    assert result.returncode == 0
    assert "Examples" in result.stdout and "fedmeki " + " ".join(command) in result.stdout


def test_tasks_ls_in_both_formats():
    records = json.loads(run("tasks", "ls", "--format", "json").stdout)
    assert [r["id"] for r in records][:2] == ["lung_opacity", "covid19"] and len(records) == 8
    assert records[3]["sources"][0]["credentialed"] is True
    text = run("tasks", "ls").stdout
    assert all(r["id"] in text for r in records)


@pytest.mark.parametrize("args, message", [
    (["--tasks", "pneumonia"], "Unknown task 'pneumonia'"),
    (["--partition", "dirichlet", "--alpha", "0"], "alpha must be a finite number > 0"),
    (["--partition", "dirichlet", "--min-size", "0"], "min_size must be >= 1"),
    (["--partition", "iid", "--clients", "500"], "Cannot give 500 clients"),
    (["--partition", "paper", "--clients", "3"], "paper partition has 5 clients"),
    (["--partition", "natural"], "needs natural sites"),
    (["--size", "huge"], "Unknown size 'huge'"),
    (["--clients", "many"], "Invalid value for '--clients'"),
])
def test_bad_demo_options_fail_in_one_line_and_write_nothing(tmp_path, args, message):
    result = run("data", "demo", "--out", tmp_path / "out", "--size", "tiny", *args)
    assert_one_line_error(result, 2, message)
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_overwrite(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("keep me")
    assert_one_line_error(run("data", "demo", "--out", tmp_path / "out", "--size", "tiny"), 2, "already exists")
    assert_one_line_error(run("data", "demo", "--out", tmp_path / "out", "--size", "tiny", "--overwrite"), 2,
                          "not a FedMEKI dataset folder")
    assert (tmp_path / "out" / "notes.txt").read_text() == "keep me"


def test_info_on_a_folder_that_is_not_a_dataset(tmp_path):
    assert_one_line_error(run("data", "info", tmp_path), 2, "is not a FedMEKI dataset folder")
    assert_one_line_error(run("data", "info", tmp_path / "missing"), 2, "No dataset folder")


def test_demo_info_and_plot_round_trip(tmp_path):
    built = run("data", "demo", "--out", tmp_path / "d", "--size", "tiny", "--partition", "dirichlet",
                "--alpha", "0.3", "--clients", "4", "--tasks", "covid19", "--tasks", "sepsis", "--format", "json")
    assert built.returncode == 0, built.stderr
    summary = json.loads(built.stdout)
    assert list(summary["tasks"]) == ["covid19", "sepsis"]
    assert summary["tasks"]["covid19"]["n_clients"] == 4 and summary["partition"]["alpha"] == 0.3
    info = run("data", "info", tmp_path / "d", "--plot", tmp_path / "clients.png")
    assert info.returncode == 0, info.stderr
    assert "client_3" in info.stdout and summary["fingerprint"] in info.stdout
    assert (tmp_path / "clients.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_push_dry_run_and_refusal(tiny_demo, tmp_path):
    dry = run("data", "push", tiny_demo, "org/name", "--dry-run", "--format", "json")
    assert dry.returncode == 0 and "README.md" in json.loads(dry.stdout)["files"]
    copy = tmp_path / "mimic"
    subprocess.run(["cp", "-r", str(tiny_demo), str(copy)], check=True)
    manifest = json.loads((copy / "fedmeki_manifest.json").read_text())
    manifest["tasks"]["mortality"]["credentialed"] = True
    (copy / "fedmeki_manifest.json").write_text(json.dumps(manifest))
    assert_one_line_error(run("data", "push", copy, "org/name"), 2, "Refusing to publish credentialed data")
    assert run("data", "push", copy, "org/name", "--private", "--dry-run").returncode == 0


def test_top_level_demo_trains_predicts_scores_and_reruns(tmp_path):
    for _ in range(2):
        result = run("demo", "--size", "tiny", "--rounds", "1", "--out", tmp_path / "demo")
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "demo" / "data" / "fedmeki_manifest.json").exists()
    assert (tmp_path / "demo" / "data_clients.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "demo" / "run" / "curves.png").read_bytes()[:4] == b"\x89PNG"
    results = json.loads((tmp_path / "demo" / "submission" / "results" / "results.json").read_text())
    scored = {task for task, entry in results["tasks"].items() if entry.get("metrics")}
    assert scored == {"lung_opacity", "covid19", "ecg_abnormal", "mortality"}
    fm_results = json.loads((tmp_path / "demo" / "submission-fm" / "results" / "results.json").read_text())
    assert len([task for task, entry in fm_results["tasks"].items() if entry.get("metrics")]) == 8
    assert (tmp_path / "demo" / "run" / "fm" / "model.safetensors").is_file()
    assert "fedavg multi_task" in result.stdout and "Standard scorer" in result.stdout
    side_by_side = result.stdout[result.stdout.index("Side by side"):]
    assert all(task in side_by_side for task in ("sepsis", "medical_vqa", "ecg_noise_clarification"))
    card = (tmp_path / "demo" / "zoo" / "foundation" / "README.md").read_text()
    assert "| `medical_vqa` | validation |" in card and "synthetic data" in card
    assert (tmp_path / "demo" / "zoo" / "local" / "model.safetensors").is_file()
    assert f"fedmeki zoo push {tmp_path / 'demo' / 'zoo' / 'foundation'}" in result.stdout


def test_debug_mode_shows_the_traceback(tmp_path):
    result = run("data", "info", tmp_path, env={"FEDMEKI_DEBUG": "1"})
    assert result.returncode != 0 and "Traceback" in result.stderr
