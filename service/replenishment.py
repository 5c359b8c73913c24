"""Replenishment planning against the database: load the canonical tables and the published forecast set, compute the
plan (`optimizer.replenishment`), store `Plan` + `PlanLine` + `Alert` rows in one transaction, write CSV and XLSX.

Storing goes through the one plan lifecycle (`service.planning`): the `replenishment` plan kind computes with
`load_inputs` + `optimizer.replenishment.plan_replenishment` and stores `line_rows` and `alert_rows`.

Public interface: `load_inputs(engine, as_of=None, skus=None)`, `line_rows`, `alert_rows`,
`store_plan(engine, plan, as_of)`, `write_files(plan, plan_id, out_dir)`,
`run(engine, as_of=None, skus=None, config=None, out_dir=None)`.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from optimizer.replenishment import ReplenishmentConfig, ReplenishmentInputs, ReplenishmentPlan
from service.db.forecasts import published_forecast
from service.spreadsheet_safety import excel_writer, write_csv

log = logging.getLogger(__name__)

_TABLES = ("items", "demand", "inventory", "open_orders", "receipts", "suppliers")
_DATES = {
    "demand": ["date"],
    "inventory": ["as_of"],
    "open_orders": ["due_date"],
    "receipts": ["order_date", "promised_date", "received_date"],
}


def _read(engine: Engine, table: str) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql_table(table, conn)
    for column in _DATES.get(table, []):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def load_inputs(engine: Engine, as_of: dt.date | str | None = None, skus: str | None = None) -> ReplenishmentInputs:
    """The canonical tables (items matching the glob `skus`, e.g. 'RAF-*') and the published forecast set.

    as_of defaults to the latest inventory snapshot (the date the stock figures describe), else the period after the
    last demand."""
    frames = {t: _read(engine, t) for t in _TABLES}
    items = frames["items"]
    if skus:
        items = items[[fnmatch.fnmatchcase(s, skus) for s in items["sku"]]]
    if items.empty:
        raise LookupError(
            "no items to plan" + (f" match {skus!r}" if skus else "") + "; load data with `leanplan import`"
        )
    keep = set(items["sku"])
    for t in _TABLES[1:]:
        frames[t] = frames[t][frames[t]["sku"].isin(keep)].reset_index(drop=True)
    if as_of is None:
        if not frames["inventory"].empty:
            as_of = frames["inventory"]["as_of"].max()
        elif not frames["demand"].empty:
            as_of = frames["demand"]["date"].max() + pd.DateOffset(months=1)
        else:
            raise LookupError("no inventory and no demand: give --as-of")
    forecast, published = published_forecast(engine, sorted(keep))
    meta = published.meta() if published else {}
    return ReplenishmentInputs(
        as_of=pd.Timestamp(as_of),
        items=items.reset_index(drop=True),
        demand=frames["demand"],
        inventory=frames["inventory"],
        open_orders=frames["open_orders"],
        receipts=frames["receipts"],
        suppliers=frames["suppliers"],
        forecast=forecast,
        forecast_meta=meta,
    )


def _none(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _none(value.item())
    return value


def line_rows(plan: ReplenishmentPlan, plan_id: str) -> list[dict[str, Any]]:
    """`PlanLine` rows of a plan (NaN → NULL; quantities the table needs default to 0)."""
    rows: list[dict[str, Any]] = [
        {"plan_id": plan_id, **{str(k): _none(v) for k, v in row.items()}} for row in plan.lines.to_dict("records")
    ]
    for row in rows:
        for column in ("on_hand", "open_qty", "backorders", "inventory_position", "order_qty"):
            row[column] = row[column] if row[column] is not None else 0.0
    return rows


def alert_rows(plan: ReplenishmentPlan, plan_id: str) -> list[dict[str, Any]]:
    """`Alert` rows of a plan."""
    records = plan.alerts.to_dict("records")
    return [{"plan_id": plan_id, **{str(k): _none(v) for k, v in row.items()}} for row in records]


def store_plan(engine: Engine, plan: ReplenishmentPlan, as_of: pd.Timestamp) -> str:
    """Store a replenishment plan computed outside the lifecycle (its lines and alerts, one transaction) through
    `service.planning.lifecycle.save`; returns the plan id."""
    from service.planning.computed import ComputedPlan
    from service.planning.lifecycle import save

    computed = ComputedPlan(
        kind="replenishment",
        as_of=pd.Timestamp(as_of),
        model_version=plan.params.get("forecast", {}).get("model_version"),
        params=plan.params,
        summary=plan.summary,
        rows={"plan_lines": line_rows(plan, ""), "alerts": alert_rows(plan, "")},
        result=plan,
    )
    return save(engine, computed)


def write_files(plan: ReplenishmentPlan, plan_id: str, out_dir: Path) -> tuple[Path, Path]:
    """`<plan_id>.csv` (the lines, `details` as JSON) and `<plan_id>.xlsx` (lines, supplier splits, alerts, supplier
    reliability, provenance)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = plan.lines.copy()
    lines.insert(0, "plan_id", plan_id)
    lines["details"] = [json.dumps(d, sort_keys=True) for d in lines["details"]]
    csv_path = out_dir / f"{plan_id}.csv"
    write_csv(lines, csv_path)
    xlsx_path = out_dir / f"{plan_id}.xlsx"
    provenance = pd.DataFrame(
        [
            {"key": k, "value": json.dumps(v, sort_keys=True)}
            for k, v in {**plan.params, "summary": plan.summary}.items()
        ]
    )
    with excel_writer(xlsx_path) as writer:
        lines.drop(columns=["details"]).to_excel(writer, sheet_name="lines", index=False)
        plan.splits.to_excel(writer, sheet_name="supplier splits", index=False)
        plan.alerts.to_excel(writer, sheet_name="alerts", index=False)
        plan.suppliers.to_excel(writer, sheet_name="suppliers", index=False)
        provenance.to_excel(writer, sheet_name="provenance", index=False)
    return csv_path, xlsx_path


@dataclass(frozen=True)
class RunResult:
    """What `run` produced."""

    plan_id: str
    plan: ReplenishmentPlan
    as_of: pd.Timestamp
    csv: Path
    xlsx: Path


def run(
    engine: Engine,
    as_of: dt.date | str | None = None,
    skus: str | None = None,
    config: ReplenishmentConfig | None = None,
    out_dir: Path | None = None,
) -> RunResult:
    """Compute and store a replenishment plan through the plan lifecycle, then write its CSV and XLSX."""
    from service.planning.lifecycle import compute_now

    request: dict[str, Any] = {"as_of": str(as_of)[:10] if as_of is not None else None, "skus": skus}
    if config is not None:
        request["config"] = config.model_dump(mode="json")
    outcome = compute_now(engine, "replenishment", request)
    assert outcome.computed is not None
    plan: ReplenishmentPlan = outcome.computed.result
    if out_dir is None:
        from service.settings import get_settings

        out_dir = get_settings().home / "plans"
    csv_path, xlsx_path = write_files(plan, outcome.plan_id, out_dir)
    log.info("plan %s: %s lines, %s alerts", outcome.plan_id, len(plan.lines), len(plan.alerts))
    return RunResult(outcome.plan_id, plan, outcome.computed.as_of, csv_path, xlsx_path)


__all__ = ["RunResult", "alert_rows", "line_rows", "load_inputs", "run", "store_plan", "write_files"]
