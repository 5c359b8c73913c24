"""`leanplan plan production`, `bench schedule` and `bench factory-schedule`: production scheduling with CP-SAT.

`plan production` reads the canonical tables (and the published forecast set, and the latest replenishment plan's
safety stocks, when there are any) from DATABASE_URL, nets requirements into production orders
(`optimizer.schedule.requirements`), schedules them on the lines (`optimizer.schedule.solve`), stores a `Plan`
row with its `ScheduledOperation` rows in one transaction and writes CSV/XLSX/Gantt JSON when asked.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import typer
from sqlalchemy import Engine, insert, select

from service.cli.apps import bench_app, fail, plan_app

log = logging.getLogger(__name__)

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
)
DATE_COLUMNS = {
    "demand": ["date"],
    "inventory": ["as_of"],
    "open_orders": ["due_date"],
    "customer_orders": ["due_date"],
    "line_downtime": ["start", "end"],
}
INSERT_BATCH = 5_000


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
        if not files:
            raise FileNotFoundError(f"{directory} has no {table}.csv")
        frames[table] = pd.concat([read_table(f, table)[1] for f in files], ignore_index=True)
    return frames


def published_forecast(engine: Engine, skus: list[str]) -> tuple[pd.DataFrame | None, str | None]:
    """(sku, date, mean) of the current published forecast set for `skus`, and its model version."""
    from service.db.tables import Forecast, ForecastSet

    with engine.connect() as conn:
        version = conn.execute(
            select(ForecastSet.model_version)
            .where(ForecastSet.status == "published")
            .order_by(ForecastSet.published_at.desc())
        ).scalar()
        if version is None:
            return None, None
        rows = conn.execute(
            select(Forecast.sku, Forecast.date, Forecast.mean).where(
                Forecast.model_version == version, Forecast.sku.in_(skus)
            )
        ).all()
    if not rows:
        return None, version
    frame = pd.DataFrame(rows, columns=["sku", "date", "mean"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame, version


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


def store_schedule(
    engine: Engine,
    table: pd.DataFrame,
    as_of: pd.Timestamp,
    params: dict[str, Any],
    summary: dict[str, Any],
    model_version: str | None,
) -> str:
    """Insert a `Plan` row and its `ScheduledOperation` rows in one transaction; returns the plan id."""
    from service.db.tables import Plan, ScheduledOperation

    plan_id = f"pp-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    rows = [
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
    with engine.begin() as conn:
        conn.execute(
            insert(Plan).values(
                id=plan_id,
                status="done",
                as_of=pd.Timestamp(as_of).date(),
                model_version=model_version,
                params=params,
                summary=summary,
            )
        )
        for start in range(0, len(rows), INSERT_BATCH):
            conn.execute(insert(ScheduledOperation), rows[start : start + INSERT_BATCH])
    return plan_id


def orders_records(orders: pd.DataFrame) -> list[dict[str, Any]]:
    """Production orders as JSON-friendly records (dates ISO), kept with the plan so it can be rescheduled."""
    out = orders.copy()
    for column in ("release", "due"):
        out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%dT%H:%M")
    return [{str(k): v for k, v in row.items()} for row in out.to_dict("records")]


def _default_as_of(frames: dict[str, pd.DataFrame]) -> pd.Timestamp:
    """The latest inventory snapshot of the make SKUs: the date the stock figures describe."""
    make = set(frames["items"].loc[frames["items"]["make_or_buy"] == "make", "sku"])
    inventory = frames["inventory"][frames["inventory"]["sku"].isin(make)]
    if inventory.empty:
        raise LookupError("no inventory snapshot for make SKUs: give --as-of")
    return pd.Timestamp(inventory["as_of"].max())


@plan_app.command("production")
def plan_production(
    horizon: Annotated[int, typer.Option(help="Planning horizon in days: demand due in it is netted.")] = 28,
    time_limit: Annotated[float, typer.Option(help="Solver time limit in seconds.")] = 60.0,
    workers: Annotated[int, typer.Option(help="CP-SAT worker threads.")] = 2,
    objective: Annotated[
        str, typer.Option(help="weighted (tardiness 100 : changeover 10 : makespan 1) or lexicographic.")
    ] = "weighted",
    as_of: Annotated[str | None, typer.Option(help="Plan start date (default: latest make-SKU stock date).")] = None,
    cover_days: Annotated[int, typer.Option(help="Days of requirements one lot covers.")] = 28,
    max_batch_hours: Annotated[float, typer.Option(help="Longest operation of a lot, hours.")] = 12.0,
    out: Annotated[Path | None, typer.Option(help="Write <plan>.csv, .xlsx and .gantt.json here.")] = None,
) -> None:
    """Net requirements into production orders, schedule them on the lines and store the plan."""
    from optimizer.schedule.plant import build_problem
    from optimizer.schedule.problem import ScheduleInputError
    from optimizer.schedule.report import gantt_data, kpis, schedule_table, write_csv, write_xlsx
    from optimizer.schedule.requirements import NettingOptions, production_orders
    from optimizer.schedule.solve import SolveOptions, solve
    from service.db import migrate
    from service.db.engine import get_engine

    if objective not in ("weighted", "lexicographic"):
        fail(f"--objective must be 'weighted' or 'lexicographic', got {objective!r}")
    mode: Literal["weighted", "lexicographic"] = "weighted" if objective == "weighted" else "lexicographic"
    engine = get_engine()
    migrate.upgrade(engine)
    frames = read_plant_tables(engine)
    if frames["items"].empty or frames["lines"].empty:
        fail("no items or no lines in the database; load data with `leanplan import data/sample`")
    try:
        start = pd.Timestamp(as_of) if as_of else _default_as_of(frames)
        netting = NettingOptions(
            as_of=start, horizon_days=horizon, cover_days=cover_days, max_batch_hours=max_batch_hours
        )
        make = sorted(frames["items"].loc[frames["items"]["make_or_buy"] == "make", "sku"])
        forecast, version = published_forecast(engine, make)
        safety, safety_plan = replenishment_safety_stock(engine, make)
        orders = production_orders(
            frames["items"],
            frames["demand"],
            frames["inventory"],
            frames["open_orders"],
            frames["customer_orders"],
            frames["routings"],
            netting,
            forecast=forecast,
            safety_stock=safety,
        )
        if orders.empty:
            fail(f"nothing to make: stock covers every make SKU's requirements for {horizon} days from {start.date()}")
        problem, index = build_problem(
            orders,
            frames["items"],
            frames["lines"],
            frames["routings"],
            frames["changeovers"],
            frames["line_downtime"],
            start,
            horizon,
        )
        result = solve(problem, SolveOptions(time_limit=time_limit, workers=workers, objective=mode))
    except (ScheduleInputError, LookupError, ValueError) as err:
        fail(f"cannot plan production: {err}")
    if result.schedule is None:
        fail(f"no schedule: {result.status}; {result.reason or 'try a longer --time-limit'}")
    table = schedule_table(problem, index, result.schedule)
    end = start.to_pydatetime() + dt.timedelta(days=horizon)
    plan_kpis = kpis(table, frames["lines"], frames["line_downtime"], start.to_pydatetime(), end)
    summary: dict[str, Any] = {
        "kind": "production",
        "kpis": plan_kpis,
        "solver": result.as_dict(),
        "orders": orders_records(orders),
    }
    params: dict[str, Any] = {
        "kind": "production",
        "horizon_days": horizon,
        "time_limit": time_limit,
        "workers": workers,
        "objective": mode,
        "cover_days": cover_days,
        "max_batch_hours": max_batch_hours,
        "forecast": {"model_version": version} if forecast is not None else {"fallback": "trailing 12-month mean"},
        "safety_stock": {"plan_id": safety_plan} if safety is not None else {"fallback": "7 days of mean demand"},
        "orders": len(orders),
    }
    plan_id = store_schedule(engine, table, start, params, summary, version)
    if out is not None:
        write_csv(table, out / f"{plan_id}.csv")
        write_xlsx(table, plan_kpis, out / f"{plan_id}.xlsx")
        (out / f"{plan_id}.gantt.json").write_text(json.dumps(gantt_data(table)))
    k = plan_kpis
    typer.echo(
        f"plan {plan_id}: {k['orders']} orders, {k['operations']} operations on {table['line'].nunique()} lines; "
        f"on time {k['on_time_pct']}%, tardiness {k['total_tardiness_hours']} h, "
        f"changeovers {k['changeover_hours']} h; solver {result.status}, gap "
        f"{'n/a' if result.gap is None else f'{100 * result.gap:.1f}%'} ({result.gap_criterion}) "
        f"in {result.wall_time:.1f} s"
    )


@bench_app.command("schedule")
def bench_schedule(
    directory: Annotated[Path, typer.Argument(help="Directory of .fjs (FJSPLIB) or .txt (JSPLIB) instances.")],
    bounds: Annotated[Path, typer.Option(help="CSV with instance, lower_bound, upper_bound (extra columns ignored).")],
    time_limit: Annotated[float, typer.Option(help="Seconds per instance.")] = 60.0,
    workers: Annotated[int, typer.Option(help="CP-SAT worker threads.")] = 2,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
    solutions: Annotated[Path | None, typer.Option(help="Write <instance>.csv schedules here.")] = None,
    only: Annotated[str | None, typer.Option(help="Comma-separated instance names to run (default: all).")] = None,
) -> None:
    """Solve public scheduling instances with the production scheduling engine; gaps to the best known bounds."""
    from optimizer.schedule.benchmarks import InstanceFormatError, read_bounds, run_benchmark
    from optimizer.schedule.solve import SolveOptions

    if not directory.is_dir():
        fail(f"{directory} is not a directory of instances")
    try:
        known = read_bounds(bounds)
    except (OSError, ValueError) as err:
        fail(f"cannot read bounds: {err}")

    def show(name: str, row: Any) -> None:
        gap = "n/a" if row.gap_pct is None else f"{row.gap_pct:.2f}%"
        typer.echo(
            f"{name}: makespan {row.makespan} best known {row.best_known} gap {gap} "
            f"(bound {row.lower_bound_found}, {row.status}, {row.seconds:.1f} s)"
        )

    try:
        report = run_benchmark(
            directory,
            known,
            SolveOptions(time_limit=time_limit, workers=workers),
            solutions_dir=solutions,
            only=set(only.split(",")) if only else None,
            on_result=show,
        )
    except (InstanceFormatError, FileNotFoundError) as err:
        fail(str(err))
    typer.echo(f"mean gap {report['mean_gap_pct']}%, proven optimal {report['optimal']}/{len(report['instances'])}")
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=2))


@bench_app.command("factory-schedule")
def bench_factory_schedule(
    data: Annotated[Path | None, typer.Option(help="Sample data directory (default: data/sample).")] = None,
    horizon: Annotated[int, typer.Option(help="Planning horizon in days.")] = 28,
    time_limit: Annotated[float, typer.Option(help="Solver time limit in seconds.")] = 60.0,
    workers: Annotated[int, typer.Option(help="CP-SAT worker threads.")] = 2,
    reschedule_limit: Annotated[float, typer.Option(help="Rescheduling time limit in seconds.")] = 10.0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here.")] = None,
) -> None:
    """Plan the sample plant (first feasible, gap at the time limit) and reschedule after line breakdowns."""
    from optimizer.schedule.factory_bench import run as run_factory
    from service.settings import get_settings

    try:
        frames = read_plant_files(data or get_settings().sample_data_dir)
    except (OSError, ValueError) as err:
        fail(f"cannot read the plant tables: {err}")
    report = run_factory(
        frames,
        horizon_days=horizon,
        time_limit=time_limit,
        workers=workers,
        reschedule_limit=reschedule_limit,
    )
    text = json.dumps(report, indent=2, default=str)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(text)
    typer.echo(text)


def _parse_event(text: str, what: str, parts: int) -> list[str]:
    fields = [f.strip() for f in text.split(",")]
    if len(fields) < parts:
        fail(f"--{what} {text!r}: expected {parts} comma-separated fields")
    return fields


@plan_app.command("reschedule")
def plan_reschedule(
    plan_id: Annotated[str, typer.Argument(help="A stored production plan (see `leanplan plan production`).")],
    breakdown: Annotated[
        list[str] | None, typer.Option(help="LINE,START,END downtime (ISO date-times); repeatable.")
    ] = None,
    rush: Annotated[list[str] | None, typer.Option(help="SKU,QTY,DUE[,PRIORITY] rush order; repeatable.")] = None,
    now: Annotated[
        str | None, typer.Option(help="When the events happen (default: the first breakdown's start).")
    ] = None,
    time_limit: Annotated[float, typer.Option(help="Seconds for the repair.")] = 10.0,
    workers: Annotated[int, typer.Option(help="CP-SAT worker threads.")] = 2,
    stability_weight: Annotated[
        int, typer.Option(help="Cost of moving one operation, in minutes of lateness of a weight-1 order.")
    ] = 1440,
    out: Annotated[Path | None, typer.Option(help="Write <plan>.csv and <plan>.moves.csv here.")] = None,
) -> None:
    """Repair a stored production plan after line breakdowns or rush orders, moving as little as possible."""
    from dataclasses import replace

    from optimizer.schedule.plant import build_problem
    from optimizer.schedule.problem import Assignment, Schedule, ScheduleInputError
    from optimizer.schedule.report import kpis, schedule_table, write_csv
    from optimizer.schedule.requirements import PRIORITY_WEIGHTS
    from optimizer.schedule.reschedule import Breakdown, RescheduleOptions, reschedule
    from service.db.engine import get_engine
    from service.db.tables import Plan, ScheduledOperation

    if not breakdown and not rush:
        fail("nothing to do: give --breakdown LINE,START,END and/or --rush SKU,QTY,DUE")
    engine = get_engine()
    with engine.connect() as conn:
        plan = conn.execute(select(Plan).where(Plan.id == plan_id)).first()
        rows = conn.execute(select(ScheduledOperation).where(ScheduledOperation.plan_id == plan_id)).all()
    if plan is None or not plan.params or plan.params.get("kind") != "production" or not rows:
        fail(f"production plan {plan_id!r} not found; list plans or run `leanplan plan production`")
    stored = (plan.summary or {}).get("orders")
    if not stored:
        fail(f"plan {plan_id!r} has no stored orders to reschedule; plan again with `leanplan plan production`")
    frames = read_plant_tables(engine)
    origin = pd.Timestamp(plan.as_of)
    orders = pd.DataFrame(stored)
    for column in ("release", "due"):
        orders[column] = pd.to_datetime(orders[column])
    extra: list[dict[str, Any]] = []
    for text in rush or []:
        sku, qty, due, *rest = _parse_event(text, "rush", 3)
        priority = int(rest[0]) if rest else 1
        extra.append(
            {
                "order_id": f"RUSH-{len(extra) + 1}",
                "sku": sku,
                "qty": float(qty),
                "release": origin,
                "due": pd.Timestamp(due),
                "weight": PRIORITY_WEIGHTS.get(priority, 1),
                "kind": "rush",
                "covers": "rush order",
            }
        )
    events: list[tuple[str, pd.Timestamp, pd.Timestamp]] = []
    for text in breakdown or []:
        line_id, begin_text, end_text = _parse_event(text, "breakdown", 3)
        events.append((line_id, pd.Timestamp(begin_text), pd.Timestamp(end_text)))
    moment = pd.Timestamp(now) if now else (min(e[1] for e in events) if events else origin)
    all_orders = pd.concat([orders, pd.DataFrame(extra)], ignore_index=True) if extra else orders
    horizon = int(plan.params.get("horizon_days", 28))
    try:
        problem, index = build_problem(
            all_orders,
            frames["items"],
            frames["lines"],
            frames["routings"],
            frames["changeovers"],
            frames["line_downtime"],
            origin,
            horizon,
        )
    except ValueError as err:
        fail(f"cannot rebuild plan {plan_id!r}: {err}")
    base = replace(problem, jobs=problem.jobs[: len(orders)])
    assignments = {}
    for row in rows:
        j = index.job_index.get(row.job_id)
        if j is None or row.op not in index.op_numbers[j] or row.line_id not in index.line_index:
            fail(f"plan {plan_id!r} does not match the current routings or lines (operation {row.job_id}/{row.op})")
        k = index.op_numbers[j].index(row.op)
        assignments[(j, k)] = Assignment(
            j,
            k,
            index.line_index[row.line_id],
            index.minutes(row.start),
            index.minutes(row.end),
            int(row.setup_minutes),
        )
    breakdowns = []
    for line_id, begin, finish in events:
        if line_id not in index.line_index:
            fail(f"--breakdown: unknown line {line_id!r}; lines are {', '.join(index.lines)}")
        breakdowns.append(Breakdown(index.line_index[line_id], index.minutes(begin), index.minutes(finish)))

    def label(minutes: int) -> str:
        return (origin + pd.Timedelta(minutes=minutes)).strftime("%a %d %b %H:%M")

    try:
        result = reschedule(
            base,
            Schedule(assignments),
            index.minutes(moment),
            breakdowns,
            problem.jobs[len(orders) :],
            RescheduleOptions(time_limit=time_limit, workers=workers, stability_weight=stability_weight),
            label=label,
        )
    except ScheduleInputError as err:
        fail(f"cannot reschedule: {err}")
    if result.schedule is None:
        fail(f"no repair found in {time_limit:g} s ({result.status}); try a longer --time-limit")
    table = schedule_table(result.problem, index, result.schedule)
    downtime = pd.concat(
        [frames["line_downtime"], pd.DataFrame([{"line_id": x, "start": b, "end": f} for x, b, f in events])],
        ignore_index=True,
    )
    end = origin.to_pydatetime() + dt.timedelta(days=horizon)
    moves = [
        {
            "job": index.orders.iloc[m.job]["order_id"],
            "operation": index.op_numbers[m.job][m.op],
            "touched": m.touched,
            "reason": m.reason,
        }
        for m in result.moves
    ]
    summary = {
        "kind": "production",
        "kpis": kpis(table, frames["lines"], downtime, origin.to_pydatetime(), end),
        "rescheduled_from": plan_id,
        "moves": moves,
        "untouched_moved_share": round(result.untouched_moved_share, 4),
        "seconds": round(result.seconds, 2),
        "orders": orders_records(all_orders),
    }
    params = {
        **plan.params,
        "rescheduled_from": plan_id,
        "now": moment.isoformat(),
        "breakdowns": [{"line": x, "start": b.isoformat(), "end": f.isoformat()} for x, b, f in events],
        "rush": [{k: str(v) for k, v in r.items()} for r in extra],
    }
    new_id = store_schedule(engine, table, origin, params, summary, plan.model_version)
    if out is not None:
        write_csv(table, out / f"{new_id}.csv")
        pd.DataFrame(moves).to_csv(out / f"{new_id}.moves.csv", index=False)
    typer.echo(
        f"plan {new_id} (from {plan_id}): {len(result.touched)} operations hit, {len(moves)} moved "
        f"({100 * result.untouched_moved_share:.1f}% of the untouched ones) in {result.seconds:.1f} s"
    )
    for move in moves[:20]:
        typer.echo(f"  {move['job']}/{move['operation']}: {move['reason']}")
    if len(moves) > 20:
        typer.echo(f"  … and {len(moves) - 20} more")
