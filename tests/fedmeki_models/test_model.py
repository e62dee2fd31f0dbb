"""The local model: shapes, encoder sharing, seeding, save/load and pretrained image weights."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest
import safetensors.torch
import torch
from transformers import DeiTConfig, DeiTForImageClassificationWithTeacher

from fedmeki_models.config import model_config
from fedmeki_models.errors import CheckpointError, ModelConfigError
from fedmeki_models.injection.config import InjectionConfig
from fedmeki_models.model import LocalModel, build_local_model
from fedmeki_models.run_config import make_run_config
from fedmeki_models.training import TrainingConfig

TASKS = ("lung_opacity", "covid19", "ecg_abnormal", "mortality")
STEPS = 12
TINY_DEIT = DeiTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=48)


def make_batch(config, task, n, seed=0):
    """Random inputs of ``task`` in the TaskTensors format; mortality stays have 4 to 12 real hours."""
    generator = torch.Generator().manual_seed(seed)
    modality = config.modality_of(task)
    if modality == "image":
        size = config.image.image_size
        batch = {"image": torch.randint(0, 256, (n, 1, size, size), generator=generator, dtype=torch.uint8)}
    elif modality == "ecg":
        batch = {"ecg": torch.randn(n, config.ecg.samples, config.ecg.leads, generator=generator)}
    else:
        shape = (n, STEPS, config.clinical.variables)
        measured = (torch.rand(shape, generator=generator) < 0.5).float()
        lengths = torch.randint(4, STEPS + 1, (n,), generator=generator)
        batch = {"clinical": torch.randn(shape, generator=generator) * measured, "clinical_mask": measured,
                 "steps_mask": torch.arange(STEPS) < lengths[:, None]}
    batch["label"] = torch.randint(0, 2, (n,), generator=generator).float()
    return batch


@pytest.fixture(scope="module")
def config():
    return model_config("small")


@pytest.fixture(scope="module")
def model(config):
    return build_local_model(config, seed=1)


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("task", TASKS)
def test_one_float_logit_per_record_in_both_modes(model, config, task, n):
    batch = make_batch(config, task, n)
    for mode in (True, False):
        model.train(mode)
        logits = model(task, batch)
        assert logits.shape == (n,) and logits.dtype == torch.float32 and torch.isfinite(logits).all()


def test_unknown_task_names_the_model_tasks(model, config):
    with pytest.raises(ModelConfigError, match="medvqa") as raised:
        model("medvqa", make_batch(config, "covid19", 2))
    assert "lung_opacity" in raised.value.hint


def test_grey_images_are_repeated_to_rgb_inside_the_model(model, config):
    model.eval()
    grey = make_batch(config, "covid19", 2)["image"]
    with torch.no_grad():
        assert torch.equal(model("covid19", {"image": grey}), model("covid19", {"image": grey.repeat(1, 3, 1, 1)}))
    with pytest.raises(ModelConfigError, match="shape"):
        model("covid19", {"image": grey[..., :16, :16]})


def test_save_pretrained_round_trips_config_and_logits(tmp_path, capsys, config):
    # An unreachable image_init proves that loading a folder never tries to fetch the image weights.
    original = build_local_model(dataclasses.replace(config, image_init="org/not-in-cache", shared_encoders=False),
                                 seed=3)
    original("ecg_abnormal", make_batch(original.config, "ecg_abnormal", 4))  # moves BatchNorm running stats
    original.save_pretrained(tmp_path)
    assert {"model.safetensors", "config.json"} <= {path.name for path in tmp_path.iterdir()}
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["clinical"]["d_model"] == 64 and saved["image_init"] == "org/not-in-cache"

    loaded = LocalModel.from_pretrained(tmp_path)
    assert capsys.readouterr().out == ""  # the mixin's own loader prints; ours logs
    assert loaded.config == original.config
    assert not loaded.training
    original.eval()
    with torch.no_grad():
        for task in TASKS:
            batch = make_batch(original.config, task, 3, seed=7)
            assert torch.equal(loaded(task, batch), original(task, batch))


def test_from_pretrained_refuses_a_folder_without_weights(tmp_path, model):
    model.save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="weights"):
        LocalModel.from_pretrained(tmp_path)


def test_seed_alone_sets_the_weights_and_leaves_the_global_rng_alone(config):
    rng = torch.random.get_rng_state()
    first, again, other = (build_local_model(config, seed=seed).state_dict() for seed in (5, 5, 6))
    assert torch.equal(torch.random.get_rng_state(), rng)
    assert all(torch.equal(first[key], again[key]) for key in first)
    assert not torch.equal(first["heads.mortality.0.weight"], other["heads.mortality.0.weight"])
    assert not torch.equal(first["encoders.image.deit.layers.0.attention.q_proj.weight"],
                           other["encoders.image.deit.layers.0.attention.q_proj.weight"])


def test_image_tasks_share_an_encoder_only_in_multi_task_models(model, config):
    assert set(model.encoders) == {"image", "ecg", "clinical"}
    assert set(build_local_model(dataclasses.replace(config, shared_encoders=False)).encoders) == set(TASKS)
    image_keys = set(model.task_state_keys("covid19")) | set(model.task_state_keys("lung_opacity"))
    assert {key for key in model.task_state_keys("covid19") if key.startswith("encoders.")} == {
        key for key in model.task_state_keys("lung_opacity") if key.startswith("encoders.")}
    ecg_keys, clinical_keys = set(model.task_state_keys("ecg_abnormal")), set(model.task_state_keys("mortality"))
    assert not (image_keys & ecg_keys or image_keys & clinical_keys or ecg_keys & clinical_keys)
    assert {key.rsplit(".", 1)[-1] for key in ecg_keys} >= {"running_mean", "running_var", "num_batches_tracked"}


def test_task_parameters_are_the_parameters_of_the_task_keys(model):
    names = {id(parameter): name for name, parameter in model.named_parameters()}
    for task in TASKS:
        parameters = model.task_parameters(task)
        assert [names[id(p)] for p in parameters] == [names[id(p)] for p in model.task_parameters(task)]
        assert {names[id(p)] for p in parameters} == {
            key for key in model.task_state_keys(task) if key in dict(model.named_parameters())}


def test_clinical_encoder_attends_over_time_within_one_stay(model, config):
    model.eval()
    batch = make_batch(config, "mortality", 3)
    batch["steps_mask"][0] = torch.arange(STEPS) < 8
    with torch.no_grad():
        reference = model("mortality", batch)
        other_record = {key: value.clone() for key, value in batch.items()}
        other_record["clinical"][1] += 5.0
        padded_step = {key: value.clone() for key, value in batch.items()}
        padded_step["clinical"][0, 10] += 5.0
        padded_step["clinical_mask"][0, 10] = 1.0
        real_step = {key: value.clone() for key, value in batch.items()}
        real_step["clinical"][0, 2] += 5.0
        assert model("mortality", other_record)[0] == reference[0]
        assert model("mortality", padded_step)[0] == reference[0]
        assert model("mortality", real_step)[0] != reference[0]
        batch["steps_mask"][2] = False
        assert torch.isfinite(model("mortality", batch)).all()


def save_tiny_deit(folder):
    torch.manual_seed(0)
    teacher = DeiTForImageClassificationWithTeacher(TINY_DEIT)
    teacher.save_pretrained(folder)
    return teacher.deit.state_dict()


def assert_adopted(model, expected_state, source):
    assert model.config.image_init == source
    assert (model.config.image.image_size, model.config.image.hidden_size, model.config.image.num_layers) == (32, 32, 1)
    state = model.encoders["image"].deit.state_dict()
    assert state.keys() == expected_state.keys()
    assert all(torch.equal(state[key], expected_state[key]) for key in state)


def test_image_weights_from_a_local_folder_set_sizes_and_weights(tmp_path, config):
    expected = save_tiny_deit(tmp_path / "deit")
    rng = torch.random.get_rng_state()
    model = build_local_model(config, image_weights=str(tmp_path / "deit"))
    assert torch.equal(torch.random.get_rng_state(), rng)
    assert_adopted(model, expected, str(tmp_path / "deit"))
    assert model("covid19", make_batch(model.config, "covid19", 2)).shape == (2,)


LEGACY_NAMES = {"layers.": "encoder.layer.", "attention.q_proj": "attention.attention.query",
                "attention.k_proj": "attention.attention.key", "attention.v_proj": "attention.attention.value",
                "attention.o_proj": "attention.output.dense", "mlp.fc1": "intermediate.dense",
                "mlp.fc2": "output.dense"}
"""transformers 5 names -> the names in the DeiT checkpoints on the Hub (written by transformers 4)."""


def publish_legacy_deit(tmp_path, hub_cache):
    """``org/tiny-deit`` in the offline cache, with the weight names of the real DeiT checkpoints; its weights."""
    folder = tmp_path / "tiny-deit"
    expected = save_tiny_deit(folder)
    legacy = {}
    for key, value in safetensors.torch.load_file(folder / "model.safetensors").items():
        for new, old in LEGACY_NAMES.items():
            key = key.replace(new, old)
        legacy[key] = value
    assert "deit.encoder.layer.0.attention.attention.query.weight" in legacy
    safetensors.torch.save_file(legacy, folder / "model.safetensors", metadata={"format": "pt"})
    hub_cache.publish(folder, "org/tiny-deit")
    return expected


def test_image_weights_from_the_offline_hub_cache(tmp_path, hub_cache, config):
    expected = publish_legacy_deit(tmp_path, hub_cache)
    assert_adopted(build_local_model(config, image_weights="org/tiny-deit", cache_dir=hub_cache.path), expected,
                   "org/tiny-deit")
    # The cache set by the environment (the hub_cache fixture sets it, and huggingface_hub's constant).
    assert_adopted(build_local_model(config, image_weights="org/tiny-deit"), expected, "org/tiny-deit")


def test_unloadable_image_weights_warn_and_fall_back_to_random(tmp_path, hub_cache, caplog, config):
    publish_legacy_deit(tmp_path, hub_cache)
    random = build_local_model(config, seed=2)
    with caplog.at_level(logging.WARNING, logger="fedmeki_models.model"):
        model = build_local_model(config, seed=2, image_weights="org/not-cached", cache_dir=hub_cache.path)
    assert model.config == random.config and model.config.image_init == "random"
    assert any(r.levelno == logging.WARNING and "random weights" in r.getMessage()
               and "org/not-cached" in r.getMessage() for r in caplog.records)
    assert all(torch.equal(value, random.state_dict()[key]) for key, value in model.state_dict().items())


def test_ecg_tokens_are_one_per_lead_in_the_paper_shape_and_one_per_channel_when_widened():
    from fedmeki_models.config import EcgEncoderConfig
    from fedmeki_models.encoders.ecg import EcgEncoder

    signal = {"ecg": torch.randn(2, 1000, 12, generator=torch.Generator().manual_seed(0))}

    paper, _ = EcgEncoder(EcgEncoderConfig(out_size=16))(signal)
    widened, _ = EcgEncoder(model_config("small").ecg)(signal)

    assert paper.shape == (2, 12, 16)
    assert widened.shape == (2, 32, 64)


@pytest.mark.parametrize("build, message", [
    (lambda: TrainingConfig(lr=0), "Invalid training setting lr=0."),
    (lambda: make_run_config(None, data="data", rounds=0), "Invalid run setting rounds=0."),
    (lambda: InjectionConfig(grad_accumulation=0), "Invalid injection setting grad_accumulation=0."),
    (lambda: InjectionConfig(rank=0), "Invalid foundation model setting rank=0."),
])
def test_every_config_names_an_invalid_setting_with_its_value_and_the_valid_ranges(build, message):
    with pytest.raises(ModelConfigError) as raised:
        build()
    assert str(raised.value) == message and ">= 1" in raised.value.hint
