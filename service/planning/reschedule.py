"""Repair a stored plan's production schedule after line breakdowns or rush orders, moving as little as possible,
and store the repair as a new production plan through the lifecycle. Works on any plan that kept its production
orders: production plans (`summary.orders`) and combined plans (`summary.production.orders`), from the CLI or the API.

Public interface: `LineBreakdown`, `RushOrder`, `RescheduleError`, `Repair`, `reschedule_plan`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from service.db.tables import Plan, ScheduledOperation


class RescheduleError(ValueError):
    """The plan cannot be repaired; the message says why and what to do."""


@dataclass(frozen=True)
class LineBreakdown:
    """A line is down from `start` to `end` (plant time)."""

    line_id: str
    start: pd.Timestamp
    end: pd.Timestamp


@dataclass(frozen=True)
class RushOrder:
    """An order to fit in: `qty` of `sku` due at `due`, priority 1 (most important) to 3."""

    sku: str
    qty: float
    due: pd.Timestamp
    priority: int = 1


@dataclass(frozen=True)
class Repair:
    """A stored repair: the new plan id, the schedule table, the moves and the solver's figures."""

    plan_id: str
    from_plan_id: str
    table: pd.DataFrame
    moves: list[dict[str, Any]]
    touched: int
    untouched_moved_share: float
    seconds: float


def _stored_orders(plan: Any) -> list[dict[str, Any]] | None:
    summary = plan.summary or {}
    production = summary.get("production")
    if isinstance(production, dict) and production.get("orders"):
        return list(production["orders"])
    return list(summary["orders"]) if summary.get("orders") else None


def _load(engine: Engine, plan_id: str) -> tuple[Any, list[Any], pd.DataFrame]:
    """The plan row, its stored operations and its production orders (`RescheduleError` when there are none)."""
    with engine.connect() as conn:
        plan = conn.execute(select(Plan).where(Plan.id == plan_id)).first()
        rows = conn.execute(select(ScheduledOperation).where(ScheduledOperation.plan_id == plan_id)).all()
    if plan is None or not rows:
        raise RescheduleError(
            f"plan {plan_id!r} not found or without a production schedule; list plans with GET /v1/plans "
            "or run `leanplan plan production`"
        )
    stored = _stored_orders(plan)
    if not stored:
        raise RescheduleError(
            f"plan {plan_id!r} has no stored orders to reschedule; plan again with `leanplan plan production`"
        )
    orders = pd.DataFrame(stored)
    for column in ("release", "due"):
        orders[column] = pd.to_datetime(orders[column])
    return plan, list(rows), orders


def _rush_rows(rush: list[RushOrder], origin: pd.Timestamp) -> list[dict[str, Any]]:
    from optimizer.schedule.requirements import PRIORITY_WEIGHTS

    return [
        {
            "order_id": f"RUSH-{n}",
            "sku": order.sku,
            "qty": float(order.qty),
            "release": origin,
            "due": pd.Timestamp(order.due),
            "weight": PRIORITY_WEIGHTS.get(order.priority, 1),
            "kind": "rush",
            "covers": "rush order",
        }
        for n, order in enumerate(rush, start=1)
    ]


def reschedule_plan(
    engine: Engine,
    plan_id: str,
    breakdowns: list[LineBreakdown],
    rush: list[RushOrder],
    now: pd.Timestamp | None = None,
    time_limit: float = 10.0,
    workers: int = 2,
    stability_weight: int = 1440,
) -> Repair:
    """Repair plan `plan_id` for the events (at `now`, default the first breakdown's start or the plan start) and
    store the repaired schedule as a new production plan; raises `RescheduleError` with what to do."""
    from optimizer.schedule.plant import build_problem
    from optimizer.schedule.problem import Assignment, Schedule, ScheduleInputError
    from optimizer.schedule.report import kpis, schedule_table
    from optimizer.schedule.reschedule import Breakdown, RescheduleOptions, reschedule
    from service.production import material_tables, orders_records, read_plant_tables, store_schedule

    if not breakdowns and not rush:
        raise RescheduleError("nothing to do: give a line breakdown and/or a rush order")
    plan, rows, orders = _load(engine, plan_id)
    frames = read_plant_tables(engine)
    origin = pd.Timestamp(plan.as_of)
    extra = _rush_rows(rush, origin)
    moment = pd.Timestamp(now) if now is not None else (min(b.start for b in breakdowns) if breakdowns else origin)
    all_orders = pd.concat([orders, pd.DataFrame(extra)], ignore_index=True) if extra else orders
    params_in: dict[str, Any] = dict(plan.params or {})
    nested = params_in.get("production")
    production_params: dict[str, Any] = dict(nested) if isinstance(nested, dict) else params_in
    horizon = int(production_params.get("horizon_days", 28))
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
            materials=material_tables(frames),
        )
    except ValueError as err:
        raise RescheduleError(f"cannot rebuild plan {plan_id!r}: {err}") from err
    base = replace(problem, jobs=problem.jobs[: len(orders)])
    assignments = {}
    for row in rows:
        j = index.job_index.get(row.job_id)
        if j is None or row.op not in index.op_numbers[j] or row.line_id not in index.line_index:
            raise RescheduleError(
                f"plan {plan_id!r} does not match the current routings or lines (operation {row.job_id}/{row.op})"
            )
        k = index.op_numbers[j].index(row.op)
        assignments[(j, k)] = Assignment(
            j,
            k,
            index.line_index[row.line_id],
            index.minutes(row.start),
            index.minutes(row.end),
            int(row.setup_minutes),
        )
    events = []
    for b in breakdowns:
        if b.line_id not in index.line_index:
            raise RescheduleError(f"breakdown: unknown line {b.line_id!r}; lines are {', '.join(index.lines)}")
        events.append(Breakdown(index.line_index[b.line_id], index.minutes(b.start), index.minutes(b.end)))

    def label(minutes: int) -> str:
        return (origin + pd.Timedelta(minutes=minutes)).strftime("%a %d %b %H:%M")

    try:
        result = reschedule(
            base,
            Schedule(assignments),
            index.minutes(moment),
            events,
            problem.jobs[len(orders) :],
            RescheduleOptions(time_limit=time_limit, workers=workers, stability_weight=stability_weight),
            label=label,
        )
    except ScheduleInputError as err:
        raise RescheduleError(f"cannot reschedule: {err}") from err
    if result.schedule is None:
        raise RescheduleError(f"no repair found in {time_limit:g} s ({result.status}); try a longer time limit")
    table = schedule_table(result.problem, index, result.schedule)
    downtime = pd.concat(
        [
            frames["line_downtime"],
            pd.DataFrame([{"line_id": b.line_id, "start": b.start, "end": b.end} for b in breakdowns]),
        ],
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
        **production_params,
        "kind": "production",
        "rescheduled_from": plan_id,
        "now": moment.isoformat(),
        "breakdowns": [{"line": b.line_id, "start": b.start.isoformat(), "end": b.end.isoformat()} for b in breakdowns],
        "rush": [{k: str(v) for k, v in r.items()} for r in extra],
    }
    new_id = store_schedule(engine, table, origin, params, summary, plan.model_version)
    return Repair(
        new_id, plan_id, table, moves, len(result.touched), float(result.untouched_moved_share), float(result.seconds)
    )


__all__ = ["LineBreakdown", "Repair", "RescheduleError", "RushOrder", "reschedule_plan"]
