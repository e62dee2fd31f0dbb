"""`fedmeki approaches` as a user runs it: the paper's named approaches, each run trained once."""

import json

from cli_helpers import assert_one_line_error
from cli_helpers import run as run_cli


def test_ls_lists_the_sixteen_approaches_in_the_papers_notation():
    result = run_cli("approaches", "ls", "--format", "json")

    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert len(records) == 16 and len({r["run"] for r in records}) == 12
    assert {r["label"] for r in records if r["name"].startswith("fedprox_m")} == {
        "FedProx_m", "FedProx_m^†", "FedProx_m^*", "FedProx_m^F"}


def test_run_trains_each_run_once_and_writes_one_submission_per_approach(tiny_demo, tmp_path):
    result = run_cli("approaches", "run", "fedprox_s_returned,fedprox_s_fm,fedprox_s_public", "--data", tiny_demo,
                     "--preset", "small", "--rounds", "1", "--experts", "2", "--out", tmp_path, "--format", "json",
                     env={"OMP_NUM_THREADS": "1"})

    assert result.returncode == 0, result.stderr
    assert sorted(json.loads(result.stdout)) == ["fedprox_s_fm", "fedprox_s_public", "fedprox_s_returned"]
    assert sorted(path.name for path in (tmp_path / "runs").iterdir()) == [
        "fedprox_s_injection", "fedprox_s_public_finetune"]
    files = {name: sorted(path.name for path in (tmp_path / "submissions" / name).glob("*.jsonl"))
             for name in ("fedprox_s_fm", "fedprox_s_returned", "fedprox_s_public")}
    assert len(files["fedprox_s_fm"]) == 8 and len(files["fedprox_s_returned"]) == 4
    metadata = json.loads((tmp_path / "submissions" / "fedprox_s_fm" / "submission.json").read_text())
    assert metadata["name"] == "FedProx_s^F" and metadata["method"]["variant"] == "foundation"
    assert run_cli("validate", tmp_path / "submissions" / "fedprox_s_public", "--references",
                   tiny_demo).returncode == 0


def test_an_unknown_approach_is_a_one_line_error(tiny_demo, tmp_path):
    assert_one_line_error(run_cli("approaches", "run", "fedavg_x_fm", "--data", tiny_demo, "--out", tmp_path),
                          2, "Unknown approach")
