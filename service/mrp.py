"""MRP against the database: the planning inputs of every item in a bill of materials as of a date (items with
lead times, BOM lines, independent demand, stock, open orders), the plan (`optimizer.mrp`), and the rows the `mrp`
plan kind stores (planned orders, pegging, time-phased records, exceptions as alerts).

Choices (recorded in the plan's params):
- **Scope**: the items that appear in `bom` (as parent or component). Items outside any bill of materials keep their
  own replenishment plan.
- **Period grid**: weeks from the plan date (`as_of`, default the latest inventory snapshot of those items) over
  `horizon_weeks` (26).
- **Independent demand** (`demand_source`): `forecast` (the published forecast set at `forecast_quantile`, default
  its mean; without one, the trailing 12-month average demand), `orders` (customer orders only), or `both` (default:
  customer orders plus the forecast they have not consumed in their forecast period — forecast consumption, as in
  `optimizer.schedule.requirements.gross_requirements`). It applies to the top-level items of the BOMs; customer
  orders of components (spare parts) count too.
- **Lead times** (weeks, rounded up): bought items — the reliability-weighted supplier lead time at
  `lead_time_quantile` (0.9) of the item's cheapest offer (`optimizer.suppliers.supplier_reliability`), the
  nominal 14 days when it has no offer; made items — routing time of one lot (the larger of lot size and MOQ, at
  the fastest eligible line per operation, 24-hour days) plus the item's `queue_days`.
- **Stock**: latest on hand minus backorders at or before the plan date; open purchase and production orders are
  scheduled receipts. **Lot rules, MOQ, lot size, order cost** come from `items`.
- **Safety stock**: the item's own `safety_stock` when given, else the latest placement plan's (`placement`, the
  Guaranteed Service Model's decoupling stock; recorded in the plan's params), else none.

Public interface: `compute_plan` (the `mrp` plan kind), `MrpRequest`, `MrpPlanInputs`, `load`, `compute`,
`BuyTerms`, `buy_terms`, `make_lead_days`, `purchase_splits`,
`order_ids`, `planned_order_rows`, `pegging_rows`,
`record_rows`, `alert_rows`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

if TYPE_CHECKING:
    from service.planning.computed import ComputedPlan, PlanRun

from optimizer.mrp.engine import RECORD_ROWS, MrpOptions, MrpResult, plan
from optimizer.mrp.inputs import MrpInputs

TABLES = ("items", "bom", "demand", "inventory", "open_orders", "receipts", "suppliers", "routings", "customer_orders")
DATES = {
    "demand": ["date"],
    "inventory": ["as_of"],
    "open_orders": ["due_date"],
    "receipts": ["order_date", "promised_date", "received_date"],
    "customer_orders": ["due_date"],
    "bom": ["valid_from", "valid_to"],
}
#: the items table's lot-rule names → the engine's
LOT_RULES = {"lot_for_lot": "lfl", "fixed": "fixed", "moq_multiple": "moq", "poq": "poq", "wagner_whitin": "ww"}
NOMINAL_BUY_DAYS = 14.0
#: annual holding cost rate (share of unit cost) used to price offers (as `ReplenishmentConfig.holding_rate`)
HOLDING_RATE = 0.25
#: fixed cost per supplier used in a purchase split, when the item gives no order cost
ORDER_COST = 50.0
PERIOD_DAYS = 7
#: severity of an MRP exception by kind (the alerts' scale)
SEVERITY = {
    "blocked_order": "critical",
    "expedite": "high",
    "past_due": "high",
    "reschedule_in": "medium",
    "reschedule_out": "low",
    "cancel": "low",
}


class MrpRequest(BaseModel):
    """What an MRP plan is computed from (every field optional)."""

    model_config = ConfigDict(extra="ignore")

    as_of: str | None = None
    horizon_weeks: int = Field(default=26, ge=1, le=260)
    demand_source: Literal["forecast", "orders", "both"] = "both"
    forecast_quantile: float | None = Field(default=None, gt=0, lt=1)
    lead_time_quantile: float = Field(default=0.9, gt=0, lt=1)
    placement: bool = Field(
        default=True, description="Items without their own safety stock take the latest placement plan's."
    )


def placement_safety_stock(engine: Engine) -> tuple[pd.Series, str | None]:
    """Safety stock per SKU of the latest done or approved placement plan (empty without one) and its id."""
    from sqlalchemy import select

    from service.db.tables import PlacementStage
    from service.planning.changes import previous_plan_id

    plan_id = previous_plan_id(engine, "placement", before="")
    if plan_id is None:
        return pd.Series(dtype=float), None
    with engine.connect() as conn:
        rows = conn.execute(
            select(PlacementStage.sku, PlacementStage.safety_stock).where(PlacementStage.plan_id == plan_id)
        ).all()
    return pd.Series({str(sku): float(ss) for sku, ss in rows}, dtype=float), plan_id


@dataclass(frozen=True)
class MrpPlanInputs:
    """The encoded MRP inputs, the frames they came from, and where each lead time came from."""

    inputs: MrpInputs
    items: pd.DataFrame
    as_of: pd.Timestamp
    model_version: str | None
    lead_time_sources: dict[str, int]
    buy_terms: BuyTerms
    placement_plan_id: str | None = None


def read_tables(engine: Engine) -> dict[str, pd.DataFrame]:
    """The tables MRP needs, each limited in SQL to the items that appear in a bill of materials."""
    from sqlalchemy import select, union

    from service.db.tables import CANONICAL_MODELS, BomLine

    in_bom = union(select(BomLine.parent_sku), select(BomLine.component_sku)).subquery()
    frames: dict[str, pd.DataFrame] = {}
    with engine.connect() as conn:
        for name in TABLES:
            table = CANONICAL_MODELS[name].__table__
            query = select(table)
            if name != "bom":
                query = query.where(table.c.sku.in_(select(in_bom.c[0])))
            frame = pd.read_sql(query, conn)
            for column in DATES.get(name, []):
                frame[column] = pd.to_datetime(frame[column])
            frames[name] = frame
    return frames


def default_as_of(inventory: pd.DataFrame, skus: set[str]) -> pd.Timestamp:
    stock = inventory[inventory["sku"].isin(skus)]
    if stock.empty:
        raise LookupError("no inventory snapshot for the items in bills of materials: give as_of")
    return pd.Timestamp(stock["as_of"].max()).normalize()


@dataclass(frozen=True)
class BuyTerms:
    """Bought items' offers priced by reliability (`optimizer.sourcing.priced_offers`) and each SKU's lead time in
    days at the planned quantile of its primary offer's lead-time points."""

    offers: pd.DataFrame
    lead_days: pd.Series
    primary_supplier: pd.Series


def buy_terms(frames: dict[str, pd.DataFrame], items: pd.DataFrame, as_of: pd.Timestamp, q: float) -> BuyTerms:
    from optimizer.sourcing import priced_offers
    from optimizer.suppliers import supplier_reliability

    buy = items.loc[items["make_or_buy"] == "buy", "sku"]
    offers = frames["suppliers"][frames["suppliers"]["sku"].isin(buy)]
    offers = offers.assign(capacity_per_period=pd.to_numeric(offers["capacity_per_period"]).astype(float))
    if offers.empty:
        empty = pd.Series(dtype=float)
        return BuyTerms(offers, empty, pd.Series(dtype=object))
    receipts = frames["receipts"][frames["receipts"]["sku"].isin(buy)]
    reliability = supplier_reliability(receipts, offers, as_of)
    unit_cost = items.set_index("sku")["unit_cost"].astype(float)
    priced = priced_offers(offers, reliability.offers, unit_cost, HOLDING_RATE, pd.Series(0.0, index=unit_cost.index))
    primary = priced[priced["primary"]].set_index("sku")
    points = np.sort(primary[reliability.point_columns].to_numpy(dtype=float), axis=1)
    mids = (np.arange(points.shape[1]) + 0.5) / points.shape[1]
    days = pd.Series([float(np.interp(q, mids, row)) for row in points], index=primary.index, dtype=float)
    return BuyTerms(priced, days, primary["supplier_id"])


def make_lead_days(items: pd.DataFrame, routings: pd.DataFrame) -> pd.Series:
    """Routing time of one lot (24-hour days, fastest eligible line per operation) plus queue days, per made SKU."""
    made = items[items["make_or_buy"] == "make"].set_index("sku")
    lot = pd.Series(np.maximum(made["lot_size"].fillna(1.0), made["moq"].fillna(0.0)), index=made.index)
    rates = routings[routings["sku"].isin(made.index)].groupby(["sku", "op"])["rate_per_hour"].max()
    hours = (lot.reindex(rates.index.get_level_values("sku")).to_numpy() / rates.to_numpy()) if len(rates) else []
    per_sku = pd.Series(hours, index=rates.index.get_level_values("sku"), dtype=float).groupby(level=0).sum()
    return per_sku.reindex(made.index).fillna(0.0) / 24.0 + made["queue_days"].fillna(0.0)


def _independent_demand(
    engine: Engine,
    frames: dict[str, pd.DataFrame],
    items: pd.DataFrame,
    top: pd.Index,
    request: MrpRequest,
    as_of: pd.Timestamp,
) -> tuple[pd.DataFrame, str | None]:
    """Weekly independent demand rows (sku, date, qty, id) and the forecast set's version used (if any)."""
    from optimizer.schedule.requirements import NettingOptions, gross_requirements

    horizon_days = request.horizon_weeks * PERIOD_DAYS
    options = NettingOptions(as_of=as_of, horizon_days=horizon_days)
    orders = frames["customer_orders"][frames["customer_orders"]["sku"].isin(items["sku"])]
    forecast, version = None, None
    if request.demand_source != "orders":
        from service.production import published_forecast

        forecast, version = published_forecast(engine, list(top))
        if forecast is not None and request.forecast_quantile is not None:
            forecast = _forecast_at(engine, version, list(top), request.forecast_quantile)
    rows = []
    if request.demand_source != "orders":
        # forecast (consumed by the orders of its period) for the top-level items, plus their orders
        end_items = items[items["sku"].isin(top)].assign(make_or_buy="make")
        rows.append(gross_requirements(end_items, frames["demand"], orders, options, forecast))
    # customer orders of items that are not top-level (spare parts), or every order when planning on orders only
    rest = orders if request.demand_source == "orders" else orders[~orders["sku"].isin(top)]
    rest = rest[rest["due_date"] < options.end]
    rows.append(
        pd.DataFrame(
            {"sku": rest["sku"], "date": rest["due_date"].where(rest["due_date"] >= as_of, as_of), "qty": rest["qty"]}
        ).assign(source=rest["id"].to_numpy())
    )
    demand = pd.concat([r for r in rows if len(r)], ignore_index=True) if any(len(r) for r in rows) else None
    weeks = pd.date_range(as_of, periods=request.horizon_weeks, freq=f"{PERIOD_DAYS}D")
    # a zero row per week keeps the whole horizon on the grid
    parts = [pd.DataFrame({"sku": items["sku"].iloc[0], "date": weeks, "qty": 0.0, "source": "forecast"})]
    if demand is not None and not demand.empty:
        # every demand date falls into its week of the grid
        week = ((pd.to_datetime(demand["date"]) - as_of).dt.days // PERIOD_DAYS).to_numpy(dtype=int)
        parts.append(demand[["sku", "qty", "source"]].assign(date=weeks[np.clip(week, 0, len(weeks) - 1)]))
    out = pd.concat(parts, ignore_index=True)
    summed: pd.DataFrame = out.groupby(["sku", "date", "source"], as_index=False).agg(qty=("qty", "sum"))
    return summed.rename(columns={"source": "id"}), version


def _forecast_at(engine: Engine, version: str | None, skus: list[str], q: float) -> pd.DataFrame | None:
    """(sku, date, mean) of the published set where `mean` is the stored quantile nearest to `q`."""
    from models.schema import quantile_columns, quantile_of
    from service.db.forecasts import read_forecasts

    frame = read_forecasts(engine, model_version=version, skus=skus)
    if frame.empty:
        return None
    columns = quantile_columns(frame)
    if not columns:
        return frame[["sku", "date", "mean"]]
    best = min(columns, key=lambda c: abs((quantile_of(c) or 0.0) - q))
    return frame[["sku", "date"]].assign(mean=frame[best].to_numpy(), date=pd.to_datetime(frame["date"]))


def load(engine: Engine, request: MrpRequest) -> MrpPlanInputs:
    """The MRP inputs as of the plan date; `LookupError` when there is no bill of materials or no stock date."""
    frames = read_tables(engine)
    bom = frames["bom"]
    if bom.empty:
        raise LookupError("no bill of materials in the database; load one with `leanplan import` or POST /v1/data/bom")
    in_bom = set(bom["parent_sku"]) | set(bom["component_sku"])
    items = frames["items"][frames["items"]["sku"].isin(in_bom)].reset_index(drop=True)
    as_of = pd.Timestamp(request.as_of).normalize() if request.as_of else default_as_of(frames["inventory"], in_bom)
    top = pd.Index(sorted(set(bom["parent_sku"]) - set(bom["component_sku"])))

    buy = pd.Index(items.loc[items["make_or_buy"] == "buy", "sku"])
    terms = buy_terms(frames, items, as_of, request.lead_time_quantile)
    buy_days = terms.lead_days.reindex(buy)
    make_days = make_lead_days(items, frames["routings"])
    days = pd.concat([buy_days.fillna(NOMINAL_BUY_DAYS), make_days]).reindex(items["sku"]).fillna(0.0)
    lead = np.ceil(days.to_numpy() / PERIOD_DAYS - 1e-9).astype(int)
    sources = {
        "buy_supplier_quantile": int(buy_days.notna().sum()),
        "buy_nominal": int(buy_days.isna().sum()),
        "make_routing": len(make_days),
    }
    own = pd.to_numeric(items["safety_stock"])
    placed, placement_id = placement_safety_stock(engine) if request.placement else (pd.Series(dtype=float), None)
    safety = own.fillna(pd.Series(items["sku"].map(placed).to_numpy(dtype=float), index=own.index)).fillna(0.0)
    sources["safety_stock_own"] = int(own.notna().sum())
    sources["safety_stock_from_placement"] = int((own.isna() & items["sku"].isin(placed.index)).sum())
    table = pd.DataFrame(
        {
            "sku": items["sku"],
            "make_or_buy": items["make_or_buy"],
            "lead_time_periods": lead,
            "lot_rule": items["lot_rule"].map(LOT_RULES).fillna("lfl"),
            "lot_size": pd.to_numeric(items["lot_size"]).fillna(1.0),
            "moq": pd.to_numeric(items["moq"]).fillna(0.0),
            "poq_periods": pd.to_numeric(items["poq_periods"]).fillna(2).astype(int),
            "safety_stock": safety.to_numpy(),
            "unit_cost": pd.to_numeric(items["unit_cost"]).fillna(0.0),
            "order_cost": pd.to_numeric(items["order_cost"]).fillna(50.0),
        }
    )
    demand, version = _independent_demand(engine, frames, items, top, request, as_of)
    stock = frames["inventory"]
    stock = stock[stock["sku"].isin(in_bom) & (stock["as_of"] <= as_of)].sort_values("as_of")
    stock = stock.drop_duplicates("sku", keep="last")
    inventory = pd.DataFrame(
        {"sku": stock["sku"], "on_hand": (stock["on_hand"] - stock["backorders"].fillna(0.0)).clip(lower=0.0)}
    )
    open_orders = frames["open_orders"][frames["open_orders"]["sku"].isin(in_bom)][["id", "sku", "qty", "due_date"]]
    inputs = MrpInputs.from_frames(
        table,
        bom[["parent_sku", "component_sku", "qty_per", "scrap_rate", "valid_from", "valid_to"]],
        demand,
        inventory,
        open_orders,
        plan_date=as_of,
        sources={t: f"table {t}" for t in ("items", "bom", "demand", "inventory", "open_orders")},
    )
    return MrpPlanInputs(inputs, table, as_of, version, sources, terms, placement_id)


def compute(loaded: MrpPlanInputs) -> MrpResult:
    """The MRP plan with full pegging."""
    return plan(loaded.inputs, MrpOptions(pegging=True))


def order_ids(result: MrpResult) -> np.ndarray:
    """One id per planned order, in the plan's planned-order order: `MRP-<sku>-<due yyyymmdd>-<n>`."""
    orders = result.planned_orders()
    due = orders["due_date"].dt.strftime("%Y%m%d")
    n = orders.groupby(["sku", "due_date"]).cumcount() + 1
    return ("MRP-" + orders["sku"].astype(str) + "-" + due + "-" + n.astype(str)).to_numpy()


def purchase_splits(result: MrpResult, terms: BuyTerms, order_cost: pd.Series) -> pd.DataFrame:
    """The buy orders released at the plan date, per SKU, split across its suppliers by the existing multi-sourcing
    (`optimizer.sourcing.split_orders`): SPLIT_COLUMNS rows."""
    from optimizer.sourcing import OFFER_COLUMNS, SPLIT_COLUMNS, split_orders

    orders = result.planned_orders()
    now = orders[(orders["make_or_buy"] == "buy") & (orders["release_date"] == result.inputs.periods[0])]
    if now.empty or terms.offers.empty:
        return pd.DataFrame(columns=SPLIT_COLUMNS)
    requests = now.groupby("sku", as_index=False).agg(required=("qty", "sum"))
    requests = requests[requests["sku"].isin(terms.offers["sku"])]
    requests["order_cost"] = order_cost.reindex(requests["sku"]).fillna(ORDER_COST).to_numpy()
    offers = terms.offers[[*OFFER_COLUMNS, "adjusted"]].copy()
    offers["moq"] = offers["moq"].fillna(0.0)
    offers["lot_multiple"] = offers["lot_multiple"].fillna(1.0)
    offers["on_time_rate"] = offers["on_time_rate"].fillna(1.0)
    splits, _ = split_orders(requests, offers)
    return splits


def planned_order_rows(
    result: MrpResult, ids: np.ndarray, terms: BuyTerms, splits: pd.DataFrame
) -> list[dict[str, Any]]:
    """`planned_orders` rows (without plan id): bought orders name their primary supplier; those released at the plan
    date carry their share of the SKU's supplier split."""
    orders = result.planned_orders()
    level = result.inputs.level[result.order_item]
    now = (orders["make_or_buy"] == "buy") & (orders["release_date"] == result.inputs.periods[0])
    total_now = orders[now].groupby("sku")["qty"].sum()
    split_of: dict[str, list[dict[Any, Any]]] = {}
    for row in splits.to_dict("records"):
        split_of.setdefault(str(row["sku"]), []).append(row)

    def share(sku: str, qty: float) -> list[dict[str, Any]] | None:
        parts = split_of.get(sku)
        if not parts:
            return None
        f = qty / float(total_now[sku]) if total_now.get(sku) else 0.0
        return [
            {
                "supplier_id": str(p["supplier_id"]),
                "qty": round(float(p["qty"]) * f, 6),
                "explanation": p["explanation"],
            }
            for p in parts
        ]

    return [
        {
            "order_id": str(ids[i]),
            "sku": str(row["sku"]),
            "make_or_buy": str(row["make_or_buy"]),
            "low_level_code": int(level[i]),
            "release_date": row["release_date"].date(),
            "due_date": row["due_date"].date(),
            "qty": float(row["qty"]),
            "expedite": bool(row["expedite_periods"] > 0),
            "supplier_id": None if row["make_or_buy"] == "make" else terms.primary_supplier.get(row["sku"]),
            "splits": share(str(row["sku"]), float(row["qty"])) if now.iloc[i] else None,
        }
        for i, row in enumerate(orders.to_dict("records"))
    ]


def pegging_rows(result: MrpResult, ids: np.ndarray) -> list[dict[str, Any]]:
    """`peggings` rows: each planned order's quantity per end demand it serves."""
    pegging = result.pegging
    if pegging is None:
        return []
    coo = pegging.planned.tocoo()
    order = pegging.order_rows[coo.row]
    columns = pegging.columns.iloc[coo.col]
    inputs = result.inputs
    return [
        {
            "order_id": str(ids[o]),
            "sku": str(inputs.skus[result.order_item[o]]),
            "due_date": inputs.periods[result.order_period[o]].date(),
            "qty": float(q),
            "end_sku": str(end_sku),
            "end_date": None if pd.isna(end_date) else pd.Timestamp(end_date).date(),
            "demand_id": str(end_id),
        }
        for o, q, end_sku, end_date, end_id in zip(
            order,
            coo.data,
            columns["end_sku"].to_numpy(),
            columns["end_date"].to_numpy(),
            columns["end_id"].to_numpy(),
            strict=True,
        )
        if q > 1e-9
    ]


def record_rows(result: MrpResult) -> list[dict[str, Any]]:
    """`mrp_records` rows: each item's time-phased record (RECORD_ROWS, one value per period)."""
    inputs = result.inputs
    periods = [p.date().isoformat() for p in inputs.periods]
    arrays = (
        result.gross,
        result.scheduled,
        result.projected,
        result.net,
        result.planned_receipts,
        result.planned_releases,
    )
    return [
        {
            "sku": str(sku),
            "make_or_buy": "make" if inputs.make[i] else "buy",
            "low_level_code": int(inputs.level[i]),
            "lead_time_periods": int(inputs.lead_time[i]),
            "periods": periods,
            "record": {name: np.round(a[i], 6).tolist() for name, a in zip(RECORD_ROWS, arrays, strict=True)},
        }
        for i, sku in enumerate(inputs.skus)
    ]


def alert_rows(exceptions: pd.DataFrame) -> list[dict[str, Any]]:
    """MRP exceptions as `alerts` rows (type `mrp_<kind>`), ranked by money at stake like every alert."""
    rows = []
    for row in exceptions.to_dict("records"):
        money = float(row["money"]) if row["money"] is not None and not math.isnan(float(row["money"])) else 0.0
        rows.append(
            {
                "sku": str(row["sku"]),
                "supplier_id": None,
                "type": f"mrp_{row['kind']}",
                "severity": SEVERITY.get(str(row["kind"]), "medium"),
                "value_at_risk": round(money, 2),
                "message": str(row["message"]),
                "action": _action(row),
            }
        )
    return rows


def _action(row: dict[Any, Any]) -> str:
    kind, ref = str(row["kind"]), row.get("ref")
    what = f" {ref}" if ref is not None and not (isinstance(ref, float) and math.isnan(ref)) else ""
    return {
        "expedite": "expedite: shorten the lead time or split the order",
        "past_due": f"chase open order{what} or cancel it",
        "reschedule_in": f"ask to pull order{what} in",
        "reschedule_out": f"push order{what} out",
        "cancel": f"cancel order{what}",
        "blocked_order": f"customer order{what} is blocked by this item: expedite its supply or re-promise",
    }.get(kind, "review")


def compute_plan(run: PlanRun) -> ComputedPlan:
    """The `mrp` plan kind: load, plan, and the rows, summary and provenance the lifecycle stores."""
    from optimizer.mrp.files import write_plan
    from service.planning.computed import ComputedPlan

    request = MrpRequest.model_validate(run.request)
    run.progress(0.05, "loading bills of materials, stock and demand")
    loaded = load(run.engine, request)
    run.progress(0.3, f"exploding {loaded.inputs.n_items:,} items over {loaded.inputs.n_periods} weeks")
    result = compute(loaded)
    ids = order_ids(result)
    splits = purchase_splits(result, loaded.buy_terms, loaded.items.set_index("sku")["order_cost"])
    exceptions = result.exceptions()
    orders = result.planned_orders()
    summary = {
        "items": int(loaded.inputs.n_items),
        "periods": int(loaded.inputs.n_periods),
        "planned_orders": len(orders),
        "make_orders": int((orders["make_or_buy"] == "make").sum()),
        "buy_orders": int((orders["make_or_buy"] == "buy").sum()),
        "planned_value": round(float((orders["qty"] * loaded.inputs.unit_cost[result.order_item]).sum()), 2),
        "exceptions": len(exceptions),
        "exceptions_by_kind": {str(k): int(v) for k, v in exceptions["kind"].value_counts().items()},
        "money_at_stake": round(float(pd.to_numeric(exceptions["money"]).fillna(0.0).sum()), 2),
        "seconds": {k: round(v, 3) for k, v in result.timings.items()},
    }
    params = {
        "request": request.model_dump(mode="json"),
        "as_of": loaded.as_of.date().isoformat(),
        "forecast": {"model_version": loaded.model_version}
        if loaded.model_version
        else {"fallback": "trailing 12-month mean"},
        "lead_times": loaded.lead_time_sources,
        "safety_stock": {"placement_plan_id": loaded.placement_plan_id, "items_own": "items.safety_stock"},
        "scope": "items in bills of materials",
    }

    def files(plan_id: str, out_dir: Path) -> list[Path]:
        return list(write_plan(result, out_dir / plan_id).values())

    return ComputedPlan(
        kind="mrp",
        as_of=loaded.as_of,
        model_version=loaded.model_version,
        params=params,
        summary=summary,
        rows={
            "planned_orders": planned_order_rows(result, ids, loaded.buy_terms, splits),
            "peggings": pegging_rows(result, ids),
            "mrp_records": record_rows(result),
            "alerts": alert_rows(exceptions),
        },
        result=result,
        write_files=files,
    )


__all__ = [
    "BuyTerms",
    "MrpPlanInputs",
    "MrpRequest",
    "alert_rows",
    "buy_terms",
    "compute",
    "compute_plan",
    "default_as_of",
    "load",
    "make_lead_days",
    "order_ids",
    "pegging_rows",
    "placement_safety_stock",
    "planned_order_rows",
    "purchase_splits",
    "read_tables",
    "record_rows",
]
