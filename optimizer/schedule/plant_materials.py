"""The materials of a plant schedule from the tables: which order consumes what, when supply comes, which orders
can never get their material.

- **Uses** (`explode`): every production order consumes, for each BOM line of its SKU valid at the plan start,
  qty × qty_per / (1 − scrap_rate) of the component at the start of the routing step `op` names (the first step
  for op 0).
- **Supply** (`supply_events`): on hand at the plan start (latest inventory snapshot at or before it, on hand −
  backorders, at least 0); scheduled receipts = open orders (purchase, and production orders not scheduled in this
  plan) at 00:00 of their due date, overdue ones at the plan start; and the orders of the component in the same
  plan, at the end of their last operation.
- **Cover** (`cover`): supply counts when it arrives before the cut-off (the plan end plus half the schedule's
  slack, so the work after it still fits). Where stock, those receipts and the plan's own orders of a component,
  less what orders ahead take, are not enough, a *planned purchase* of the missing quantity arrives after the
  component's shortest supplier lead time (`MaterialTables.lead_days`, bought components only), if that is before
  the cut-off; otherwise the order is *blocked*: it stays out of the schedule and is reported with the component
  and the quantity missing. Orders are taken deepest BOM level first (a component's orders before its parents'),
  then by due date and weight; a blocked component order blocks none of its consumers by itself, it only gives
  them less.

Public interface: `MaterialTables`, `explode`, `supply_events`, `cover`, `plant_materials`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from optimizer.schedule.calendar import to_minutes
from optimizer.schedule.materials import QTY_SCALE, Material, Output, Supply, Use
from optimizer.schedule.requirements import active_bom, bom_levels

BLOCKED_COLUMNS = ["order_id", "sku", "component", "need", "available", "missing"]


@dataclass(frozen=True)
class MaterialTables:
    """The tables behind material availability: bill of materials, inventory snapshots, open orders and, per bought
    component, the shortest supplier lead time in days (none: a shortage is never bought in)."""

    bom: pd.DataFrame
    inventory: pd.DataFrame
    open_orders: pd.DataFrame
    lead_days: Mapping[str, float] | None = None


def explode(orders: pd.DataFrame, bom: pd.DataFrame, routings: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Uses of the orders: order_id, sku, component, op (routing step consuming it), qty. Raises `ValueError`
    naming the BOM line whose op is not a routing step of its parent."""
    lines = active_bom(bom, as_of)
    uses = orders[["order_id", "sku", "qty"]].merge(lines, left_on="sku", right_on="parent_sku")
    if uses.empty:
        return pd.DataFrame(columns=["order_id", "sku", "component", "op", "qty"])
    steps: dict[str, list[int]] = {
        str(sku): sorted({int(o) for o in ops}) for sku, ops in routings.groupby("sku")["op"]
    }
    first = {sku: ops[0] for sku, ops in steps.items()}
    uses["op"] = uses["op"].where(uses["op"] > 0, uses["sku"].map(first))
    known = [int(op) in steps.get(sku, []) for sku, op in zip(uses["sku"], uses["op"], strict=True)]
    if not all(known):
        bad = uses[[not k for k in known]].iloc[0]
        raise ValueError(
            f"bom line {bad['sku']} → {bad['component_sku']}: op {int(bad['op'])} is not a routing step of "
            f"{bad['sku']} (steps {steps.get(bad['sku'], [])}); fix the op or add the routing step"
        )
    uses["qty"] = uses["qty"] * uses["qty_per"] / (1.0 - uses["scrap_rate"])
    out = uses.rename(columns={"component_sku": "component"})[["order_id", "sku", "component", "op", "qty"]]
    return out.reset_index(drop=True)


def supply_events(
    components: list[str], orders: pd.DataFrame, tables: MaterialTables, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Fixed supply of `components`: component, when (timestamp), qty, source ('on hand' or the open order id).
    Open production orders that `orders` schedule (kind 'open', `covers` = their id) are left out: their output
    comes from the schedule."""
    inventory = tables.inventory[tables.inventory["sku"].isin(components)]
    inventory = inventory[pd.to_datetime(inventory["as_of"]) <= as_of].sort_values("as_of").groupby("sku").last()
    backorders = inventory.get("backorders", 0.0)
    on_hand = (inventory["on_hand"] - backorders).clip(lower=0.0)
    stock = pd.DataFrame({"component": on_hand.index, "when": as_of, "qty": on_hand.to_numpy(), "source": "on hand"})
    scheduled = set(orders.loc[orders["kind"] == "open", "covers"]) if "kind" in orders else set()
    receipts = tables.open_orders[
        tables.open_orders["sku"].isin(components) & ~tables.open_orders["id"].isin(scheduled)
    ]
    coming = pd.DataFrame(
        {
            "component": receipts["sku"],
            "when": pd.to_datetime(receipts["due_date"]).where(pd.to_datetime(receipts["due_date"]) >= as_of, as_of),
            "qty": receipts["qty"].astype(float),
            "source": receipts["id"].astype(str),
        }
    )
    frames = [f for f in (stock, coming) if not f.empty]
    if not frames:
        return pd.DataFrame(columns=["component", "when", "qty", "source"])
    return pd.concat(frames, ignore_index=True)


def cover(
    orders: pd.DataFrame,
    uses: pd.DataFrame,
    supply: pd.DataFrame,
    bom: pd.DataFrame,
    as_of: pd.Timestamp,
    cutoff: pd.Timestamp,
    lead_days: Mapping[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(blocked, planned): the orders that can never get a component in full (`BLOCKED_COLUMNS`, one row per order
    and component short) and the planned purchases that cover the other shortages (rows of `supply_events`), see the
    module docstring."""
    levels = bom_levels(bom) if not bom.empty else {}
    leads = lead_days or {}
    planned: list[tuple[object, ...]] = []
    # in thousandths, rounded as in the problem (`plant_materials`), so both agree on what is enough
    early = supply[(pd.to_datetime(supply["when"]) < cutoff) & (supply["qty"] > 0)]
    available: dict[str, int] = {}
    for c, qty in zip(early["component"].astype(str), early["qty"], strict=True):
        available[c] = available.get(c, 0) + math.floor(float(qty) * QTY_SCALE)
    needs: dict[str, dict[str, int]] = {}
    for order_id, c, qty in zip(uses["order_id"].astype(str), uses["component"].astype(str), uses["qty"], strict=True):
        needs.setdefault(order_id, {})
        needs[order_id][c] = needs[order_id].get(c, 0) + math.ceil(float(qty) * QTY_SCALE - 1e-6)
    ranked = orders.assign(level=orders["sku"].map(lambda s: levels.get(str(s), 0)))
    ranked = ranked.sort_values(["level", "due", "weight"], ascending=[False, True, False], kind="stable")
    blocked: list[tuple[object, ...]] = []
    for order in ranked.to_dict("records"):
        need = needs.get(str(order["order_id"]), {})
        short = [(c, q, available.get(c, 0)) for c, q in need.items() if q > available.get(c, 0)]
        if short and all(c in leads and as_of + pd.Timedelta(days=float(leads[c])) < cutoff for c, _, _ in short):
            for c, q, a in short:  # buy the missing quantity: it arrives after the shortest lead time
                when = as_of + pd.Timedelta(days=float(leads[c]))
                planned.append((c, when, (q - a) / QTY_SCALE, f"planned purchase ({float(leads[c]):g} d lead time)"))
                available[c] = q
            short = []
        if short:
            blocked += [
                (order["order_id"], order["sku"], c, q / QTY_SCALE, max(0, a) / QTY_SCALE, (q - max(0, a)) / QTY_SCALE)
                for c, q, a in short
            ]
            continue
        for c, q in need.items():
            available[c] -= q
        sku = str(order["sku"])
        available[sku] = available.get(sku, 0) + math.floor(float(order["qty"]) * QTY_SCALE + 1e-6)
    return pd.DataFrame(blocked, columns=BLOCKED_COLUMNS), pd.DataFrame(
        planned, columns=["component", "when", "qty", "source"]
    )


def plant_materials(
    orders: pd.DataFrame,
    uses: pd.DataFrame,
    supply: pd.DataFrame,
    op_numbers: list[list[int]],
    origin: dt.datetime,
) -> tuple[Material, ...]:
    """The problem's materials for `orders` (job j = row j) with their `uses` and fixed `supply`, quantities in
    thousandths (`QTY_SCALE`: needs rounded up, supplies and outputs down)."""
    job_of = {str(order_id): j for j, order_id in enumerate(orders["order_id"])}
    by_component: dict[str, tuple[list[Supply], list[Use], list[Output]]] = {}
    for c in sorted(set(uses["component"].astype(str))):
        by_component[c] = ([], [], [])
    for row in supply.to_dict("records"):
        c = str(row["component"])
        if c in by_component and row["qty"] > 0:
            when = max(0, to_minutes(pd.Timestamp(row["when"]).to_pydatetime(), origin))
            by_component[c][0].append(Supply(when, math.floor(float(row["qty"]) * QTY_SCALE), str(row["source"])))
    for row in uses.to_dict("records"):
        j = job_of.get(str(row["order_id"]))
        if j is None:
            continue
        k = op_numbers[j].index(int(row["op"]))
        by_component[str(row["component"])][1].append(Use(j, k, math.ceil(float(row["qty"]) * QTY_SCALE - 1e-6)))
    for j, (sku, qty) in enumerate(zip(orders["sku"].astype(str), orders["qty"], strict=True)):
        if sku in by_component:
            by_component[sku][2].append(Output(j, math.floor(float(qty) * QTY_SCALE + 1e-6)))
    return tuple(Material(c, tuple(supplies), tuple(u), tuple(o)) for c, (supplies, u, o) in by_component.items() if u)


__all__ = ["BLOCKED_COLUMNS", "MaterialTables", "cover", "explode", "plant_materials", "supply_events"]
