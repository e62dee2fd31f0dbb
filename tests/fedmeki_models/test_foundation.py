"""The foundation model on the tiny LM: prompts, gate, adapters, training, generation, save and load."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from fedmeki_data.tasks import TASKS
from fedmeki_models.config import model_config
from fedmeki_models.data import load_task_tensors
from fedmeki_models.errors import CheckpointError, ModelConfigError
from fedmeki_models.injection.build import build_foundation_model, load_foundation_model, save_foundation_model
from fedmeki_models.injection.config import FoundationConfig
from fedmeki_models.injection.language import build_language_model

TRAINING = ("lung_opacity", "covid19", "ecg_abnormal", "mortality")
QUESTION = TASKS["ecg_abnormal"].instruction


def _config(**changes):
    return FoundationConfig(local=model_config("small", tasks=TRAINING), experts=3, dropout=0.0, **changes)


@pytest.fixture(scope="module")
def fm():
    return build_foundation_model(_config(), seed=0)


@pytest.fixture(scope="module")
def ecg(tiny_demo):
    public = load_task_tensors(tiny_demo, "ecg_abnormal", "public", image_size=64, max_steps=48)
    batch = next(public.batches(6))
    return batch, ["yes" if label else "no" for label in batch["label"].tolist()]


def _rows(batch, start, stop):
    return {key: value[start:stop] for key, value in batch.items()}


def test_the_gate_gives_every_task_its_own_weights_summing_to_one(fm):
    with torch.no_grad():
        weights = {task: fm.gate_weights(task) for task in TASKS}

    for task, value in weights.items():
        assert value.shape == (3,) and torch.all(value > 0), task
        assert float(value.sum()) == pytest.approx(1.0, abs=1e-6), task
    assert not torch.allclose(weights["ecg_abnormal"], weights["sepsis"])


def test_moe_lora_adds_the_gate_weighted_and_scaled_expert_updates(fm):
    layer = fm._lora_layers[0]
    with torch.no_grad():
        for name in fm.adapter_names:
            layer.lora_B[name].weight.normal_(std=0.1)
    x = torch.randn(2, 5, layer.in_features)
    gate = fm.gate_weights("ecg_abnormal").detach()

    with torch.no_grad(), fm.gated("ecg_abnormal", 2):
        output = layer(x)
    expected = layer.base_layer(x) + sum(
        gate[e] * (32.0 / 8) * layer.lora_B[name](layer.lora_A[name](x)) for e, name in enumerate(fm.adapter_names))

    assert torch.allclose(output, expected, atol=1e-5)
    assert layer.scaling == {name: 4.0 for name in fm.adapter_names}  # restored after the batch
    with torch.no_grad():
        for name in fm.adapter_names:
            layer.lora_B[name].weight.zero_()


def test_plain_lora_has_one_adapter_and_no_gate():
    lora = build_foundation_model(_config(adapter="lora"), seed=0)

    assert lora.adapter_names == ["default"] and lora.gate is None and lora.gate_weights("covid19") is None
    assert not any("expert" in name for name, _ in lora.named_parameters())


def test_training_lowers_the_answer_loss_and_leaves_the_language_model_alone(ecg):
    model = build_foundation_model(_config(), seed=1)
    batch, answers = ecg
    frozen = {key: value.clone() for key, value in model.lm.state_dict().items() if "lora" not in key}
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    model.train()
    losses = []
    for _ in range(12):
        loss = model.loss("ecg_abnormal", batch, [QUESTION] * len(answers), answers)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())

    assert losses[-1] < 0.5 * losses[0], losses
    assert all(torch.equal(value, model.lm.state_dict()[key]) for key, value in frozen.items())
    assert any(key.startswith("base_model.model.model.embed_tokens") for key in frozen)


def test_only_answer_tokens_are_labelled(fm, ecg):
    batch, answers = ecg
    sequences = fm.sequences("ecg_abnormal", batch, [QUESTION] * len(answers), answers)

    for row, answer in zip(sequences.labels, answers, strict=True):
        labelled = row[row != -100].tolist()
        assert fm.tokenizer.decode(labelled) == f"{answer}</s>"


def test_greedy_generation_is_deterministic_and_batching_changes_nothing(fm, ecg):
    batch, answers = ecg
    questions = [QUESTION, QUESTION + " Answer briefly, please.", *[QUESTION] * (len(answers) - 2)]

    together = fm.generate("ecg_abnormal", batch, questions, max_new_tokens=6)
    again = fm.generate("ecg_abnormal", batch, questions, max_new_tokens=6)
    alone = [fm.generate("ecg_abnormal", _rows(batch, i, i + 1), questions[i:i + 1], max_new_tokens=6)[0]
             for i in range(len(questions))]

    assert together == again == alone


def test_sampling_is_reproducible_from_its_seed(fm, ecg):
    batch, answers = ecg
    questions = [QUESTION] * len(answers)

    first = fm.generate("ecg_abnormal", batch, questions, sampling=True, seed=3, max_new_tokens=6)
    assert fm.generate("ecg_abnormal", batch, questions, sampling=True, seed=3, max_new_tokens=6) == first


def test_zero_shot_tasks_read_their_input_with_the_encoder_of_their_modality(fm):
    assert fm.source_task("sepsis") == "mortality"
    assert fm.source_task("ecg_noise_clarification") == "ecg_abnormal"
    assert fm.source_task("enlarged_cardiomediastinum") == "lung_opacity"
    covid_only = build_foundation_model(FoundationConfig(local=model_config("small", tasks=("covid19",)), experts=2),
                                        seed=0)
    assert covid_only.source_task("medical_vqa") == "covid19" and covid_only.source_task("sepsis") is None


def test_a_saved_model_answers_the_same_and_holds_no_pickle(fm, ecg, tmp_path):
    batch, answers = ecg
    questions = [QUESTION] * len(answers)
    folder = save_foundation_model(fm, tmp_path / "fm")

    loaded = load_foundation_model(folder)

    assert loaded.generate("ecg_abnormal", batch, questions, max_new_tokens=6) == fm.generate(
        "ecg_abnormal", batch, questions, max_new_tokens=6)
    assert all(torch.equal(value, fm.trainable_state()[key]) for key, value in loaded.trainable_state().items())
    assert not [path for path in folder.iterdir() if path.suffix in (".bin", ".pt", ".pkl", ".pth")]


def test_a_folder_that_does_not_fit_its_config_is_refused(fm, tmp_path):
    folder = save_foundation_model(fm, tmp_path / "fm")
    config = json.loads((folder / "config.json").read_text())

    (folder / "config.json").write_text(json.dumps({**config, "experts": 4}))
    with pytest.raises(CheckpointError, match="does not fit its config"):
        load_foundation_model(folder)
    (folder / "config.json").write_text(json.dumps({**config, "architecture": "fedmeki-fm-v9"}))
    with pytest.raises(ModelConfigError, match="Unknown foundation model architecture"):
        load_foundation_model(folder)
    with pytest.raises(CheckpointError, match="not a foundation model folder"):
        load_foundation_model(tmp_path)


def test_a_causal_lm_named_by_its_folder_is_loaded_frozen_and_referenced_not_copied(ecg, tmp_path):
    lm, tokenizer, _ = build_language_model(_config(), seed=5)
    lm.save_pretrained(tmp_path / "lm")
    tokenizer.save_pretrained(tmp_path / "lm")
    batch, answers = ecg

    named = build_foundation_model(_config(lm=str(tmp_path / "lm")), seed=0)
    saved = save_foundation_model(named, tmp_path / "fm")

    assert not any(p.requires_grad for name, p in named.lm.named_parameters() if "lora" not in name)
    assert not any(key.startswith("lm.base_model.model.model.") and "lora" not in key
                   for key in load_file(str(saved / "model.safetensors")))
    assert load_foundation_model(saved).generate("ecg_abnormal", batch, [QUESTION] * len(answers)) == named.generate(
        "ecg_abnormal", batch, [QUESTION] * len(answers))
    assert named.loss("ecg_abnormal", batch, [QUESTION] * len(answers), answers).item() > 0


def test_an_unloadable_or_incomplete_language_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelConfigError, match="Cannot load the language model"):
        build_foundation_model(_config(lm=str(tmp_path / "no-such-model")), seed=0)
    lm, tokenizer, _ = build_language_model(_config(), seed=5)
    lm.save_pretrained(tmp_path / "lm")
    tokenizer.save_pretrained(tmp_path / "lm")
    weights = load_file(str(tmp_path / "lm" / "model.safetensors"))
    save_file({k: v for k, v in weights.items() if "layers.1." not in k}, str(tmp_path / "lm" / "model.safetensors"),
              metadata={"format": "pt"})
    with pytest.raises(ModelConfigError, match="lacks 9 weights"):
        build_foundation_model(_config(lm=str(tmp_path / "lm")), seed=0)
