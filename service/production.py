"""Production scheduling against the database: read the plant tables (and the published forecast set and the latest
replenishment plan's safety stocks, when there are any), net requirements into production orders
(`optimizer.schedule.requirements`), schedule them on the lines (`optimizer.schedule.solve`) and store a `Plan` row
with its `ScheduledOperation` rows in one transaction.

With a bill of materials (`bom`), made components get orders from their parents' orders, and no operation starts
before its components are there (stock, open orders, purchases within the fastest supplier lead time, earlier orders
of the plan); the summary lists the operations held back by material (`held_by_material`) and the orders left out
because a component never arrives within the plan (`blocked_by_material`).

Public interface: `ProductionOptions`, `ProductionInputs`, `ProductionPlan`, `ProductionError`, `NothingToMake`,
`load`, `compute`, `run` (stores through `service.planning.lifecycle`); helpers `read_plant_tables`,
`read_plant_files`, `published_forecast`, `replenishment_safety_stock`, `operation_rows`, `material_tables`,
`store_schedule`, `orders_records`.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from sqlalchemy import Engine, select

if TYPE_CHECKING:
    from optimizer.schedule.plant import PlantIndex
    from optimizer.schedule.plant_materials import MaterialTables
    from optimizer.schedule.problem import Problem
    from optimizer.schedule.solve import Result

PLANT_TABLES = (
    "items",
    "demand",
    "inventory",
    "open_orders",
    "customer_orders",
    "routings",
    "lines",
    "line_downtime",
    "changeovers",
    "bom",
    "suppliers",
)
#: Plant tables a directory may lack (no bill of materials: every material is taken as available; no suppliers:
#: a material shortage is never bought in within the plan).
OPTIONAL_TABLES = ("bom", "suppliers")
DATE_COLUMNS = {
    "demand": ["date"],
    "inventory": ["as_of"],
    "open_orders": ["due_date"],
    "customer_orders": ["due_date"],
    "line_downtime": ["start", "end"],
    "bom": ["valid_from", "valid_to"],
}


class ProductionError(ValueError):
    """Production cannot be planned; the message says why and what to do."""


class NothingToMake(ProductionError):
    """Stock covers every make SKU's requirements over the horizon: no production order."""


@dataclass(frozen=True)
class ProductionOptions:
    """Netting and solver settings of a production plan."""

    horizon_days: int = 28
    time_limit: float = 60.0
    workers: int = 2
    objective: Literal["weighted", "lexicographic"] = "weighted"
    as_of: pd.Timestamp | str | None = None
    cover_days: int = 28
    max_batch_hours: float = 12.0


@dataclass
class ProductionInputs:
    """The plant tables, the plan start, the make SKUs, the forecast and the safety stocks with their sources."""

    frames: dict[str, pd.DataFrame]
    start: pd.Timestamp
    make: list[str]
    forecast: pd.DataFrame | None
    model_version: str | None
    safety_stock: pd.Series | None
    safety_source: dict[str, Any] = field(default_factory=dict)


@dataclass
class ProductionPlan:
    """A computed schedule: the operations table (`optimizer.schedule.report.schedule_table`), the orders, KPIs, the
    solver result, summary and params (as stored with the plan)."""

    table: pd.DataFrame
    orders: pd.DataFrame
    kpis: dict[str, Any]
    result: Result
    summary: dict[str, Any]
    params: dict[str, Any]
    as_of: pd.Timestamp
    model_version: str | None


def read_plant_tables(engine: Engine) -> dict[str, pd.DataFrame]:
    """The canonical tables production planning needs, with date columns parsed."""
    frames: dict[str, pd.DataFrame] = {}
    with engine.connect() as conn:
        for table in PLANT_TABLES:
            frame = pd.read_sql_table(table, conn)
            for column in DATE_COLUMNS.get(table, []):
                frame[column] = pd.to_datetime(frame[column])
            frames[table] = frame
    return frames


def read_plant_files(directory: Path) -> dict[str, pd.DataFrame]:
    """The plant tables from `<table>.csv` / `<table>.<part>.csv` files of a directory, validated."""
    from pipelines.ingest import read_table

    frames: dict[str, pd.DataFrame] = {}
    for table in PLANT_TABLES:
        files = sorted(directory.glob(f"{table}.csv")) + sorted(directory.glob(f"{table}.*.csv"))
        if not files and table in OPTIONAL_TABLES:
            continue
        if not files:
            raise FileNotFoundError(f"{directory} has no {table}.csv")
        frames[table] = pd.concat([read_table(f, table)[1] for f in files], ignore_index=True)
    return frames


def published_forecast(engine: Engine, skus: list[str]) -> tuple[pd.DataFrame | None, str | None]:
    """(sku, date, mean) of the current published forecast set for `skus`, and its model version."""
    from service.db.forecasts import published_forecast as published

    frame, found = published(engine, skus)
    version = found.model_version if found else None
    if frame is None:
        return None, version
    return frame[["sku", "date", "mean"]].assign(date=pd.to_datetime(frame["date"])), version


def replenishment_safety_stock(engine: Engine, skus: list[str]) -> tuple[pd.Series | None, str | None]:
    """Safety stock per SKU from the latest done/approved plan that has plan lines for any of `skus`."""
    from service.db.tables import Plan, PlanLine

    with engine.connect() as conn:
        plan_id = conn.execute(
            select(Plan.id)
            .join(PlanLine, PlanLine.plan_id == Plan.id)
            .where(Plan.status.in_(("done", "approved")), PlanLine.sku.in_(skus), PlanLine.safety_stock.is_not(None))
            .order_by(Plan.created_at.desc())
            .limit(1)
        ).scalar()
        if plan_id is None:
            return None, None
        rows = conn.execute(
            select(PlanLine.sku, PlanLine.safety_stock).where(PlanLine.plan_id == plan_id, PlanLine.sku.in_(skus))
        ).all()
    series = pd.Series({sku: float(ss) for sku, ss in rows if ss is not None}, dtype=float)
    return series, plan_id


def operation_rows(table: pd.DataFrame, plan_id: str) -> list[dict[str, Any]]:
    """`ScheduledOperation` rows of a schedule table."""
    return [
        {
            "plan_id": plan_id,
            "job_id": str(r["job"]),
            "op": int(r["operation"]),
            "sku": str(r["sku"]),
            "qty": float(r["qty"]),
            "line_id": str(r["line"]),
            "start": pd.Timestamp(r["start"]).to_pydatetime(),
            "end": pd.Timestamp(r["end"]).to_pydatetime(),
            "setup_minutes": float(r["setup_minutes"]),
            "due": pd.Timestamp(r["due"]).to_pydatetime(),
            "lateness_minutes": 0.0 if pd.isna(r["lateness_minutes"]) else float(r["lateness_minutes"]),
        }
        for r in table.to_dict("records")
    ]


def store_schedule(
    engine: Engine,
    table: pd.DataFrame,
    as_of: pd.Timestamp,
    params: dict[str, Any],
    summary: dict[str, Any],
    model_version: str | None,
) -> str:
    """Store a schedule computed outside the lifecycle (e.g. a repair) through `service.planning.lifecycle.save`:
    a production plan and its `ScheduledOperation` rows in one transaction; returns the plan id."""
    from service.planning.computed import ComputedPlan
    from service.planning.lifecycle import save

    computed = ComputedPlan(
        kind="production",
        as_of=pd.Timestamp(as_of),
        model_version=model_version,
        params=params,
        summary=summary,
        rows={"schedule_operations": operation_rows(table, "")},
    )
    return save(engine, computed)


def orders_records(orders: pd.DataFrame) -> list[dict[str, Any]]:
    """Production orders as JSON-friendly records (dates ISO), kept with the plan so it can be rescheduled."""
    out = orders.copy()
    for column in ("release", "due"):
        out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%dT%H:%M")
    return [{str(k): v for k, v in row.items()} for row in out.to_dict("records")]


def default_as_of(frames: dict[str, pd.DataFrame]) -> pd.Timestamp:
    """The latest inventory snapshot of the make SKUs: the date the stock figures describe."""
    make = set(frames["items"].loc[frames["items"]["make_or_buy"] == "make", "sku"])
    inventory = frames["inventory"][frames["inventory"]["sku"].isin(make)]
    if inventory.empty:
        raise LookupError("no inventory snapshot for make SKUs: give --as-of")
    return pd.Timestamp(inventory["as_of"].max())


def _components_of(skus: set[str], bom: pd.DataFrame | None) -> set[str]:
    """Every SKU the BOM lines `bom` make `skus` consume, at any depth."""
    if bom is None or bom.empty:
        return set()
    children = bom.groupby("parent_sku")["component_sku"].agg(set).to_dict()
    found: set[str] = set()
    todo = [c for s in skus for c in children.get(s, ())]
    while todo:
        sku = todo.pop()
        if sku not in found:
            found.add(sku)
            todo.extend(children.get(sku, ()))
    return found


def load(
    engine: Engine,
    options: ProductionOptions,
    skus: str | None = None,
    safety_stock: pd.Series | None = None,
    safety_source: dict[str, Any] | None = None,
) -> ProductionInputs:
    """Read the plant tables, the published forecast and the safety stocks (`safety_stock` when given, e.g. from a
    replenishment plan computed in the same job; else the latest stored plan's). `skus` is a glob on the make SKUs.

    Raises `ProductionError` when there is nothing to plan with."""
    frames = read_plant_tables(engine)
    if frames["items"].empty or frames["lines"].empty:
        raise ProductionError("no items or no lines in the database; load data with `leanplan import data/sample`")
    if skus:
        items = frames["items"]
        pairs = zip(items["sku"], items["make_or_buy"], strict=True)
        keep = {sku for sku, kind in pairs if fnmatch.fnmatchcase(sku, skus) or kind != "make"}
        keep |= _components_of(keep, frames.get("bom"))  # the made components the chosen SKUs consume
        frames["items"] = items[items["sku"].isin(keep)].reset_index(drop=True)
    try:
        start = pd.Timestamp(options.as_of) if options.as_of is not None else default_as_of(frames)
    except (LookupError, ValueError) as err:
        raise ProductionError(f"cannot plan production: {err}") from err
    make = sorted(frames["items"].loc[frames["items"]["make_or_buy"] == "make", "sku"])
    forecast, version = published_forecast(engine, make)
    source: dict[str, Any]
    if safety_stock is None:
        safety_stock, safety_plan = replenishment_safety_stock(engine, make)
        source = {"plan_id": safety_plan} if safety_stock is not None else {"fallback": "7 days of mean demand"}
    else:
        source = safety_source or {"source": "given"}
    return ProductionInputs(frames, pd.Timestamp(start), make, forecast, version, safety_stock, source)


def material_tables(frames: dict[str, pd.DataFrame]) -> MaterialTables | None:
    """What the schedule needs to wait for material (None without a bill of materials): the BOM, stock, open orders
    and each bought component's fastest nominal supplier lead time (for shortages bought in within the plan)."""
    from optimizer.schedule.plant_materials import MaterialTables

    bom = frames.get("bom")
    if bom is None or bom.empty:
        return None
    suppliers = frames.get("suppliers")
    lead_days: dict[str, float] | None = None
    if suppliers is not None:
        fastest = suppliers.groupby("sku")["nominal_lead_time_days"].min()
        lead_days = {str(sku): float(days) for sku, days in fastest.items()}
    return MaterialTables(bom, frames["inventory"], frames["open_orders"], lead_days)


def compute(inputs: ProductionInputs, options: ProductionOptions) -> ProductionPlan:
    """Net requirements into orders and schedule them; raises `ProductionError` when there is no schedule."""
    from optimizer.schedule.plant import build_problem
    from optimizer.schedule.problem import ScheduleInputError
    from optimizer.schedule.report import blocked_orders, kpis, material_holds, schedule_table
    from optimizer.schedule.requirements import NettingOptions, production_orders
    from optimizer.schedule.solve import SolveOptions, solve

    frames, start, horizon = inputs.frames, inputs.start, options.horizon_days
    if not inputs.make:
        raise NothingToMake("nothing to make: no item is a 'make' SKU; production needs items with make_or_buy 'make'")
    problem: Problem
    index: PlantIndex
    bom = frames.get("bom")
    materials = material_tables(frames)
    try:
        netting = NettingOptions(
            as_of=start, horizon_days=horizon, cover_days=options.cover_days, max_batch_hours=options.max_batch_hours
        )
        orders = production_orders(
            frames["items"],
            frames["demand"],
            frames["inventory"],
            frames["open_orders"],
            frames["customer_orders"],
            frames["routings"],
            netting,
            forecast=inputs.forecast,
            safety_stock=inputs.safety_stock,
            bom=bom,
        )
        if orders.empty:
            raise NothingToMake(
                f"nothing to make: stock covers every make SKU's requirements for {horizon} days from {start.date()}"
            )
        problem, index = build_problem(
            orders,
            frames["items"],
            frames["lines"],
            frames["routings"],
            frames["changeovers"],
            frames["line_downtime"],
            start,
            horizon,
            materials=materials,
        )
        result = solve(
            problem, SolveOptions(time_limit=options.time_limit, workers=options.workers, objective=options.objective)
        )
    except ProductionError:
        raise
    except (ScheduleInputError, LookupError, ValueError) as err:
        raise ProductionError(f"cannot plan production: {err}") from err
    if result.schedule is None:
        raise ProductionError(f"no schedule: {result.status}; {result.reason or 'try a longer --time-limit'}")
    table = schedule_table(problem, index, result.schedule)
    end = start.to_pydatetime() + dt.timedelta(days=horizon)
    plan_kpis = kpis(table, frames["lines"], frames["line_downtime"], start.to_pydatetime(), end)
    blocked = blocked_orders(index)
    plan_kpis["orders_blocked_by_material"] = len({row["order_id"] for row in blocked})
    summary: dict[str, Any] = {
        "kind": "production",
        "kpis": plan_kpis,
        "held_by_material": material_holds(problem, index, result.schedule),
        "blocked_by_material": blocked,
        "solver": result.as_dict(),
        "orders": orders_records(index.orders),  # the scheduled ones: blocked orders are listed apart
    }
    params: dict[str, Any] = {
        "kind": "production",
        "horizon_days": horizon,
        "time_limit": options.time_limit,
        "workers": options.workers,
        "objective": options.objective,
        "cover_days": options.cover_days,
        "max_batch_hours": options.max_batch_hours,
        "forecast": (
            {"model_version": inputs.model_version}
            if inputs.forecast is not None
            else {"fallback": "trailing 12-month mean"}
        ),
        "safety_stock": inputs.safety_source,
        "orders": len(orders),
        "materials": (
            {"bom_lines": len(bom), "components": len(problem.materials)}
            if materials is not None and bom is not None
            else {"assumed": "all available (no bill of materials)"}
        ),
    }
    return ProductionPlan(table, orders, plan_kpis, result, summary, params, start, inputs.model_version)


def run(engine: Engine, options: ProductionOptions, skus: str | None = None) -> tuple[str, ProductionPlan]:
    """Compute and store a production plan through the plan lifecycle; returns (plan id, plan)."""
    from dataclasses import asdict

    from service.planning.lifecycle import compute_now

    request: dict[str, Any] = {**asdict(options), "skus": skus}
    if options.as_of is not None:
        request["as_of"] = pd.Timestamp(options.as_of).isoformat()
    outcome = compute_now(engine, "production", request)
    assert outcome.computed is not None
    return outcome.plan_id, outcome.computed.result


__all__ = [
    "NothingToMake",
    "ProductionError",
    "ProductionInputs",
    "ProductionOptions",
    "ProductionPlan",
    "compute",
    "load",
    "material_tables",
    "operation_rows",
    "orders_records",
    "published_forecast",
    "read_plant_files",
    "read_plant_tables",
    "replenishment_safety_stock",
    "run",
    "store_schedule",
]
