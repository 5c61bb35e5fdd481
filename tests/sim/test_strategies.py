"""Search strategies on synthetic objectives (no simulator): bounds, determinism, rebuild by re-telling,
and the behaviour that matters: finding a rare failure region far more often than uniform sampling."""

import numpy as np
import pytest

from sim.mining.strategies import (
    STRATEGIES,
    Strategy,
    make_strategy,
    register_strategy,
    strategy_names,
)
from sim.registry import UnknownNameError

DIM = 5
SEED_POINT = np.array([[0.95, 0.05, 0.5, 0.5, 0.5]])  # one recorded failure, for perturb


def objective(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Failure iff x0 > 0.9 and x1 < 0.1 (1 % of the cube); danger exp(-3 d), d the distance to that
    region in the (x0, x1) plane (1 inside it, smoothly lower away from it)."""
    failed = (x[:, 0] > 0.9) & (x[:, 1] < 0.1)
    d = np.hypot(np.maximum(0.0, 0.9 - x[:, 0]), np.maximum(0.0, x[:, 1] - 0.1))
    return np.exp(-3.0 * d), failed


def build(name: str, seed: int = 0, dim: int = DIM, **params) -> Strategy:
    if name == "perturb" and "seeds" not in params:
        params["seeds"] = SEED_POINT[:, :dim]
    return make_strategy(name, dim, seed, **params)


def run(strategy: Strategy, batches: int = 10, n: int = 50) -> tuple[list[np.ndarray], int]:
    asked, found = [], 0
    for b in range(batches):
        x = strategy.ask(b, n)
        danger, failed = objective(x)
        strategy.tell(x, danger, failed)
        asked.append(x)
        found += int(failed.sum())
    return asked, found


def test_registered():
    assert {"uniform", "cross_entropy", "surrogate", "perturb"} <= set(strategy_names())


def test_unknown_name_lists_known():
    with pytest.raises(UnknownNameError) as err:
        make_strategy("annealing", DIM, 0)
    for name in ("uniform", "cross_entropy", "surrogate", "perturb"):
        assert name in str(err.value)


def test_unknown_param_refused():
    with pytest.raises(ValueError, match=r"unknown params \['sigmaa'\]"):
        make_strategy("perturb", DIM, 0, sigmaa=0.1)


def test_duplicate_registration_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_strategy(type("Again", (Strategy,), {"name": "uniform"}))
    assert STRATEGIES.get("uniform").__name__ == "UniformStrategy"


@pytest.fixture(scope="module")
def campaigns():
    """Each strategy run for 10 batches of 50 on the objective with seed 0: (asked arrays, failures found)."""
    return {name: run(build(name)) for name in strategy_names()}


def test_bounds_and_shapes(campaigns):
    for name, (asked, _) in campaigns.items():
        for x in asked:
            assert x.shape == (50, DIM) and x.dtype == np.float64, name
            assert np.all((x >= 0.0) & (x <= 1.0)), name
    for name in strategy_names():
        s = build(name, dim=2)
        for n in (0, 1, 3):
            assert s.ask(0, n).shape == (n, 2)


def test_uniform_finds_about_one_percent(campaigns):
    _, found = campaigns["uniform"]
    assert found <= 25  # 1 % of 500 is 5


@pytest.mark.parametrize("name", ["cross_entropy", "surrogate", "perturb"])
def test_finds_ten_times_more_failures_than_uniform(campaigns, name):
    _, uniform = campaigns["uniform"]
    asked, found = campaigns[name]
    assert found >= 10 * max(uniform, 5), (name, found, uniform)
    # and not one point over and over: the failures found are spread out
    x = np.concatenate(asked)
    fails = x[objective(x)[1]]
    assert len(np.unique(fails.round(6), axis=0)) == len(fails)
    assert fails[:, 2:].std(axis=0).min() > 0.05, name


@pytest.mark.parametrize("name", ["uniform", "cross_entropy", "surrogate", "perturb"])
def test_deterministic_and_seed_dependent(campaigns, name):
    asked, _ = campaigns[name]
    again, _ = run(build(name), batches=4)
    for a, b in zip(asked, again):
        np.testing.assert_array_equal(a, b)
    other, _ = run(build(name, seed=1), batches=1)
    assert not np.array_equal(other[0], asked[0])
    s = build(name)
    np.testing.assert_array_equal(s.ask(3, 7), s.ask(3, 7))  # asking changes nothing


@pytest.mark.parametrize("name", ["uniform", "cross_entropy", "surrogate", "perturb"])
def test_rebuilt_by_retelling(name):
    a = build(name)
    told = []
    for b in range(5):
        x = a.ask(b, 40)
        danger, failed = objective(x)
        keep = np.arange(len(x)) % 7 != 3  # some points could not be evaluated: they are not told
        a.tell(x[keep], danger[keep], failed[keep])
        told.append((x[keep], danger[keep], failed[keep]))
    b_ = build(name)
    for x, danger, failed in told:
        b_.tell(x, danger, failed)
    np.testing.assert_array_equal(a.ask(5, 40), b_.ask(5, 40))


def test_tell_validates():
    s = make_strategy("uniform", 3, 0)
    with pytest.raises(ValueError, match="rows"):
        s.tell(np.zeros((4, 3)), np.zeros(3), np.zeros(4, dtype=bool))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        s.tell(np.full((1, 3), 1.5), np.zeros(1), np.zeros(1, dtype=bool))
    with pytest.raises(ValueError, match="danger"):
        s.tell(np.zeros((1, 3)), np.array([np.nan]), np.zeros(1, dtype=bool))


def test_perturb_without_failures_is_uniform_then_follows_them():
    s = make_strategy("perturb", DIM, 0)
    x = s.ask(0, 200)
    assert abs(x.mean() - 0.5) < 0.05 and x.std() > 0.25
    s.tell(SEED_POINT, np.ones(1), np.ones(1, dtype=bool))
    x = s.ask(1, 200)
    near = np.linalg.norm(x - SEED_POINT, axis=1) < 0.3
    assert near.mean() > 0.8


def test_no_global_rng_touched():
    import torch

    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    for name in strategy_names():
        run(build(name), batches=3, n=20)
    assert torch.equal(torch.get_rng_state(), torch_state)
    new_np = np.random.get_state()
    assert new_np[0] == np_state[0] and np.array_equal(new_np[1], np_state[1]) and new_np[2:] == np_state[2:]
