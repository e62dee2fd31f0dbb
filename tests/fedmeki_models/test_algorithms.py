"""The FL algorithms of ``fedmeki_models.fl.algorithms``: aggregation against hand-computed values, and client
updates through the real training loop on a tiny model (a linear layer, BatchNorm and a head)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from torch import nn

from fedmeki_models.data import TaskTensors
from fedmeki_models.errors import ModelConfigError
from fedmeki_models.fl.aggregation import check_client_updates
from fedmeki_models.fl.algorithms import (
    ALGORITHMS,
    FedAdagrad,
    FedAdam,
    FedAvg,
    FedAvgM,
    FedBN,
    FedMedian,
    FedProx,
    FedTrimmedAvg,
    FedYogi,
    Scaffold,
    make_algorithm,
)
from fedmeki_models.fl.algorithms.scaffold import DELTA_C
from fedmeki_models.fl.types import ClientUpdate, RoundContext
from fedmeki_models.training import TrainingConfig, load_state, state_of, train_local

TASK = "tiny"
SGD = TrainingConfig(epochs=1, batch_size=64, optimizer="sgd", lr=0.1, grad_clip=None)
BN = ("encoder.1.weight", "encoder.1.bias", "encoder.1.running_mean", "encoder.1.running_var",
      "encoder.1.num_batches_tracked")


class TinyModel(nn.Module):
    """The local-model contract in miniature: ``forward(task, batch)``, ``task_parameters``, ``task_state_keys``."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
        self.head = nn.Linear(4, 1)
        self.other_head = nn.Linear(4, 1)  # another task's head: never trained or sent for TASK
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)

    def forward(self, task: str, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.head(self.encoder(batch["x"])).squeeze(-1)

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return [*self.encoder.parameters(), *self.head.parameters()]

    def task_state_keys(self, task: str) -> tuple[str, ...]:
        return tuple(key for key in self.state_dict() if not key.startswith("other_head."))


PARAMS = tuple(name for name, _ in TinyModel().named_parameters() if not name.startswith("other_head."))


def make_data(n: int = 8, *, shift: float = 0.0, seed: int = 1) -> TaskTensors:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=generator) + shift
    return TaskTensors(task=TASK, ids=tuple(f"r{i}" for i in range(n)), inputs={"x": x},
                       labels=(x[:, 0] > shift).float(), client_ids=torch.zeros(n, dtype=torch.int64))


def task_weights(model: TinyModel):
    return state_of(model, model.task_state_keys(TASK))


def run_client(algorithm, model, data, config=SGD, *, weights, client=0, payload=None, state=None, seed=0):
    return algorithm.client_update(model, TASK, data, config, client=client, global_weights=weights,
                                   payload=payload or {}, client_state=state or {},
                                   generator=torch.Generator().manual_seed(seed))


def context(num_clients: int = 5, parameter_keys=("w",)) -> RoundContext:
    return RoundContext(round=1, task=TASK, num_clients=num_clients, parameter_keys=frozenset(parameter_keys))


def update(client: int, w, *, n: int = 1, mean=(0.0, 0.0), count: int = 1, extras=None) -> ClientUpdate:
    weights = {"w": torch.tensor(w), "bn.running_mean": torch.tensor(mean),
               "bn.num_batches_tracked": torch.tensor(count)}
    return ClientUpdate(client=client, weights=weights, num_examples=n, num_steps=1, loss=0.0, extras=extras or {})


GLOBAL = {"w": torch.tensor([1.0, 1.0]), "bn.running_mean": torch.tensor([0.0, 0.0]),
          "bn.num_batches_tracked": torch.tensor(2)}


# FedAvg ------------------------------------------------------------------------------------------


def test_fedavg_aggregates_by_examples():
    # Prepare: weights 1:3
    updates = [update(0, [0.0, 4.0], n=1, mean=(4.0, 0.0), count=5), update(1, [4.0, 8.0], n=3, count=3)]
    # Execute
    new, state = FedAvg().aggregate(GLOBAL, updates, {}, context())
    # Assert: 0.25 * a + 0.75 * b; the counter by max
    assert torch.equal(new["w"], torch.tensor([3.0, 7.0]))
    assert torch.equal(new["bn.running_mean"], torch.tensor([1.0, 0.0]))
    assert int(new["bn.num_batches_tracked"]) == 5
    assert state == {}


def test_fedavg_with_one_client_equals_centralised_training():
    # Prepare
    data = make_data()
    model = TinyModel()
    start = task_weights(model)
    # Execute: one FL round with one client, and the centralised baseline on the same (pooled) data
    outcome = run_client(FedAvg(), model, data, weights=start, seed=3)
    new, _ = FedAvg().aggregate(start, [outcome.update], {}, context(1, PARAMS))
    central = TinyModel()
    train_local(central, TASK, data, SGD, generator=torch.Generator().manual_seed(3))
    # Assert: bit-exact, and it is one SGD step of the full batch
    assert outcome.update.num_steps == 1
    for key in start:
        assert torch.equal(new[key], central.state_dict()[key]), key
    manual = TinyModel()
    manual.train()
    nn.BCEWithLogitsLoss()(manual(TASK, data.inputs), data.labels).backward()
    for name, parameter in manual.named_parameters():
        if name in PARAMS:
            torch.testing.assert_close(new[name], parameter.detach() - SGD.lr * parameter.grad)


# Server optimisers -------------------------------------------------------------------------------


def test_fedavgm_momentum_over_two_rounds():
    # Prepare
    algorithm = FedAvgM(server_lr=0.5, momentum=0.9)
    state = algorithm.init_server_state(GLOBAL, context())
    rounds = [[update(0, [3.0, 1.0], n=1, mean=(2.0, 2.0)), update(1, [1.0, 5.0], n=3, count=7)],
              [update(0, [0.0, 0.0], n=2), update(1, [2.0, 2.0], n=2, mean=(4.0, 0.0))]]
    # Execute
    weights, results = GLOBAL, []
    for updates in rounds:
        weights, state = algorithm.aggregate(weights, updates, state, context())
        results.append((weights, state))
    # Assert: u1 = avg1 - x0, x1 = x0 + 0.5 u1; u2 = 0.9 u1 + (avg2 - x1), x2 = x1 + 0.5 u2
    x0 = np.array([1.0, 1.0])
    u1 = np.array([1.5, 4.0]) - x0
    x1 = x0 + 0.5 * u1
    u2 = 0.9 * u1 + (np.array([1.0, 1.0]) - x1)
    x2 = x1 + 0.5 * u2
    for (weights, state), x, u in zip(results, (x1, x2), (u1, u2)):
        np.testing.assert_allclose(weights["w"].numpy(), x, rtol=1e-6)
        np.testing.assert_allclose(state["momentum.w"].numpy(), u, rtol=1e-6)
        assert set(state) == {"momentum.w"}  # buffers get no momentum
    # Buffers: the floating one averaged, the counter by max
    np.testing.assert_allclose(results[0][0]["bn.running_mean"].numpy(), [0.5, 0.5])
    assert int(results[0][0]["bn.num_batches_tracked"]) == 7


SECOND_MOMENT = {
    FedAdam: lambda v, squared, beta_2: beta_2 * v + (1 - beta_2) * squared,
    FedYogi: lambda v, squared, beta_2: v - (1 - beta_2) * squared * np.sign(v - squared),
    FedAdagrad: lambda v, squared, beta_2: v + squared,
}


@pytest.mark.parametrize("cls", [FedAdam, FedYogi, FedAdagrad])
def test_adaptive_server_optimisers_follow_reddi_et_al(cls):
    # Prepare: the second coordinate moves by 1e-3, so Delta^2 < v_{-1} = tau^2 (Yogi's sign flips)
    lr, beta_1, beta_2, tau = 0.1, 0.8, 0.9, 0.01
    params = {"server_lr": lr, "beta_1": beta_1, "tau": tau} | ({} if cls is FedAdagrad else {"beta_2": beta_2})
    algorithm = cls(**params)
    state = algorithm.init_server_state(GLOBAL, context())
    assert set(state) == {"m.w", "v.w"}
    np.testing.assert_allclose(state["v.w"].numpy(), [tau**2, tau**2])
    rounds = [[update(0, [2.0, 1.001], n=1), update(1, [1.0, 1.001], n=1, mean=(6.0, 2.0))],
              [update(0, [0.5, 1.5], n=3), update(1, [-0.5, 1.0], n=1)]]
    # Execute / Assert, round by round against numpy
    x, m, v = np.array([1.0, 1.0]), np.zeros(2), np.full(2, tau**2)
    weights = GLOBAL
    for updates in rounds:
        weights, state = algorithm.aggregate(weights, updates, state, context())
        average = np.average([u.weights["w"].double().numpy() for u in updates], axis=0,
                             weights=[u.num_examples for u in updates])
        delta = average - x
        m = beta_1 * m + (1 - beta_1) * delta
        v = SECOND_MOMENT[cls](v, delta**2, beta_2)
        x = x + lr * m / (np.sqrt(v) + tau)
        np.testing.assert_allclose(weights["w"].numpy(), x, rtol=1e-5)
        np.testing.assert_allclose(state["m.w"].numpy(), m, rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(state["v.w"].numpy(), v, rtol=1e-5, atol=1e-12)
        assert torch.equal(weights["bn.running_mean"], torch.stack([u.weights["bn.running_mean"] for u in updates])
                           .mul(torch.tensor([[u.num_examples] for u in updates], dtype=torch.float32))
                           .sum(0).div(sum(u.num_examples for u in updates)))


# Robust aggregation ------------------------------------------------------------------------------


def test_fedmedian_is_unweighted_coordinate_median():
    # Client 2's many examples do not count; median(3, 0, 100) = 3, median(-1, 1, 50) = 1
    updates = [update(0, [3.0, -1.0], count=4), update(1, [0.0, 1.0]), update(2, [100.0, 50.0], n=1000)]
    new, _ = FedMedian().aggregate(GLOBAL, updates, {}, context())
    assert torch.equal(new["w"], torch.tensor([3.0, 1.0]))
    assert int(new["bn.num_batches_tracked"]) == 4


def test_fedtrimmedavg_drops_extremes():
    # beta=0.2 of 5 clients: one per side; mean(1, 2, 3) = 2 and mean(10, 20, 30) = 20
    values = ([-100.0, 10.0], [1.0, 20.0], [2.0, 30.0], [3.0, 1e6], [1e6, -1e6])
    updates = [update(i, value, n=i + 1) for i, value in enumerate(values)]
    new, _ = FedTrimmedAvg(beta=0.2).aggregate(GLOBAL, updates, {}, context())
    assert torch.equal(new["w"], torch.tensor([2.0, 20.0]))


# FedProx -----------------------------------------------------------------------------------------


def test_fedprox_with_mu_zero_is_fedavg():
    data = make_data()
    config = TrainingConfig(epochs=3, batch_size=4, optimizer="sgd", lr=0.2, grad_clip=None)
    start = task_weights(TinyModel())
    plain = run_client(FedAvg(), TinyModel(), data, config, weights=start, seed=7).update.weights
    prox = run_client(FedProx(mu=0.0), TinyModel(), data, config, weights=start, seed=7).update.weights
    for key in start:
        assert torch.equal(plain[key], prox[key]), key


def test_fedprox_adds_the_proximal_gradient():
    # Prepare: two full-batch steps; the first is FedAvg's (the term's gradient is 0 at the global weights)
    data, mu = make_data(), 2.0
    config = TrainingConfig(epochs=2, batch_size=64, optimizer="sgd", lr=0.1, grad_clip=None)
    start = task_weights(TinyModel())
    # Execute
    first = run_client(FedAvg(), TinyModel(), data, SGD, weights=start, seed=4).update.weights
    plain = run_client(FedAvg(), TinyModel(), data, config, weights=start, seed=4).update.weights
    prox = run_client(FedProx(mu=mu), TinyModel(), data, config, weights=start, seed=4).update.weights
    # Assert: second step differs by -lr * mu * (w1 - w_global), on parameters only
    for key in PARAMS:
        torch.testing.assert_close(prox[key] - plain[key], -config.lr * mu * (first[key] - start[key]))
    assert torch.equal(prox["encoder.1.running_mean"], plain["encoder.1.running_mean"])


def test_fedprox_pulls_towards_the_global_weights():
    data = make_data(16)
    config = TrainingConfig(epochs=5, batch_size=4, optimizer="sgd", lr=0.3, grad_clip=None)
    start = task_weights(TinyModel())

    def distance(weights):
        return sum(float((weights[key] - start[key]).square().sum()) for key in PARAMS)

    plain = run_client(FedAvg(), TinyModel(), data, config, weights=start, seed=5).update.weights
    prox = run_client(FedProx(mu=1.0), TinyModel(), data, config, weights=start, seed=5).update.weights
    assert distance(prox) < distance(plain)


# FedBN -------------------------------------------------------------------------------------------


def test_fedbn_keeps_batchnorm_on_the_clients():
    # Prepare: two clients with shifted features
    algorithm, model = FedBN(), TinyModel()
    start = task_weights(model)
    shards = [make_data(8, shift=0.0, seed=1), make_data(24, shift=3.0, seed=2)]
    # Execute
    outcomes = [run_client(algorithm, model, shard, weights=start, client=i, seed=i) for i, shard in enumerate(shards)]
    updates = [outcome.update for outcome in outcomes]
    check_client_updates(updates, algorithm.update_keys(model, TASK, start))
    new, _ = algorithm.aggregate(start, updates, {}, context(2, PARAMS))
    # Assert: BN never sent, kept as each client's state, equal to its own local training
    assert set(algorithm.update_keys(model, TASK, start)) == set(start) - set(BN)
    for i, (outcome, shard) in enumerate(zip(outcomes, shards)):
        assert set(outcome.update.weights) == set(start) - set(BN)
        assert set(outcome.state) == set(BN)
        alone = TinyModel()
        train_local(alone, TASK, shard, SGD, generator=torch.Generator().manual_seed(i))
        for key in BN:
            assert torch.equal(outcome.state[key], alone.state_dict()[key]), key
    assert not torch.allclose(outcomes[0].state["encoder.1.running_mean"], outcomes[1].state["encoder.1.running_mean"])
    # The server's BN is untouched, the rest is FedAvg (weights 8:24)
    for key in BN:
        assert torch.equal(new[key], start[key]), key
    torch.testing.assert_close(new["head.weight"], 0.25 * updates[0].weights["head.weight"]
                               + 0.75 * updates[1].weights["head.weight"])
    # The exported model gets the clients' example-weighted BN
    exported = algorithm.global_model_weights(new, {0: outcomes[0].state, 1: outcomes[1].state}, {0: 8, 1: 24})
    torch.testing.assert_close(exported["encoder.1.running_mean"], 0.25 * outcomes[0].state["encoder.1.running_mean"]
                               + 0.75 * outcomes[1].state["encoder.1.running_mean"])
    assert int(exported["encoder.1.num_batches_tracked"]) == 1
    assert torch.equal(exported["head.weight"], new["head.weight"])
    assert algorithm.global_model_weights(new, {}, {}) is new


def test_fedbn_client_trains_with_its_own_batchnorm():
    # Prepare: a client state differing from the global BN
    algorithm, start = FedBN(), task_weights(TinyModel())
    own = {key: start[key] + 1 if start[key].is_floating_point() else start[key] + 5 for key in BN}
    own["encoder.1.running_var"] = start["encoder.1.running_var"] * 2
    data = make_data()
    # Execute
    outcome = run_client(algorithm, TinyModel(), data, weights=start, state=own, seed=9)
    # Assert: the same as local training from the global weights with the client's BN loaded over them
    expected = TinyModel()
    load_state(expected, start)
    load_state(expected, own)
    train_local(expected, TASK, data, SGD, generator=torch.Generator().manual_seed(9))
    for key in BN:
        assert torch.equal(outcome.state[key], expected.state_dict()[key]), key
    assert int(outcome.state["encoder.1.num_batches_tracked"]) == int(start["encoder.1.num_batches_tracked"]) + 6


# SCAFFOLD ----------------------------------------------------------------------------------------


def _variates(seed: int, scale: float = 0.1):
    generator = torch.Generator().manual_seed(seed)
    return {name: torch.randn(tensor.shape, generator=generator) * scale
            for name, tensor in task_weights(TinyModel()).items() if name in PARAMS}


def test_scaffold_corrects_each_gradient_by_c_minus_c_i():
    # Prepare
    data, start = make_data(), task_weights(TinyModel())
    c, c_i = _variates(1), _variates(2)
    # Execute: one full-batch SGD step
    outcome = run_client(Scaffold(), TinyModel(), data, weights=start, payload=c, state=c_i, seed=3)
    plain = run_client(FedAvg(), TinyModel(), data, weights=start, seed=3).update.weights
    # Assert: a hand-made SGD step with grad + c - c_i
    manual = TinyModel()
    manual.train()
    nn.BCEWithLogitsLoss()(manual(TASK, data.inputs), data.labels).backward()
    for name, parameter in manual.named_parameters():
        if name in PARAMS:
            expected = parameter.detach() - SGD.lr * (parameter.grad + c[name] - c_i[name])
            torch.testing.assert_close(outcome.update.weights[name], expected)
            torch.testing.assert_close(outcome.update.weights[name] - plain[name], -SGD.lr * (c[name] - c_i[name]))


def test_scaffold_client_control_variate_option_two():
    # Prepare: 2 epochs of 2 batches, K = 4 steps
    config = TrainingConfig(epochs=2, batch_size=4, optimizer="sgd", lr=0.05, grad_clip=None)
    start = task_weights(TinyModel())
    c, c_i = _variates(3), _variates(4)
    # Execute
    outcome = run_client(Scaffold(), TinyModel(), make_data(), config, weights=start, payload=c, state=c_i, seed=1)
    # Assert: c_i+ = c_i - c + (x - y_i) / (K lr), delta sent as extras
    y, steps = outcome.update.weights, outcome.update.num_steps
    assert steps == 4
    assert set(outcome.state) == set(PARAMS)
    assert set(outcome.update.extras) == {DELTA_C + name for name in PARAMS}
    for name in PARAMS:
        expected = c_i[name] - c[name] + (start[name] - y[name]) / (steps * config.lr)
        torch.testing.assert_close(outcome.state[name], expected)
        torch.testing.assert_close(outcome.update.extras[DELTA_C + name], expected - c_i[name])


def test_scaffold_server_update():
    # Prepare: 2 sampled clients of N = 4, server_lr = 0.5
    algorithm = Scaffold(server_lr=0.5)
    state = algorithm.init_server_state(GLOBAL, context(4))
    assert set(state) == {"w"} and torch.equal(state["w"], torch.zeros(2))
    assert algorithm.server_payload(state).keys() == state.keys()
    state = {"w": torch.tensor([0.5, 0.5])}
    updates = [update(0, [3.0, 1.0], n=1, mean=(4.0, 4.0), count=9, extras={DELTA_C + "w": torch.tensor([1.0, 2.0])}),
               update(1, [1.0, 5.0], n=3, extras={DELTA_C + "w": torch.tensor([3.0, -2.0])})]
    # Execute
    new, new_state = algorithm.aggregate(GLOBAL, updates, state, context(4))
    # Assert: x + 0.5 * ([1.5, 4] - x); c + 2/4 * mean(delta) = [0.5, 0.5] + 0.5 * [2, 0]
    assert torch.equal(new["w"], torch.tensor([1.25, 2.5]))
    assert torch.equal(new_state["w"], torch.tensor([1.5, 0.5]))
    assert torch.equal(new["bn.running_mean"], torch.tensor([1.0, 1.0]))  # buffers: plain weighted average
    assert int(new["bn.num_batches_tracked"]) == 9


def test_scaffold_warns_once_without_plain_sgd(caplog):
    algorithm, start = Scaffold(), task_weights(TinyModel())
    adam = TrainingConfig(optimizer="adam", lr=0.01, grad_clip=None)
    with caplog.at_level(logging.WARNING, logger="fedmeki_models.fl.algorithms.scaffold"):
        for client in range(2):
            run_client(algorithm, TinyModel(), make_data(), adam, weights=start, client=client)
    assert [record.getMessage() for record in caplog.records if "plain SGD" in record.getMessage()] == [
        "SCAFFOLD's control variates assume plain SGD; training uses optimizer='adam', momentum=0.0."]


# Hyper-parameters and registry -------------------------------------------------------------------


@pytest.mark.parametrize(("cls", "params", "quoted"), [
    (FedProx, {"mu": -0.1}, "mu=-0.1"),  # a negative proximal weight (BAD)
    (FedProx, {"mu": float("nan")}, "mu=nan"),  # not a number (BAD)
    (FedProx, {"mu": "0.1"}, "mu='0.1'"),  # a string, not a number (BAD)
    (FedAvgM, {"momentum": 1.0}, "momentum=1.0"),  # momentum that never decays (BAD)
    (FedAvgM, {"server_lr": 0.0}, "server_lr=0.0"),  # a server that never moves (BAD)
    (FedAdam, {"beta_1": 1.0}, "beta_1=1.0"),  # first moment frozen (BAD)
    (FedYogi, {"beta_2": -0.1}, "beta_2=-0.1"),  # a negative decay (BAD)
    (FedAdagrad, {"tau": 0}, "tau=0"),  # division by sqrt(v) with no floor (BAD)
    (Scaffold, {"server_lr": -1}, "server_lr=-1"),  # a step away from the clients (BAD)
    (FedTrimmedAvg, {"beta": 0.5}, "beta=0.5"),  # trims every value (BAD)
])
def test_illegal_hyperparameters_raise_with_the_value(cls, params, quoted):
    with pytest.raises(ValueError, match=quoted.replace("(", r"\(")):
        cls(**params)


@pytest.mark.parametrize(("cls", "params", "message"), [
    (FedProx, {"mu": 0.0}, "equivalent to FedAvg"),
    (FedAvgM, {"momentum": 0.0, "server_lr": 1.0}, "equivalent to FedAvg"),
    (FedTrimmedAvg, {"beta": 0.0}, "trims nothing"),
])
def test_degenerate_hyperparameters_warn(cls, params, message, caplog):
    with caplog.at_level(logging.WARNING):
        cls(**params)
    assert message in caplog.text


def test_registry_names_and_configs_round_trip():
    assert sorted(ALGORITHMS) == sorted(["fedavg", "fedprox", "fedavgm", "fedadam", "fedyogi", "fedadagrad", "fedbn",
                                         "scaffold", "fedmedian", "fedtrimmedavg"])
    for name, cls in ALGORITHMS.items():
        config = make_algorithm(name).to_config()
        assert config["name"] == name == cls.name
        rebuilt = make_algorithm(**config)
        assert type(rebuilt) is cls and rebuilt.to_config() == config
    assert FedAdagrad().to_config() == {"name": "fedadagrad", "server_lr": 0.01, "beta_1": 0.9, "tau": 0.001}


def test_make_algorithm_suggests_names_and_parameters():
    with pytest.raises(ModelConfigError, match="Unknown FL algorithm 'fedavgg'") as unknown:
        make_algorithm("fedavgg")
    assert unknown.value.hint.startswith("did you mean 'fedavg'?")
    with pytest.raises(ModelConfigError, match="FedProx has no parameter 'mus'") as param:
        make_algorithm("fedprox", mus=0.1)
    assert "did you mean 'mu'?" in param.value.hint
    with pytest.raises(ModelConfigError, match="beta_2") as adagrad:
        make_algorithm("FedAdagrad", beta_2=0.9)
    assert "server_lr, beta_1, tau" in adagrad.value.hint
    with pytest.raises(ModelConfigError, match="mu=-1"):
        make_algorithm("fedprox", mu=-1)


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_every_algorithm_runs_a_round_and_keeps_the_global_layout(name):
    # Prepare
    algorithm, model = make_algorithm(name), TinyModel()
    start = task_weights(model)
    round_context = context(3, PARAMS)
    server_state = algorithm.init_server_state(start, round_context)
    payload = algorithm.server_payload(server_state)
    # Execute
    outcomes = [run_client(algorithm, model, make_data(8, seed=i), weights=start, client=i, payload=payload, seed=i)
                for i in range(2)]
    updates = [outcome.update for outcome in outcomes]
    check_client_updates(updates, algorithm.update_keys(model, TASK, start))
    new, _ = algorithm.aggregate(start, updates, server_state, round_context)
    exported = algorithm.global_model_weights(new, {i: o.state for i, o in enumerate(outcomes)}, {0: 8, 1: 8})
    # Assert
    for weights in (new, exported):
        assert list(weights) == list(start)
        for key, tensor in weights.items():
            assert tensor.shape == start[key].shape and tensor.dtype == start[key].dtype, key
        assert not torch.equal(weights["head.weight"], start["head.weight"])
