"""The Flower engine on real processes: a SuperLink and three SuperNodes on 127.0.0.1 over a 3-client dataset.

The tests share one pytest-xdist worker (``make test`` runs ``--dist loadfile``), so one deployment runs
at a time: its processes take the CPU.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import torch
from safetensors.torch import load_file

from fedmeki_data.partition import PartitionConfig
from fedmeki_data.synthetic.demo import build_demo
from fedmeki_models.errors import FlowerDeploymentError, TooFewClientsError
from fedmeki_models.flower.app import ServerSettings
from fedmeki_models.flower.deployment import LocalDeployment, _stop_trees
from fedmeki_models.run_config import make_run_config
from fedmeki_models.runs import train

SITES = 3


@pytest.fixture(scope="module")
def three_sites(tmp_path_factory):
    """A tiny demo of the ECG task split IID over three sites."""
    out = tmp_path_factory.mktemp("flower-data") / "data"
    build_demo(out, size="tiny", partition_config=PartitionConfig(scheme="iid", n_clients=SITES),
               tasks=["ecg_abnormal"])
    return out


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """Every process of these tests computes with one torch thread: same thread count, same float sums."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def deployment(three_sites, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("flower-deployment")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", "1")  # read once, when the deployment starts its SuperNodes
        with LocalDeployment(three_sites, SITES, workdir) as running:
            yield running
    assert _processes_under(workdir) == [], "a Flower process outlived its deployment"


def _config(data, **changes):
    values = {"data": str(data), "tasks": ["ecg_abnormal"], "preset": "small", "rounds": 2, "seed": 7,
              "eval_every": 0, "training": {"batch_size": 16, "lr": 1e-3}, **changes}
    return make_run_config(None, **values)


def _processes_under(folder: Path) -> list[psutil.Process]:
    """Live processes whose FLWR_HOME lies under ``folder``."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() != psutil.STATUS_ZOMBIE and str(folder) in process.environ().get("FLWR_HOME", ""):
                found.append(process)
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
    return found


def _assert_close_weights(flower_run: Path, in_process_run: Path) -> None:
    flower, local = load_file(str(flower_run / "model" / "model.safetensors")), load_file(
        str(in_process_run / "model" / "model.safetensors"))
    assert flower.keys() == local.keys()
    for key in local:
        assert torch.allclose(flower[key].double(), local[key].double(), rtol=0, atol=1e-6), key


def _kill_when_connected(deployment: LocalDeployment, client: int) -> threading.Thread:
    """Kill ``client``'s SuperNode as soon as the ServerApp has every site and sends round 1."""
    log = deployment.logs / "serverapp.log"
    start = log.stat().st_size if log.exists() else 0

    def watch() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if log.exists():
                with log.open(encoding="utf-8", errors="replace") as handle:
                    handle.seek(start)
                    if f"all {SITES} clients connected" in handle.read():
                        deployment.kill_node(client)
                        return
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def test_cli_flower_run_of_fedavg_equals_the_in_process_engine(three_sites, tmp_path):
    options = ["--data", three_sites, "--tasks", "ecg_abnormal", "--preset", "small", "--rounds", "2",
               "--seed", "7", "--eval-every", "0", "--batch-size", "16", "--lr", "1e-3"]
    train(_config(three_sites), tmp_path / "in-process")
    scratch = tmp_path / "tmp"
    scratch.mkdir()

    process = subprocess.Popen([str(Path(sys.executable).with_name("fedmeki")), "train", "--engine", "flower",
                                *map(str, options), "--out", str(tmp_path / "flower"), "--format", "json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "TMPDIR": str(scratch)})
    try:
        stdout, stderr = process.communicate(timeout=600)
    finally:
        _stop_trees([process], signal.SIGKILL)

    assert process.returncode == 0, stderr
    summary = json.loads(stdout)
    assert summary["engine"] == "flower" and sorted(summary["sites"]) == ["0", "1", "2"]
    assert summary["dropped"] == []
    _assert_close_weights(tmp_path / "flower", tmp_path / "in-process")
    local = json.loads((tmp_path / "in-process" / "history.json").read_text())
    flower = json.loads((tmp_path / "flower" / "history.json").read_text())
    assert [r["clients"] for r in flower] == [r["clients"] for r in local] == [[0, 1, 2]] * 2
    assert flower[-1]["bytes_sent"] == local[-1]["bytes_sent"] > 0
    assert flower[-1]["test"]["ecg_abnormal"]["auroc"] == pytest.approx(local[-1]["test"]["ecg_abnormal"]["auroc"],
                                                                        abs=1e-6)
    assert flower[-1]["validation"]["ecg_abnormal"]["clients"].keys() == {"0", "1", "2"}
    assert flower[-1]["validation"]["ecg_abnormal"]["mean"]["loss"] == pytest.approx(
        local[-1]["validation"]["ecg_abnormal"]["mean"]["loss"], abs=1e-5)
    logs = {path.name for path in (tmp_path / "flower" / "flower").iterdir()}
    assert logs == {"serverapp.log", "superlink.log", "supernode-0.log", "supernode-1.log", "supernode-2.log"}
    assert (tmp_path / "flower" / "curves.png").is_file()
    assert _processes_under(scratch) == [], "fedmeki train left a Flower process running"


def test_fedprox_on_flower_equals_the_in_process_engine(deployment, three_sites, tmp_path):
    config = _config(three_sites, algorithm="fedprox", algorithm_params={"mu": 0.1})
    train(config, tmp_path / "in-process")

    summary = deployment.submit(ServerSettings(config=config, out=tmp_path / "flower"))

    assert summary["status"] == "completed" and summary["algorithm"] == {"name": "fedprox", "mu": 0.1}
    _assert_close_weights(tmp_path / "flower", tmp_path / "in-process")


def test_a_site_killed_during_a_round_is_dropped_and_the_run_completes(deployment, three_sites, tmp_path):
    watcher = _kill_when_connected(deployment, 2)
    try:
        summary = deployment.submit(ServerSettings(config=_config(three_sites, rounds=1, min_clients=2),
                                                   out=tmp_path / "run"))
    finally:
        watcher.join(timeout=1)
        deployment.start_node(2)

    assert summary["status"] == "completed"
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [(d["client"], d["task"]) for d in history[0]["dropped"]] == [(2, "ecg_abnormal")]
    assert history[0]["dropped"][0]["error"].startswith("NodeUnavailable: node ")
    assert [(d["round"], d["client"]) for d in summary["dropped"]] == [(1, 2)]
    assert set(history[-1]["validation"]["ecg_abnormal"]["clients"]) == {"0", "1"}


def test_a_site_lost_below_min_clients_stops_the_run_with_a_clear_error(deployment, three_sites, tmp_path):
    watcher = _kill_when_connected(deployment, 1)
    settings = ServerSettings(config=_config(three_sites, rounds=1, min_clients=3), out=tmp_path / "run",
                              round_timeout=45.0)
    try:
        # Whichever comes first: the round timeout (NoReply) or the missed heartbeats (NodeUnavailable).
        with pytest.raises(TooFewClientsError, match=r"Round 1, ecg_abnormal: 2 client\(s\) finished, fewer than "
                                                     r"min_clients=3 \(client 1: (NoReply|NodeUnavailable): node \d+"):
            deployment.submit(settings)
    finally:
        watcher.join(timeout=1)
        deployment.start_node(1)

    status = json.loads((tmp_path / "run" / "run.json").read_text())
    assert status["status"] == "failed" and "TooFewClientsError" in status["error"]


def test_the_server_waits_for_every_site_and_says_which_is_missing(deployment, three_sites, tmp_path):
    deployment.kill_node(0)
    settings = ServerSettings(config=_config(three_sites), out=tmp_path / "run", connect_timeout=15.0)
    try:
        with pytest.raises(FlowerDeploymentError, match=r"2 of 3 clients connected after 15 s; missing client\(s\) 0"):
            deployment.submit(settings)
    finally:
        deployment.start_node(0)
    assert "waiting for clients: " in (deployment.logs / "serverapp.log").read_text()


def test_ctrl_c_stops_every_process_and_marks_the_run_interrupted(three_sites, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    command = [str(Path(sys.executable).with_name("fedmeki")), "train", "--engine", "flower", "--data",
               str(three_sites), "--tasks", "ecg_abnormal", "--preset", "small", "--rounds", "50", "--out",
               str(tmp_path / "run")]
    # pytest-xdist workers ignore SIGINT, and children inherit that: give the CLI a terminal's Ctrl-C back.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "TMPDIR": str(scratch)},
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    run_file = tmp_path / "run" / "run.json"
    try:
        deadline = time.monotonic() + 300
        while not (run_file.exists() and json.loads(run_file.read_text() or "{}").get("status") == "running"):
            assert process.poll() is None and time.monotonic() < deadline, "the run did not start"
            time.sleep(0.2)

        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        _stop_trees([process], signal.SIGKILL)

    assert process.returncode == 130, stderr
    assert json.loads(run_file.read_text())["status"] == "interrupted"
    assert (tmp_path / "run" / "flower" / "superlink.log").is_file()
    assert _processes_under(scratch) == [], "Ctrl-C left a Flower process running"
