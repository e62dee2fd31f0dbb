"""Client partitioning: which records are public, test, validation and each client's private shard.

Four schemes split the client pool over clients; the ``public`` and ``test`` splits are cut first, with a
generator of their own, so they never depend on the scheme, the number of clients or ``alpha``.

- ``paper``: the original configuration: 80/10/10 pool/public/test cut with ``int()`` truncation, five
  IID clients, about 1/8 of each client's shard held out as its validation data (70/10/10/10 overall).
- ``iid``: the same with any number of clients.
- ``dirichlet``: label skew: each class is spread over clients with proportions drawn from
  ``Dirichlet(alpha)`` (small ``alpha`` = strong skew), redrawn until every shard has ``min_size`` records.
- ``natural``: one client per natural ``site`` (hospital, care unit, device), in sorted site order.

IID shards are stratified by label, so every client keeps the pool's class ratio (the original code's
unstratified ``random_split`` gives the same in expectation; stratifying guarantees both classes on small
data). Indices inside each split are sorted, so a split's rows keep the order of the source.

Examples
--------
>>> import numpy as np
>>> labels = np.array([0, 1] * 50)
>>> result = partition(labels, None, PartitionConfig(scheme="iid", n_clients=2, seed=0))
>>> sorted(set(result.split))
['client_0', 'client_1', 'public', 'test', 'validation']
>>> int((result.split == "test").sum()), int((result.split == "public").sum())
(10, 10)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from fedmeki_data.errors import InvalidParameterError, PartitionError
from fedmeki_data.schema import PUBLIC, TEST, VALIDATION, client_split

Scheme = Literal["paper", "iid", "dirichlet", "natural"]
SCHEMES: tuple[Scheme, ...] = ("paper", "iid", "dirichlet", "natural")
PAPER_CLIENTS = 5
PAPER_SEED = 42
_POOL_FRACTION, _PUBLIC_FRACTION = 0.8, 0.1
_VALIDATION_FRACTION = 1 / 8
_DIRICHLET_TRIES = 100


@dataclass(frozen=True)
class PartitionConfig:
    """How to split a task's records.

    Parameters
    ----------
    scheme : {"paper", "iid", "dirichlet", "natural"}, default="paper"
    n_clients : int or None, default=None
        Number of clients; None means 5 (``paper``, ``iid``, ``dirichlet``) or one per site (``natural``).
    alpha : float, default=0.5
        Dirichlet concentration (``dirichlet`` only), > 0.
    min_size : int, default=2
        Smallest client shard ``dirichlet`` accepts, >= 1.
    seed : int, default=42
        Seed of the split generators.
    """

    scheme: Scheme = "paper"
    n_clients: int | None = None
    alpha: float = 0.5
    min_size: int = 2
    seed: int = PAPER_SEED

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise InvalidParameterError(
                f"Unknown partition scheme {self.scheme!r}.", hint=f"use one of {', '.join(SCHEMES)}"
            )
        if self.n_clients is not None and self.n_clients < 1:
            raise InvalidParameterError(f"clients must be >= 1, got {self.n_clients}.", hint="pass --clients 5")
        if self.scheme == "paper" and self.n_clients not in (None, PAPER_CLIENTS):
            raise InvalidParameterError(
                f"The paper partition has {PAPER_CLIENTS} clients, got {self.n_clients}.",
                hint=f"use --partition iid --clients {self.n_clients} for another number of IID clients",
            )
        if not self.alpha > 0 or not math.isfinite(self.alpha):
            raise InvalidParameterError(
                f"alpha must be a finite number > 0, got {self.alpha}.",
                hint="small alpha (0.1) gives strong label skew, large alpha (100) nearly IID shards",
            )
        if self.min_size < 1:
            raise InvalidParameterError(f"min_size must be >= 1, got {self.min_size}.",
                                        hint="pass --min-size 1 or more")

    def to_dict(self) -> dict:
        """The configuration as recorded in manifests (``n_clients`` resolved by the caller)."""
        return asdict(self)


@dataclass(frozen=True)
class Assignment:
    """Where each record goes: ``split[i]`` and ``client_id[i]`` (-1 for ``public`` and ``test``)."""

    split: np.ndarray
    client_id: np.ndarray
    n_clients: int
    site_names: tuple[str, ...] = ()


def split_pool(labels: np.ndarray, *, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut record indices into client pool (80 %), public (10 %) and test (10 %), stratified by label.

    Per class, after a seeded shuffle, the cut points are ``int(0.8 n)`` and ``int(0.9 n)`` as in the
    original preprocessing scripts.
    """
    parts: tuple[list, list, list] = ([], [], [])
    for members in _classes(labels):
        shuffled = rng.permutation(members)
        n = len(shuffled)
        for part, piece in zip(parts, np.split(shuffled, [int(_POOL_FRACTION * n),
                                                          int((_POOL_FRACTION + _PUBLIC_FRACTION) * n)])):
            part.append(piece)
    pool, public, test = (np.sort(np.concatenate(part)) for part in parts)
    return pool, public, test


def iid(labels: np.ndarray, n_clients: int, *, rng: np.random.Generator) -> list[np.ndarray]:
    """Deal records to ``n_clients`` shards at random, stratified by label; sizes differ by at most one.

    Raises
    ------
    PartitionError
        If there are fewer records than clients.
    """
    _check_enough(len(labels), n_clients, minimum=1)
    dealt = np.concatenate([rng.permutation(members) for members in _classes(labels)])
    return [np.sort(dealt[k::n_clients]) for k in range(n_clients)]


def dirichlet(labels: np.ndarray, n_clients: int, *, alpha: float, rng: np.random.Generator,
              min_size: int = 2) -> list[np.ndarray]:
    """Spread each class over clients with ``Dirichlet(alpha)`` proportions (label skew).

    Following Hsu et al. (2019, arXiv:1909.06335): one proportion vector per class. As in NIID-Bench
    (Li et al., 2022, arXiv:2102.02079), a client that already holds its even share ``n / n_clients``
    gets no more records, and draws are repeated until every shard holds at least ``min_size``.

    Raises
    ------
    PartitionError
        If ``n_clients * min_size`` exceeds the records, or no draw in 100 meets ``min_size``.
    """
    _check_enough(len(labels), n_clients, minimum=min_size)
    for _ in range(_DIRICHLET_TRIES):
        shards: list[list[np.ndarray]] = [[] for _ in range(n_clients)]
        sizes = np.zeros(n_clients)
        for members in _classes(labels):
            shuffled = rng.permutation(members)
            open_clients = sizes < len(labels) / n_clients
            weights = rng.dirichlet(np.full(n_clients, alpha)) * open_clients
            if weights.sum() == 0:  # tiny alpha can underflow every open client's share to zero
                weights = open_clients.astype(float)
            cuts = (np.cumsum(weights / weights.sum()) * len(shuffled)).astype(int)[:-1]
            for k, piece in enumerate(np.split(shuffled, cuts)):
                shards[k].append(piece)
                sizes[k] += len(piece)
        merged = [np.sort(np.concatenate(shard)) for shard in shards]
        if min(len(shard) for shard in merged) >= min_size:
            return merged
    raise PartitionError(
        f"No Dirichlet(alpha={alpha}) draw gave every one of {n_clients} clients {min_size} records "
        f"(out of {len(labels)}).",
        hint="raise --alpha, lower --clients, or use more data",
    )


def natural(sites: np.ndarray) -> tuple[tuple[str, ...], list[np.ndarray]]:
    """One shard per distinct site, sites in sorted order.

    Raises
    ------
    PartitionError
        If any record has no site.
    """
    sites = np.asarray(sites, dtype=object)
    if (sites == "").any():
        raise PartitionError(
            f"{int((sites == '').sum())} records have no site, so they cannot be assigned by site.",
            hint="use --partition paper, iid or dirichlet for this task",
        )
    names = tuple(sorted(set(sites.tolist())))
    return names, [np.flatnonzero(sites == name) for name in names]


def carve_validation(labels: np.ndarray, shard: np.ndarray, *,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Hold out about 1/8 of a client's shard, per class, as that client's validation data.

    A class is never held out entirely, so a client keeps every class it has for training.
    """
    train, held_out = [], []
    for members in _classes(labels[shard]):
        shuffled = rng.permutation(shard[members])
        n_valid = min(int(len(shuffled) * _VALIDATION_FRACTION + 0.5), len(shuffled) - 1)
        held_out.append(shuffled[:n_valid])
        train.append(shuffled[n_valid:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(held_out))


def partition(labels: np.ndarray | None, sites: np.ndarray | None, config: PartitionConfig, *,
              groups: np.ndarray | None = None) -> Assignment:
    """Assign every record of a training task to a split and a client.

    Parameters
    ----------
    labels : ndarray of int or None
        Class of each record (None for unlabeled records: one stratum).
    sites : ndarray of str or None
        Natural site of each record ("" = none); required by ``natural``.
    config : PartitionConfig
    groups : ndarray of str, optional
        Patient of each record: a patient's records all go to one split and one client. Patients are
        partitioned as units, stratified by their largest label and placed by their first record's site.

    Returns
    -------
    Assignment
        Split name and client id per record.

    Raises
    ------
    PartitionError
        If the data cannot be split as asked (too few records, records without sites).
    """
    if groups is not None:
        return _partition_groups(labels, sites, config, np.asarray(groups, dtype=object))
    n = len(labels) if labels is not None else len(sites)
    labels = np.zeros(n, dtype=np.int64) if labels is None else np.asarray(labels)
    pool, public, test = split_pool(labels, rng=np.random.default_rng([config.seed, 0]))
    rng = np.random.default_rng([config.seed, 1])
    site_names: tuple[str, ...] = ()
    if config.scheme == "natural":
        if sites is None:
            raise PartitionError("This task has no natural sites.", hint="use --partition paper, iid or dirichlet")
        site_names, local = natural(np.asarray(sites, dtype=object)[pool])
        if config.n_clients is not None and config.n_clients != len(site_names):
            raise PartitionError(
                f"The data has {len(site_names)} sites ({', '.join(site_names)}), not {config.n_clients}.",
                hint="omit --clients with --partition natural",
            )
    elif config.scheme == "dirichlet":
        local = dirichlet(labels[pool], config.n_clients or PAPER_CLIENTS, alpha=config.alpha, rng=rng,
                          min_size=config.min_size)
    else:
        local = iid(labels[pool], config.n_clients or PAPER_CLIENTS, rng=rng)
    split = np.empty(n, dtype=object)
    client_id = np.full(n, -1, dtype=np.int32)
    split[public], split[test] = PUBLIC, TEST
    for k, shard in enumerate(local):
        train, held_out = carve_validation(labels, pool[shard], rng=rng)
        split[train], split[held_out] = client_split(k), VALIDATION
        client_id[train] = client_id[held_out] = k
    empty = [name for name in (*(client_split(k) for k in range(len(local))), VALIDATION, PUBLIC, TEST)
             if not np.any(split == name)]
    if empty:
        raise PartitionError(f"{n} records leave split(s) {', '.join(empty)} empty.",
                             hint="lower --clients, or build from more records")
    return Assignment(split=split, client_id=client_id, n_clients=len(local), site_names=site_names)


def _partition_groups(labels: np.ndarray | None, sites: np.ndarray | None, config: PartitionConfig,
                      groups: np.ndarray) -> Assignment:
    names, first, inverse = np.unique(groups.astype(str), return_index=True, return_inverse=True)
    group_labels = None
    if labels is not None:
        group_labels = np.zeros(len(names), dtype=np.int64)
        np.maximum.at(group_labels, inverse, np.asarray(labels, dtype=np.int64))
    group_sites = None if sites is None else np.asarray(sites, dtype=object)[first]
    assignment = partition(group_labels, group_sites, config)
    return Assignment(split=assignment.split[inverse], client_id=assignment.client_id[inverse],
                      n_clients=assignment.n_clients, site_names=assignment.site_names)


def _classes(labels: np.ndarray) -> list[np.ndarray]:
    return [np.flatnonzero(labels == value) for value in np.unique(labels)]


def _check_enough(n: int, n_clients: int, *, minimum: int) -> None:
    if n < n_clients * minimum:
        raise PartitionError(
            f"Cannot give {n_clients} clients {minimum} record(s) each from {n} records.",
            hint="lower --clients or use a larger --size",
        )
