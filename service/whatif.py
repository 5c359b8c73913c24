"""What-if against the database: load the inputs of the requested SKUs only (filtered in SQL), take the latest plan's
parameters, date and per-SKU targets as the baseline, and evaluate the change with `optimizer.whatif`. Reads only.

Receipts are loaded for every supplier offering one of the SKUs (supplier reliability is estimated over all of a
supplier's receipts, as in the full plan).

Public interface: `UnknownSkus`, `load_inputs(engine, skus, as_of=None)`, `evaluate(engine, skus, change)`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
from pydantic import ValidationError
from sqlalchemy import Connection, Engine, func, select

from optimizer.replenishment import ReplenishmentConfig, ReplenishmentInputs
from optimizer.whatif import METRICS, Change, what_if
from service.db.forecasts import published_set, read_forecasts
from service.db.tables import Demand, Inventory, Item, OpenOrder, Plan, PlanLine, Receipt, SupplierOffer

PLAN_STATUSES = ("done", "approved")
_STORED = ["safety_stock", "reorder_point", "order_up_to", "order_qty", "expected_fill_rate", "capital",
           "days_of_supply", "service_target", "lead_time_days"]  # fmt: skip


class UnknownSkus(LookupError):
    """Some requested SKUs are not in the item master."""

    def __init__(self, skus: list[str]) -> None:
        self.skus = skus
        shown = ", ".join(repr(s) for s in skus[:10]) + (f" and {len(skus) - 10} more" if len(skus) > 10 else "")
        super().__init__(f"SKU(s) {shown} not found; list SKUs with GET /v1/skus")


def _frame(conn: Connection, query: Any, dates: Sequence[str] = ()) -> pd.DataFrame:
    result = conn.execute(query)
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    for column in dates:
        frame[column] = pd.to_datetime(frame[column])
    return frame


def latest_plan(conn: Connection, skus: Sequence[str] | None = None) -> Any:
    """The most recent done or approved plan with replenishment lines (for any of `skus`, when given) — a
    production-only plan has none — as (id, as_of, params, status), or None."""
    lines = select(PlanLine.sku).where(PlanLine.plan_id == Plan.id)
    if skus is not None:
        lines = lines.where(PlanLine.sku.in_(list(skus)))
    return conn.execute(
        select(Plan.id, Plan.as_of, Plan.params, Plan.status)
        .where(Plan.status.in_(PLAN_STATUSES), lines.exists())
        .order_by(Plan.created_at.desc(), Plan.id.desc())
        .limit(1)
    ).first()


def _default_as_of(conn: Connection, skus: list[str]) -> pd.Timestamp:
    """As the plan does: the latest inventory snapshot, else the period after the last demand."""
    stock = conn.execute(select(func.max(Inventory.as_of))).scalar()
    if stock is not None:
        return pd.Timestamp(stock)
    last = conn.execute(select(func.max(Demand.date)).where(Demand.sku.in_(skus))).scalar()
    return pd.Timestamp(last) + pd.DateOffset(months=1) if last is not None else pd.Timestamp(dt.date.today())


def load_inputs(engine: Engine, skus: Sequence[str], as_of: pd.Timestamp | None = None) -> ReplenishmentInputs:
    """The canonical rows of `skus` (raises `UnknownSkus`) and their published forecasts."""
    wanted = list(dict.fromkeys(skus))
    with engine.connect() as conn:
        items = _frame(conn, select(*Item.__table__.c).where(Item.sku.in_(wanted)))
        missing = [s for s in wanted if s not in set(items["sku"])]
        if missing:
            raise UnknownSkus(missing)
        demand = _frame(conn, select(Demand.sku, Demand.date, Demand.qty).where(Demand.sku.in_(wanted)), ["date"])
        inventory = _frame(conn, select(*Inventory.__table__.c).where(Inventory.sku.in_(wanted)), ["as_of"])
        open_orders = _frame(conn, select(*OpenOrder.__table__.c).where(OpenOrder.sku.in_(wanted)), ["due_date"])
        offers = _frame(conn, select(*SupplierOffer.__table__.c).where(SupplierOffer.sku.in_(wanted)))
        suppliers = select(SupplierOffer.supplier_id).where(SupplierOffer.sku.in_(wanted)).distinct()
        receipts = _frame(
            conn,
            select(*Receipt.__table__.c).where(Receipt.supplier_id.in_(suppliers)),
            ["order_date", "promised_date", "received_date"],
        )
        as_of = as_of if as_of is not None else _default_as_of(conn, wanted)
        published = published_set(conn)
    forecast, meta = None, {}
    if published is not None:
        frame = read_forecasts(engine, model_version=published.model_version, skus=wanted)
        forecast = frame if not frame.empty else None
        meta = {k: v for k, v in published.meta().items() if k in ("model_version", "mlflow_run_id")}
    return ReplenishmentInputs(
        as_of=pd.Timestamp(as_of),
        items=items,
        demand=demand,
        inventory=inventory,
        open_orders=open_orders,
        receipts=receipts,
        suppliers=offers,
        forecast=forecast,
        forecast_meta=meta,
    )


def _plan_config(params: dict[str, Any] | None) -> ReplenishmentConfig:
    """The plan's policy parameters (defaults when absent or from an older layout)."""
    try:
        return ReplenishmentConfig.model_validate((params or {}).get("policy") or {})
    except ValidationError:
        return ReplenishmentConfig()


def _number(value: Any) -> float | None:
    if value is None or pd.isna(value):
        return None
    return float(value)


def evaluate(engine: Engine, skus: Sequence[str], change: Change) -> dict[str, Any]:
    """Baseline, scenario and deltas per SKU (and the stored plan's figures when a plan exists); nothing is saved."""
    wanted = list(dict.fromkeys(skus))
    with engine.connect() as conn:
        plan = latest_plan(conn, wanted)
        stored = pd.DataFrame()
        if plan is not None:
            stored = _frame(
                conn,
                select(PlanLine.sku, *(getattr(PlanLine, c) for c in _STORED))
                .where(PlanLine.plan_id == plan.id, PlanLine.sku.in_(wanted)),
            ).set_index("sku")  # fmt: skip
    as_of = pd.Timestamp(plan.as_of) if plan is not None and plan.as_of is not None else None
    inputs = load_inputs(engine, wanted, as_of)
    config = _plan_config(plan.params if plan is not None else None)
    targets = None
    if not stored.empty:  # each SKU at the fill rate the plan gave it (its allocation), else its class target
        targets = stored["expected_fill_rate"].where(stored["expected_fill_rate"].notna(), stored["service_target"])
    table = what_if(inputs, change, config, targets)
    results = []
    for sku in wanted:
        row = table.loc[sku]
        sides: dict[str, Any] = {}
        for side in ("baseline", "scenario", "delta"):
            names = METRICS if side == "delta" else ["service_target", "lead_time_days", *METRICS]
            sides[side] = {m: _number(row[f"{side}_{m}"]) for m in names}
        entry: dict[str, Any] = {"sku": sku, **sides, "plan": None}
        if sku in stored.index:
            entry["plan"] = {c: _number(stored.at[sku, c]) for c in _STORED}
        results.append(entry)
    return {
        "plan_id": plan.id if plan is not None else None,
        "as_of": inputs.as_of.date().isoformat(),
        "model_version": inputs.forecast_meta.get("model_version"),
        "change": change.model_dump(),
        "results": results,
    }


__all__ = ["UnknownSkus", "evaluate", "latest_plan", "load_inputs"]
