"""`leanplan plan production`, `bench schedule` and `bench factory-schedule`: production scheduling with CP-SAT.

`plan production` plans with `service.production` (read the plant tables, the published forecast set and the latest
replenishment plan's safety stocks from DATABASE_URL, net requirements into production orders, schedule them on the
lines, store a `Plan` row with its `ScheduledOperation` rows in one transaction) and writes CSV/XLSX/Gantt JSON when
asked.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import typer

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
    held, blocked = plan.summary.get("held_by_material", []), plan.summary.get("blocked_by_material", [])
    if held or blocked:
        typer.echo(
            f"material: {k.get('orders_held_by_material', 0)} orders wait for components "
            f"({len(held)} operations, column held_by_material), "
            f"{k.get('orders_blocked_by_material', 0)} orders blocked (a component never arrives in the horizon)"
        )
        for row in blocked[:3]:
            typer.echo(f"  blocked {row['order_id']} ({row['sku']}): {row['component']} {row['missing']:g} short")


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


@bench_app.command("material-schedule")
def bench_material_schedule(
    data: Annotated[Path | None, typer.Option(help="Sample data directory (default: data/sample).")] = None,
    horizon: Annotated[int, typer.Option(help="Planning horizon in days.")] = 28,
    time_limit: Annotated[float, typer.Option(help="Solver time limit in seconds (each of the two solves).")] = 60.0,
    workers: Annotated[int, typer.Option(help="CP-SAT worker threads.")] = 2,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here.")] = None,
) -> None:
    """Schedule the sample plant with and without waiting for material: operations before their material, orders
    held back, solve time ratio, tardiness and on-time of both."""
    from service.cli.bench_loader import load
    from service.settings import get_settings

    try:
        frames = read_plant_files(data or get_settings().sample_data_dir)
        report = load("material_schedule").run(frames, horizon_days=horizon, time_limit=time_limit, workers=workers)
    except (OSError, ValueError) as err:
        fail(f"cannot run the material schedule benchmark: {err}")
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
    plan_id: Annotated[str, typer.Argument(help="A stored plan with a production schedule (CLI or API).")],
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
    """Repair a stored production schedule after line breakdowns or rush orders, moving as little as possible."""
    from optimizer.schedule.report import write_csv
    from service.db.engine import get_engine
    from service.planning.reschedule import LineBreakdown, RescheduleError, RushOrder, reschedule_plan

    if not breakdown and not rush:
        fail("nothing to do: give --breakdown LINE,START,END and/or --rush SKU,QTY,DUE")
    events = []
    for text in breakdown or []:
        line_id, begin, end = _parse_event(text, "breakdown", 3)[:3]
        events.append(LineBreakdown(line_id, pd.Timestamp(begin), pd.Timestamp(end)))
    orders = []
    for text in rush or []:
        sku, qty, due, *rest = _parse_event(text, "rush", 3)
        orders.append(RushOrder(sku, float(qty), pd.Timestamp(due), int(rest[0]) if rest else 1))
    try:
        repair = reschedule_plan(
            get_engine(),
            plan_id,
            events,
            orders,
            now=pd.Timestamp(now) if now else None,
            time_limit=time_limit,
            workers=workers,
            stability_weight=stability_weight,
        )
    except RescheduleError as err:
        fail(str(err))
    if out is not None:
        write_csv(neutralise_frame(repair.table), out / f"{repair.plan_id}.csv")
        neutralise_frame(pd.DataFrame(repair.moves)).to_csv(out / f"{repair.plan_id}.moves.csv", index=False)
    moves = repair.moves
    typer.echo(
        f"plan {repair.plan_id} (from {plan_id}): {repair.touched} operations hit, {len(moves)} moved "
        f"({100 * repair.untouched_moved_share:.1f}% of the untouched ones) in {repair.seconds:.1f} s"
    )
    for move in moves[:20]:
        typer.echo(f"  {move['job']}/{move['operation']}: {move['reason']}")
    if len(moves) > 20:
        typer.echo(f"  … and {len(moves) - 20} more")
