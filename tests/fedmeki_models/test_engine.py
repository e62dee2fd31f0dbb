"""The in-process engine on the tiny demo: determinism, failures, communication, baselines, variants."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from fedmeki_data.errors import OutputExistsError
from fedmeki_models.errors import CheckpointError, ModelConfigError, TooFewClientsError
from fedmeki_models.fl.algorithms import ALGORITHMS
from fedmeki_models.fl.algorithms.fedavg import FedAvg
from fedmeki_models.provenance import read_provenance
from fedmeki_models.run_config import make_run_config
from fedmeki_models.runs import train

TASKS = ("covid19", "ecg_abnormal", "mortality")


def _config(data, **changes):
    values = {"data": str(data), "tasks": TASKS, "preset": "small", "rounds": 2, "seed": 7,
              "training": {"batch_size": 16, "lr": 1e-3}, **changes}
    return make_run_config(None, **values)


def _weights(run, model="model"):
    return load_file(str(run / model / "model.safetensors"))


def _assert_same_weights(left, right):
    assert left.keys() == right.keys()
    for key in left:
        assert torch.equal(left[key], right[key]), key


def test_same_seed_gives_bit_identical_weights_and_metrics(tiny_demo, tmp_path):
    first = train(_config(tiny_demo), tmp_path / "a")
    second = train(_config(tiny_demo), tmp_path / "b")

    _assert_same_weights(_weights(tmp_path / "a"), _weights(tmp_path / "b"))
    assert first["test"] == second["test"]
    other = train(_config(tiny_demo, seed=8), tmp_path / "c")
    assert other["test"] != first["test"]


def test_run_folder_holds_config_history_curves_model_and_provenance(tiny_demo, tmp_path):
    run = tmp_path / "run"
    summary = train(_config(tiny_demo, eval_every=1), run)

    assert make_run_config(run / "config.yaml") == _config(tiny_demo, eval_every=1)
    history = json.loads((run / "history.json").read_text())
    assert [record["round"] for record in history] == [1, 2]
    assert set(history[0]["test"]) == set(TASKS)
    assert set(history[0]["validation"]["covid19"]["clients"]) == {"0", "1", "2", "3", "4"}
    assert (run / "curves.png").stat().st_size > 10_000
    assert summary["status"] == json.loads((run / "run.json").read_text())["status"] == "completed"
    provenance = read_provenance(run / "model")
    assert provenance == json.loads((run / "model" / "config.json").read_text())["fedmeki"]
    assert provenance["method"] == {"algorithm": "fedavg", "setting": "multi_task", "variant": "standard",
                                    "clients": 5, "rounds": 2, "seed": 7}
    assert len(provenance["dataset"]["fingerprint"]) == 16
    assert provenance["dataset"]["sources"]["covid19"] == {
        "source": "synthetic (fedmeki data demo)", "license": "CC0 1.0", "credentialed": False}
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["round_0002"]


def test_bytes_count_every_client_task_exchange(tiny_demo, tmp_path):
    from fedmeki_models.model import LocalModel

    summary = train(_config(tiny_demo, rounds=1), tmp_path / "run")

    model = LocalModel.from_pretrained(tmp_path / "run" / "model")
    state = model.state_dict()
    per_client = sum(state[key].numel() * state[key].element_size()
                     for task in TASKS for key in model.task_state_keys(task))
    assert summary["communication_bytes"] == {"sent": 5 * per_client, "received": 5 * per_client,
                                              "total": 10 * per_client}


def test_a_failing_client_is_dropped_and_reported(tiny_demo, tmp_path, monkeypatch, caplog):
    original = FedAvg.client_update

    def flaky(self, model, task, data, config, *, client, **kwargs):
        if client == 3:
            raise RuntimeError("hospital 3 lost its disk")
        return original(self, model, task, data, config, client=client, **kwargs)

    monkeypatch.setattr(FedAvg, "client_update", flaky)

    summary = train(_config(tiny_demo, rounds=1), tmp_path / "run")

    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [(d["client"], d["task"]) for d in history[0]["dropped"]] == [(3, task) for task in TASKS]
    assert "hospital 3 lost its disk" in history[0]["dropped"][0]["error"]
    assert "client 3 dropped" in caplog.text
    assert summary["status"] == "completed"


def test_too_few_clients_stops_the_run_with_a_clear_error(tiny_demo, tmp_path, monkeypatch):
    def broken(self, *args, **kwargs):
        raise RuntimeError("network down")

    monkeypatch.setattr(FedAvg, "client_update", broken)

    with pytest.raises(TooFewClientsError, match=r"Round 1, covid19: 0 client\(s\) finished.*network down"):
        train(_config(tiny_demo, min_clients=3), tmp_path / "run")
    status = json.loads((tmp_path / "run" / "run.json").read_text())
    assert status["status"] == "failed" and "TooFewClientsError" in status["error"]


def test_resume_continues_an_interrupted_run_to_identical_weights(tiny_demo, tmp_path, monkeypatch):
    train(_config(tiny_demo, rounds=3), tmp_path / "straight")
    original = FedAvg.aggregate
    calls = {"n": 0}

    def crash_in_round_3(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 2 * len(TASKS):
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FedAvg, "aggregate", crash_in_round_3)
    with pytest.raises(KeyboardInterrupt):
        train(_config(tiny_demo, rounds=3), tmp_path / "resumed")
    monkeypatch.setattr(FedAvg, "aggregate", original)
    assert sorted(p.name for p in (tmp_path / "resumed" / "checkpoints").iterdir()) == ["round_0002"]

    train(None, tmp_path / "resumed", resume=True)

    _assert_same_weights(_weights(tmp_path / "straight"), _weights(tmp_path / "resumed"))
    straight = json.loads((tmp_path / "straight" / "history.json").read_text())
    resumed = json.loads((tmp_path / "resumed" / "history.json").read_text())
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in straight] == [
        {k: v for k, v in r.items() if k != "seconds"} for r in resumed]


def test_resume_refuses_other_options_and_a_missing_run(tiny_demo, tmp_path):
    train(_config(tiny_demo, rounds=1), tmp_path / "run")

    with pytest.raises(CheckpointError, match="differ"):
        train(_config(tiny_demo, rounds=1, seed=1), tmp_path / "run", resume=True)
    with pytest.raises(CheckpointError, match="not a run folder"):
        train(None, tmp_path / "nothing", resume=True)


def test_baselines_and_variants_train_and_differ(tiny_demo, tmp_path):
    fedavg = train(_config(tiny_demo, tasks=("ecg_abnormal",)), tmp_path / "fedavg")
    central = train(_config(tiny_demo, tasks=("ecg_abnormal",), algorithm="centralised"), tmp_path / "central")
    local = train(_config(tiny_demo, tasks=("ecg_abnormal",), algorithm="local_only"), tmp_path / "local")
    public = train(_config(tiny_demo, tasks=("ecg_abnormal",), variant="public_finetune"), tmp_path / "public")

    assert central["communication_bytes"]["total"] == 0 and central["models"] == ["model"]
    assert local["models"] == [f"clients/client_{k}/model" for k in range(5)]
    assert set(local["test_per_model"]) == set(local["models"])
    mean_f1 = sum(m["ecg_abnormal"]["f1"] for m in local["test_per_model"].values()) / 5
    assert local["test"]["ecg_abnormal"]["f1"] == pytest.approx(mean_f1)
    weights = {name: _weights(tmp_path / name) for name in ("fedavg", "central", "public")}
    key = "encoders.ecg.out.weight" if "encoders.ecg.out.weight" in weights["fedavg"] else next(
        k for k in weights["fedavg"] if k.startswith("encoders.ecg") and k.endswith("weight"))
    assert not torch.equal(weights["fedavg"][key], weights["central"][key])
    assert not torch.equal(weights["fedavg"][key], weights["public"][key])
    assert fedavg["method"]["variant"] == "standard" and public["method"]["variant"] == "public_finetune"


def test_a_diverged_client_is_dropped_like_a_failing_one(tiny_demo, tmp_path, monkeypatch):
    original = FedAvg.client_update

    def diverging(self, model, task, data, config, *, client, **kwargs):
        outcome = original(self, model, task, data, config, client=client, **kwargs)
        if client == 0 and task == "mortality":
            next(iter(outcome.update.weights.values())).fill_(float("nan"))
        return outcome

    monkeypatch.setattr(FedAvg, "client_update", diverging)

    train(_config(tiny_demo, rounds=1), tmp_path / "run")

    dropped = json.loads((tmp_path / "run" / "history.json").read_text())[0]["dropped"]
    assert [(d["client"], d["task"]) for d in dropped] == [(0, "mortality")]
    assert "non-finite" in dropped[0]["error"]


def test_baselines_communicate_nothing_and_refuse_fl_options(tiny_demo, tmp_path):
    summary = train(_config(tiny_demo, tasks=("mortality",), rounds=1, algorithm="centralised"), tmp_path / "c")

    assert summary["communication_bytes"]["total"] == 0
    with pytest.raises(ModelConfigError, match="baseline takes no variant"):
        _config(tiny_demo, algorithm="local_only", algorithm_params={"mu": 0.1})
    with pytest.raises(ModelConfigError, match="preset"):
        _config(tiny_demo, preset="huge")


def test_overwrite_replaces_only_run_folders(tiny_demo, tmp_path):
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("do not delete")

    with pytest.raises(OutputExistsError, match="not a run folder"):
        train(_config(tiny_demo, rounds=1), precious, overwrite=True)
    assert (precious / "chapter1.tex").read_text() == "do not delete"


@pytest.mark.parametrize("algorithm", ["scaffold", "fedbn", "fedadam"])
def test_resume_restores_server_and_client_state(tiny_demo, tmp_path, monkeypatch, algorithm):
    # SCAFFOLD keeps control variates on both sides, FedBN batch-norm tensors on the clients, FedAdam
    # moments on the server: a resume that lost any of them would end with other weights.
    config = _config(tiny_demo, tasks=("ecg_abnormal",), algorithm=algorithm, rounds=2, eval_every=0)
    train(config, tmp_path / "straight")
    cls = ALGORITHMS[algorithm]
    original = cls.aggregate
    calls = {"n": 0}

    def crash_in_round_2(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, "aggregate", crash_in_round_2)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "resumed")
    monkeypatch.setattr(cls, "aggregate", original)

    train(None, tmp_path / "resumed", resume=True)

    _assert_same_weights(_weights(tmp_path / "straight"), _weights(tmp_path / "resumed"))


def test_single_task_setting_trains_one_encoder_per_task(tiny_demo, tmp_path):
    from fedmeki_models.model import LocalModel

    summary = train(_config(tiny_demo, tasks=("lung_opacity", "covid19"), setting="single_task", rounds=1),
                    tmp_path / "run")

    model = LocalModel.from_pretrained(tmp_path / "run" / "model")
    assert set(model.encoders) == {"lung_opacity", "covid19"}
    assert summary["method"]["setting"] == "single_task" and set(summary["test"]) == {"lung_opacity", "covid19"}
