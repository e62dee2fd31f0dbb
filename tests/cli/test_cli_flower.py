"""`fedmeki flower` and the Flower options of `fedmeki train` as a user runs them (no federation started)."""

import json

from cli_helpers import assert_one_line_error
from cli_helpers import run as run_cli


def test_flower_prints_one_supernode_per_client_of_the_dataset(tiny_demo):
    result = run_cli("flower", "--superlink", "fl.example.org:9093", "--data", tiny_demo, "--data-dir", "/srv/d",
                     "--format", "json")

    assert result.returncode == 0, result.stderr
    steps = json.loads(result.stdout)["steps"]
    nodes = [step for step in steps if step["command"].startswith("flower-supernode")]
    assert [step["where"] for step in nodes] == [f"hospital {k}" for k in range(5)]
    assert all("data-dir=\"/srv/d\"" in step["command"] for step in nodes)


def test_flower_text_output_numbers_the_steps():
    result = run_cli("flower", "--superlink", "10.0.0.1:9093", "--clients", "2", "--insecure")

    assert result.returncode == 0, result.stderr
    assert " 1. server:\n    flower-superlink --insecure --host 0.0.0.0 --port 9093" in result.stdout
    assert "client-id=1'" in result.stdout


def test_flower_without_a_number_of_clients_is_a_one_line_error():
    assert_one_line_error(run_cli("flower"), 2, "how many hospitals")


def test_train_on_flower_refuses_baselines_resume_and_stray_options(tiny_demo, tmp_path):
    assert_one_line_error(run_cli("train", "--engine", "flower", "--data", tiny_demo, "--algorithm", "centralised",
                                  "--out", tmp_path / "a"), 2, "runs in-process only")
    assert_one_line_error(run_cli("train", "--engine", "flower", "--data", tiny_demo, "--resume",
                                  "--out", tmp_path / "b"), 2, "cannot be resumed")
    assert_one_line_error(run_cli("train", "--data", tiny_demo, "--superlink", "10.0.0.1:9093",
                                  "--out", tmp_path / "c"), 2, "need --engine flower")
    assert not any(tmp_path.iterdir())
