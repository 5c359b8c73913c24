"""The read side of MRP plans: planned orders (paged, or whole as CSV), pegging (which end demands a planned order
serves, or which planned orders serve an end demand), and one item's time-phased record with its where-used,
components and planned orders — what the API and the planner pages show.

Also for the planner pages: `find_planned_orders` (filtered by SKU prefix, make or buy and expedite, paged in
SQL), `pegging_tree` (an item's planned orders, the end demands they serve and, upward, the chain of parent orders
that share those end demands, bounded) and `kanban_view` (the plan's pull items sized as kanban loops,
`optimizer.kanban`).

Public interface: `planned_orders_page`, `planned_orders_csv`, `pegging`, `item_view`, `ItemNotInPlan`,
`find_planned_orders`, `pegging_tree`, `kanban_view`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from optimizer.kanban import DEFAULT_SAFETY_FACTOR, size_kanban
from service.db.tables import BomLine, Item, MrpRecord, Pegging, PlacementStage, PlannedOrder
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


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").lower()
    return escaped + "%"


def find_planned_orders(
    engine: Engine,
    plan: dict[str, Any],
    sku_prefix: str = "",
    make_or_buy: str | None = None,
    expedite: bool | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    """Planned orders whose SKU starts with `sku_prefix` (any case), of `make_or_buy` and `expedite` when given, by
    release date then order id: rows `offset`..`offset + limit` and how many match in all."""
    conditions = [PlannedOrder.plan_id == plan["id"]]
    if sku_prefix:
        conditions.append(func.lower(PlannedOrder.sku).like(_like_prefix(sku_prefix), escape="\\"))
    if make_or_buy is not None:
        conditions.append(PlannedOrder.make_or_buy == make_or_buy)
    if expedite is not None:
        conditions.append(PlannedOrder.expedite.is_(expedite))
    query = (
        select(*_ORDER_COLUMNS)
        .where(*conditions)
        .order_by(PlannedOrder.release_date, PlannedOrder.order_id)
        .offset(offset)
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
        matching = int(conn.execute(select(func.count()).select_from(PlannedOrder).where(*conditions)).scalar_one())
    return rows, matching


# --- pegging tree ------------------------------------------------------------------------------------------------

#: bounds of `pegging_tree`: root orders shown, parent orders per order, end demands listed per order, BOM levels
#: climbed, orders in the whole tree, and pegging rows read per level
TREE_ORDERS, TREE_PARENTS, TREE_ENDS, TREE_DEPTH, TREE_NODES, TREE_ROWS = 30, 4, 6, 12, 300, 200_000
_PEG_FIELDS = (Pegging.order_id, Pegging.sku, Pegging.qty, Pegging.end_sku, Pegging.end_date, Pegging.demand_id)
_KEY = ["end_sku", "demand_id", "end_key"]
#: an end demand as the tree joins on it: (end SKU, demand id, end date as text, '' for lot surplus / safety stock)
EndKey = tuple[str, str, str]


def _end_key(end_sku: Any, demand_id: Any, end_date: Any) -> EndKey:
    return str(end_sku), str(demand_id), "" if end_date is None or pd.isna(end_date) else str(end_date)


def _where_used(conn: Connection, skus: set[str]) -> dict[str, list[str]]:
    query = select(BomLine.component_sku, BomLine.parent_sku).where(BomLine.component_sku.in_(sorted(skus)))
    parents: dict[str, set[str]] = {}
    for component, parent in conn.execute(query):
        parents.setdefault(str(component), set()).add(str(parent))
    return {sku: sorted(p) for sku, p in parents.items()}


def _order_rows(conn: Connection, plan_id: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        query = select(*_ORDER_COLUMNS).where(
            PlannedOrder.plan_id == plan_id, PlannedOrder.order_id.in_(ids[start : start + 500])
        )
        out.update({r.order_id: dict(r._mapping) for r in conn.execute(query)})
    return out


def _node(order: dict[str, Any], pegs: list[tuple[EndKey, Any, float]], shared: float | None) -> dict[str, Any]:
    """A tree node: the order, what it serves (`pegs`: (end key, end date, qty), summed per end demand, largest
    first, bounded) and room for its parents."""
    totals: dict[EndKey, list[Any]] = {}
    for key, end_date, qty in pegs:
        totals.setdefault(key, [end_date, 0.0])[1] += qty
    served = sorted(totals.items(), key=lambda kv: (-kv[1][1], kv[0][2], kv[0][0]))
    return {
        **order,
        "shared_qty": shared,
        "serves": [
            {"end_sku": key[0], "demand_id": key[1], "end_date": end_date, "qty": float(qty)}
            for key, (end_date, qty) in served[:TREE_ENDS]
        ],
        "more_serves": max(0, len(served) - TREE_ENDS),
        "parents": [],
        "more_parents": 0,
        "end_item": False,
        "_totals": {key: qty for key, (_, qty) in totals.items()},
    }


def _climb(conn: Connection, plan_id: str, frontier: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """Attach to each node of `frontier` its parent orders (those of its BOM parents pegged to the same end
    demands, ranked by the node's quantity pegged to those end demands, at most TREE_PARENTS) and return them,
    within `budget` new nodes. A parent's `shared_qty` is that quantity, in the node's unit."""
    parents_of = _where_used(conn, {n["sku"] for n in frontier})
    for n in frontier:
        n["end_item"] = n["sku"] not in parents_of
    # a node's own surplus and safety stock (end SKU = its own SKU) are nobody's parent demand
    mine = pd.DataFrame(
        [
            (i, *key, qty)
            for i, n in enumerate(frontier)
            if not n["end_item"]
            for key, qty in n["_totals"].items()
            if key[0] != n["sku"]
        ],
        columns=["node", *_KEY, "qty_child"],
    )
    if mine.empty or budget <= 0:
        return []
    edges = pd.DataFrame(
        [(i, p) for i in mine["node"].unique().tolist() for p in parents_of[frontier[i]["sku"]]],
        columns=["node", "sku"],
    )
    query = (
        select(*_PEG_FIELDS)
        .where(
            Pegging.plan_id == plan_id,
            Pegging.sku.in_(sorted(set(edges["sku"]))),
            Pegging.end_sku.in_(sorted(set(mine["end_sku"]))),
        )
        .limit(TREE_ROWS)
    )
    rows = [
        (r.order_id, r.sku, r.qty, *_end_key(r.end_sku, r.demand_id, r.end_date), r.end_date)
        for r in conn.execute(query)
    ]
    candidates = pd.DataFrame(rows, columns=["order_id", "sku", "qty", *_KEY, "end_date"])
    matched = candidates.merge(edges, on="sku").merge(mine, on=[*_KEY, "node"])
    # rank a node's parent orders by how much of the node's own quantity goes to the end demands they share
    ranked = matched.groupby(["node", "order_id"], as_index=False).agg(
        shared=("qty_child", "sum"), parent_qty=("qty", "sum")
    )
    ranked = ranked.sort_values(["node", "shared", "parent_qty", "order_id"], ascending=[True, False, False, True])
    ranked["rank"] = ranked.groupby("node").cumcount()
    chosen = ranked[ranked["rank"] < TREE_PARENTS].head(budget)
    orders = _order_rows(conn, plan_id, sorted(set(chosen["order_id"])))
    nodes, sizes = np.unique(ranked["node"].to_numpy(dtype=int), return_counts=True)
    counts = dict(zip(nodes.tolist(), sizes.tolist(), strict=True))
    pegs: dict[tuple[int, str], list[tuple[EndKey, Any, float]]] = {}
    columns = [matched[c].tolist() for c in ("node", "order_id", *_KEY, "end_date", "qty")]
    for i, order_id, end_sku, demand_id, end_key, end_date, qty in zip(*columns, strict=True):
        pegs.setdefault((i, order_id), []).append(((end_sku, demand_id, end_key), end_date, qty))
    added = []
    for i, order_id, shared in zip(
        chosen["node"].tolist(), chosen["order_id"].tolist(), chosen["shared"].tolist(), strict=True
    ):
        node = frontier[i]
        node["more_parents"] = counts[i] - min(TREE_PARENTS, counts[i])
        parent = _node(orders[order_id], pegs[(i, order_id)], float(shared))
        node["parents"].append(parent)
        added.append(parent)
    return added


def _strip(node: dict[str, Any]) -> dict[str, Any]:
    node.pop("_totals", None)
    for parent in node["parents"]:
        _strip(parent)
    return node


def pegging_tree(engine: Engine, plan: dict[str, Any], sku: str) -> dict[str, Any]:
    """The pegging tree of item `sku`: its first TREE_ORDERS planned orders by due date, each with the end demands
    it serves (customer order ids, forecast weeks, lot surplus) and, upward, its parent orders: planned orders of
    its BOM parents pegged to the same end demands (ranked by how much of the order below serves those end demands,
    `shared_qty`, at most TREE_PARENTS per order), up to the end items. Bounded to TREE_NODES orders and
    TREE_DEPTH levels; `more_*` count what is left out. `{"orders": [...], "more_orders": n, "truncated": bool}`."""
    with engine.connect() as conn:
        first = (
            select(*_ORDER_COLUMNS)
            .where(PlannedOrder.plan_id == plan["id"], PlannedOrder.sku == sku)
            .order_by(PlannedOrder.due_date, PlannedOrder.order_id)
        )
        orders = [dict(r._mapping) for r in conn.execute(first.limit(TREE_ORDERS))]
        total = int(
            conn.execute(
                select(func.count()).where(PlannedOrder.plan_id == plan["id"], PlannedOrder.sku == sku)
            ).scalar_one()
        )
        pegs: dict[str, list[tuple[EndKey, Any, float]]] = {o["order_id"]: [] for o in orders}
        if orders:
            query = select(*_PEG_FIELDS).where(Pegging.plan_id == plan["id"], Pegging.order_id.in_(list(pegs)))
            for r in conn.execute(query):
                pegs[r.order_id].append((_end_key(r.end_sku, r.demand_id, r.end_date), r.end_date, r.qty))
        roots = [_node(o, pegs[o["order_id"]], None) for o in orders]
        frontier, nodes, depth = roots, len(roots), 0
        while frontier and depth < TREE_DEPTH:
            frontier = _climb(conn, plan["id"], frontier, TREE_NODES - nodes)
            nodes += len(frontier)
            depth += 1
    return {
        "orders": [_strip(r) for r in roots],
        "more_orders": total - len(roots),
        "truncated": bool(frontier) and (nodes >= TREE_NODES or depth >= TREE_DEPTH),
    }


# --- pull items --------------------------------------------------------------------------------------------------


def kanban_view(engine: Engine, plan: dict[str, Any], safety_factor: float = DEFAULT_SAFETY_FACTOR) -> dict[str, Any]:
    """The plan's pull items (`items.pull`) as kanban loops (`optimizer.kanban.size_kanban`): demand rate from the
    plan's gross requirements, lead time from the plan, container from `container_qty` (else a week of demand in
    lots); cards and the containers to replace each week; beside what MRP planned for them (orders, mean projected
    on hand). Pull items outside the plan (in no bill of materials) are listed in `not_in_plan`."""
    with engine.connect() as conn:
        pull = conn.execute(
            select(Item.sku, Item.name, Item.lot_size, Item.container_qty).where(Item.pull.is_(True)).order_by(Item.sku)
        ).all()
        skus = [p.sku for p in pull]
        records = {
            r.sku: r
            for r in conn.execute(
                select(MrpRecord.sku, MrpRecord.make_or_buy, MrpRecord.lead_time_periods, MrpRecord.periods,
                       MrpRecord.record)
                .where(MrpRecord.plan_id == plan["id"], MrpRecord.sku.in_(skus))
            )
        }  # fmt: skip
        orders = {
            str(s): (int(n), float(q or 0.0))
            for s, n, q in conn.execute(
                select(PlannedOrder.sku, func.count(), func.sum(PlannedOrder.qty))
                .where(PlannedOrder.plan_id == plan["id"], PlannedOrder.sku.in_(skus))
                .group_by(PlannedOrder.sku)
            )
        }
    planned = [p for p in pull if p.sku in records]
    periods = list(records[planned[0].sku].periods) if planned else []
    result: dict[str, Any] = {
        "plan_id": plan["id"],
        "safety_factor": safety_factor,
        "periods": periods,
        "items": [],
        "not_in_plan": [p.sku for p in pull if p.sku not in records],
    }
    if not planned:
        return result
    gross = np.array([records[p.sku].record["gross_requirements"] for p in planned], dtype=float)
    projected = np.array([records[p.sku].record["projected_on_hand"] for p in planned], dtype=float)
    sizing = size_kanban(
        gross,
        [records[p.sku].lead_time_periods for p in planned],
        lot_size=[p.lot_size if p.lot_size else 1.0 for p in planned],
        container_qty=[np.nan if p.container_qty is None else p.container_qty for p in planned],
        safety_factor=safety_factor,
        skus=[p.sku for p in planned],
    )
    for i, p in enumerate(planned):
        n_orders, order_qty = orders.get(p.sku, (0, 0.0))
        result["items"].append(
            {
                "sku": p.sku,
                "name": p.name,
                "make_or_buy": records[p.sku].make_or_buy,
                "lead_time_periods": int(sizing.lead_time_periods[i]),
                "demand_per_week": float(sizing.demand_per_period[i]),
                "container_qty": float(sizing.container_qty[i]),
                "container_source": "a week of demand in lots" if sizing.container_defaulted[i] else "container_qty",
                "cards": int(sizing.cards[i]),
                "loop_qty": float(sizing.loop_qty[i]),
                "signals": sizing.signals[i].tolist(),
                "signal_qty": sizing.signal_qty[i].tolist(),
                "mrp_orders": n_orders,
                "mrp_order_qty": order_qty,
                "mrp_mean_on_hand": float(projected[i].mean()) if projected.shape[1] else 0.0,
            }
        )
    return result


def placement_rows(engine: Engine, plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The items of a placement plan, largest safety-stock value first."""
    columns = [c for c in PlacementStage.__table__.columns if c.name != "plan_id"]
    query = (
        select(*columns)
        .where(PlacementStage.plan_id == plan["id"])
        .order_by(PlacementStage.safety_stock_cost.desc(), PlacementStage.sku)
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


__all__ = [
    "ItemNotInPlan",
    "find_planned_orders",
    "item_view",
    "kanban_view",
    "pegging",
    "pegging_tree",
    "placement_rows",
    "planned_orders_csv",
    "planned_orders_page",
]
