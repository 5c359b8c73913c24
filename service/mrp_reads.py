"""The read side of MRP plans: planned orders (paged, or whole as CSV), pegging (which end demands a planned order
serves, or which planned orders serve an end demand), and one item's time-phased record with its where-used,
components and planned orders — what the API and the planner pages show.

Public interface: `planned_orders_page`, `planned_orders_csv`, `pegging`, `item_view`, `ItemNotInPlan`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from service.db.tables import BomLine, MrpRecord, Pegging, PlannedOrder
from service.plans import Page, decode_cursor, encode_cursor

_ORDER_COLUMNS = [c for c in PlannedOrder.__table__.columns if c.name != "plan_id"]
_PEG_COLUMNS = [c for c in Pegging.__table__.columns if c.name not in ("plan_id", "id")]
PEGGING_LIMIT = 10_000


class ItemNotInPlan(LookupError):
    """The SKU is not among the plan's items."""

    def __init__(self, plan_id: str, sku: str) -> None:
        super().__init__(
            f"SKU {sku!r} is not in MRP plan {plan_id!r} (only items in bills of materials are); "
            f"list its planned orders with GET /v1/plans/{plan_id}/planned-orders"
        )


def planned_orders_page(
    engine: Engine, plan: dict[str, Any], cursor: str | None = None, limit: int | None = 500, sku: str | None = None
) -> Page:
    """Planned orders by order id, `limit` per page (None: all), optionally of one SKU."""
    query = select(*_ORDER_COLUMNS).where(PlannedOrder.plan_id == plan["id"]).order_by(PlannedOrder.order_id)
    if sku is not None:
        query = query.where(PlannedOrder.sku == sku)
    if cursor:
        (after,) = decode_cursor(cursor, 1)
        query = query.where(PlannedOrder.order_id > str(after))
    if limit is not None:
        query = query.limit(limit + 1)
    with engine.connect() as conn:
        rows = [{"plan_id": plan["id"], **dict(r._mapping)} for r in conn.execute(query)]
    more = limit is not None and len(rows) > limit
    rows = rows[:limit] if limit is not None else rows
    return Page(plan["id"], plan["model_version"], rows, encode_cursor([rows[-1]["order_id"]]) if more else None)


def planned_orders_csv(engine: Engine, plan: dict[str, Any]) -> bytes:
    """Every planned order of the plan as UTF-8 CSV."""
    rows = planned_orders_page(engine, plan, limit=None).rows
    columns = ["plan_id", *(c.name for c in _ORDER_COLUMNS)]
    return pd.DataFrame(rows, columns=columns).to_csv(index=False).encode()


def pegging(
    engine: Engine,
    plan: dict[str, Any],
    order_id: str | None = None,
    sku: str | None = None,
    end_sku: str | None = None,
    demand_id: str | None = None,
    limit: int = PEGGING_LIMIT,
) -> list[dict[str, Any]]:
    """Pegging rows of the plan matching every given filter (at most `limit`), by order then end date."""
    query = select(*_PEG_COLUMNS).where(Pegging.plan_id == plan["id"])
    for column, value in ((Pegging.order_id, order_id), (Pegging.sku, sku), (Pegging.end_sku, end_sku)):
        if value is not None:
            query = query.where(column == value)
    if demand_id is not None:
        query = query.where(Pegging.demand_id == demand_id)
    query = query.order_by(Pegging.order_id, Pegging.end_date, Pegging.id).limit(limit)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def item_view(engine: Engine, plan: dict[str, Any], sku: str) -> dict[str, Any]:
    """One item of an MRP plan: its time-phased record (periods × the planners' rows), where-used and components
    (from the bill of materials), its planned orders and what end demands they serve (summed per end demand)."""
    with engine.connect() as conn:
        record = conn.execute(
            select(MrpRecord).where(MrpRecord.plan_id == plan["id"], MrpRecord.sku == sku)
        ).one_or_none()
        if record is None:
            raise ItemNotInPlan(plan["id"], sku)
        bom = [BomLine.parent_sku, BomLine.component_sku, BomLine.op, BomLine.qty_per, BomLine.scrap_rate]
        where_used = [dict(r._mapping) for r in conn.execute(select(*bom).where(BomLine.component_sku == sku))]
        components = [dict(r._mapping) for r in conn.execute(select(*bom).where(BomLine.parent_sku == sku))]
    orders = planned_orders_page(engine, plan, limit=None, sku=sku).rows
    served = pd.DataFrame(pegging(engine, plan, sku=sku), columns=[c.name for c in _PEG_COLUMNS])
    ends = (
        served.groupby(["end_sku", "demand_id"], as_index=False, dropna=False)
        .agg(qty=("qty", "sum"), first_date=("end_date", "min"))
        .sort_values("qty", ascending=False)
        .to_dict("records")
        if len(served)
        else []
    )
    return {
        "plan_id": plan["id"],
        "sku": sku,
        "make_or_buy": record.make_or_buy,
        "low_level_code": record.low_level_code,
        "lead_time_periods": record.lead_time_periods,
        "periods": record.periods,
        "record": record.record,
        "where_used": where_used,
        "components": components,
        "planned_orders": orders,
        "serves": ends,
    }


__all__ = ["ItemNotInPlan", "item_view", "pegging", "planned_orders_csv", "planned_orders_page"]
