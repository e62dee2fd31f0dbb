"""`fedmeki eval`, `fedmeki eval template` and `fedmeki validate` as a user runs them."""

import json
import shutil

import pytest
from cli_helpers import assert_one_line_error, run


def test_template_then_score_end_to_end(tiny_demo, tmp_path):
    submission = tmp_path / "submission"
    made = run("eval", "template", submission, "--references", tiny_demo)
    assert made.returncode == 0, made.stderr
    assert f"fedmeki eval {submission}" in made.stdout
    validated = run("validate", submission, "--format", "json")
    assert validated.returncode == 0 and json.loads(validated.stdout)["valid"] is True
    scored = run("eval", submission, "--plot", tmp_path / "scores.png", "--format", "json")
    assert scored.returncode == 0, scored.stderr
    results = json.loads(scored.stdout)
    assert len(results["tasks"]) == 8 and results["protocol"] == "strict"
    assert (submission / "results" / "results.json").exists()
    assert (tmp_path / "scores.png").read_bytes()[:4] == b"\x89PNG"
    text = run("eval", submission, "--protocol", "paper", "--out", tmp_path / "reports")
    assert text.returncode == 0, text.stderr
    assert "ecg_noise_clarification" in text.stdout and "Mean main score" in text.stdout
    assert (tmp_path / "reports" / ".eval_results" / "sepsis.yaml").exists()


def test_invalid_submission_exits_1_naming_file_and_line(tiny_demo, tmp_path):
    submission = tmp_path / "submission"
    run("eval", "template", submission, "--references", tiny_demo)
    lines = (submission / "covid19.jsonl").read_text().splitlines()
    lines[2] = lines[1]
    (submission / "covid19.jsonl").write_text("\n".join(lines) + "\n")
    for command in (["validate", submission], ["eval", submission]):
        result = run(*command)
        assert_one_line_error(result, 1, "covid19.jsonl:3:")
        assert "duplicate" in result.stderr


def test_usage_errors_exit_2(tmp_path):
    assert_one_line_error(run("eval", tmp_path / "nowhere"), 2, "nowhere")
    assert_one_line_error(run("eval", "template", tmp_path / "t", "--references", tmp_path / "no-data"), 2,
                          "No dataset folder")
    assert run("eval", tmp_path, "--protocol", "loose").returncode == 2


def test_help_has_examples():
    for command in (["eval", "score"], ["eval", "template"], ["validate"]):
        result = run(*command, "--help")
        assert result.returncode == 0 and "Examples" in result.stdout


def test_references_from_a_hub_repo_id_offline(tiny_demo, tmp_path):
    cache = tmp_path / "hub-cache"
    snapshot = cache / "datasets--fedmeki-org--fedmeki-demo" / "snapshots" / ("a" * 40)
    shutil.copytree(tiny_demo, snapshot)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("a" * 40)
    env = {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    submission = tmp_path / "submission"
    assert run("eval", "template", submission, "--references", "fedmeki-org/fedmeki-demo", env=env).returncode == 0
    scored = run("eval", submission, "--format", "json", env=env)  # references named in submission.json
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["references"]["source"] == "fedmeki-org/fedmeki-demo"


@pytest.mark.parametrize("break_it, message", [
    # One case per family: metadata, JSON syntax, values, file names, schema.
    (lambda s: (s / "submission.json").unlink(), "[missing-metadata]"),
    (lambda s: (s / "sepsis.jsonl").write_text('{"id": "x", "prediction": "no"\n'), "sepsis.jsonl:1:"),
    (lambda s: (s / "covid19.jsonl").write_text(
        (s / "covid19.jsonl").read_text().replace('"score": 0.5', '"score": NaN', 1)), "[json-line]"),
    (lambda s: (s / "covid.jsonl").write_text(""), "[unknown-task-file]"),
    (lambda s: (s / "submission.json").write_text(  # a 17-digit fingerprint
        (s / "submission.json").read_text().replace('"fingerprint": "', '"fingerprint": "0', 1)), "[metadata-schema]"),
])
def test_malformed_submissions_exit_1_in_one_line(tiny_demo, tmp_path, break_it, message):
    submission = tmp_path / "submission"
    run("eval", "template", submission, "--references", tiny_demo)
    break_it(submission)
    assert_one_line_error(run("eval", submission, "--references", tiny_demo), 1, message)
