"""Supplier reliability from receipts, the multi-sourcing split, and alerts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.alerts import AlertConfig, build_alerts, tracking_signal
from optimizer.sourcing import build_model, single_source, solve, split_orders
from optimizer.suppliers import ReliabilityConfig, supplier_reliability

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


Row = tuple[str, str, int, str, str, str | None, int]


def _receipts(rows: list[Row]) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        columns=["po_id", "supplier_id", "qty_ordered", "order_date", "promised_date", "received_date", "qty_received"],
    ).assign(sku="A")


def test_reliability_shrinks_toward_nominal_and_counts_overdue_orders() -> None:
    offers = pd.DataFrame(
        {"supplier_id": ["S1", "S2", "S3"], "sku": ["A", "A", "A"], "nominal_lead_time_days": [30, 30, 30]}
    )
    late: list[Row] = [(f"P{i}", "S1", 10, "2024-01-01", "2024-01-31", "2024-02-20", 10) for i in range(40)]
    one: list[Row] = [("Q1", "S2", 10, "2024-01-01", "2024-01-31", "2024-02-20", 8)]
    overdue: list[Row] = [("R1", "S3", 10, "2024-01-01", "2024-01-31", None, 0)]
    rel = supplier_reliability(_receipts(late + one + overdue), offers, "2024-03-31", ReliabilityConfig(points=3))
    columns = ["on_time_rate_observed", "on_time_rate", "qty_fill_observed", "qty_fill_rate", "open_overdue",
               "lateness_mean_days"]  # fmt: skip
    sup = rel.suppliers.set_index("supplier_id")[columns].astype(float).to_dict()
    lead = dict(zip(rel.offers["supplier_id"], rel.offers["lead_time_mean_days"].to_numpy(dtype=float), strict=True))
    # 40 receipts, all 20 days late: the offer's own lateness (weight 40/45) and its supplier's, itself shrunk
    # toward "on promise" (weight 40/50); 1 receipt: mostly the nominal 30 days
    supplier_lateness = 20 * 40 / 50
    assert lead["S1"] == pytest.approx(30 + 20 * 40 / 45 + supplier_lateness * 5 / 45)
    assert lead["S2"] == pytest.approx(30 + 20 / 6 + (20 / 11) * 5 / 6)
    assert sup["on_time_rate_observed"]["S1"] == 0.0 and sup["on_time_rate"]["S1"] < 0.25
    assert sup["qty_fill_observed"]["S2"] == pytest.approx(0.8)
    assert 0.8 < sup["qty_fill_rate"]["S2"] < 1.0
    # the open PO, 60 days past its promise, counts as at least 60 days late
    assert sup["open_overdue"]["S3"] == 1 and sup["lateness_mean_days"]["S3"] == 60
    assert lead["S3"] > 30
    assert rel.point_columns == ["lt_1", "lt_2", "lt_3"]


def test_reliability_on_the_sample_recovers_the_hidden_supplier_traits() -> None:
    receipts = pd.read_csv(SAMPLE / "receipts.csv")
    offers = pd.read_csv(SAMPLE / "suppliers.csv")
    truth = pd.read_csv(SAMPLE / "truth" / "supplier_traits.csv").set_index("supplier_id")
    rel = supplier_reliability(receipts, offers, "2003-01-01").suppliers.set_index("supplier_id")
    rel = rel.join(truth, rsuffix="_true")
    assert np.corrcoef(rel["on_time_rate_observed"], rel["on_time_rate_true"])[0, 1] > 0.75
    flagged = rel["degrading"]
    true_positive = int((flagged & rel["degrading_true"]).sum())
    assert true_positive >= 3 and true_positive / max(int(flagged.sum()), 1) >= 0.5


def _offers(**overrides: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "sku": ["A", "A"],
        "supplier_id": ["CHEAP", "DEAR"],
        "unit_price": [1.0, 1.2],
        "moq": [0.0, 0.0],
        "lot_multiple": [1.0, 1.0],
        "capacity": [np.nan, np.nan],
        "qty_fill": [1.0, 1.0],
        "lead_time_mean_days": [30.0, 30.0],
        "lead_time_std_days": [0.0, 0.0],
        "on_time_rate": [0.9, 0.9],
        "adjusted": [1.0, 1.2],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_split_uses_the_cheapest_offer_until_its_capacity() -> None:
    requests = pd.DataFrame({"sku": ["A"], "required": [100.0], "order_cost": [5.0]})
    splits, result = split_orders(requests, _offers(capacity=[60.0, np.nan]))
    assert result.status == "OPTIMAL"
    got = splits.set_index("supplier_id")["qty"].to_dict()
    assert got == {"CHEAP": 60.0, "DEAR": 40.0}
    assert result.objective == pytest.approx(60 * 1.0 + 40 * 1.2 + 2 * 5.0)
    assert "capacity 60 reached" in str(splits.set_index("supplier_id").at["CHEAP", "explanation"])


def test_lots_moq_and_short_deliveries_shape_the_split() -> None:
    # CHEAP delivers 80 % and sells in lots of 50: 100 needed → 3 lots (120 delivered) vs DEAR's exact 100
    offers = _offers(lot_multiple=[50.0, 1.0], qty_fill=[0.8, 1.0], adjusted=[1.0, 1.3])
    requests = pd.DataFrame({"sku": ["A"], "required": [100.0], "order_cost": [0.0]})
    splits, _ = split_orders(requests, offers)
    total_delivered = splits["expected_delivered"].sum()
    assert total_delivered >= 100 - 1e-9
    assert np.all((splits["qty"] % 50 == 0) | (splits["supplier_id"] == "DEAR"))
    cost = (splits["qty"] * splits["adjusted"]).sum()
    assert cost <= 130.0 + 1e-9  # never dearer than DEAR alone


def test_presolve_single_sources_when_no_split_can_be_cheaper() -> None:
    requests = pd.DataFrame({"sku": ["A"], "required": [10.0], "order_cost": [50.0]})
    single = single_source(requests, _offers())
    assert single["supplier_id"].tolist() == ["CHEAP"] and single["qty"].tolist() == [10.0]
    assert "no split can cost less" in single["explanation"].iloc[0]
    built = build_model(requests, _offers())
    assert len(built.lots) == 2  # the model is inspectable without solving
    assert solve(built).objective == pytest.approx(10.0 + 50.0)


def test_infeasible_capacity_reports_the_shortfall() -> None:
    requests = pd.DataFrame({"sku": ["A"], "required": [100.0], "order_cost": [1.0]})
    splits, result = split_orders(requests, _offers(capacity=[30.0, 20.0]))
    assert result.status == "OPTIMAL"
    short = splits[splits["supplier_id"].isna()]
    assert len(short) == 1 and "50 units cannot be sourced" in short["explanation"].iloc[0]


def _lines(**overrides: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "sku": ["OK", "RUNOUT", "EXCESS", "OLD", "BIASED"],
        "supplier_id": ["S1"] * 5,
        "unit_cost": [10.0] * 5,
        "price": [np.nan, 20.0, np.nan, np.nan, np.nan],
        "on_hand": [50.0, 5.0, 5000.0, 30.0, 40.0],
        "backorders": [0.0] * 5,
        "safety_stock": [10.0, 10.0, 10.0, 10.0, 10.0],
        "order_up_to": [80.0] * 5,
        "demand_per_day": [1.0, 1.0, 1.0, 0.0, 1.0],
        "days_to_stockout": [50.0, 5.0, 5000.0, np.inf, 40.0],
        "days_to_cover": [30.0, 30.0, 30.0, 30.0, 30.0],
        "short_until_cover": [0.0, 25.0, 0.0, 0.0, 0.0],
        "days_of_supply": [50.0, 5.0, 5000.0, np.inf, 40.0],
        "periods_since_demand": [0.0, 0.0, 0.0, 24.0, 0.0],
        "shelf_life_days": [np.nan] * 5,
        "tracking_signal": [0.5, 0.0, 0.0, 0.0, 14.0],
        "bias_t": [0.1, 0.0, 0.0, 0.0, 3.2],
        "bias_per_period": [0.1, 0.0, 0.0, 0.0, 3.0],
        "protection_periods": [2.0] * 5,
        "active": [True] * 5,
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_alerts_one_per_problem_ranked_by_value() -> None:
    suppliers = pd.DataFrame(
        {
            "supplier_id": ["S1", "S2"],
            "degrading": [True, False],
            "trend_share_per_year": [0.3, 0.0],
            "on_time_rate": [0.6, 0.9],
        }
    )
    alerts = build_alerts(_lines(), suppliers, pd.Series({"S1": 1234.0}))
    kinds = dict(zip(alerts["sku"].fillna("-"), alerts["type"], strict=True))
    assert kinds == {
        "EXCESS": "excess",
        "-": "supplier_degrading",
        "RUNOUT": "stockout_before_receipt",
        "OLD": "obsolete",
        "BIASED": "forecast_bias",
    }
    assert alerts["value_at_risk"].is_monotonic_decreasing
    runout = alerts.set_index("type").loc["stockout_before_receipt"]
    assert runout["value_at_risk"] == 25 * 20.0 and runout["severity"] == "critical"  # price, within a week
    assert alerts.set_index("type").loc["excess", "value_at_risk"] == (5000 - 80 - 365) * 10.0
    assert alerts.set_index("type").loc["forecast_bias", "value_at_risk"] == 3.0 * 2 * 10.0
    capped = build_alerts(_lines(), suppliers, None, AlertConfig(max_alerts=2))
    assert len(capped) == 2 and capped["value_at_risk"].iloc[0] == alerts["value_at_risk"].iloc[0]


def test_expiring_and_below_safety_stock() -> None:
    lines = _lines(shelf_life_days=[10.0, np.nan, np.nan, np.nan, np.nan], safety_stock=[10.0, 10.0, 10.0, 10.0, 60.0])
    alerts = build_alerts(lines)
    expiring = alerts[alerts["type"] == "expiring"]
    assert expiring["sku"].tolist() == ["OK"] and expiring["value_at_risk"].iloc[0] == (50 - 10) * 10.0
    below = alerts[alerts["type"] == "below_safety_stock"]
    assert set(below["sku"]) == {"BIASED"}  # RUNOUT is below too, but its stockout alert covers it


def test_tracking_signal() -> None:
    ts, bias, t = tracking_signal(np.array([[2.0, 2.0, 2.0, 2.0], [1.0, 3.0, 1.0, 3.0]]), np.full((2, 4), 1.0))
    assert ts.tolist() == [4.0, 4.0] and bias.tolist() == [1.0, 1.0]
    assert t[0] == np.inf and t[1] == pytest.approx(1.0 / (np.sqrt(4 / 3) / 2))
    ts, _, _ = tracking_signal(np.array([[0.0, 2.0, 0.0, 2.0]]), np.full((1, 4), 1.0))
    assert ts[0] == 0.0


def test_the_bias_rule_rarely_fires_on_noise_and_always_on_a_trend() -> None:
    rng = np.random.default_rng(0)
    config = AlertConfig()
    actual = np.where(rng.random((20_000, 12)) < 0.3, rng.poisson(4.0, (20_000, 12)), 0).astype(float)
    ts, _, t = tracking_signal(actual, np.full_like(actual, actual.mean()))
    enough = (actual > 0).sum(axis=1) >= config.bias_min_demand_periods
    fires = (np.abs(ts) > config.tracking_signal_limit) & (np.abs(t) > config.bias_t_limit) & enough
    assert (np.abs(ts) > 4).mean() > 0.1 and fires.mean() < 0.01
    trend = 10.0 + np.arange(12) + rng.normal(0, 1.0, (500, 12))
    ts, _, t = tracking_signal(trend, np.full_like(trend, 8.0))
    assert np.all((np.abs(ts) > config.tracking_signal_limit) & (np.abs(t) > config.bias_t_limit))
