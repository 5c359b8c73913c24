"""What changed since the previous plan of the same kind: lines added, dropped and changed (order quantity,
reorder point), capital, production orders added and dropped, operations moved. Stored in the plan's summary as
`changes` and shown to the planner beside the plan.

Public interface: `against_previous(engine, plan_id, computed)`, `previous_plan_id(engine, kind, before)`.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Engine, select

from service.db.tables import Plan, PlanLine, ScheduledOperation
from service.planning.computed import ComputedPlan

DONE = ("done", "approved")
#: how many recent plans are searched for the previous plan of a kind
LOOK_BACK = 200
#: quantities closer than this count as unchanged
TOLERANCE = 1e-6


def _kind(params: dict[str, Any] | None) -> str:
    from service.plans import kind_of

    return kind_of(params)


def previous_plan_id(engine: Engine, kind: str, before: str) -> str | None:
    """The most recent done or approved plan of `kind` other than `before`."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Plan.id, Plan.params)
            .where(Plan.status.in_(DONE), Plan.id != before)
            .order_by(Plan.created_at.desc(), Plan.id.desc())
            .limit(LOOK_BACK)
        ).all()
    return next((row.id for row in rows if _kind(row.params) == kind), None)


def _differs(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    return not math.isclose(float(a), float(b), rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def _line_changes(engine: Engine, previous: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    with engine.connect() as conn:
        before = {
            r.sku: r
            for r in conn.execute(
                select(PlanLine.sku, PlanLine.order_qty, PlanLine.reorder_point).where(PlanLine.plan_id == previous)
            )
        }
    now = {r["sku"]: r for r in rows}
    common = before.keys() & now.keys()
    return {
        "added": len(now.keys() - before.keys()),
        "dropped": len(before.keys() - now.keys()),
        "order_changed": sum(_differs(before[s].order_qty, now[s].get("order_qty")) for s in common),
        "reorder_point_changed": sum(_differs(before[s].reorder_point, now[s].get("reorder_point")) for s in common),
    }


def _operation_changes(engine: Engine, previous: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    with engine.connect() as conn:
        before = {
            (r.job_id, r.op): r
            for r in conn.execute(
                select(
                    ScheduledOperation.job_id,
                    ScheduledOperation.op,
                    ScheduledOperation.line_id,
                    ScheduledOperation.start,
                ).where(ScheduledOperation.plan_id == previous)
            )
        }
    now = {(r["job_id"], r["op"]): r for r in rows}
    common = before.keys() & now.keys()
    return {
        "orders_added": len({j for j, _ in now} - {j for j, _ in before}),
        "orders_dropped": len({j for j, _ in before} - {j for j, _ in now}),
        "operations_moved": sum(
            before[k].line_id != now[k]["line_id"] or before[k].start != now[k]["start"] for k in common
        ),
    }


def against_previous(engine: Engine, plan_id: str, computed: ComputedPlan) -> dict[str, Any]:
    """The changes of `computed` (to be stored as `plan_id`) against the previous plan of its kind."""
    previous = previous_plan_id(engine, computed.kind, plan_id)
    out: dict[str, Any] = {"previous_plan_id": previous}
    if previous is None:
        return out
    if "plan_lines" in computed.rows:
        out["lines"] = _line_changes(engine, previous, computed.rows["plan_lines"])
        with engine.connect() as conn:
            summary = conn.execute(select(Plan.summary).where(Plan.id == previous)).scalar() or {}
        was, now = summary.get("capital_expected"), computed.summary.get("capital_expected")
        if was is not None and now is not None:
            out["capital_expected_change"] = round(float(now) - float(was), 2)
    if computed.rows.get("schedule_operations"):
        out["schedule"] = _operation_changes(engine, previous, computed.rows["schedule_operations"])
    return out


__all__ = ["against_previous", "previous_plan_id"]
