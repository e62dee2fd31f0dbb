"""The Flower engine's pieces that need no running federation: message codec, app folder, settings, commands."""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch
from flwr.clientapp import ClientApp
from flwr.serverapp import ServerApp

from fedmeki_models.config import model_config
from fedmeki_models.errors import FlowerDeploymentError, ModelConfigError, TooFewClientsError
from fedmeki_models.fl.types import ClientUpdate
from fedmeki_models.flower import require_flower, wire
from fedmeki_models.flower.app import ServerSettings, write_app, write_settings
from fedmeki_models.flower.deployment import _outcome, deployment_commands
from fedmeki_models.run_config import make_run_config
from fedmeki_models.runs import check_remote


def _run_config(**changes):
    return make_run_config(None, data="/data/demo", tasks=["ecg_abnormal", "mortality"], algorithm="fedprox",
                           algorithm_params={"mu": 0.05}, preset="small", rounds=3, seed=11,
                           training={"batch_size": 8, "lr": 5e-4}, **changes)


def test_a_train_instruction_carries_exact_weights_and_the_whole_run():
    config = _run_config()
    model = model_config("small", tasks=("ecg_abnormal", "mortality"))
    weights = {"a": torch.randn(3, 4).t(), "b.num_batches_tracked": torch.tensor(7), "c": torch.randn(2).double()}
    payload = {"control": torch.randn(5)}

    order = wire.read_instruction(wire.instruction(config, model, weights, round_=2, tasks=("mortality",),
                                                   payload=payload))

    assert order.run == config and order.model == model
    assert order.round == 2 and order.tasks == ("mortality",)
    assert list(order.weights) == list(weights)
    for key, tensor in weights.items():
        assert order.weights[key].dtype == tensor.dtype and torch.equal(order.weights[key], tensor)
    assert torch.equal(order.payload["control"], payload["control"])


def test_an_update_reply_round_trips_counts_loss_and_extras():
    update = ClientUpdate(client=2, weights={"w": torch.randn(4)}, num_examples=38, num_steps=3, loss=0.6931,
                          extras={"delta_c": torch.randn(4)})

    back = wire.read_update(wire.update_reply(update))

    assert (back.client, back.num_examples, back.num_steps, back.loss) == (2, 38, 3, 0.6931)
    assert torch.equal(back.weights["w"], update.weights["w"]) and torch.equal(back.extras["delta_c"],
                                                                              update.extras["delta_c"])


def test_metrics_reply_keeps_nan_and_leaves_out_tasks_without_records():
    content = wire.metrics_reply(1, {"ecg_abnormal": {"f1": 0.5, "auroc": math.nan}})

    metrics = wire.read_metrics(content, ("ecg_abnormal", "mortality"))

    assert list(metrics) == ["ecg_abnormal"]
    assert metrics["ecg_abnormal"]["f1"] == 0.5 and math.isnan(metrics["ecg_abnormal"]["auroc"])


def test_a_site_reply_names_the_client_its_sizes_and_data():
    site = wire.Site(client=4, sizes={"ecg_abnormal": 38, "mortality": 0}, fingerprint="0123456789abcdef",
                     version="0.1.0")

    assert wire.read_site(wire.site_reply(site)) == site
    assert wire.read_query(wire.query(("ecg_abnormal",))) == ("ecg_abnormal",)


def test_server_settings_travel_as_flower_run_config_toml(tmp_path):
    settings = ServerSettings(config=_run_config(), out=tmp_path / "run", overwrite=True, connect_timeout=30.0,
                              round_timeout=45.0)

    path = write_settings(settings, tmp_path / "run-config.toml")

    assert ServerSettings.from_run_config(tomllib.loads(path.read_text())) == settings


def test_the_app_folder_declares_our_components_and_builds_into_a_fab(tmp_path):
    app = write_app(tmp_path / "app")

    project = tomllib.loads((app / "pyproject.toml").read_text())
    flwr_app = project["tool"]["flwr"]["app"]
    components = flwr_app["components"]
    module, _, name = components["serverapp"].partition(":")
    assert isinstance(getattr(importlib.import_module(module), name), ServerApp)
    module, _, name = components["clientapp"].partition(":")
    assert isinstance(getattr(importlib.import_module(module), name), ClientApp)
    assert set(flwr_app["config"]) == set(ServerSettings(config=_run_config(), out=Path(".")).to_run_config())
    built = subprocess.run([str(Path(sys.executable).with_name("flwr")), "build", "--app", str(app)], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stdout + built.stderr
    assert list(tmp_path.glob("*.fab"))


def test_deployment_commands_give_every_hospital_its_client_id_and_keys():
    steps = deployment_commands(superlink="fl.example.org:9093", clients=3, data_dir="/srv/fedmeki")

    nodes = [command for where, command in steps if command.startswith("flower-supernode")]
    assert [f"client-id={k}'" in command for k, command in enumerate(nodes)] == [True] * 3
    assert all("--superlink fl.example.org:9093" in command and "--root-certificates" in command for command in nodes)
    assert steps[0] == ("server", "flower-superlink --ssl-ca-certfile certs/ca.crt --ssl-certfile certs/server.pem "
                                  "--ssl-keyfile certs/server.key --enable-supernode-auth --host 0.0.0.0 --port 9093")
    assert sum("flwr supernode register" in command for _, command in steps) == 3
    assert steps[-1][1].startswith("fedmeki train --engine flower --superlink fl.example.org:9093")
    insecure = deployment_commands(superlink="10.0.0.1:9093", clients=2, data_dir="/d", insecure=True)
    assert len(insecure) == 4 and all("ssh-keygen" not in command for _, command in insecure)
    with pytest.raises(ModelConfigError, match="HOST:PORT"):
        deployment_commands(superlink="fl.example.org", clients=2, data_dir="/d")


def test_a_failed_run_raises_the_same_error_as_in_process(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({
        "status": "failed", "error": "TooFewClientsError: Round 1, ecg_abnormal: 2 client(s) finished.",
        "hint": "see the log"}))

    with pytest.raises(TooFewClientsError, match=r"^Round 1, ecg_abnormal: 2 client\(s\) finished\.$") as raised:
        _outcome(tmp_path, tmp_path / "serverapp.log")
    assert raised.value.hint == "see the log"


def test_a_serverapp_that_stops_without_a_result_is_reported_with_its_last_log_line(tmp_path):
    log = tmp_path / "serverapp.log"
    log.write_text("INFO starting\nERROR ServerApp crashed: out of memory\n\n")

    with pytest.raises(FlowerDeploymentError, match="stopped without finishing the run: ERROR ServerApp crashed"):
        _outcome(tmp_path / "run", log)


def test_the_flower_engine_refuses_baselines_and_resume():
    with pytest.raises(ModelConfigError, match="centralised baseline runs in-process only"):
        check_remote(make_run_config(None, data="d", algorithm="centralised"), resume=False)
    with pytest.raises(ModelConfigError, match="cannot be resumed"):
        check_remote(_run_config(), resume=True)


def test_a_missing_flwr_names_the_extra_to_install(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)

    with pytest.raises(FlowerDeploymentError, match="needs flwr") as raised:
        require_flower()
    assert "fedmeki-models[flower]" in raised.value.hint
