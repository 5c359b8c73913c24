"""The one plan lifecycle: create a pending plan → run its kind in a job worker → store header, provenance, summary
and rows in one transaction with status done → compare with the previous plan of the same kind. A failure marks the
plan failed with the reason and stores no rows. The CLI computes in its own process (`compute_now`) and stores
through the same `save`/`store` path; nothing is stored when it fails.

Every plan id is `pl-YYYYmmdd-HHMMSS-xxxxxx` (UTC); plans stored before this scheme (`rp-…`, `pp-…`) still read.
Provenance is recorded here, once for every kind: `params` = the kind's own provenance (forecast set, policy,
solver settings, …) plus `kind`, `request`, `job_id` and `entry` (cli | api).

Public interface: `new_plan_id`, `create`, `attach_job`, `enqueue`, `run`, `compute_now`, `save`, `store`, `Outcome`.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from service.db.tables import (
    Alert,
    MrpRecord,
    Pegging,
    PlacementStage,
    Plan,
    PlanLine,
    PlannedOrder,
    ScheduledOperation,
)
from service.planning.changes import against_previous
from service.planning.computed import ComputedPlan, PlanRun, Progress, quiet
from service.planning.kinds import get_kind

log = logging.getLogger(__name__)

CHILD_TABLES = {
    t.__tablename__: t for t in (PlanLine, Alert, ScheduledOperation, PlannedOrder, Pegging, MrpRecord, PlacementStage)
}
INSERT_BATCH = 5_000


@dataclass(frozen=True)
class Outcome:
    """A run's end: the plan id, its status and (when this run computed it) the computed plan."""

    plan_id: str
    status: str
    computed: ComputedPlan | None = None


def new_plan_id() -> str:
    """A fresh plan id: `pl-YYYYmmdd-HHMMSS-xxxxxx` (UTC)."""
    return f"pl-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def create(engine: Engine, kind: str, request: dict[str, Any], entry: str = "api") -> str:
    """Insert a pending plan of `kind` holding the request; returns its id (`LookupError` for an unknown kind)."""
    get_kind(kind)
    plan_id = new_plan_id()
    as_of = request.get("as_of")
    with engine.begin() as conn:
        conn.execute(
            insert(Plan).values(
                id=plan_id,
                status="pending",
                as_of=dt.date.fromisoformat(str(as_of)[:10]) if as_of else None,
                params={"kind": kind, "request": request, "entry": entry},
            )
        )
    return plan_id


def attach_job(engine: Engine, plan_id: str, job_id: str) -> None:
    """Record the job computing a pending plan (the runner records it too, when it starts first)."""
    with engine.begin() as conn:
        params = conn.execute(select(Plan.params).where(Plan.id == plan_id, Plan.status == "pending")).scalar()
        if params is not None:
            conn.execute(
                update(Plan)
                .where(Plan.id == plan_id, Plan.status == "pending")
                .values(params={**params, "job_id": job_id})
            )


def enqueue(
    engine: Engine, kind: str, request: dict[str, Any], key_id: str | None = None, max_queued: int | None = None
) -> tuple[str, str]:
    """Create a pending plan and queue the job that runs it; returns (plan id, job id). The job records `key_id`
    (the API key asking); `QueueFull` (nothing stored) when that key already has `max_queued` jobs queued."""
    from service.jobs.queue import enqueue as queue_job

    plan_id = create(engine, kind, request, entry="api")
    try:
        job_id = queue_job(
            engine, "plan", {"plan_id": plan_id, "kind": kind, **request}, key_id=key_id, max_queued=max_queued
        )
    except Exception:
        with engine.begin() as conn:
            conn.execute(delete(Plan).where(Plan.id == plan_id))
        raise
    attach_job(engine, plan_id, job_id)
    return plan_id, job_id


def compute_now(engine: Engine, kind: str, request: dict[str, Any], progress: Progress = quiet) -> Outcome:
    """Compute a plan in this process and store it (the CLI's way): nothing is stored when computing or storing
    fails, and the error is raised."""
    plan_id = new_plan_id()
    computed = get_kind(kind).compute(PlanRun(engine, plan_id, request, progress))
    progress(0.9, "storing the plan")
    save(engine, computed, request, entry="cli", plan_id=plan_id)
    progress(1.0, "done")
    return Outcome(plan_id, "done", computed)


def save(
    engine: Engine,
    computed: ComputedPlan,
    request: dict[str, Any] | None = None,
    entry: str = "cli",
    plan_id: str | None = None,
) -> str:
    """Store a plan computed outside a job (the CLI, a repaired schedule) through the same path, header and rows in
    one transaction (nothing stored on failure); returns its id (a new one unless given)."""
    plan_id = plan_id or new_plan_id()
    stored = {"kind": computed.kind, "request": request or {}, "entry": entry}
    summary = _summary(engine, plan_id, computed)
    with engine.begin() as conn:
        conn.execute(insert(Plan).values(id=plan_id, status="running", as_of=computed.as_of.date(), params=stored))
        _write(conn, plan_id, computed, stored, summary)
    return plan_id


def _clear(conn: Connection, plan_id: str) -> None:
    for table in CHILD_TABLES.values():
        conn.execute(delete(table).where(table.plan_id == plan_id))


def _start(engine: Engine, plan_id: str, job_id: str | None) -> tuple[str, dict[str, Any]]:
    """Mark the plan running (clearing rows a killed attempt may have left); returns its prior status and params."""
    with engine.begin() as conn:
        row = conn.execute(select(Plan.status, Plan.params).where(Plan.id == plan_id)).first()
        if row is None:
            raise LookupError(f"plan {plan_id!r} not found; create plans with POST /v1/plans")
        params = dict(row.params or {})
        if row.status in ("done", "approved"):
            return row.status, params
        if job_id is not None:
            params["job_id"] = job_id
        _clear(conn, plan_id)
        conn.execute(update(Plan).where(Plan.id == plan_id).values(status="running", params=params, summary=None))
    return "running", params


def _fail(engine: Engine, plan_id: str, err: Exception) -> None:
    from service.jobs.worker import error_message

    with engine.begin() as conn:
        _clear(conn, plan_id)
        conn.execute(
            update(Plan)
            .where(Plan.id == plan_id)
            .values(
                status="failed", summary={"error": error_message(err), "failed_at": dt.datetime.now(dt.UTC).isoformat()}
            )
        )


def run(engine: Engine, plan_id: str, progress: Progress = quiet, job_id: str | None = None) -> Outcome:
    """Compute and store the plan `plan_id` by its kind. A plan already done (its earlier attempt committed before
    the worker died) is left as it is. On failure the plan is marked failed and the error re-raised."""
    status, stored = _start(engine, plan_id, job_id)
    if status != "running":
        return Outcome(plan_id, status)
    kind = get_kind(str(stored.get("kind") or "plan"))
    request = dict(stored.get("request") or {})
    try:
        computed = kind.compute(PlanRun(engine, plan_id, request, progress))
        progress(0.9, "storing the plan")
        store(engine, plan_id, computed, stored)
    except Exception as err:
        log.warning("plan %s failed: %s", plan_id, err)
        _fail(engine, plan_id, err)
        raise
    progress(1.0, "done")
    return Outcome(plan_id, "done", computed)


def _summary(engine: Engine, plan_id: str, computed: ComputedPlan) -> dict[str, Any]:
    return {**computed.summary, "changes": against_previous(engine, plan_id, computed)}


def _write(
    conn: Connection, plan_id: str, computed: ComputedPlan, stored: dict[str, Any], summary: dict[str, Any]
) -> None:
    """Rows, provenance and summary of a running plan on an open transaction; the plan becomes done."""
    params = {
        **computed.params,
        "kind": computed.kind,
        "request": stored.get("request") or {},
        "entry": stored.get("entry"),
        "job_id": stored.get("job_id"),
    }
    _clear(conn, plan_id)
    for name, rows in computed.rows.items():
        table = CHILD_TABLES[name]
        batch = [{**row, "plan_id": plan_id} for row in rows]
        for start in range(0, len(batch), INSERT_BATCH):
            conn.execute(insert(table), batch[start : start + INSERT_BATCH])
    changed = conn.execute(
        update(Plan)
        .where(Plan.id == plan_id, Plan.status == "running")
        .values(
            status="done",
            as_of=computed.as_of.date(),
            model_version=computed.model_version,
            params=params,
            summary=summary,
        )
    ).rowcount
    if not changed:
        raise LookupError(f"plan {plan_id!r} is no longer running (deleted or finished elsewhere); nothing stored")


def store(engine: Engine, plan_id: str, computed: ComputedPlan, stored: dict[str, Any]) -> None:
    """Write the computed plan's rows, provenance and summary (with what changed since the previous plan of its kind)
    in one transaction and mark it done; `LookupError` when the plan stopped running meanwhile."""
    summary = _summary(engine, plan_id, computed)
    with engine.begin() as conn:
        _write(conn, plan_id, computed, stored, summary)


__all__ = ["Outcome", "attach_job", "compute_now", "create", "enqueue", "new_plan_id", "run", "save", "store"]
