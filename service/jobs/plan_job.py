"""The "plan" job: run a pending plan through the plan lifecycle (`service.planning.lifecycle.run`), whatever its
kind; the lifecycle stores rows, provenance and summary with status done in one transaction.

A worker killed mid-job leaves the plan 'running' with no rows; the retry clears whatever rows carry the plan id and
computes it again. A failure marks the plan 'failed' with the error in its summary, then fails the job.

Job params: `plan_id` (the request itself is stored with the plan).
"""

from __future__ import annotations

from typing import Any

from service.jobs.context import JobContext


def run(ctx: JobContext) -> dict[str, Any]:
    """Compute and store the plan `ctx.params["plan_id"]`; returns its id, status and row counts."""
    from service.planning.lifecycle import run as run_plan

    outcome = run_plan(ctx.engine, str(ctx.params["plan_id"]), ctx.progress, ctx.job_id)
    if outcome.computed is None:  # the previous attempt committed before its worker died
        return {"plan_id": outcome.plan_id, "status": outcome.status}
    rows = outcome.computed.rows
    return {
        "plan_id": outcome.plan_id,
        "status": outcome.status,
        "lines": len(rows.get("plan_lines", [])),
        "alerts": len(rows.get("alerts", [])),
        "operations": len(rows.get("schedule_operations", [])),
    }
