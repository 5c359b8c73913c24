"""Net requirements → production orders for 'make' SKUs (time-phased netting with lot sizing, as in MRP).

For each 'make' SKU over [as_of, as_of + horizon):

1. **Gross requirements**: firm customer orders on their due dates first; then the forecast, consumed by the firm
   orders of the same forecast period (remaining forecast = max(0, forecast − firm orders in the period)) and
   spread evenly over the period's days in weekly buckets. The forecast is the given forecast frame (`mean` per
   `sku`, `date` period start — e.g. the published forecast set); without one, the **fallback** is the trailing
   12-month average demand per day of the SKU's history (flat).
2. **Safety stock**: the given per-SKU safety stock (e.g. from the latest replenishment plan); the **fallback**
   is `safety_days` days of the trailing 12-month average demand.
3. **Inventory position**: on hand − backorders (latest inventory snapshot at or before as_of), plus open
   production orders as scheduled receipts on their due dates.
4. **Netting** walks the requirement dates in order; whenever the projected stock would fall below the safety
   stock, a lot is due that day: periodic order quantity covering the shortfall plus the next `cover_days` of
   requirements, at least the item's `moq`, rounded up to its `lot_size`, and at most the max batch (the quantity
   the slowest eligible line makes in `max_batch_hours` in any operation, rounded down to the lot size) — a
   larger need becomes several lots. Each lot is one production order.
5. **Dates**: due = the end of the day of the requirement it covers (not before as_of + `min_lead_days`);
   weight = the tardiness weight of that requirement (customer priority 1 → 4, 2 → 2, 3 and forecast or
   safety stock → 1); release = as_of, or later under pull: not more than `release_window_days` before the due
   date. Whether the materials are there is the schedule's question (`optimizer.schedule.materials`).
6. **Dependent demand** (with a bill of materials): made components (bulks, coats) have no demand of their own;
   their requirements come from the orders of their parents. SKUs are netted in low-level-code order; each order
   of a parent (planned or open) requires qty × qty_per / (1 − scrap_rate) of every component of its BOM lines
   valid at as_of, due at the latest start of the consuming operation (`op`, or the first for op 0) that still
   meets the order's due date (the shortest routing times of the operations from there on), with the order's
   weight and its id as `covers`. The component's orders are then due when that requirement is.

Open production orders are returned as orders too (they need line time), due at the end of their due date with
weight 2 (`OPEN_ORDER_WEIGHT`: committed work); one larger than the max batch is split into lots of at most the max
batch.

Public interface: `NettingOptions`, `PRIORITY_WEIGHTS`, `trailing_daily_demand`, `gross_requirements`,
`production_orders`, `active_bom`, `bom_levels`, `dependent_requirements`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.mrp.graph import low_level_codes

log = logging.getLogger(__name__)

#: Tardiness weight of a customer order's priority (1 = most important); anything else weighs 1.
PRIORITY_WEIGHTS: dict[int, int] = {1: 4, 2: 2, 3: 1}
#: Tardiness weight of open production orders (committed work in progress).
OPEN_ORDER_WEIGHT = 2
ORDER_COLUMNS = ["order_id", "sku", "qty", "release", "due", "weight", "kind", "covers"]


@dataclass(frozen=True)
class NettingOptions:
    """Parameters of netting and lot sizing; days are calendar days, hours are line hours."""

    as_of: pd.Timestamp
    horizon_days: int = 28
    cover_days: int = 28
    max_batch_hours: float = 12.0
    safety_days: float = 7.0
    min_lead_days: float = 1.0
    release_window_days: float | None = 28.0

    def __post_init__(self) -> None:
        for name in ("horizon_days", "cover_days", "max_batch_hours", "safety_days", "min_lead_days"):
            if getattr(self, name) < 0 or (name in ("horizon_days", "max_batch_hours") and getattr(self, name) <= 0):
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.release_window_days is not None and self.release_window_days <= 0:
            raise ValueError(f"release_window_days must be > 0 or None, got {self.release_window_days}")

    @property
    def end(self) -> pd.Timestamp:
        return self.as_of + pd.Timedelta(days=self.horizon_days)


def trailing_daily_demand(demand: pd.DataFrame, as_of: pd.Timestamp, months: int = 12) -> pd.Series:
    """Average demand per day over the `months` before `as_of` (demand rows dated at period starts), per SKU."""
    first = as_of - pd.DateOffset(months=months)
    window = demand[(demand["date"] < as_of) & (demand["date"] >= first)]
    return window.groupby("sku")["qty"].sum() / float((as_of - first).days)


def _forecast_buckets(
    forecast: pd.DataFrame | None,
    daily: pd.Series,
    firm: pd.DataFrame,
    skus: pd.Index,
    options: NettingOptions,
) -> pd.DataFrame:
    """Weekly forecast requirements (sku, date, qty) after consumption by firm orders of the same period."""
    start, end = options.as_of, options.end
    if forecast is not None and not forecast.empty:
        fc = forecast[["sku", "date", "mean"]].copy()
        fc["date"] = pd.to_datetime(fc["date"])
        fc = fc[fc["sku"].isin(skus)].sort_values(["sku", "date"])
        step = fc.groupby("sku")["date"].diff().dropna()
        period = step.median() if not step.empty else pd.Timedelta(days=30)
        fc["until"] = fc.groupby("sku")["date"].shift(-1).fillna(fc["date"] + period)
        missing = skus.difference(pd.Index(fc["sku"].unique()))
        if len(missing):
            log.info("%d make SKU(s) have no forecast; using their trailing 12-month average", len(missing))
    else:
        missing = skus
        fc = pd.DataFrame(columns=["sku", "date", "mean", "until"])
    if len(missing):
        months = pd.date_range(start.to_period("M").to_timestamp(), end, freq="MS")
        rows = [
            (sku, m, daily.get(sku, 0.0) * m.days_in_month, m + pd.offsets.MonthBegin(1))
            for sku in missing
            for m in months
        ]
        fallback = pd.DataFrame(rows, columns=["sku", "date", "mean", "until"])
        fc = fallback if fc.empty else pd.concat([fc, fallback], ignore_index=True)
    fc = fc[(fc["until"] > start) & (fc["date"] < end)].reset_index(drop=True)
    # consumption: firm orders due within a forecast period use up that period's forecast
    firm_in = firm.merge(fc[["sku", "date", "until"]], on="sku", suffixes=("_firm", ""))
    firm_in = firm_in[(firm_in["due_date"] >= firm_in["date"]) & (firm_in["due_date"] < firm_in["until"])]
    consumed = firm_in.groupby(["sku", "date"])["qty"].sum()
    fc = fc.set_index(["sku", "date"])
    fc["remaining"] = (fc["mean"] - consumed.reindex(fc.index).fillna(0.0)).clip(lower=0.0)
    fc = fc.reset_index()
    # spread each period's remaining forecast over weekly buckets starting at as_of
    edges = pd.date_range(start, end + pd.Timedelta(days=7), freq="7D")
    bucket_start, bucket_end = edges[:-1].to_numpy(), edges[1:].to_numpy()
    p_start = fc["date"].to_numpy(dtype="datetime64[ns]")[:, None]
    p_end = fc["until"].to_numpy(dtype="datetime64[ns]")[:, None]
    lo = np.maximum(np.maximum(p_start, bucket_start[None, :]), np.datetime64(start))
    hi = np.minimum(np.minimum(p_end, bucket_end[None, :]), np.datetime64(end))
    overlap_days = np.clip((hi - lo) / np.timedelta64(1, "D"), 0.0, None)
    period_days = ((p_end - p_start) / np.timedelta64(1, "D")).clip(min=1.0)
    qty = fc["remaining"].to_numpy()[:, None] * overlap_days / period_days
    frame = pd.DataFrame(qty, columns=edges[:-1])
    frame["sku"] = fc["sku"].to_numpy()
    melted = frame.melt(id_vars="sku", var_name="date", value_name="qty")
    summed = melted.groupby(["sku", "date"], as_index=False)["qty"].sum()
    return summed[summed["qty"] > 1e-9]


def gross_requirements(
    items: pd.DataFrame,
    demand: pd.DataFrame,
    customer_orders: pd.DataFrame,
    options: NettingOptions,
    forecast: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Requirements per make SKU: rows sku, date, qty, weight, source ('CO-…' id or 'forecast')."""
    make = items.loc[items["make_or_buy"] == "make", "sku"]
    skus = pd.Index(make.unique())
    firm = customer_orders[customer_orders["sku"].isin(skus)].copy()
    firm["due_date"] = pd.to_datetime(firm["due_date"])
    firm = firm[(firm["due_date"] < options.end)]
    daily = trailing_daily_demand(demand[demand["sku"].isin(skus)], options.as_of)
    fc = _forecast_buckets(forecast, daily, firm, skus, options)
    firm_rows = pd.DataFrame(
        {
            "sku": firm["sku"],
            "date": firm["due_date"].where(firm["due_date"] >= options.as_of, options.as_of),
            "qty": firm["qty"].astype(float),
            "weight": firm["priority"].map(PRIORITY_WEIGHTS).fillna(1).astype(int),
            "source": firm["id"],
        }
    )
    fc_rows = fc.assign(weight=1, source="forecast")
    out = pd.concat([firm_rows, fc_rows], ignore_index=True)
    return out.sort_values(["sku", "date", "weight"], ascending=[True, True, False]).reset_index(drop=True)


def max_batch(items: pd.DataFrame, routings: pd.DataFrame, hours: float) -> pd.Series:
    """Per SKU: the largest lot whose every operation runs at most `hours` on each eligible line, rounded down to
    the lot size (at least one lot size)."""
    slowest = routings.groupby("sku")["rate_per_hour"].min()
    lot = items.set_index("sku")["lot_size"].astype(float)
    raw = (slowest * hours).reindex(lot.index)
    capped = np.floor(raw / lot) * lot
    return capped.where(capped >= lot, lot).fillna(np.inf)


def active_bom(bom: pd.DataFrame | None, as_of: pd.Timestamp) -> pd.DataFrame:
    """The BOM lines valid at `as_of` (empty valid_from / valid_to are open), `op` filled with 0 and `scrap_rate`
    with 0; columns parent_sku, component_sku, op, qty_per, scrap_rate."""
    columns = ["parent_sku", "component_sku", "op", "qty_per", "scrap_rate"]
    if bom is None or bom.empty:
        return pd.DataFrame(columns=columns)
    lines = bom.copy()
    for column, default in (("op", 0), ("scrap_rate", 0.0), ("valid_from", pd.NaT), ("valid_to", pd.NaT)):
        if column not in lines:
            lines[column] = default
    start, stop = pd.to_datetime(lines["valid_from"]), pd.to_datetime(lines["valid_to"])
    valid = (start.isna() | (start <= as_of)) & (stop.isna() | (stop > as_of))
    lines = lines[valid].copy()
    lines["op"] = pd.to_numeric(lines["op"]).fillna(0).astype(int)
    lines["scrap_rate"] = pd.to_numeric(lines["scrap_rate"]).fillna(0.0).astype(float)
    return lines[columns].reset_index(drop=True)


def bom_levels(bom: pd.DataFrame) -> dict[str, int]:
    """Low-level code of every SKU in the BOM lines (0: no parent); `optimizer.mrp.graph.BomCycleError` on a cycle."""
    names = pd.Index(pd.concat([bom["parent_sku"], bom["component_sku"]]).unique())
    codes = low_level_codes(
        names.get_indexer(bom["parent_sku"]), names.get_indexer(bom["component_sku"]), len(names), list(names)
    )
    return {str(sku): int(code) for sku, code in zip(names, codes, strict=True)}


def dependent_requirements(orders: pd.DataFrame, bom: pd.DataFrame, routings: pd.DataFrame) -> pd.DataFrame:
    """Requirements (sku, date, qty, weight, source) of the components of `orders` (order_id, sku, qty, due,
    weight) through the valid BOM lines `bom` (see `active_bom`): due at the latest start of the consuming operation
    that meets the order's due date (shortest routing times), from the order's weight and id."""
    columns = ["sku", "date", "qty", "weight", "source"]
    lines = orders.merge(bom, left_on="sku", right_on="parent_sku")
    if lines.empty:
        return pd.DataFrame(columns=columns)
    fastest = routings.groupby(["sku", "op"])["rate_per_hour"].max().reset_index()
    first_op = fastest.groupby("sku")["op"].min()
    lines["consumed_at"] = lines["op"].where(lines["op"] > 0, lines["sku"].map(first_op))
    steps = lines[["order_id", "sku", "qty", "consumed_at"]].drop_duplicates(["order_id", "consumed_at"])
    steps = steps.merge(fastest, on="sku")
    steps = steps[steps["op"] >= steps["consumed_at"]]
    steps["minutes"] = np.ceil(steps["qty"] / steps["rate_per_hour"] * 60.0)
    tail = steps.groupby(["order_id", "consumed_at"])["minutes"].sum().rename("tail_minutes").reset_index()
    lines = lines.merge(tail, on=["order_id", "consumed_at"], how="left")
    latest_start = pd.to_datetime(lines["due"]) - pd.to_timedelta(lines["tail_minutes"].fillna(0.0), unit="min")
    return pd.DataFrame(
        {
            # production_orders dates an order one day after the requirement it covers
            "sku": lines["component_sku"].astype(str),
            "date": latest_start - pd.Timedelta(days=1),
            "qty": lines["qty"] * lines["qty_per"] / (1.0 - lines["scrap_rate"]),
            "weight": lines["weight"].astype(int),
            "source": lines["order_id"].astype(str),
        }
    )[columns]


def production_orders(
    items: pd.DataFrame,
    demand: pd.DataFrame,
    inventory: pd.DataFrame,
    open_orders: pd.DataFrame,
    customer_orders: pd.DataFrame,
    routings: pd.DataFrame,
    options: NettingOptions,
    forecast: pd.DataFrame | None = None,
    safety_stock: pd.Series | None = None,
    bom: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Planned production orders plus the open ones: columns `ORDER_COLUMNS`.

    `kind` is 'planned' or 'open'; `covers` names what the order is for (customer order id, 'forecast',
    'safety stock', the open order id, or the parent order a component is made for). Dates are timestamps (plant
    time). With `bom`, made components get the dependent demand of their parents' orders (module docstring, 6).
    """
    make_items = items[items["make_or_buy"] == "make"].set_index("sku")
    skus = make_items.index
    routed = set(routings["sku"])
    unrouted = [s for s in skus if s not in routed]
    if unrouted:
        raise ValueError(
            f"{len(unrouted)} make SKU(s) have no routing, e.g. {unrouted[:3]}; add their operations to routings"
        )
    requirements = gross_requirements(items, demand, customer_orders, options, forecast)
    daily = trailing_daily_demand(demand[demand["sku"].isin(skus)], options.as_of)
    if safety_stock is None:
        target = (daily * options.safety_days).reindex(skus).fillna(0.0)
    else:
        target = safety_stock.reindex(skus).fillna((daily * options.safety_days).reindex(skus).fillna(0.0))
    stock = inventory[pd.to_datetime(inventory["as_of"]) <= options.as_of].sort_values("as_of").groupby("sku").last()
    position = (stock["on_hand"] - stock["backorders"]).reindex(skus).fillna(0.0)
    production = open_orders[(open_orders["kind"] == "production") & open_orders["sku"].isin(skus)].copy()
    production["due_date"] = pd.to_datetime(production["due_date"])
    batch = max_batch(make_items.reset_index(), routings, options.max_batch_hours)

    rows: list[tuple[object, ...]] = []
    day = pd.Timedelta(days=1)
    earliest_due = options.as_of + pd.Timedelta(days=options.min_lead_days)
    lot_size: dict[str, float] = {str(k): float(v) for k, v in make_items["lot_size"].items()}
    min_qty: dict[str, float] = {str(k): float(v) for k, v in make_items["moq"].items()}
    largest: dict[str, float] = {str(k): float(v) for k, v in batch.items()}
    for order in production.to_dict("records"):
        sku, open_id = str(order["sku"]), str(order["id"])
        chunks = _split(float(order["qty"]), largest[sku])
        for n, qty in enumerate(chunks, start=1):
            due = max(pd.Timestamp(order["due_date"]) + day, earliest_due)
            rows.append(
                (
                    open_id if len(chunks) == 1 else f"{open_id}/{n}",
                    sku,
                    qty,
                    options.as_of,
                    due,
                    OPEN_ORDER_WEIGHT,
                    "open",
                    open_id,
                )
            )
    req_by_sku = dict(tuple(requirements.groupby("sku")))
    receipts_by_sku = dict(tuple(production.groupby("sku")))
    lines = active_bom(bom, options.as_of)
    levels = bom_levels(lines) if not lines.empty else {}
    counter = 0
    for level in sorted({levels.get(str(sku), 0) for sku in skus}):
        if level > 0:  # components: the dependent demand of the orders of every SKU above them
            parents = pd.DataFrame(rows, columns=ORDER_COLUMNS)
            parents = parents[parents["sku"].astype(str).map(levels).fillna(0) < level]
            dependent = dependent_requirements(parents, lines, routings)
            for key, frame in dependent.groupby("sku"):
                component = str(key)
                if levels.get(component) == level and component in req_by_sku:
                    req_by_sku[component] = pd.concat([req_by_sku[component], frame], ignore_index=True)
                elif levels.get(component) == level:
                    req_by_sku[component] = frame.reset_index(drop=True)
        for sku in skus:
            if levels.get(str(sku), 0) != level:
                continue
            for due_day, qty, weight, source in _net_one(
                req_by_sku.get(sku),
                receipts_by_sku.get(sku),
                float(position[sku]),
                float(target[sku]),
                lot_size[sku],
                min_qty[sku],
                largest[sku],
                options,
            ):
                counter += 1
                due = max(due_day + day, earliest_due)
                rows.append((f"PO-{counter:05d}", sku, qty, options.as_of, due, weight, "planned", source))
    orders = pd.DataFrame(rows, columns=ORDER_COLUMNS)
    if options.release_window_days is not None:
        window = pd.Timedelta(days=options.release_window_days)
        release = orders["due"] - window
        orders["release"] = release.where(release >= options.as_of, options.as_of)
        orders.loc[orders["kind"] == "open", "release"] = options.as_of
    log.info(
        "net requirements: %d planned + %d open production orders for %d SKUs",
        int((orders["kind"] == "planned").sum()),
        int((orders["kind"] == "open").sum()),
        orders["sku"].nunique(),
    )
    return orders


def _split(qty: float, batch: float) -> list[float]:
    """`qty` in lots of at most `batch` (the last one holds the rest)."""
    if qty <= batch or not math.isfinite(batch):
        return [qty]
    full, rest = divmod(qty, batch)
    chunks = [batch] * int(full)
    if rest > 1e-9:
        chunks.append(rest)
    return chunks


def _net_one(
    reqs: pd.DataFrame | None,
    receipts: pd.DataFrame | None,
    position: float,
    safety: float,
    lot: float,
    moq: float,
    batch: float,
    options: NettingOptions,
) -> list[tuple[pd.Timestamp, float, int, str]]:
    """Lots (due day, qty, weight, covers) of one SKU by time-phased netting (see the module docstring)."""
    events: list[tuple[pd.Timestamp, int, float, int, str]] = []  # (day, order: receipts first, qty, weight, source)
    if receipts is not None:
        events += [(pd.Timestamp(r["due_date"]), 0, float(r["qty"]), 0, "") for r in receipts.to_dict("records")]
    if reqs is not None:
        events += [
            (pd.Timestamp(r["date"]), 1, -float(r["qty"]), int(r["weight"]), str(r["source"]))
            for r in reqs.to_dict("records")
        ]
    events.append((options.as_of, 1, 0.0, 1, "safety stock"))  # a position already below target
    events.sort(key=lambda e: (e[0], e[1], -e[3]))
    days = [e[0] for e in events]
    flows = np.array([e[2] for e in events])
    lots: list[tuple[pd.Timestamp, float, int, str]] = []
    projected = position
    cover = pd.Timedelta(days=options.cover_days)
    for n, (when, _, flow, weight, source) in enumerate(events):
        projected += flow
        while projected < safety - 1e-9:
            ahead = sum(-f for d, f in zip(days[n + 1 :], flows[n + 1 :], strict=True) if d < when + cover and f < 0)
            need = safety - projected + ahead
            qty = max(moq, math.ceil(need / lot - 1e-9) * lot)
            qty = min(qty, batch) if math.isfinite(batch) else qty
            lots.append((when, float(qty), max(1, weight), source))
            projected += qty
    return lots
