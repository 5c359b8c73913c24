"""The MRP pages: the plan page (headline, exceptions by money at stake, planned orders filtered and paged in SQL,
pull items as kanban loops) and the item page (the time-phased record as the planners' grid, where-used and
components, planned orders, exceptions, the pegging tree). Reads go through `service.mrp_reads`.

Public interface: `mrp_plan(conn, plan_id=None)`, `OrderQuery`, `MrpPage`, `mrp_page(engine, plan_id, query)`,
`ItemPage`, `item_page(engine, sku, plan_id=None)`, `time_phased_grid(record, safety_stock)`, `GRID_ROWS`,
`EXCEPTION_KINDS`, `ORDER_PAGE_SIZE`, `EXCEPTIONS_SHOWN`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection, Engine, exists, select

from service import mrp_reads, plans
from service.db.tables import Item, MrpRecord, Plan
from service.web.plans import SHOWN, PlanRef, replenishment_plan

ORDER_PAGE_SIZE = 50
EXCEPTIONS_SHOWN = 25
MAX_PAGE = 1_000_000  # a larger page number would overflow the database's OFFSET
#: the time-phased record's rows, as planners name them (keys of `mrp_records.record`)
GRID_ROWS = (
    ("gross_requirements", "Gross requirements"),
    ("scheduled_receipts", "Scheduled receipts"),
    ("projected_on_hand", "Projected on hand"),
    ("net_requirements", "Net requirements"),
    ("planned_receipts", "Planned receipts"),
    ("planned_releases", "Planned releases"),
)
#: MRP exception kinds (alert type `mrp_<kind>`), most urgent first
EXCEPTION_KINDS = ("blocked_order", "expedite", "past_due", "reschedule_in", "reschedule_out", "cancel")


def mrp_plan(conn: Connection, plan_id: str | None = None) -> PlanRef | None:
    """MRP plan `plan_id` (None when unknown or of another kind), or the newest done/approved MRP plan."""
    if plan_id is None:
        has_records = exists().where(MrpRecord.plan_id == Plan.id)
        plan_id = conn.execute(
            select(Plan.id)
            .where(Plan.status.in_(SHOWN), has_records)
            .order_by(Plan.created_at.desc(), Plan.id.desc())
            .limit(1)
        ).scalar()
        if plan_id is None:
            return None
    ref = replenishment_plan(conn, plan_id)
    return ref if ref is not None and plans.kind_of(ref.params) == "mrp" else None


def _header(ref: PlanRef) -> dict[str, Any]:
    """What `service.mrp_reads` and `service.plans` read a plan by."""
    return {"id": ref.id, "model_version": ref.model_version}


@dataclass(frozen=True)
class OrderQuery:
    """Planned-order filters, exception kind and page (validated: unknown values fall back to no filter)."""

    sku: str = ""
    make_or_buy: str = ""
    expedite: bool = False
    kind: str = ""
    page: int = 1

    @classmethod
    def of(cls, **raw: Any) -> OrderQuery:
        try:
            number = min(max(1, int(raw.get("page") or 1)), MAX_PAGE)
        except (TypeError, ValueError):
            number = 1
        make_or_buy = raw.get("make_or_buy") if raw.get("make_or_buy") in ("make", "buy") else ""
        kind = raw.get("kind") if raw.get("kind") in EXCEPTION_KINDS else ""
        sku = str(raw.get("sku") or "").strip()[:100]
        return cls(sku, str(make_or_buy), bool(raw.get("expedite")), str(kind), number)

    def params(self, **change: Any) -> str:
        """The query string of this view with `change` applied (page reset unless given)."""
        q = replace(self, **{"page": 1, **change})
        raw = {"sku": q.sku, "make_or_buy": q.make_or_buy, "expedite": "1" if q.expedite else "", "kind": q.kind,
               "page": q.page if q.page > 1 else ""}  # fmt: skip
        return urlencode({k: v for k, v in raw.items() if v not in ("", None)})


@dataclass
class MrpPage:
    """What the MRP plan page shows; `plan` is None when there is no MRP plan (or `plan_id` is not one)."""

    plan: PlanRef | None
    query: OrderQuery = field(default_factory=OrderQuery)
    headline: dict[str, Any] = field(default_factory=dict)
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    exception_kinds: list[tuple[str, int]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    matching: int = 0
    kanban: dict[str, Any] = field(default_factory=dict)
    page_size: int = ORDER_PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.matching // ORDER_PAGE_SIZE))

    @property
    def shown_exceptions(self) -> int:
        """Exceptions of the chosen kind (all kinds when none is chosen)."""
        counts = dict(self.exception_kinds)
        return counts.get(self.query.kind, 0) if self.query.kind else sum(counts.values())


def _headline(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "items": summary.get("items"),
        "periods": summary.get("periods"),
        "planned_orders": summary.get("planned_orders"),
        "make_orders": summary.get("make_orders"),
        "buy_orders": summary.get("buy_orders"),
        "planned_value": summary.get("planned_value"),
        "exceptions": summary.get("exceptions"),
        "money_at_stake": summary.get("money_at_stake"),
    }


def _kinds(summary: dict[str, Any]) -> list[tuple[str, int]]:
    counts = {str(k): int(v) for k, v in (summary.get("exceptions_by_kind") or {}).items()}
    ordered = [(k, counts.pop(k)) for k in EXCEPTION_KINDS if k in counts]
    return ordered + sorted(counts.items())


def mrp_page(engine: Engine, plan_id: str | None, query: OrderQuery) -> MrpPage:
    """The MRP plan page of plan `plan_id` (default: the newest MRP plan) under `query`."""
    with engine.connect() as conn:
        ref = mrp_plan(conn, plan_id)
    if ref is None:
        return MrpPage(None, query)
    header = _header(ref)
    types = [f"mrp_{query.kind}"] if query.kind else [f"mrp_{k}" for k in EXCEPTION_KINDS]
    exceptions = plans.alerts_page(engine, header, types=types, limit=EXCEPTIONS_SHOWN).rows
    orders, matching = mrp_reads.find_planned_orders(
        engine, header, sku_prefix=query.sku, make_or_buy=query.make_or_buy or None,
        expedite=True if query.expedite else None, offset=(query.page - 1) * ORDER_PAGE_SIZE, limit=ORDER_PAGE_SIZE,
    )  # fmt: skip
    return MrpPage(
        ref, query, _headline(ref.summary), exceptions, _kinds(ref.summary), orders, matching,
        mrp_reads.kanban_view(engine, header),
    )  # fmt: skip


@dataclass
class ItemPage:
    """What the MRP item page shows; `item` is None when the SKU is not in the plan (or there is no plan)."""

    plan: PlanRef | None
    sku: str
    item: dict[str, Any] | None = None
    master: dict[str, Any] = field(default_factory=dict)
    grid: list[dict[str, Any]] = field(default_factory=list)
    weeks: list[str] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    tree: dict[str, Any] = field(default_factory=dict)
    kanban: dict[str, Any] | None = None
    shortage_weeks: int = 0


def time_phased_grid(record: dict[str, list[float]], safety_stock: float) -> tuple[list[dict[str, Any]], int]:
    """The planners' rows, each cell with its value and whether it is to be flagged (projected on hand below zero,
    or below the item's safety stock); and how many weeks go below zero."""
    rows = []
    negative = 0
    for key, label in GRID_ROWS:
        values = [float(v) for v in record.get(key, [])]
        cells = []
        for value in values:
            flag = ""
            if key == "projected_on_hand" and value < -1e-9:
                flag = "neg"
                negative += 1
            elif key == "projected_on_hand" and value < safety_stock - 1e-9:
                flag = "low"
            cells.append({"value": value, "flag": flag})
        rows.append({"key": key, "label": label, "cells": cells})
    return rows, negative


def item_page(engine: Engine, sku: str, plan_id: str | None = None) -> ItemPage:
    """Item `sku` of MRP plan `plan_id` (default: the newest MRP plan)."""
    with engine.connect() as conn:
        ref = mrp_plan(conn, plan_id)
        master_row = conn.execute(
            select(Item.name, Item.unit_cost, Item.lot_rule, Item.lot_size, Item.moq, Item.safety_stock, Item.pull,
                   Item.container_qty).where(Item.sku == sku)
        ).first()  # fmt: skip
    if ref is None:
        return ItemPage(None, sku)
    header = _header(ref)
    try:
        view = mrp_reads.item_view(engine, header, sku)
    except mrp_reads.ItemNotInPlan:
        return ItemPage(ref, sku)
    master = dict(master_row._mapping) if master_row is not None else {}
    grid, negative = time_phased_grid(view["record"], float(master.get("safety_stock") or 0.0))
    exceptions = plans.alerts_page(
        engine, header, types=[f"mrp_{k}" for k in EXCEPTION_KINDS], skus=[sku], limit=EXCEPTIONS_SHOWN
    ).rows
    kanban = None
    if master.get("pull"):
        kanban = next((k for k in mrp_reads.kanban_view(engine, header)["items"] if k["sku"] == sku), None)
    return ItemPage(
        ref, sku, view, master, grid, list(view["periods"]), exceptions, mrp_reads.pegging_tree(engine, header, sku),
        kanban, negative,
    )  # fmt: skip


__all__ = [
    "EXCEPTIONS_SHOWN",
    "EXCEPTION_KINDS",
    "GRID_ROWS",
    "ORDER_PAGE_SIZE",
    "ItemPage",
    "MrpPage",
    "OrderQuery",
    "item_page",
    "mrp_page",
    "mrp_plan",
    "time_phased_grid",
]
