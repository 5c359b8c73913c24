"""`leanplan plan production`, `bench schedule` and `bench factory-schedule`: production scheduling with CP-SAT.

`plan production` plans with `service.production` (read the plant tables, the published forecast set and the latest
replenishment plan's safety stocks from DATABASE_URL, net requirements into production orders, schedule them on the
lines, store a `Plan` row with its `ScheduledOperation` rows in one transaction) and writes CSV/XLSX/Gantt JSON when
asked.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import typer
from sqlalchemy import select

from service.cli.apps import bench_app, fail, plan_app
from service.production import orders_records, read_plant_files, read_plant_tables, store_schedule
from service.spreadsheet_safety import neutralise_frame

log = logging.getLogger(__name__)

__all__ = ["orders_records", "read_plant_files", "read_plant_tables", "store_schedule"]


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
    from optimizer.schedule.report import gantt_data, write_csv, write_xlsx
    from service import production
    from service.db import migrate
    from service.db.engine import get_engine

    if objective not in ("weighted", "lexicographic"):
        fail(f"--objective must be 'weighted' or 'lexicographic', got {objective!r}")
    mode: Literal["weighted", "lexicographic"] = "weighted" if objective == "weighted" else "lexicographic"
    options = production.ProductionOptions(
        horizon_days=horizon,
        time_limit=time_limit,
        workers=workers,
        objective=mode,
        as_of=as_of or None,
        cover_days=cover_days,
        max_batch_hours=max_batch_hours,
    )
    engine = get_engine()
    migrate.upgrade(engine)
    try:
        plan_id, plan = production.run(engine, options)
    except production.ProductionError as err:
        fail(str(err))
    table, result = plan.table, plan.result
    if out is not None:
        write_csv(neutralise_frame(table), out / f"{plan_id}.csv")
        write_xlsx(neutralise_frame(table), plan.kpis, out / f"{plan_id}.xlsx")
        (out / f"{plan_id}.gantt.json").write_text(json.dumps(gantt_data(table)))
    k = plan.kpis
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
        write_csv(neutralise_frame(table), out / f"{new_id}.csv")
        neutralise_frame(pd.DataFrame(moves)).to_csv(out / f"{new_id}.moves.csv", index=False)
    typer.echo(
        f"plan {new_id} (from {plan_id}): {len(result.touched)} operations hit, {len(moves)} moved "
        f"({100 * result.untouched_moved_share:.1f}% of the untouched ones) in {result.seconds:.1f} s"
    )
    for move in moves[:20]:
        typer.echo(f"  {move['job']}/{move['operation']}: {move['reason']}")
    if len(moves) > 20:
        typer.echo(f"  … and {len(moves) - 20} more")
