"""A classic multi-level MRP example worked by hand, and Wagner–Whitin on a known optimum.

The product structure is the table example used to introduce MRP records (a table made of one top and four legs,
the top cut from two boards), as in Vollmann, Berry, Whybark & Jacobs, *Manufacturing Planning and Control for
Supply Chain Management*, ch. 6, and Orlicky (1975). The quantities, lead times and lot rules below are this
test's own; every record is worked out by hand in the comments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optimizer.mrp.checks import invariant_violations
from optimizer.mrp.engine import plan
from optimizer.mrp.inputs import MrpInputs
from optimizer.mrp.lot_sizing import wagner_whitin

WEEKS = pd.date_range("2025-01-06", periods=8, freq="7D")


@pytest.fixture(scope="module")
def table_plan():
    items = pd.DataFrame(
        {
            "sku": ["TABLE", "TOP", "LEG", "BOARD"],
            "make_or_buy": ["make", "make", "buy", "buy"],
            "lead_time_periods": [1, 2, 2, 1],
            "lot_rule": ["lfl", "lfl", "fixed", "poq"],
            "lot_size": [1, 1, 100, 1],
            "poq_periods": [2, 2, 2, 2],
            "unit_cost": [100.0, 40.0, 5.0, 8.0],
        }
    )
    bom = pd.DataFrame(
        {"parent_sku": ["TABLE", "TABLE", "TOP"], "component_sku": ["TOP", "LEG", "BOARD"], "qty_per": [1, 4, 2]}
    )
    demand = pd.DataFrame(
        {
            "sku": "TABLE",
            "date": WEEKS,
            "qty": [0, 10, 20, 0, 30, 10, 0, 20],
            "id": ["forecast", "forecast", "CO-1", "forecast", "forecast", "forecast", "forecast", "forecast"],
        }
    )
    inventory = pd.DataFrame({"sku": ["TABLE", "TOP", "LEG"], "on_hand": [20, 5, 50]})
    open_orders = pd.DataFrame({"id": ["PO-9"], "sku": ["LEG"], "qty": [100], "due_date": [WEEKS[2]]})
    return plan(MrpInputs.from_frames(items, bom, demand, inventory, open_orders))


def test_records_match_the_hand_computation(table_plan) -> None:
    r = table_plan
    assert list(r.inputs.level) == [0, 1, 1, 2]
    # TABLE (on hand 20, LT 1, lot-for-lot): 20 covers week 1 (10) and 10 of week 2; nets 10, 30, 10, 20.
    np.testing.assert_allclose(r.record("TABLE").loc["planned_receipts"], [0, 0, 10, 0, 30, 10, 0, 20])
    np.testing.assert_allclose(r.record("TABLE").loc["planned_releases"], [0, 10, 0, 30, 10, 0, 20, 0])
    # TOP (on hand 5, LT 2): gross = TABLE releases; nets 5 (week 1), 30, 10, 20. The week-1 receipt would be
    # released in week -1: released at the plan date and flagged for expediting.
    top = r.record("TOP")
    np.testing.assert_allclose(top.loc["gross_requirements"], [0, 10, 0, 30, 10, 0, 20, 0])
    np.testing.assert_allclose(top.loc["net_requirements"], [0, 5, 0, 30, 10, 0, 20, 0])
    np.testing.assert_allclose(top.loc["planned_releases"], [5, 30, 10, 0, 20, 0, 0, 0])
    # LEG (on hand 50, LT 2, fixed 100, open order 100 due week 2): gross = 4 × TABLE releases
    # = 40, 120, 40, 80 in weeks 1, 3, 4, 6. POH: 50, 10, 110, -10 → order 100 → 90, 50, 50, -30 → 100 → 70, 70.
    leg = r.record("LEG")
    np.testing.assert_allclose(leg.loc["gross_requirements"], [0, 40, 0, 120, 40, 0, 80, 0])
    np.testing.assert_allclose(leg.loc["projected_on_hand"], [50, 10, 110, 90, 50, 50, 70, 70])
    np.testing.assert_allclose(leg.loc["net_requirements"], [0, 0, 0, 10, 0, 0, 30, 0])
    np.testing.assert_allclose(leg.loc["planned_receipts"], [0, 0, 0, 100, 0, 0, 100, 0])
    # BOARD (POQ 2 weeks, LT 1): gross = 2 × TOP releases = 10, 60, 20, 0, 40. Week 0 orders weeks 0–1 (70),
    # week 2 orders weeks 2–3 (20), week 4 orders weeks 4–5 (40); the week-0 order is expedited.
    board = r.record("BOARD")
    np.testing.assert_allclose(board.loc["gross_requirements"], [10, 60, 20, 0, 40, 0, 0, 0])
    np.testing.assert_allclose(board.loc["planned_receipts"], [70, 0, 20, 0, 40, 0, 0, 0])
    np.testing.assert_allclose(board.loc["planned_releases"], [70, 20, 0, 40, 0, 0, 0, 0])
    assert invariant_violations(r) == dict.fromkeys(invariant_violations(r), 0)


def test_pegging_follows_fifo_up_to_the_end_demands(table_plan) -> None:
    pegs = table_plan.pegging.planned_orders(table_plan)
    leg3 = pegs[(pegs["sku"] == "LEG") & (pegs["due_date"] == WEEKS[3])]
    # on hand 50 covers week 1 (40) and 10 of week 3; PO-9 the next 100 of week 3; the planned 100 covers the
    # last 10 of week 3 (TABLE week 4), week 4's 40 (TABLE week 5) and 50 of week 6's 80 (TABLE week 7).
    got = dict(zip(leg3["end_date"], leg3["qty"], strict=True))
    assert got == {WEEKS[4]: pytest.approx(10), WEEKS[5]: pytest.approx(40), WEEKS[7]: pytest.approx(50)}
    leg6 = pegs[(pegs["sku"] == "LEG") & (pegs["due_date"] == WEEKS[6])]
    assert sorted(zip(leg6["end_id"], leg6["qty"], strict=True)) == [("excess", 70.0), ("forecast", 30.0)]
    assert set(pegs.loc[pegs["sku"] == "BOARD", "end_sku"]) == {"TABLE"}


def test_exceptions_name_orders_and_money(table_plan) -> None:
    exc = table_plan.exceptions()
    by_kind = {k: g for k, g in exc.groupby("kind")}
    expedite = by_kind["expedite"].set_index("sku")
    assert expedite.loc["TOP", "qty"] == 5 and expedite.loc["TOP", "money"] == 200.0
    assert expedite.loc["BOARD", "qty"] == 70 and expedite.loc["BOARD", "date"] == WEEKS[0]
    out = by_kind["reschedule_out"].iloc[0]
    assert (out["ref"], out["new_date"]) == ("PO-9", WEEKS[3])  # 50 on hand lasts until week 3
    blocked = by_kind["blocked_order"].set_index("sku")
    # CO-1 (TABLE, week 2) needs TOP released in week 1 (5 short until week 2) and BOARD in week 0 (10 short).
    assert set(blocked["ref"]) == {"CO-1"}
    assert blocked.loc["TOP", "qty"] == pytest.approx(5) and blocked.loc["BOARD", "qty"] == pytest.approx(10)
    assert list(exc["money"]) == sorted(exc["money"], reverse=True)


def test_lookups(table_plan) -> None:
    assert list(table_plan.where_used("LEG")["parent_sku"]) == ["TABLE"]
    assert set(table_plan.components("TABLE")["component_sku"]) == {"TOP", "LEG"}
    with pytest.raises(KeyError, match="'CHAIR' is not in the plan"):
        table_plan.record("CHAIR")


@pytest.mark.parametrize(
    ("order_cost", "expected"),
    [(50.0, [40, 0, 0, 0]), (15.0, [20, 0, 20, 0]), (5.0, [10, 10, 10, 10])],
)
def test_wagner_whitin_known_optimum(order_cost: float, expected: list[float]) -> None:
    # demand 10 per period, holding 1 per unit-period: one order costs K + 10 + 20 + 30; two orders 2K + 20;
    # four orders 4K. K = 50 → one order (110); K = 15 → two (50); K = 5 → four (20).
    got = wagner_whitin(np.array([[10.0, 10, 10, 10]]), np.array([order_cost]), np.array([1.0]))
    np.testing.assert_allclose(got[0], expected)
