"""Factory-size scheduling benchmark on plant tables (the PBS part of the sample data).

Measures, in one run on the same machine:

1. netting → production orders (count, lines, families) and the problem build time;
2. the plan: first feasible schedule (seconds), the solution and its gap at the time limit — ours (dispatching
   hint + LNS + full model) against two peers: the best dispatching rule alone, and the plain CP-SAT full model
   from the same hint for the same time (no LNS);
3. rescheduling from the plan after a 24-hour breakdown on several lines, and after a rush order: seconds,
   operations touched, untouched operations moved (share), weighted tardiness before and after.

Public interface: `run(frames, horizon_days, time_limit, workers, reschedule_limit) -> dict`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

import pandas as pd

from optimizer.schedule.heuristic import best_dispatch, schedule_criteria
from optimizer.schedule.plant import build_problem
from optimizer.schedule.problem import Job, violations
from optimizer.schedule.report import kpis, schedule_table
from optimizer.schedule.requirements import NettingOptions, production_orders
from optimizer.schedule.reschedule import Breakdown, RescheduleOptions, reschedule
from optimizer.schedule.solve import DEFAULT_WEIGHTS, SolveOptions, solve

log = logging.getLogger(__name__)

#: Lines broken down in the rescheduling scenarios (processing and packaging, 24/7 and shift lines).
BREAKDOWN_LINES = ("L02", "L04", "L07", "L10")


def _weighted(values: dict[str, int]) -> int:
    return sum(DEFAULT_WEIGHTS[c] * values[c] for c in ("weighted_tardiness", "changeover", "makespan"))


def run(
    frames: dict[str, pd.DataFrame],
    horizon_days: int = 28,
    time_limit: float = 60.0,
    workers: int = 2,
    reschedule_limit: float = 10.0,
    breakdown_day: float = 3 + 8 / 24,
    breakdown_hours: float = 24.0,
    as_of: pd.Timestamp | None = None,
) -> dict[str, Any]:
    """The benchmark figures as a JSON-friendly dict (see the module docstring)."""
    make = frames["items"][frames["items"]["make_or_buy"] == "make"]
    start_day = as_of or pd.Timestamp(frames["inventory"][frames["inventory"]["sku"].isin(make["sku"])]["as_of"].max())
    started = time.perf_counter()
    orders = production_orders(
        frames["items"],
        frames["demand"],
        frames["inventory"],
        frames["open_orders"],
        frames["customer_orders"],
        frames["routings"],
        NettingOptions(as_of=start_day, horizon_days=horizon_days),
    )
    problem, index = build_problem(
        orders,
        frames["items"],
        frames["lines"],
        frames["routings"],
        frames["changeovers"],
        frames["line_downtime"],
        start_day,
        horizon_days,
    )
    prepared = time.perf_counter() - started
    report: dict[str, Any] = {
        "as_of": str(start_day.date()),
        "horizon_days": horizon_days,
        "time_limit": time_limit,
        "workers": workers,
        "orders": len(orders),
        "planned_orders": int((orders["kind"] == "planned").sum()),
        "open_orders": int((orders["kind"] == "open").sum()),
        "operations": problem.n_operations,
        "lines": len(problem.machines),
        "families": len(problem.families),
        "netting_and_build_seconds": round(prepared, 2),
    }

    clock = time.perf_counter()
    hint = best_dispatch(problem)
    dispatch_seconds = time.perf_counter() - clock
    if hint is None:
        report["error"] = "the dispatching rules found no schedule"
        return report
    report["dispatch"] = {"seconds": round(dispatch_seconds, 2), **schedule_criteria(problem, hint)}

    ours = solve(problem, SolveOptions(time_limit=time_limit, workers=workers, objective="weighted"))
    if ours.schedule is None:
        report["error"] = f"no schedule: {ours.status} {ours.reason}"
        return report
    table = schedule_table(problem, index, ours.schedule)
    end = start_day.to_pydatetime() + dt.timedelta(days=horizon_days)
    report["plan"] = {
        **ours.as_dict(),
        "weighted_objective": _weighted(ours.criteria),
        "violations": len(violations(problem, ours.schedule)),
        "lines_used": int(table["line"].nunique()),
        "kpis": kpis(table, frames["lines"], frames["line_downtime"], start_day.to_pydatetime(), end),
    }
    report["first_feasible_seconds"] = (
        None if ours.first_solution_seconds is None else round(prepared + ours.first_solution_seconds, 2)
    )

    plain = solve(problem, SolveOptions(time_limit=time_limit, workers=workers, objective="weighted", lns="off"))
    report["peer_full_model"] = {
        "status": plain.status,
        "criteria": plain.criteria,
        "weighted_objective": _weighted(plain.criteria) if plain.criteria else None,
        "best_bound": plain.best_bound,
        "gap": plain.gap,
        "first_solution_seconds": plain.first_solution_seconds,
    }
    report["reschedule"] = _reschedule_scenarios(
        problem, index, ours.schedule, breakdown_day, breakdown_hours, reschedule_limit, workers
    )
    return report


def _reschedule_scenarios(
    problem: Any,
    index: Any,
    schedule: Any,
    day: float,
    hours: float,
    limit: float,
    workers: int,
) -> list[dict[str, Any]]:
    """Breakdowns of `hours` on `BREAKDOWN_LINES` at `day` days after the plan start, then a rush order."""
    now = int(day * 1440)
    options = RescheduleOptions(time_limit=limit, workers=workers)
    before = schedule_criteria(problem, schedule)
    out: list[dict[str, Any]] = []
    for line in BREAKDOWN_LINES:
        if line not in index.line_index:
            continue
        event = Breakdown(index.line_index[line], now, now + int(hours * 60))
        result = reschedule(problem, schedule, now, breakdowns=[event], options=options)
        out.append(_scenario(f"breakdown {line} {hours:g} h", result, before))
    # rush order: a lot of the SKU with the most open orders, due two days from now, top priority
    busiest = index.orders.groupby("sku").size().idxmax()
    template = problem.jobs[int(index.orders.index[index.orders["sku"] == busiest][0])]
    rush = Job(
        f"RUSH-{busiest}", template.operations, release=now, due=now + 2 * 1440, weight=4, family=template.family
    )
    result = reschedule(problem, schedule, now, rush=[rush], options=options)
    out.append(_scenario(f"rush order {busiest}", result, before))
    return out


def _scenario(name: str, result: Any, before: dict[str, int]) -> dict[str, Any]:
    untouched_moved = sum(1 for m in result.moves if not m.touched)
    return {
        "scenario": name,
        "status": result.status,
        "seconds": round(result.seconds, 2),
        "touched": len(result.touched),
        "moved_untouched": untouched_moved,
        "moved_untouched_share": round(result.untouched_moved_share, 4),
        "violations": None if result.schedule is None else len(violations(result.problem, result.schedule)),
        "weighted_tardiness_before": before["weighted_tardiness"],
        "weighted_tardiness_after": result.criteria.get("weighted_tardiness"),
        "changeover_before": before["changeover"],
        "changeover_after": result.criteria.get("changeover"),
        "reasons": [m.reason for m in result.moves[:5]],
    }
