"""Task tensors: decoding each modality from a real tiny build, batching, federated splits, Hub ids, errors."""

import io
import shutil

import datasets
import huggingface_hub
import numpy as np
import pytest
import torch
from PIL import Image

from fedmeki_data.errors import DatasetIntegrityError, InvalidParameterError, PartitionError, UnknownTaskError
from fedmeki_data.hub import load_task
from fedmeki_data.manifest import read_manifest
from fedmeki_data.partition import PartitionConfig
from fedmeki_data.schema import CLINICAL_VARIABLES
from fedmeki_data.synthetic.demo import build_demo
from fedmeki_models.data import TaskTensors, dataset_to_tensors, load_federated_data, load_task_tensors
from fedmeki_models.decode import clinical_window, decode_image, normalise_ecg

TRAINING = ("lung_opacity", "covid19", "ecg_abnormal", "mortality")
MID = np.array([sum(v.normal_range) / 2 for v in CLINICAL_VARIABLES], np.float32)
HALF = np.array([(v.normal_range[1] - v.normal_range[0]) / 2 for v in CLINICAL_VARIABLES], np.float32)
HALF[HALF == 0] = np.maximum(np.abs(MID[HALF == 0]) / 2, 1.0)


@pytest.fixture(scope="module")
def federated(tiny_demo):
    return load_federated_data(tiny_demo, TRAINING, image_size=32, max_steps=48)


def raw_split(folder, task, split):
    return load_task(folder, task, split=split).with_format("numpy")


def png(array, mode=None):
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="PNG")
    return buffer.getvalue()


def test_images_are_grayscale_uint8_resized_bicubic(tiny_demo, federated):
    shard = federated.clients["covid19"][0]
    assert shard.inputs["image"].dtype == torch.uint8 and shard.inputs["image"].shape == (len(shard), 1, 32, 32)
    raw = load_task(tiny_demo, "covid19", split="client_0")
    first = raw[0]["image"]
    expected = np.asarray(first.convert("L").resize((32, 32), Image.Resampling.BICUBIC))
    assert np.array_equal(shard.inputs["image"][0, 0].numpy(), expected)
    native = load_task_tensors(tiny_demo, "covid19", "client_0", image_size=64)
    assert np.array_equal(native.inputs["image"][0, 0].numpy(), np.asarray(first.convert("L")))


def test_16_and_32_bit_images_are_scaled_by_their_maximum():
    pixels = (np.arange(16 * 16).reshape(16, 16) * 9).astype(np.uint16)
    expected = np.rint(pixels / pixels.max() * 255).astype(np.uint8)
    assert Image.open(io.BytesIO(png(pixels))).mode == "I;16"
    assert np.array_equal(decode_image(png(pixels), None, 16), expected)
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.int32)).save(buffer, format="TIFF")
    assert np.array_equal(decode_image(buffer.getvalue(), None, 16), expected)
    assert decode_image(png(np.zeros((8, 8), np.uint16)), None, 4).tolist() == [[0] * 4] * 4
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 255
    assert decode_image(png(rgb), None, 8)[0, 0] == np.asarray(Image.fromarray(rgb).convert("L"))[0, 0]


def test_ecg_is_z_scored_per_record_and_lead(tiny_demo, federated):
    ecg = federated.clients["ecg_abnormal"][1].inputs["ecg"]
    assert ecg.dtype == torch.float32 and ecg.shape[1:] == (1000, 12)
    assert torch.allclose(ecg.mean(dim=1), torch.zeros(1), atol=1e-4)
    assert torch.allclose(ecg.std(dim=1, unbiased=False), torch.ones(1), atol=1e-3)
    raw = np.asarray(raw_split(tiny_demo, "ecg_abnormal", "client_1")[0]["ecg"], np.float64)
    expected = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    assert np.allclose(ecg[0].numpy(), expected, atol=1e-4)


def test_a_flat_ecg_lead_becomes_zeros_and_nan_is_refused():
    signals = np.random.default_rng(0).normal(size=(2, 1000, 12)).astype(np.float32)
    signals[1, :, 3] = 0.7
    out = normalise_ecg(signals)
    assert np.all(out[1, :, 3] == 0) and np.isfinite(out).all()
    signals[0, 5, 0] = np.nan
    with pytest.raises(DatasetIntegrityError, match="record 0"):
        normalise_ecg(signals)


def test_clinical_is_scaled_masked_and_zero_where_not_measured(tiny_demo, federated):
    shard = federated.clients["mortality"][2]
    clinical, mask, steps = (shard.inputs[key] for key in ("clinical", "clinical_mask", "steps_mask"))
    assert clinical.shape == mask.shape == (len(shard), 48, len(CLINICAL_VARIABLES))
    assert clinical.dtype == mask.dtype == torch.float32 and steps.dtype == torch.bool and steps.all()
    raw = raw_split(tiny_demo, "mortality", "client_2")
    for i in range(len(shard)):
        stay = np.asarray(raw[i]["clinical"], np.float32)
        assert stay.shape == (48, len(CLINICAL_VARIABLES))
        measured = ~np.isnan(stay)
        assert np.array_equal(mask[i].numpy().astype(bool), measured)
        assert np.allclose(clinical[i].numpy()[measured], ((stay - MID) / HALF)[measured], atol=1e-5)
        assert np.all(clinical[i].numpy()[~measured] == 0)


def test_clinical_keeps_the_last_hours_of_long_stays_and_pads_short_ones(tiny_demo):
    tensors = load_task_tensors(tiny_demo, "sepsis", "test", max_steps=30)
    raw = raw_split(tiny_demo, "sepsis", "test")
    hours = [len(raw[i]["clinical"]) for i in range(len(tensors))]
    long, short = next(i for i, h in enumerate(hours) if h > 30), next(i for i, h in enumerate(hours) if h < 30)
    window = np.asarray(raw[long]["clinical"], np.float32)[-30:]
    assert np.array_equal(tensors.inputs["clinical_mask"][long].numpy().astype(bool), ~np.isnan(window))
    assert np.allclose(tensors.inputs["clinical"][long].numpy(), np.nan_to_num((window - MID) / HALF), atol=1e-5)
    assert tensors.inputs["steps_mask"][long].all()
    stay, n = np.asarray(raw[short]["clinical"], np.float32), hours[short]
    assert tensors.inputs["steps_mask"][short].tolist() == [True] * n + [False] * (30 - n)
    assert np.array_equal(tensors.inputs["clinical_mask"][short, :n].numpy().astype(bool), ~np.isnan(stay))
    assert not tensors.inputs["clinical_mask"][short, n:].any() and not tensors.inputs["clinical"][short, n:].any()
    assert tensors.labels.tolist() == raw["label"][:].astype(float).tolist()


def test_a_stay_without_hours_is_a_clear_error():
    values = np.zeros((2, len(CLINICAL_VARIABLES)), np.float32)
    with pytest.raises(DatasetIntegrityError, match="stay 1 has no hourly rows"):
        clinical_window(values, np.array([0, 2, 2]), 48)


def test_labels_ids_and_client_ids_follow_the_columns(tiny_demo, federated):
    for task in TRAINING:
        raw = raw_split(tiny_demo, task, "client_3")
        shard = federated.clients[task][3]
        assert shard.ids == tuple(raw["id"][:].tolist())
        assert shard.labels.dtype == torch.float32
        assert shard.labels.tolist() == raw["label"][:].astype(float).tolist()
        assert shard.client_ids.dtype == torch.int64 and shard.client_ids.tolist() == [3] * len(shard)
    assert federated.test["covid19"].client_ids.tolist() == [-1] * len(federated.test["covid19"])


def test_free_text_tasks_have_no_labels_and_progress_is_reported(tiny_demo):
    calls = []
    tensors = load_task_tensors(tiny_demo, "medical_vqa", "test", image_size=16,
                                progress=lambda *call: calls.append(call))
    assert tensors.labels is None and tensors.inputs["image"].shape == (len(tensors), 1, 16, 16)
    assert calls[-1] == ("medical_vqa/test", len(tensors), len(tensors))
    tripled = datasets.concatenate_datasets([load_task(tiny_demo, "medical_vqa", split="test")] * 3)
    calls.clear()
    dataset_to_tensors(tripled, "medical_vqa", "test", image_size=8, progress=lambda *call: calls.append(call))
    n = 3 * len(tensors)
    assert calls == [("medical_vqa/test", done, n) for done in (*range(64, n, 64), n)]
    noise = load_task_tensors(tiny_demo, "ecg_noise_clarification", "test")
    assert noise.labels is None and noise.inputs["ecg"].shape == (len(noise), 1000, 12)


def test_batches_cover_every_record_once_in_a_seeded_order(federated):
    shard = federated.clients["ecg_abnormal"][0]
    n = len(shard)
    marked = TaskTensors(task=shard.task, ids=shard.ids, labels=shard.labels, client_ids=shard.client_ids,
                         inputs={**shard.inputs, "row": torch.arange(n)})

    def seeded(seed, batch_size):
        return list(marked.batches(batch_size, generator=torch.Generator().manual_seed(seed)))

    batches = seeded(7, 4)
    rows = torch.cat([batch["row"] for batch in batches]).tolist()
    assert sorted(rows) == list(range(n)) and rows != list(range(n))
    assert all(torch.equal(batch["ecg"], shard.inputs["ecg"][batch["row"]]) for batch in batches)
    assert all(torch.equal(batch["label"], shard.labels[batch["row"]]) for batch in batches)
    assert torch.cat([batch["row"] for batch in seeded(7, 4)]).tolist() == rows
    assert torch.cat([batch["row"] for batch in seeded(8, 4)]).tolist() != rows
    assert len(seeded(7, n + 10)) == 1 and len(seeded(7, n + 10)[0]["row"]) == n
    tail = seeded(3, n - 1)
    assert [len(batch["row"]) for batch in tail] == [n - 1, 1]
    assert tail[1]["ecg"].shape == (1, 1000, 12) and tail[1]["label"].shape == (1,)
    plain = list(shard.batches(5))
    assert torch.equal(torch.cat([batch["ecg"] for batch in plain]), shard.inputs["ecg"])


def test_federated_data_splits_match_the_manifest(tiny_demo, federated):
    manifest = read_manifest(tiny_demo)
    assert federated.n_clients == 5 and federated.fingerprint == manifest["fingerprint"]
    assert federated.source == str(tiny_demo) and federated.tasks == TRAINING
    for task in TRAINING:
        splits = manifest["tasks"][task]["splits"]
        assert [len(shard) for shard in federated.clients[task]] == [splits[f"client_{k}"]["rows"] for k in range(5)]
        for name in ("validation", "public", "test"):
            assert len(getattr(federated, name)[task]) == splits[name]["rows"]
        parts = [federated.client_validation(task, k) for k in range(5)]
        for k, part in enumerate(parts):
            assert len(part) > 0 and part.client_ids.tolist() == [k] * len(part)
        assert sorted(record for part in parts for record in part.ids) == sorted(federated.validation[task].ids)
        pooled = federated.pooled(task)
        assert pooled.ids == tuple(record for shard in federated.clients[task] for record in shard.ids)
        assert sorted(set(pooled.client_ids.tolist())) == [0, 1, 2, 3, 4]
    with pytest.raises(InvalidParameterError, match="No client 5"):
        federated.client_validation("covid19", 5)
    with pytest.raises(UnknownTaskError, match="'sepsis' was not loaded"):
        federated.pooled("sepsis")


def test_validation_tasks_load_their_test_split_only(tiny_demo):
    data = load_federated_data(tiny_demo, ["sepsis", "covid19"], image_size=16, max_steps=24, splits=("test",))
    assert data.n_clients == 5 and data.clients == {} and set(data.test) == {"sepsis", "covid19"}
    assert data.test["sepsis"].inputs["clinical"].shape[1] == 24
    with pytest.raises(InvalidParameterError, match="validation split of 'covid19' was not loaded"):
        data.client_validation("covid19", 0)
    with pytest.raises(InvalidParameterError, match="'sepsis' is a validation task"):
        load_federated_data(tiny_demo, ["covid19", "sepsis"], image_size=16, max_steps=24)


def test_unknown_tasks_and_splits_are_clear_errors(tiny_demo):
    with pytest.raises(UnknownTaskError, match="Unknown task 'covid'"):
        load_federated_data(tiny_demo, ["covid"], image_size=16, max_steps=24)
    with pytest.raises(UnknownTaskError, match="Unknown task 'covid'"):
        load_task_tensors(tiny_demo, "covid", "test")
    with pytest.raises(UnknownTaskError, match="has no split 'client_0'"):
        load_task_tensors(tiny_demo, "sepsis", "client_0")
    with pytest.raises(InvalidParameterError, match="Unknown split group"):
        load_federated_data(tiny_demo, ["covid19"], image_size=16, max_steps=24, splits=("client_0",))


@pytest.fixture(scope="module")
def natural_build(tmp_path_factory):
    """ecg_abnormal (4 sites) and mortality (5 care units), partitioned by site: 4 and 5 clients."""
    out = tmp_path_factory.mktemp("natural") / "data"
    build_demo(out, size="tiny", tasks=["ecg_abnormal", "mortality"],
               partition_config=PartitionConfig(scheme="natural"))
    return out


def test_tasks_with_different_client_counts_cannot_be_federated_together(natural_build):
    with pytest.raises(PartitionError, match="ecg_abnormal: 4, mortality: 5"):
        load_federated_data(natural_build, ["ecg_abnormal", "mortality"], image_size=16, max_steps=48)
    assert len(load_federated_data(natural_build, ["ecg_abnormal"], image_size=16, max_steps=48).clients
               ["ecg_abnormal"]) == 4
    both = load_federated_data(natural_build, ["ecg_abnormal", "mortality"], image_size=16, max_steps=48,
                               splits=("test",))
    assert set(both.test) == {"ecg_abnormal", "mortality"}


def test_a_hub_repo_id_from_the_offline_cache_gives_the_same_tensors(tiny_demo, tmp_path, monkeypatch):
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "datasets--org--tiny"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(tiny_demo, repo / "snapshots" / commit)
    # huggingface_hub reads HF_HUB_CACHE once, at import: a cache set by the environment is this constant.
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    tasks = ["covid19", "mortality"]
    from_hub = load_federated_data("org/tiny", tasks, image_size=24, max_steps=16)
    from_folder = load_federated_data(tiny_demo, tasks, image_size=24, max_steps=16)
    assert from_hub.source == "org/tiny" and from_hub.fingerprint == from_folder.fingerprint
    for task in tasks:
        pairs = [*zip(from_hub.clients[task], from_folder.clients[task]),
                 *((getattr(from_hub, name)[task], getattr(from_folder, name)[task])
                   for name in ("validation", "public", "test"))]
        for hub, folder in pairs:
            assert_same(hub, folder)
    assert_same(load_task_tensors("org/tiny", "sepsis", "test", max_steps=16),
                load_task_tensors(tiny_demo, "sepsis", "test", max_steps=16))


def assert_same(a: TaskTensors, b: TaskTensors):
    assert a.ids == b.ids and a.inputs.keys() == b.inputs.keys()
    assert all(torch.equal(a.inputs[key], b.inputs[key]) for key in a.inputs)
    assert torch.equal(a.labels, b.labels) and torch.equal(a.client_ids, b.client_ids)
