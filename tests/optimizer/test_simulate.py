"""The replay engine against hand-worked periods, seeded lead times, knob tuning and the bench report."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from experiments.bench.policy import policy_bench
from optimizer.simulate import (
    LeanplanPolicy,
    MinMaxPolicy,
    NormalPolicy,
    PeriodContext,
    Policy,
    Replay,
    ReplayData,
    inventory_at_fill,
    saved_at_equal_fill,
    tune,
)


class FixedPolicy(Policy):
    """Reorder point 5 for every SKU, whatever the knob."""

    name = "fixed"

    def reorder_points(self, data: ReplayData, ctx: PeriodContext, prepared: Any, knob: float) -> np.ndarray:
        return np.full(data.n, 5.0)


def _data(qty: list[float], lead: float = 1.0, lead_std: float = 0.0, order_cost: float = 0.0) -> ReplayData:
    dates = pd.date_range("2020-01-01", periods=len(qty), freq="MS")
    demand = pd.DataFrame({"sku": "A", "date": dates, "qty": qty})
    items = pd.DataFrame(
        {"sku": ["A"], "unit_cost": [10.0], "lead_time_periods": [lead], "lead_time_std_periods": [lead_std],
         "order_cost": [order_cost]}
    )  # fmt: skip
    return ReplayData.from_frames(demand, items)


def test_engine_reproduces_hand_worked_periods() -> None:
    # history 6 × 2 units, then replayed: 2, a spike of 30, 2 (start = 9 − 9 // 3 = 6)
    # t=6: Q = μ = 2, start at s + Q/2 = 6 with 2 on order → 4 on hand; no order; sell 2 → 2 (value (4+2)/2·10)
    # t=7: 2 arrive → 4 < 5: order 5 + 2 − 4 = 3 (arrives t=8); spike: sell 4, backorder 26 (value 20)
    # t=8: Q = ceil(5.5) = 6; 3 arrive and go to backorders (23 left); order 5 + 6 + 23 = 34; sell 0 (value 0)
    result = Replay(_data([2.0] * 6 + [2.0, 30.0, 2.0])).run(FixedPolicy(), 1.0)
    assert result.fill_rate == pytest.approx(6 / 34)
    assert result.stockout_periods == 2 and result.orders == 2
    assert result.cycle_service == pytest.approx(1 / 3)
    assert result.avg_inventory_value == pytest.approx((30 + 20 + 0) / 3)
    assert result.periods == 3


def test_zero_lead_time_orders_arrive_before_demand() -> None:
    # t=7 order of 3 arrives at once: 7 on hand for the spike of 30
    result = Replay(_data([2.0] * 6 + [2.0, 30.0, 2.0], lead=0.0)).run(FixedPolicy(), 1.0)
    assert result.fill_rate > 6 / 34


def test_lead_time_draws_are_seeded_and_mean_preserving() -> None:
    data = _data([1.0] * 300, lead=3.4, lead_std=1.0)
    a = Replay(data, seed=1).lead_draws
    assert np.array_equal(a, Replay(data, seed=1).lead_draws)
    assert not np.array_equal(a, Replay(data, seed=2).lead_draws)
    assert a.mean() == pytest.approx(3.4, abs=0.15) and a.min() >= 0
    fixed = Replay(_data([1.0] * 30, lead=2.5), seed=0).lead_draws
    assert set(np.unique(fixed)) <= {2, 3}


def _portfolio(n: int = 40, periods: int = 36, seed: int = 4) -> ReplayData:
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.8, 2.0, n)
    occurs = rng.random((n, periods)) < rng.uniform(0.2, 0.9, n)[:, None]
    qty = np.where(occurs, rng.poisson(rate[:, None] * 2 + 1, (n, periods)), 0)
    dates = pd.date_range("2019-01-01", periods=periods, freq="MS")
    skus = [f"S{i:02d}" for i in range(n)]
    demand = pd.DataFrame({"sku": np.repeat(skus, periods), "date": np.tile(dates, n), "qty": qty.ravel()})
    items = pd.DataFrame(
        {"sku": skus, "unit_cost": np.round(rng.lognormal(1.5, 1.2, n), 2), "lead_time_periods": rng.integers(0, 6, n),
         "lead_time_std_periods": np.round(rng.uniform(0, 1, n), 2)}
    )  # fmt: skip
    return ReplayData.from_frames(demand, items)


@pytest.mark.parametrize("policy", [MinMaxPolicy(), NormalPolicy(), LeanplanPolicy()], ids=lambda p: p.name)
def test_tuning_reaches_the_target_fill_rate(policy: Policy) -> None:
    setup = Replay(_portfolio(), seed=0)
    tuning = tune(setup, policy, 0.9, tol=0.005)
    assert tuning.converged
    assert tuning.result.fill_rate == pytest.approx(0.9, abs=0.005)
    knob = tuning.result.knob
    stronger = (knob * 1.5 if policy.fill_increases else knob / 1.5) if policy.log_scale else knob + 1.0
    higher = setup.run(policy, stronger)
    assert higher.fill_rate >= tuning.result.fill_rate
    assert higher.avg_inventory_value > tuning.result.avg_inventory_value


def test_policy_bench_reports_every_policy_at_equal_fill() -> None:
    report = policy_bench(_portfolio(), target=0.9, tol=0.005)
    assert set(report["policies"]) == {"leanplan", "minmax", "normal"}
    for entry in report["policies"].values():
        assert {
            "fill_rate",
            "avg_inventory_value",
            "days_of_inventory",
            "stockout_periods",
            "orders",
            "seconds",
        } <= set(entry)
        assert entry["fill_rate"] == pytest.approx(0.9, abs=0.005)
    ours = report["policies"]["leanplan"]["avg_inventory_value"]
    assert report["inventory_saved_vs_minmax"] == pytest.approx(
        1 - ours / report["policies"]["minmax"]["avg_inventory_value"]
    )
    assert set(report["frontier"]) == {"leanplan", "minmax", "normal"}
    fills = [p[0] for p in report["frontier"]["normal"]]
    assert fills == sorted(fills)
    assert report["config"]["replay_periods"] == 12


def test_frontier_helpers() -> None:
    setup = Replay(_portfolio(n=10), seed=0)
    points = sorted((setup.run(NormalPolicy(), z) for z in (0.0, 1.0, 2.0)), key=lambda r: r.fill_rate)
    mid = 0.5 * (points[0].fill_rate + points[-1].fill_rate)
    value = inventory_at_fill(points, mid)
    assert value is not None and points[0].avg_inventory_value <= value <= points[-1].avg_inventory_value
    assert inventory_at_fill(points, 1.5) is None
    assert saved_at_equal_fill(75.0, 100.0) == pytest.approx(0.25)


def test_replay_input_errors() -> None:
    demand = pd.DataFrame({"sku": ["A"] * 8, "date": pd.date_range("2020-01-01", periods=8, freq="MS"), "qty": 1.0})
    with pytest.raises(ValueError, match="lack column"):
        ReplayData.from_frames(demand, pd.DataFrame({"sku": ["A"], "unit_cost": [1.0]}))
    with pytest.raises(ValueError, match="missing from items"):
        ReplayData.from_frames(demand, pd.DataFrame({"sku": ["B"], "unit_cost": [1.0], "lead_time_periods": [1]}))
    with pytest.raises(ValueError, match=">= 0"):
        ReplayData.from_frames(demand, pd.DataFrame({"sku": ["A"], "unit_cost": [1.0], "lead_time_periods": [-1]}))
    with pytest.raises(ValueError, match="at least 6 periods"):
        ReplayData.from_frames(
            demand.head(3), pd.DataFrame({"sku": ["A"], "unit_cost": [1.0], "lead_time_periods": [1]})
        )
    with pytest.raises(ValueError, match="strictly between"):
        tune(Replay(_data([1.0] * 9)), FixedPolicy(), 1.2)
