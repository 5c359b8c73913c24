"""What-if on frames: monotone in the service target, lead time and MOQ; the baseline equals the unchanged plan."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from optimizer.classify import ServiceTargets
from optimizer.replenishment import ReplenishmentConfig, ReplenishmentInputs, plan_replenishment
from optimizer.whatif import METRICS, Change, what_if

SKUS = ["P-1", "P-2", "P-3"]


def _inputs() -> ReplenishmentInputs:
    rng = np.random.default_rng(3)
    dates = pd.date_range("2021-01-01", periods=36, freq="MS")
    demand = pd.DataFrame(
        [
            {"sku": sku, "date": d, "qty": float(rng.poisson(lam))}
            for sku, lam in zip(SKUS, (20.0, 4.0, 60.0), strict=True)
            for d in dates
        ]
    )
    items = pd.DataFrame(
        {
            "sku": SKUS,
            "unit_cost": [2.0, 15.0, 0.5],
            "price": [3.0, 20.0, 1.0],
            "lot_size": [1.0, 1.0, 1.0],
            "moq": [0.0, 0.0, 0.0],
            "make_or_buy": ["buy", "buy", "buy"],
        }
    )
    suppliers = pd.DataFrame(
        {
            "supplier_id": ["S1", "S1", "S2"],
            "sku": SKUS,
            "unit_price": [2.0, 15.0, 0.5],
            "moq": [0.0, 0.0, 0.0],
            "lot_multiple": [1.0, 1.0, 1.0],
            "nominal_lead_time_days": [30, 45, 20],
            "capacity_per_period": [np.nan] * 3,
        }
    )
    receipts = pd.DataFrame(
        {
            "po_id": [f"PO-{i}" for i in range(6)],
            "supplier_id": ["S1", "S1", "S1", "S2", "S2", "S2"],
            "sku": ["P-1", "P-1", "P-2", "P-3", "P-3", "P-3"],
            "qty_ordered": [50.0] * 6,
            "order_date": pd.to_datetime(
                ["2023-01-02", "2023-04-03", "2023-06-01", "2023-02-01", "2023-05-01", "2023-08-01"]
            ),
            "promised_date": pd.to_datetime(
                ["2023-02-01", "2023-05-03", "2023-07-16", "2023-02-21", "2023-05-21", "2023-08-21"]
            ),
            "received_date": pd.to_datetime(
                ["2023-02-10", "2023-05-03", "2023-07-30", "2023-02-21", "2023-05-25", "2023-08-21"]
            ),
            "qty_received": [50.0] * 6,
        }
    )
    inventory = pd.DataFrame(
        {"sku": SKUS, "as_of": pd.Timestamp("2024-01-01"), "on_hand": [30.0, 2.0, 100.0], "backorders": 0.0}
    )
    return ReplenishmentInputs(
        as_of=pd.Timestamp("2024-01-01"),
        items=items,
        demand=demand,
        inventory=inventory,
        receipts=receipts,
        suppliers=suppliers,
    )


def test_no_change_gives_zero_deltas_and_the_uniform_plan() -> None:
    inputs = _inputs()
    table = what_if(inputs, Change())
    for metric in METRICS:
        assert np.allclose(table[f"delta_{metric}"], 0.0, equal_nan=True)
    targets = ServiceTargets(targets={}, default=0.95, allocation="uniform")
    plan = plan_replenishment(inputs, ReplenishmentConfig(targets=targets)).lines.set_index("sku")
    assert np.allclose(table["baseline_reorder_point"], plan.loc[SKUS, "reorder_point"])
    assert np.allclose(table["baseline_expected_fill_rate"], plan.loc[SKUS, "expected_fill_rate"])
    assert (table["baseline_expected_fill_rate"] >= 0.95 - 1e-9).all()


def test_higher_service_target_raises_safety_stock_and_fill() -> None:
    inputs = _inputs()
    low = what_if(inputs, Change(service_target=0.9))
    high = what_if(inputs, Change(service_target=0.99))
    assert (high["scenario_safety_stock"] >= low["scenario_safety_stock"]).all()
    assert (high["scenario_safety_stock"] > low["scenario_safety_stock"]).any()
    assert (high["scenario_expected_fill_rate"] > low["scenario_expected_fill_rate"]).all()
    assert (high["scenario_expected_fill_rate"] >= 0.99 - 1e-9).all()
    assert (high["delta_capital"] > 0).all()


def test_longer_lead_time_raises_the_reorder_point() -> None:
    inputs = _inputs()
    longer = what_if(inputs, Change(lead_time_factor=2.0))
    assert (longer["delta_reorder_point"] > 0).all()
    assert np.allclose(longer["scenario_lead_time_days"], 2.0 * longer["baseline_lead_time_days"])
    fixed = what_if(inputs, Change(lead_time_days=90.0))
    assert np.allclose(fixed["scenario_lead_time_days"], 90.0)
    assert (
        fixed["scenario_reorder_point"] > what_if(inputs, Change(lead_time_days=10.0))["scenario_reorder_point"]
    ).all()


def test_moq_bounds_the_order_quantity() -> None:
    table = what_if(_inputs(), Change(moq=1000.0))
    assert (table["scenario_order_qty"] >= 1000.0).all()
    assert (table["baseline_order_qty"] < 1000.0).all()


def test_baseline_targets_per_sku() -> None:
    table = what_if(_inputs(), Change(), baseline_targets=pd.Series({"P-1": 0.8, "P-2": 0.99, "P-3": np.nan}))
    assert table["baseline_service_target"].tolist() == [0.8, 0.99, 0.95]
    assert (table["baseline_expected_fill_rate"] >= table["baseline_service_target"] - 1e-9).all()


def test_lead_time_hook_keeps_the_relative_spread() -> None:
    inputs = _inputs()
    base = plan_replenishment(inputs).lines.set_index("sku")
    moved = plan_replenishment(inputs, ReplenishmentConfig(lead_time_days=60.0)).lines.set_index("sku")
    assert np.allclose(moved["lead_time_days"], 60.0)
    for before, after in zip(base["details"], moved["details"], strict=True):
        a = np.array(before["lead_time_points_days"])
        b = np.array(after["lead_time_points_days"])
        assert np.allclose(b / b.mean(), a / a.mean(), atol=0.01)


def test_change_rejects_two_lead_times_and_bad_values() -> None:
    with pytest.raises(ValidationError, match="give lead_time_days"):
        Change(lead_time_days=10, lead_time_factor=2)
    with pytest.raises(ValidationError):
        Change(service_target=1.0)
