"""Schedules that wait for material, on the sample factory: the same orders solved with and without material.

One run, same machine, same time limit for both solves:

1. netting with the bill of materials (made components get the dependent demand of their parents' orders) and
   the plant problem with materials (stock, receipts, planned purchases within the fastest supplier lead time,
   the plan's own orders of a component); orders that can never get a component are left out of both solves;
2. materials: components, those modelled (binding: some timing could run short), events in their reservoirs;
3. the material-aware solve and the material-blind solve of the same jobs: wall time, first feasible schedule,
   dispatching seconds, model size, weighted tardiness, on-time %, tardiness hours, changeover hours;
4. operations starting before their material (recomputed from each schedule by `materials.shortfalls`, which
   does not use the model): must be 0 with the constraint; the blind schedule shows how many would;
5. orders held back by material (component, quantity short, arrival) and orders blocked.

Public interface: `run(frames, horizon_days, time_limit, workers) -> dict`.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import replace
from typing import Any

import pandas as pd

from optimizer.schedule.heuristic import best_dispatch
from optimizer.schedule.materials import binding, earliest_starts, shortfalls
from optimizer.schedule.model import build_model
from optimizer.schedule.plant import PlantIndex, build_problem
from optimizer.schedule.problem import Problem, violations
from optimizer.schedule.report import blocked_orders, kpis, material_holds, schedule_table
from optimizer.schedule.requirements import NettingOptions, production_orders
from optimizer.schedule.solve import SolveOptions, solve
from service.production import material_tables

__all__ = ["run"]


def _solve(
    problem: Problem,
    check: Problem,
    index: PlantIndex,
    frames: dict[str, pd.DataFrame],
    start: pd.Timestamp,
    horizon_days: int,
    options: SolveOptions,
) -> dict[str, Any]:
    """Solve `problem`; count material shortfalls of its schedule against `check` (the problem with materials)."""
    clock = time.perf_counter()
    hint = best_dispatch(problem)
    dispatch_seconds = time.perf_counter() - clock
    clock = time.perf_counter()
    model, _ = build_model(problem)
    build_seconds = time.perf_counter() - clock
    result = solve(problem, options)
    out: dict[str, Any] = {
        "status": result.status,
        "wall_seconds": round(result.wall_time, 2),
        "first_feasible_seconds": None
        if result.first_solution_seconds is None
        else round(result.first_solution_seconds, 2),
        "dispatch_seconds": round(dispatch_seconds, 2),
        "dispatch_feasible": hint is not None and not violations(problem, hint),
        "model_build_seconds": round(build_seconds, 2),
        "model_variables": len(model.proto.variables),
        "model_constraints": len(model.proto.constraints),
        "criteria": result.criteria,
    }
    if result.schedule is None:
        return out
    table = schedule_table(problem, index, result.schedule)
    end = start.to_pydatetime() + dt.timedelta(days=horizon_days)
    figures = kpis(table, frames["lines"], frames["line_downtime"], start.to_pydatetime(), end)
    short = shortfalls(check, result.schedule)
    out.update(
        {
            "violations": len(violations(problem, result.schedule)),
            "operations_before_material": len(short),
            "examples_before_material": short[:3],
            "on_time_pct": figures["on_time_pct"],
            "late_orders": figures["late_orders"],
            "total_tardiness_hours": figures["total_tardiness_hours"],
            "weighted_tardiness_hours": figures["weighted_tardiness_hours"],
            "changeover_hours": figures["changeover_hours"],
        }
    )
    if problem.materials:
        holds = material_holds(problem, index, result.schedule)
        out["orders_held_by_material"] = len({h["job"] for h in holds})
        out["operations_held_by_material"] = len(holds)
        out["examples_held"] = holds[:5]
    return out


def run(
    frames: dict[str, pd.DataFrame],
    horizon_days: int = 28,
    time_limit: float = 60.0,
    workers: int = 2,
    as_of: pd.Timestamp | None = None,
) -> dict[str, Any]:
    """The benchmark figures as a JSON-friendly dict (see the module docstring)."""
    if frames.get("bom") is None or frames["bom"].empty:
        raise ValueError("the plant tables have no bill of materials (bom.csv); regenerate the sample data")
    make = frames["items"][frames["items"]["make_or_buy"] == "make"]
    start = as_of or pd.Timestamp(frames["inventory"][frames["inventory"]["sku"].isin(make["sku"])]["as_of"].max())
    clock = time.perf_counter()
    orders = production_orders(
        frames["items"],
        frames["demand"],
        frames["inventory"],
        frames["open_orders"],
        frames["customer_orders"],
        frames["routings"],
        NettingOptions(as_of=start, horizon_days=horizon_days),
        bom=frames["bom"],
    )
    problem, index = build_problem(
        orders,
        frames["items"],
        frames["lines"],
        frames["routings"],
        frames["changeovers"],
        frames["line_downtime"],
        start,
        horizon_days,
        materials=material_tables(frames),
    )
    prepared = time.perf_counter() - clock
    earliest = earliest_starts(problem)
    modelled = [m for m in problem.materials if binding(problem, m, earliest)]
    blocked = blocked_orders(index)
    report: dict[str, Any] = {
        "as_of": str(start.date()),
        "horizon_days": horizon_days,
        "time_limit": time_limit,
        "workers": workers,
        "orders_netted": len(orders),
        "component_orders": int(orders["sku"].isin(frames["bom"]["component_sku"]).sum()),
        "orders_blocked_by_material": len({b["order_id"] for b in blocked}),
        "examples_blocked": blocked[:5],
        "orders_scheduled": len(problem.jobs),
        "operations": problem.n_operations,
        "netting_and_build_seconds": round(prepared, 2),
        "materials": len(problem.materials),
        "materials_modelled": len(modelled),
        "materials_left_out": len(problem.materials) - len(modelled),
        "reservoir_events": sum(len(m.supplies) + len(m.uses) + len(m.outputs) for m in modelled),
        "reservoir_events_all_materials": sum(
            len(m.supplies) + len(m.uses) + len(m.outputs) for m in problem.materials
        ),
    }
    options = SolveOptions(time_limit=time_limit, workers=workers, objective="weighted")
    report["with_material"] = _solve(problem, problem, index, frames, start, horizon_days, options)
    blind = replace(problem, materials=())
    report["material_blind"] = _solve(blind, problem, index, frames, start, horizon_days, options)
    a, b = report["with_material"], report["material_blind"]
    report["solve_time_ratio"] = round(a["wall_seconds"] / b["wall_seconds"], 3) if b["wall_seconds"] else None
    if a.get("first_feasible_seconds") and b.get("first_feasible_seconds"):
        report["first_feasible_ratio"] = round(a["first_feasible_seconds"] / b["first_feasible_seconds"], 3)
    report["dispatch_ratio"] = round(a["dispatch_seconds"] / max(0.01, b["dispatch_seconds"]), 3)
    return report
