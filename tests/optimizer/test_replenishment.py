"""The replenishment plan on frames: every edge case has a defined answer and a reason; forecasts; provenance."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.empirical import demand_stats, forecast_frame
from optimizer.history import history_matrix
from optimizer.replenishment import (
    FALLBACK_SOURCE,
    LINE_COLUMNS,
    ReplenishmentConfig,
    ReplenishmentInputs,
    forecast_arrays,
    plan_replenishment,
)
from pipelines.ingest import parse_table, read_table
from tests.optimizer.planning_tables import AS_OF, planning_tables

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def _inputs(tables: dict[str, pd.DataFrame] | None = None, **extra: object) -> ReplenishmentInputs:
    parsed = {name: parse_table(name, frame) for name, frame in (tables or planning_tables()).items()}
    return ReplenishmentInputs(as_of=pd.Timestamp(AS_OF), **parsed, **extra)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def plan() -> object:
    return plan_replenishment(_inputs())


def _line(plan: object, sku: str) -> pd.Series:
    lines = plan.lines.set_index("sku")  # type: ignore[attr-defined]
    return lines.loc[sku]


def test_lines_have_the_stored_columns_and_one_row_per_item(plan: object) -> None:
    lines = plan.lines  # type: ignore[attr-defined]
    assert list(lines.columns) == LINE_COLUMNS
    assert sorted(lines["sku"]) == sorted(planning_tables()["items"]["sku"])
    assert lines["reason"].str.len().min() > 10


def test_an_order_now_brings_the_position_up_to_the_order_up_to_level(plan: object) -> None:
    fast = _line(plan, "FAST")
    assert fast["inventory_position"] < fast["reorder_point"]
    assert fast["order_qty"] >= fast["order_up_to"] - fast["inventory_position"]
    assert fast["order_by"] == pd.Timestamp(AS_OF).date()
    assert fast["expected_arrival"] > fast["order_by"]
    assert "below reorder point" in fast["reason"]
    # S2 is cheaper but its capacity (15/period) is below the demand: the policy plans with S1
    assert fast["supplier_id"] == "S1"
    splits = fast["details"]["splits"]
    assert sum(s["qty"] for s in splits) == fast["order_qty"] and all(s["explanation"] for s in splits)
    assert fast["order_qty"] % 10 == 0  # S1 sells in lots of 10


def test_edge_cases_have_defined_answers_and_reasons(plan: object) -> None:
    zero_lt = _line(plan, "ZERO-LT")
    assert zero_lt["lead_time_days"] == 0 and "zero lead time" in zero_lt["reason"]
    free = _line(plan, "FREE")
    assert "zero unit cost" in free["reason"] and free["capital"] == 0
    assert free["details"]["level"] > 0.999  # holding it costs nothing: the highest level
    new = _line(plan, "NEW")
    assert new["reorder_point"] == 0 and new["order_qty"] == 0 and "no demand history" in new["reason"]
    nosup = _line(plan, "NOSUP")
    assert np.isnan(nosup["reorder_point"]) and nosup["order_qty"] == 0 and nosup["supplier_id"] is None
    assert "without a supplier offer" in nosup["reason"]
    make = _line(plan, "MAKE")
    assert make["supplier_id"] is None and "make item" in make["reason"]
    assert make["lead_time_days"] == 14 and make["open_qty"] == 100
    assert make["order_qty"] == 0 or (make["order_qty"] % 50 == 0 and make["order_qty"] >= 100)
    shelf = _line(plan, "SHELF")
    assert shelf["order_up_to"] - shelf["reorder_point"] <= 10.4 * 60 / (365.25 / 12) + 1


def test_alerts_are_ranked_and_name_what_to_do(plan: object) -> None:
    alerts = plan.alerts  # type: ignore[attr-defined]
    assert alerts["value_at_risk"].is_monotonic_decreasing
    kinds = set(zip(alerts["sku"], alerts["type"], strict=True))
    assert ("SHELF", "expiring") in kinds and ("SHELF", "excess") in kinds
    assert ("FREE", "stockout_before_receipt") in kinds  # backordered
    assert alerts["action"].str.len().min() > 10


def test_provenance_records_inputs_policy_and_code(plan: object) -> None:
    params = plan.params  # type: ignore[attr-defined]
    assert params["forecast"]["model_version"] is None and params["forecast"]["skus_from_fallback"] == 7
    assert len(params["input_fingerprint"]) == 64
    assert set(params["input_fingerprints"]) >= {"items", "demand", "suppliers", "receipts", "forecast"}
    assert params["policy"]["targets"]["measure"] == "fill_rate" and params["code_version"]
    assert params["service_targets"]["targets"] == {"A": 0.95, "B": 0.95, "C": 0.95}
    details = plan.lines.set_index("sku")["details"]  # type: ignore[attr-defined]
    assert details["FAST"]["demand_source"] == FALLBACK_SOURCE and len(details["FAST"]["input_hash"]) == 16
    summary = plan.summary  # type: ignore[attr-defined]
    assert summary["skus"] == 7 and summary["skipped"] == 1 and summary["orders"] >= 1


def test_a_line_hash_changes_only_with_its_own_inputs(plan: object) -> None:
    tables = planning_tables()
    tables["demand"].loc[(tables["demand"]["sku"] == "SHELF").to_numpy().nonzero()[0][0], "qty"] = "99"
    changed = plan_replenishment(_inputs(tables)).lines.set_index("sku")["details"]
    before = plan.lines.set_index("sku")["details"]  # type: ignore[attr-defined]
    assert changed["SHELF"]["input_hash"] != before["SHELF"]["input_hash"]
    assert changed["FAST"]["input_hash"] == before["FAST"]["input_hash"]
    again = plan_replenishment(_inputs()).params
    assert again["input_fingerprint"] == plan.params["input_fingerprint"]  # type: ignore[attr-defined]


def _value(lines: pd.DataFrame, sku: str, column: str) -> float:
    return float(dict(zip(lines["sku"], lines[column].to_numpy(dtype=float), strict=True))[sku])


def _fallback_frame(skus: list[str]) -> pd.DataFrame:
    parsed = parse_table("demand", planning_tables()["demand"])
    history = history_matrix(parsed, skus=skus, as_of=AS_OF)
    return forecast_frame(history, demand_stats(history), horizon=12)


def test_a_forecast_frame_drives_the_skus_it_covers() -> None:
    frame = _fallback_frame(["FAST", "SHELF"])
    frame.loc[frame["sku"] == "FAST", [c for c in frame.columns if c.startswith(("mean", "q", "cq"))]] *= 3.0
    meta = {"model_version": "v7", "mlflow_run_id": "run-123"}
    result = plan_replenishment(_inputs(forecast=frame, forecast_meta=meta))
    details = result.lines.set_index("sku")["details"]
    assert details["FAST"]["demand_source"] == "forecast:v7" and details["MAKE"]["demand_source"] == FALLBACK_SOURCE
    assert result.params["forecast"]["mlflow_run_id"] == "run-123"
    assert result.params["forecast"]["skus_from_forecast"] == 2
    base = plan_replenishment(_inputs()).lines
    assert _value(result.lines, "FAST", "demand_per_period") == pytest.approx(
        3 * _value(base, "FAST", "demand_per_period")
    )
    assert _value(result.lines, "FAST", "reorder_point") > 2 * _value(base, "FAST", "reorder_point")
    # the same distribution through the forecast frame path gives nearly the same reorder point
    same = plan_replenishment(_inputs(forecast=_fallback_frame(["SHELF"]), forecast_meta=meta)).lines
    assert _value(same, "SHELF", "reorder_point") == pytest.approx(
        _value(base, "SHELF", "reorder_point"), rel=0.15, abs=2
    )


def test_forecast_frames_must_be_complete() -> None:
    frame = _fallback_frame(["FAST", "SHELF"])
    with pytest.raises(ValueError, match=re.escape("'SHELF' does not cover horizons 1..12")):
        forecast_arrays(frame.iloc[:-1], pd.Index(["FAST", "SHELF"]))
    without_cq = frame.drop(columns=[c for c in frame.columns if str(c).startswith("cq")])
    rows, cq, levels, cum_mean = forecast_arrays(without_cq[without_cq["sku"] == "FAST"], pd.Index(["X", "FAST"]))
    assert rows.tolist() == [1] and cq.shape == (1, 12, levels.size) and np.all(np.diff(cum_mean[0]) > 0)


def test_service_targets_per_class_reach_the_plan() -> None:
    config = ReplenishmentConfig.model_validate({"targets": {"targets": {"A": 0.99, "B": 0.9, "C": 0.8}}})
    result = plan_replenishment(_inputs(), config)
    lines = result.lines.set_index("sku")
    assert lines.loc["FAST", "service_target"] == {"A": 0.99, "B": 0.9, "C": 0.8}[str(lines.loc["FAST", "abc"])]
    for group, info in result.summary["groups"].items():
        if info.get("expected_fill") is not None:
            assert info["expected_fill"] >= info["target"] - 0.02, group


def test_the_raf_sample_plans_quickly_with_sensible_numbers() -> None:
    tables: dict[str, pd.DataFrame] = {}
    for name in ("items", "suppliers", "inventory", "open_orders", "receipts", "demand.raf"):
        _, frame = read_table(SAMPLE / f"{name}.csv")
        tables[name.split(".")[0]] = frame[frame["sku"].str.startswith("RAF-0")]  # RAF-0001 … RAF-0999
    inputs = ReplenishmentInputs(
        as_of=pd.Timestamp("2003-01-01"),
        items=tables["items"],
        demand=tables["demand"],
        inventory=tables["inventory"],
        open_orders=tables["open_orders"],
        receipts=tables["receipts"],
        suppliers=tables["suppliers"],
    )
    result = plan_replenishment(inputs)
    lines = result.lines
    assert len(lines) == 999 and result.summary["skipped"] == 0
    assert result.summary["seconds"] < 30
    assert (lines["order_qty"] >= 0).all() and lines["reorder_point"].notna().all()
    ordered = lines[lines["order_qty"] > 0]
    assert (ordered["inventory_position"] < ordered["reorder_point"]).all()
    for info in result.summary["groups"].values():
        assert info["expected_fill"] == pytest.approx(info["target"], abs=0.01)
    assert 0 < len(result.alerts) <= ReplenishmentConfig().alerts.max_alerts
