"""The "plan" job: compute a pending plan (`service.plans.create`) — replenishment for the selected SKUs and, when
asked or when there are 'make' SKUs among them, the production schedule with the plan's own safety stocks — and store
lines, alerts, scheduled operations, params and summary with status 'done' in one transaction.

A worker killed mid-job leaves the plan 'running' with no rows; the retry deletes whatever rows carry the plan id
and computes it again. A failure marks the plan 'failed' with the error in its summary, then fails the job.

Job params: `plan_id` and the request (`as_of`, `skus`, `fill_rate`, `shortage_scale`, `schedule`, `time_limit`).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pandas as pd
from sqlalchemy import Connection, delete, select, update

from service.db.tables import Alert, Plan, PlanLine, ScheduledOperation
from service.jobs.context import JobContext

log = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT = 20.0
SCHEDULE_WORKERS = 2


def _clear(conn: Connection, plan_id: str) -> None:
    for table in (PlanLine, Alert, ScheduledOperation):
        conn.execute(delete(table).where(table.plan_id == plan_id))


def _config(request: dict[str, Any]) -> Any:
    from optimizer.classify import ServiceTargets
    from optimizer.replenishment import ReplenishmentConfig

    targets = ServiceTargets()
    fill_rate = request.get("fill_rate")
    if fill_rate is not None:
        targets = ServiceTargets(measure="fill_rate", targets={c: fill_rate for c in "ABC"}, default=fill_rate)
    return ReplenishmentConfig(targets=targets, shortage_scale=request.get("shortage_scale") or 1.0)


def _start(ctx: JobContext, plan_id: str) -> tuple[str, dict[str, Any]]:
    """Mark the plan running (clearing rows a killed attempt may have left); returns its prior status and params."""
    with ctx.engine.begin() as conn:
        row = conn.execute(select(Plan.status, Plan.params).where(Plan.id == plan_id)).first()
        if row is None:
            raise LookupError(f"plan {plan_id!r} not found; create plans with POST /v1/plans")
        params = dict(row.params or {})
        if row.status in ("done", "approved"):
            return row.status, params
        params["job_id"] = ctx.job_id
        _clear(conn, plan_id)
        conn.execute(update(Plan).where(Plan.id == plan_id).values(status="running", params=params, summary=None))
    return "running", params


def _fail(ctx: JobContext, plan_id: str, err: Exception) -> None:
    from service.jobs.worker import error_message

    with ctx.engine.begin() as conn:
        _clear(conn, plan_id)
        conn.execute(
            update(Plan)
            .where(Plan.id == plan_id)
            .values(
                status="failed", summary={"error": error_message(err), "failed_at": dt.datetime.now(dt.UTC).isoformat()}
            )
        )


def run(ctx: JobContext) -> dict[str, Any]:
    """Compute and store the plan `ctx.params["plan_id"]`; returns its id, status and row counts."""
    plan_id = str(ctx.params["plan_id"])
    status, stored = _start(ctx, plan_id)
    if status != "running":  # the previous attempt committed before its worker died
        return {"plan_id": plan_id, "status": status}
    request = dict(stored.get("request") or {k: v for k, v in ctx.params.items() if k != "plan_id"})
    try:
        return _compute(ctx, plan_id, request)
    except Exception as err:
        log.warning("plan %s failed: %s", plan_id, err)
        _fail(ctx, plan_id, err)
        raise


def _compute(ctx: JobContext, plan_id: str, request: dict[str, Any]) -> dict[str, Any]:
    from optimizer.replenishment import plan_replenishment
    from service import production
    from service.replenishment import insert_rows, load_inputs

    config = _config(request)
    as_of = request.get("as_of")
    skus = request.get("skus")
    ctx.progress(0.05, "loading data")
    inputs = load_inputs(ctx.engine, as_of, skus)
    ctx.progress(0.15, f"computing replenishment for {len(inputs.items):,} SKUs")
    plan = plan_replenishment(inputs, config)
    plan.params["sku_filter"] = skus
    make = sorted(inputs.items.loc[inputs.items["make_or_buy"] == "make", "sku"])
    wanted = request.get("schedule")
    schedule = bool(make) if wanted is None else bool(wanted)
    if schedule and not make:
        raise ValueError(
            "no 'make' SKUs among the selected items, so there is nothing to schedule; "
            "plan again with schedule false or select make SKUs"
        )
    scheduled: production.ProductionPlan | None = None
    idle: dict[str, Any] | None = None
    if schedule:
        ctx.progress(0.5, f"scheduling production of {len(make):,} make SKUs")
        lines = plan.lines.set_index("sku")
        safety = lines.loc[lines.index.isin(make), "safety_stock"].dropna().astype(float)
        options = production.ProductionOptions(
            time_limit=float(request.get("time_limit") or DEFAULT_TIME_LIMIT),
            workers=SCHEDULE_WORKERS,
            as_of=pd.Timestamp(as_of) if as_of else None,
        )
        loaded = production.load(
            ctx.engine, options, skus, safety_stock=safety, safety_source={"plan_id": plan_id, "source": "this plan"}
        )
        try:
            scheduled = production.compute(loaded, options)
        except production.NothingToMake as err:
            idle = {"kind": "production", "operations": 0, "note": str(err)}
    ctx.progress(0.9, "storing the plan")
    params = {
        **plan.params,
        "kind": "plan",
        "request": request,
        "job_id": ctx.job_id,
        "production": scheduled.params if scheduled is not None else None,
    }
    summary = {**plan.summary, "production": scheduled.summary if scheduled is not None else idle}
    operations = production.operation_rows(scheduled.table, plan_id) if scheduled is not None else []
    with ctx.engine.begin() as conn:
        _clear(conn, plan_id)
        insert_rows(conn, plan, plan_id)
        production.insert_operations(conn, operations)
        changed = conn.execute(
            update(Plan)
            .where(Plan.id == plan_id, Plan.status == "running")
            .values(
                status="done",
                as_of=inputs.as_of.date(),
                model_version=plan.params.get("forecast", {}).get("model_version"),
                params=params,
                summary=summary,
            )
        ).rowcount
        if not changed:
            raise LookupError(f"plan {plan_id!r} is no longer running (deleted or finished elsewhere); nothing stored")
    ctx.progress(1.0, "done")
    return {
        "plan_id": plan_id,
        "status": "done",
        "lines": len(plan.lines),
        "alerts": len(plan.alerts),
        "operations": len(operations),
    }
