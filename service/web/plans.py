"""Which plans the pages show: the newest done or approved plan with replenishment lines (and the one before it),
and the newest with a production schedule. A plan is recognised by its rows, so a combined plan (replenishment and
schedule in one) counts as both.

Public interface: `PlanRef`, `replenishment_plans`, `replenishment_plan`, `schedule_plan`, `SHOWN`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, exists, select

from service.db.tables import Plan, PlanLine, ScheduledOperation

SHOWN = ("done", "approved")


@dataclass(frozen=True)
class PlanRef:
    """A plan's identity, provenance and summary."""

    id: str
    status: str
    as_of: dt.date | None
    model_version: str | None
    created_at: dt.datetime | None
    approved_at: dt.datetime | None
    approved_by: str | None
    summary: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


def _ref(row: Any) -> PlanRef:
    return PlanRef(
        row.id, row.status, row.as_of, row.model_version, row.created_at, row.approved_at, row.approved_by,
        row.summary or {}, row.params or {},
    )  # fmt: skip


_COLUMNS = (Plan.id, Plan.status, Plan.as_of, Plan.model_version, Plan.created_at, Plan.approved_at,
            Plan.approved_by, Plan.summary, Plan.params)  # fmt: skip


def replenishment_plans(conn: Connection, limit: int = 2) -> list[PlanRef]:
    """The newest `limit` done/approved plans that hold replenishment lines, newest first."""
    has_lines = exists().where(PlanLine.plan_id == Plan.id)
    rows = conn.execute(
        select(*_COLUMNS)
        .where(Plan.status.in_(SHOWN), has_lines)
        .order_by(Plan.created_at.desc(), Plan.id.desc())
        .limit(limit)
    ).all()
    return [_ref(r) for r in rows]


def replenishment_plan(conn: Connection, plan_id: str | None = None) -> PlanRef | None:
    """Plan `plan_id` (any status, None when unknown), or the newest replenishment plan."""
    if plan_id is None:
        plans = replenishment_plans(conn, 1)
        return plans[0] if plans else None
    row = conn.execute(select(*_COLUMNS).where(Plan.id == plan_id)).first()
    return _ref(row) if row is not None else None


def schedule_plan(conn: Connection, plan_id: str | None = None) -> PlanRef | None:
    """Plan `plan_id`, or the newest done/approved plan holding scheduled operations."""
    query = select(*_COLUMNS)
    if plan_id is not None:
        row = conn.execute(query.where(Plan.id == plan_id)).first()
    else:
        has_ops = exists().where(ScheduledOperation.plan_id == Plan.id)
        row = conn.execute(
            query.where(Plan.status.in_(SHOWN), has_ops).order_by(Plan.created_at.desc(), Plan.id.desc()).limit(1)
        ).first()
    return _ref(row) if row is not None else None


__all__ = ["SHOWN", "PlanRef", "replenishment_plan", "replenishment_plans", "schedule_plan"]
