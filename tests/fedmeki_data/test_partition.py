"""Client partitioning: disjoint, covering, deterministic, with the skew each scheme promises."""

import numpy as np
import pytest

from fedmeki_data.errors import InvalidParameterError, PartitionError
from fedmeki_data.partition import PartitionConfig, carve_validation, dirichlet, iid, natural, partition, split_pool

LABELS = np.array([0] * 700 + [1] * 300)
SITES = np.array(["b", "a", "c", "a", "d"] * 200, dtype=object)


def _mean_label_skew(labels, shards):
    """Mean total-variation distance between each shard's label distribution and the pool's."""
    overall = np.bincount(labels, minlength=2) / len(labels)
    return np.mean([0.5 * np.abs(np.bincount(labels[s], minlength=2) / len(s) - overall).sum() for s in shards])


@pytest.mark.parametrize("config", [
    PartitionConfig(),  # paper
    PartitionConfig(scheme="iid", n_clients=7, seed=3),
    PartitionConfig(scheme="dirichlet", n_clients=4, alpha=0.3, seed=1),
    PartitionConfig(scheme="natural"),
])
def test_every_record_lands_in_exactly_one_split(config):
    result = partition(LABELS, SITES, config)
    assert result.split.shape == LABELS.shape and all(result.split != None)  # noqa: E711 (object array)
    clients = {f"client_{k}" for k in range(result.n_clients)}
    assert set(result.split) == clients | {"validation", "public", "test"}
    in_client = np.isin(result.split, list(clients))
    assert (result.client_id[in_client] >= 0).all()
    assert (result.client_id[result.split == "validation"] >= 0).all()
    assert (result.client_id[np.isin(result.split, ["public", "test"])] == -1).all()
    for k in range(result.n_clients):
        assert (result.client_id[result.split == f"client_{k}"] == k).all()


def test_paper_partition_is_70_10_10_10_with_five_clients():
    result = partition(LABELS, None, PartitionConfig())
    counts = {name: int((result.split == name).sum()) for name in set(result.split)}
    assert result.n_clients == 5
    assert counts["public"] == counts["test"] == 100  # int(0.9 n) - int(0.8 n) per class
    assert counts["validation"] == 100  # 1/8 of the 800-record client pool
    assert [counts[f"client_{k}"] for k in range(5)] == [140] * 5


def test_public_and_test_do_not_depend_on_the_client_partition():
    reference = partition(LABELS, SITES, PartitionConfig(seed=9))
    for config in (PartitionConfig(scheme="iid", n_clients=3, seed=9),
                   PartitionConfig(scheme="dirichlet", n_clients=10, alpha=0.05, seed=9),
                   PartitionConfig(scheme="natural", seed=9)):
        other = partition(LABELS, SITES, config)
        for name in ("public", "test"):
            assert np.array_equal(other.split == name, reference.split == name)


def test_same_seed_same_partition_other_seed_other_partition():
    first = partition(LABELS, None, PartitionConfig(scheme="iid", n_clients=4, seed=5))
    again = partition(LABELS, None, PartitionConfig(scheme="iid", n_clients=4, seed=5))
    other = partition(LABELS, None, PartitionConfig(scheme="iid", n_clients=4, seed=6))
    assert np.array_equal(first.split, again.split) and np.array_equal(first.client_id, again.client_id)
    assert not np.array_equal(first.split, other.split)


def test_iid_shards_are_stratified_and_balanced():
    shards = iid(LABELS, 6, rng=np.random.default_rng(0))
    assert np.array_equal(np.sort(np.concatenate(shards)), np.arange(len(LABELS)))
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    assert _mean_label_skew(LABELS, shards) < 0.01


def test_dirichlet_skew_follows_alpha():
    skewed = dirichlet(LABELS, 10, alpha=0.1, rng=np.random.default_rng(0))
    near_iid = dirichlet(LABELS, 10, alpha=1000.0, rng=np.random.default_rng(0))
    for shards in (skewed, near_iid):
        assert np.array_equal(np.sort(np.concatenate(shards)), np.arange(len(LABELS)))
        assert min(map(len, shards)) >= 2
    print(f"label skew (mean TV distance): alpha=0.1 -> {_mean_label_skew(LABELS, skewed):.3f}, "
          f"alpha=1000 -> {_mean_label_skew(LABELS, near_iid):.3f}")
    assert _mean_label_skew(LABELS, skewed) > 0.25
    assert _mean_label_skew(LABELS, near_iid) < 0.03


def test_dirichlet_respects_min_size_or_says_why():
    shards = dirichlet(LABELS, 10, alpha=0.3, rng=np.random.default_rng(0), min_size=20)
    assert min(map(len, shards)) >= 20
    with pytest.raises(PartitionError, match="No Dirichlet"):
        dirichlet(LABELS[:60], 20, alpha=0.01, rng=np.random.default_rng(0), min_size=3)


def test_natural_follows_sites():
    names, shards = natural(SITES)
    assert names == ("a", "b", "c", "d")
    for name, shard in zip(names, shards):
        assert set(SITES[shard]) == {name}
    result = partition(LABELS, SITES, PartitionConfig(scheme="natural"))
    for k, name in enumerate(result.site_names):
        assert set(SITES[result.client_id == k]) == {name}


def test_validation_keeps_every_class_for_training():
    shard = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 699, 700])  # a shard with 2 positives
    train, held_out = carve_validation(LABELS, shard, rng=np.random.default_rng(0))
    assert set(LABELS[train]) == {0, 1}
    assert len(held_out) == 1 and np.intersect1d(train, held_out).size == 0


def test_split_pool_is_stratified():
    pool, public, test = split_pool(LABELS, rng=np.random.default_rng(0))
    assert LABELS[test].mean() == pytest.approx(0.3) and LABELS[public].mean() == pytest.approx(0.3)
    assert len(pool) + len(public) + len(test) == len(LABELS)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"scheme": "dirichlet", "alpha": 0.0}, InvalidParameterError, "alpha must be"),
    ({"scheme": "dirichlet", "alpha": -1.0}, InvalidParameterError, "alpha must be"),
    ({"scheme": "dirichlet", "alpha": float("nan")}, InvalidParameterError, "alpha must be"),
    ({"scheme": "paper", "n_clients": 3}, InvalidParameterError, "paper partition has 5 clients"),
    ({"scheme": "iid", "n_clients": 0}, InvalidParameterError, "clients must be >= 1"),
    ({"scheme": "shuffled"}, InvalidParameterError, "Unknown partition scheme"),
])
def test_bad_options_are_rejected(kwargs, error, message):
    with pytest.raises(error, match=message):
        PartitionConfig(**kwargs)


def test_more_clients_than_records_is_an_error():
    with pytest.raises(PartitionError, match="Cannot give 50 clients"):
        partition(LABELS[:40], None, PartitionConfig(scheme="iid", n_clients=50))


def test_natural_needs_sites_on_every_record():
    with pytest.raises(PartitionError, match="have no site"):
        partition(LABELS, np.array([""] * len(LABELS), dtype=object), PartitionConfig(scheme="natural"))
    with pytest.raises(PartitionError, match="sites"):
        partition(LABELS, SITES, PartitionConfig(scheme="natural", n_clients=3))


@pytest.mark.parametrize("scheme", ["paper", "dirichlet", "natural"])
def test_grouped_partition_never_splits_a_patient(scheme):
    rng = np.random.default_rng(3)
    patients = rng.integers(0, 150, size=600)
    groups = np.array([f"p{p}" for p in patients], dtype=object)
    labels = (patients % 3 == 0).astype(int)  # a patient's records share a label, as in PTB-XL diagnoses
    sites = np.array([f"site{p % 4}" for p in patients], dtype=object)

    first = partition(labels, sites, PartitionConfig(scheme=scheme), groups=groups)
    again = partition(labels, sites, PartitionConfig(scheme=scheme), groups=groups)

    placements = {}
    for group, split, client in zip(groups, first.split, first.client_id, strict=True):
        placements.setdefault(group, set()).add((split, int(client)))
    assert all(len(places) == 1 for places in placements.values())
    assert set(first.split) >= {"public", "test", "validation", "client_0"}
    assert np.array_equal(first.split, again.split) and np.array_equal(first.client_id, again.client_id)
    if scheme == "natural":
        assert first.site_names == ("site0", "site1", "site2", "site3")
