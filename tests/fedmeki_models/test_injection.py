"""The injection loop on the tiny demo: inject, fine-tune, update; resume; answers to every test record."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from fedmeki_eval.references import load_references
from fedmeki_eval.submission import read_submission
from fedmeki_models.injection.loop import Injector
from fedmeki_models.predict import predict
from fedmeki_models.run_config import make_run_config
from fedmeki_models.runs import train

TASKS = ("covid19", "ecg_abnormal", "mortality")


def _config(data, **changes):
    values = {"data": str(data), "tasks": TASKS, "preset": "small", "rounds": 2, "seed": 3, "eval_every": 0,
              "training": {"batch_size": 16, "lr": 1e-3},
              "injection": {"experts": 2, "lr": 2e-3, "batch_size": 8, "dropout": 0.0}, **changes}
    return make_run_config(None, **values)


@pytest.fixture(scope="module")
def injected(tiny_demo, tmp_path_factory):
    run = tmp_path_factory.mktemp("inject") / "run"
    train(_config(tiny_demo), run)
    return run


def test_the_injected_encoders_are_the_aggregated_ones_and_come_back_trained(tiny_demo, tmp_path, monkeypatch):
    seen = []
    after_round, train_fm = Injector.after_round, Injector.train

    def spy_after_round(self, round_, federation):
        seen.append({"aggregated": {k: v.clone() for k, v in federation.final_weights().items()
                                    if k.startswith("encoders.")}})
        record = after_round(self, round_, federation)
        seen[-1]["returned"] = {k: federation.global_weights[k].clone() for k in seen[-1]["aggregated"]}
        return record

    def spy_train(self, round_):
        seen[-1]["injected"] = self.encoders()
        return train_fm(self, round_)

    monkeypatch.setattr(Injector, "after_round", spy_after_round)
    monkeypatch.setattr(Injector, "train", spy_train)
    train(_config(tiny_demo, rounds=1), tmp_path / "run")

    (step,) = seen
    assert step["injected"].keys() == step["aggregated"].keys() and step["aggregated"]
    for key, value in step["aggregated"].items():
        assert torch.equal(step["injected"][key], value), key
    trained = [key for key in step["returned"] if not torch.equal(step["returned"][key], step["aggregated"][key])]
    assert trained, "the foundation model's training did not change the encoders it sent back"
    fm = load_file(str(tmp_path / "run" / "fm" / "model.safetensors"))
    local = load_file(str(tmp_path / "run" / "model" / "model.safetensors"))
    for key, value in step["returned"].items():
        assert torch.equal(local[key], value) and torch.equal(fm[f"local.{key}"], value), key


def test_the_run_records_the_instruction_loss_per_round_and_saves_both_models(injected):
    history = json.loads((injected / "history.json").read_text())
    summary = json.loads((injected / "run.json").read_text())

    assert summary["models"] == ["model", "fm"]
    losses = [record["injection"]["loss"] for record in history]
    assert [sorted(loss) for loss in losses] == [sorted(TASKS)] * 2
    assert sum(losses[-1].values()) < sum(losses[0].values())
    assert sorted(path.name for path in (injected / "fm").iterdir()) == [
        "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]


def test_an_interrupted_injection_run_resumes_to_identical_models(tiny_demo, injected, tmp_path, monkeypatch):
    calls = {"n": 0}
    original = Injector.after_round

    def crash_in_round_2(self, round_, federation):
        calls["n"] += 1
        if round_ == 2:
            raise KeyboardInterrupt
        return original(self, round_, federation)

    monkeypatch.setattr(Injector, "after_round", crash_in_round_2)
    with pytest.raises(KeyboardInterrupt):
        train(_config(tiny_demo), tmp_path / "resumed")
    monkeypatch.setattr(Injector, "after_round", original)

    train(None, tmp_path / "resumed", resume=True)

    for name in ("model", "fm"):
        straight = load_file(str(injected / name / "model.safetensors"))
        resumed = load_file(str(tmp_path / "resumed" / name / "model.safetensors"))
        assert straight.keys() == resumed.keys()
        for key in straight:
            assert torch.equal(straight[key], resumed[key]), (name, key)


def test_the_foundation_model_answers_every_test_record_of_all_eight_tasks(tiny_demo, injected, tmp_path):
    metadata = predict(injected, tiny_demo, tmp_path / "sub")
    predict(injected, tiny_demo, tmp_path / "again")

    assert metadata["method"]["variant"] == "foundation" and metadata["name"] == "fedavg multi_task foundation"
    references = load_references(tiny_demo)
    submission = read_submission(tmp_path / "sub", references)  # raises on a missing or unknown id
    assert submission.missing_tasks == () and len(submission.tasks) == 8
    for task, answers in submission.tasks.items():
        assert len(answers.predictions) == len(references.tasks[task].ids)
        assert (answers.scores is not None) == references.tasks[task].task.is_binary
    for path in (tmp_path / "sub").glob("*.jsonl"):
        assert path.read_text() == (tmp_path / "again" / path.name).read_text(), "greedy answers changed"
    local = predict(injected / "model", tiny_demo, tmp_path / "local")
    assert local["method"]["variant"] == "injection"


def test_injection_is_refused_for_baselines(tiny_demo):
    from fedmeki_models.errors import ModelConfigError

    with pytest.raises(ModelConfigError, match="baseline takes no variant, algorithm parameters or injection"):
        _config(tiny_demo, algorithm="centralised")


def test_bf16_autocast_gradient_accumulation_and_checkpointing_train(tiny_demo, tmp_path):
    config = _config(tiny_demo, rounds=1, tasks=("ecg_abnormal",),
                     injection={"experts": 2, "batch_size": 4, "grad_accumulation": 3, "precision": "bf16",
                                "gradient_checkpointing": True})

    train(config, tmp_path / "run")

    (record,) = json.loads((tmp_path / "run" / "history.json").read_text())
    assert 0 < record["injection"]["loss"]["ecg_abnormal"] < 20
