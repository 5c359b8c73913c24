"""Every Snyder & Shen textbook case reproduces its published answer (tests/optimizer/data/snyder_shen_cases.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from optimizer import textbook as tb

CASES: list[dict[str, Any]] = json.loads((Path(__file__).parent / "data" / "snyder_shen_cases.json").read_text())[
    "cases"
]


def _rtol(case: dict[str, Any]) -> float:
    """The cases' own precision: 3-decimal Zheng–Federgruen costs, 5-decimal loss-function answers, else 1e-6."""
    notes = case.get("notes", "")
    if "3 decimals" in notes:
        return 2e-5
    if "5 decimals" in notes:
        return 1e-5
    return 1e-6


def _solve(case: dict[str, Any]) -> dict[str, Any]:
    """Our answer to a case, keyed like its `expected`."""
    m, p = case["model"], case["params"]
    h, pc, k = p.get("holding_cost"), p.get("stockout_cost"), p.get("fixed_cost")
    mu, sd, lt = p.get("demand_mean"), p.get("demand_sd"), p.get("lead_time")
    if m == "eoq":
        q, cost = tb.eoq(k, h, p["demand_rate"])
        return {"order_quantity": q, "annual_cost": cost}
    if m == "eoq_cost_at_Q":
        return {"annual_cost": tb.eoq_cost(p["order_quantity"], k, h, p["demand_rate"])}
    if m == "eoq_all_units_discounts":
        q_disc, region, cost_disc = tb.eoq_all_units_discounts(
            k, p["holding_cost_rate"], p["demand_rate"], p["breakpoints"], p["unit_costs"]
        )
        return {"order_quantity": q_disc, "region": region, "annual_cost": cost_disc}
    if m == "wagner_whitin":
        orders, cost_ww = tb.wagner_whitin(p["demand"], h, k)
        assert len(orders) == p["num_periods"]
        return {"order_quantities_by_period": orders, "cost": cost_ww}
    if m == "newsvendor_normal":
        s, cost = tb.newsvendor_normal(h, pc, mu, sd)
        return {"base_stock_level": s, "expected_cost": cost}
    if m == "newsvendor_normal_cost_at_S":
        return {"expected_cost": tb.newsvendor_normal_cost(p["base_stock_level"], h, pc, mu, sd)}
    if m == "newsvendor_poisson":
        s, cost = tb.newsvendor_poisson(h, pc, mu)
        return {"base_stock_level": s, "expected_cost": cost}
    if m == "newsvendor_normal_profit":
        s, profit = tb.newsvendor_normal_profit(p["revenue"], p["purchase_cost"], p["salvage_value"], mu, sd)
        return {"base_stock_level": s, "expected_profit": profit}
    if m == "s_S_poisson_exact":
        s_low, s_high, cost_ss = tb.s_S_poisson_exact(h, pc, k, mu)
        return {"s": s_low, "S": s_high, "expected_cost_per_period": cost_ss}
    if m == "r_Q_cost":
        return {"expected_annual_cost": tb.r_q_cost(p["r"], p["Q"], h, pc, k, mu, sd, lt)}
    if m == "r_Q_optimal_r_for_Q":
        return {"r": tb.r_q_optimal_r_for_q(p["Q"], h, pc, mu, sd, lt)}
    if m == "r_Q_eoqb_approximation":
        r, q = tb.r_q_eoqb(h, pc, k, mu, sd, lt)
        return {"r": r, "Q": q}
    if m == "r_Q_eoqss_approximation":
        r, q = tb.r_q_eoqss(h, pc, k, mu, sd, lt)
        return {"r": r, "Q": q}
    if m == "r_Q_loss_function_approximation":
        r, q = tb.r_q_loss_function(h, pc, k, mu, sd, lt)
        return {"r": r, "Q": q}
    if m == "r_Q_eil_approximation":
        r, q, cost = tb.r_q_eil(h, pc, k, mu, sd, lt)
        return {"r": r, "Q": q, "cost": cost}
    raise AssertionError(f"no solver for model {m!r} (case {case['id']})")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_reproduces_published_answer(case: dict[str, Any]) -> None:
    got = _solve(case)
    assert set(got) == set(case["expected"])
    for key, want in case["expected"].items():
        np.testing.assert_allclose(np.asarray(got[key], dtype=float), want, rtol=_rtol(case), atol=1e-9, err_msg=key)


def test_every_case_model_is_covered() -> None:
    assert len(CASES) == 47
    assert {c["model"] for c in CASES} >= {"eoq", "wagner_whitin", "newsvendor_normal", "s_S_poisson_exact", "r_Q_cost"}


def test_vectorized_equals_elementwise() -> None:
    h = np.array([0.225, 3.1, 0.5])
    p = np.array([7.5, 45.0, 4.0])
    k = np.array([8.0, 50.0, 20.0])
    lam = np.array([1300.0, 800.0, 100.0])
    sd = np.array([150.0, 40.0, 30.0])
    lt = np.array([1 / 12, 4 / 365, 0.5])
    r, q = tb.r_q_loss_function(h, p, k, lam, sd, lt)
    for i in range(3):
        ri, qi = tb.r_q_loss_function(h[i], p[i], k[i], lam[i], sd[i], lt[i])
        np.testing.assert_allclose([r[i], q[i]], [ri, qi], rtol=1e-6)


def test_loss_functions_match_their_definitions() -> None:
    rng = np.random.default_rng(3)
    draws = rng.normal(10.0, 2.0, 2_000_000)
    for x in (7.0, 10.0, 13.5):
        assert tb.normal_loss(x, 10.0, 2.0) == pytest.approx(np.maximum(draws - x, 0).mean(), rel=5e-3)
        assert tb.normal_second_loss(x, 10.0, 2.0) == pytest.approx(
            0.5 * (np.maximum(draws - x, 0) ** 2).mean(), rel=1e-2
        )
    lam = 4.0
    pois = rng.poisson(lam, 2_000_000)
    assert tb.poisson_loss(5, lam) == pytest.approx(np.maximum(pois - 5, 0).mean(), rel=1e-2)


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="holding_cost must be > 0"):
        tb.eoq(8, 0.0, 1300)
    with pytest.raises(ValueError, match="breakpoints"):
        tb.eoq_all_units_discounts(8, 0.3, 1300, [10, 400], [0.75, 0.72])
    with pytest.raises(ValueError, match="at least one period"):
        tb.wagner_whitin([], 1.0, 10.0)
