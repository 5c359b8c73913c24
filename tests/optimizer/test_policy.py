"""Policy: order quantity, reorder points for each kind of service target, value allocation, edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.classify import ServiceTargets
from optimizer.empirical import gamma_quantiles
from optimizer.lead_time_demand import KNOT_LEVELS, DemandDistribution, from_component_quantiles
from optimizer.policy import OrderTerms, compute_policy, order_quantity, round_to_lot
from optimizer.textbook import eoq


def _portfolio(n: int = 60, seed: int = 3) -> tuple[DemandDistribution, np.ndarray, OrderTerms]:
    rng = np.random.default_rng(seed)
    mean = rng.gamma(1.0, 3.0, n) + 0.2
    var = mean * rng.uniform(1.0, 6.0, n)
    lead = rng.integers(0, 10, n) + 1.0
    comp = gamma_quantiles(mean * lead, var * lead, tuple(KNOT_LEVELS))[:, None, :]
    dist = from_component_quantiles(comp, mean=mean * lead)
    terms = OrderTerms.of(n, unit_cost=np.round(rng.lognormal(2.0, 1.5, n), 2), order_cost=20.0)
    return dist, mean, terms


def test_order_quantity_is_eoq_rounded_and_capped() -> None:
    terms = OrderTerms.of(
        5,
        unit_cost=[10.0, 10.0, 10.0, 0.0, 10.0],
        order_cost=50.0,
        moq=[0.0, 40.0, 0.0, 0.0, 0.0],
        lot_multiple=[1.0, 25.0, 1.0, 1.0, 1.0],
        shelf_life_periods=[np.nan, np.nan, 2.0, np.nan, np.nan],
    )
    mean = np.array([10.0, 10.0, 10.0, 10.0, 0.0])
    raw, qty, cap = order_quantity(mean, terms, periods_per_year=12.0)
    expected, _ = eoq(50.0, 0.25 * 10.0, 120.0)
    assert raw[0] == pytest.approx(expected)
    assert qty[0] == np.ceil(expected)
    assert qty[1] == 75.0  # EOQ 69.3 → the next multiple of the lot of 25
    assert qty[2] == 20.0 and cap[2] == "shelf_life"  # two periods of demand
    assert qty[3] == 240.0 and cap[3] == "max_cover"  # zero cost: capped at two years of demand
    assert qty[4] == 0.0  # no demand, no order
    _, qty_moq, cap_moq = order_quantity(
        np.array([1.0]), OrderTerms.of(1, unit_cost=1.0, moq=100.0, shelf_life_periods=3.0), 12.0
    )
    assert qty_moq[0] == 100.0 and cap_moq[0] == "moq_over_shelf_life"
    np.testing.assert_array_equal(
        round_to_lot(np.array([0.2, 7.0]), np.array([0.0, 0.0]), np.array([5.0, 5.0])), [5, 10]
    )


def test_terms_are_validated() -> None:
    with pytest.raises(ValueError, match="lot_multiple must be > 0"):
        OrderTerms.of(2, unit_cost=1.0, lot_multiple=0.0)
    with pytest.raises(ValueError, match="unit_cost must be >= 0"):
        OrderTerms.of(1, unit_cost=-1.0)


def test_cycle_service_target_gives_the_smallest_whole_reorder_point() -> None:
    dist, mean, terms = _portfolio()
    n = mean.size
    targets = ServiceTargets(measure="cycle_service", targets={"A": 0.9, "B": 0.95, "C": 0.99})
    abc = np.array(["A", "B", "C"] * (n // 3))
    p = compute_policy(dist, mean, terms, targets, abc, np.full(n, "X"), 12.0)
    want = np.select([abc == "A", abc == "B"], [0.9, 0.95], 0.99)
    assert np.all(p.cycle_service >= want - 1e-9)
    below = dist.cdf(p.reorder_point - 1.0)
    assert np.all((below < want) | (p.reorder_point == 0))
    np.testing.assert_allclose(p.order_up_to, p.reorder_point + p.order_qty)
    np.testing.assert_allclose(p.safety_stock, p.reorder_point - dist.mean)


def test_uniform_fill_rate_meets_each_skus_target_and_no_more() -> None:
    dist, mean, terms = _portfolio()
    n = mean.size
    targets = ServiceTargets(targets={"A": 0.97, "B": 0.97, "C": 0.97}, allocation="uniform")
    p = compute_policy(dist, mean, terms, targets, np.full(n, "C"), np.full(n, "X"), 12.0)
    assert np.all(p.expected_fill >= 0.97 - 1e-9)
    short = dist.expected_shortage(p.reorder_point - 1) - dist.expected_shortage(p.reorder_point - 1 + p.order_qty)
    fill_below = 1 - short / p.order_qty
    assert np.all((fill_below < 0.97) | (p.reorder_point == 0))


def test_value_allocation_meets_each_class_and_costs_less_than_uniform() -> None:
    dist, mean, terms = _portfolio(n=90)
    n = mean.size
    abc = np.array(["A", "B", "C"] * 30)
    value = ServiceTargets(targets={"A": 0.98, "B": 0.95, "C": 0.9})
    uniform = ServiceTargets(targets={"A": 0.98, "B": 0.95, "C": 0.9}, allocation="uniform")
    pv = compute_policy(dist, mean, terms, value, abc, np.full(n, "X"), 12.0, integer=False)
    pu = compute_policy(dist, mean, terms, uniform, abc, np.full(n, "X"), 12.0, integer=False)
    holding = 0.25 * terms.unit_cost / 12
    for cls, target in (("A", 0.98), ("B", 0.95), ("C", 0.9)):
        assert pv.groups[cls]["expected_fill"] == pytest.approx(target, abs=2e-3)
        rows = abc == cls
        assert (holding * pv.reorder_point)[rows].sum() < (holding * pu.reorder_point)[rows].sum()
    # within a class, service goes to the SKUs whose stock is cheap per unit of demand (small h·Q/μ)
    rows = abc == "C"
    ratio = (holding * pv.order_qty / mean)[rows]
    assert np.corrcoef(ratio, pv.level[rows])[0, 1] < -0.3
    assert pv.groups["A"]["reachable"]


def test_cost_optimal_reorder_point_is_the_critical_fractile() -> None:
    mean = np.array([5.0])
    dist = from_component_quantiles(gamma_quantiles(mean * 3, mean * 6, tuple(KNOT_LEVELS))[:, None, :])
    terms = OrderTerms.of(1, unit_cost=12.0, order_cost=30.0)
    targets = ServiceTargets(measure="cost_optimal", shortage_cost_rate=2.0)
    p = compute_policy(dist, mean, terms, targets, np.array(["A"]), np.array(["X"]), 12.0, integer=False)
    stockout = 0.25 / 12 * p.order_qty[0] / (2.0 * mean[0])
    assert 1 - p.cycle_service[0] == pytest.approx(stockout, rel=1e-6)


def test_shortage_scale_lowers_reorder_points_monotonically() -> None:
    dist, mean, terms = _portfolio()
    n = mean.size
    points = [
        compute_policy(dist, mean, terms, ServiceTargets(), np.full(n, "C"), np.full(n, "X"), 12.0, shortage_scale=k)
        for k in (0.2, 1.0, 3.0)
    ]
    totals = [p.reorder_point.sum() for p in points]
    assert totals[0] > totals[1] > totals[2]
    with pytest.raises(ValueError, match="shortage_scale"):
        compute_policy(dist, mean, terms, ServiceTargets(), np.full(n, "C"), np.full(n, "X"), 12.0, shortage_scale=0)


def test_zero_demand_and_zero_cost_skus() -> None:
    mean = np.array([0.0, 2.0, 2.0])
    comp = gamma_quantiles(mean * 4, mean * 8, tuple(KNOT_LEVELS))[:, None, :]
    dist = from_component_quantiles(comp)
    terms = OrderTerms.of(3, unit_cost=[5.0, 0.0, 5.0])
    p = compute_policy(dist, mean, terms, ServiceTargets(), np.full(3, "C"), np.full(3, "X"), 12.0)
    assert p.reorder_point[0] == 0 and p.order_up_to[0] == 0 and p.order_qty[0] == 0
    assert np.isnan(p.expected_fill[0])
    assert p.level[1] == pytest.approx(1 - 1e-9)  # free to hold: served at the highest level
    assert p.reorder_point[1] > p.reorder_point[2]


def test_a_subset_gets_the_same_policy_as_in_the_portfolio() -> None:
    dist, mean, terms = _portfolio()
    n = mean.size
    targets = ServiceTargets(measure="cycle_service")
    full = compute_policy(dist, mean, terms, targets, np.full(n, "B"), np.full(n, "Y"), 12.0)
    rows = np.arange(5, 25)
    part = compute_policy(
        dist.take(rows), mean[rows], terms.take(rows), targets, np.full(20, "B"), np.full(20, "Y"), 12.0
    )
    np.testing.assert_array_equal(part.reorder_point, full.reorder_point[rows])
