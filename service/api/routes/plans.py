"""`/v1/plans`: compute a plan (a job), read its status and provenance, its replenishment lines and production
schedule (JSON pages, or the whole table as CSV or XLSX), approve it.

Every plan, whichever entry point asked for it, goes through `service.planning.lifecycle`.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, select

from service import plans
from service.api.deps import EngineDep, ErpKey, PlannerKey, SettingsDep
from service.db.tables import Item

router = APIRouter(prefix="/v1/plans", tags=["plans"])

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_TIME_LIMIT = 600.0


class PlanRequest(BaseModel):
    """What to plan; every field is optional."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["plan", "replenishment", "production", "mrp", "placement"] = Field(
        default="plan",
        description="`plan`: replenishment, and the production schedule when make SKUs are selected; "
        "`replenishment` or `production` alone; `mrp`: multi-level MRP over the bills of materials; "
        "`placement`: where in the bills of materials to hold safety stock.",
    )
    as_of: dt.date | None = Field(default=None, description="Plan date (default: the latest inventory snapshot).")
    skus: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f]+$",
        description="Only SKUs matching this glob, e.g. 'RAF-*'.",
    )
    fill_rate: float | None = Field(default=None, gt=0, lt=1, description="One fill-rate target for every class.")
    shortage_scale: float | None = Field(
        default=None, gt=0, description="Multiply every target's allowed shortage (calibration)."
    )
    schedule: bool | None = Field(
        default=None, description="Also schedule production (default: when 'make' SKUs are among the selected)."
    )
    time_limit: float = Field(default=20.0, gt=0, le=MAX_TIME_LIMIT, description="CP-SAT seconds for the schedule.")
    horizon_weeks: int = Field(default=26, ge=1, le=260, description="MRP: weeks planned.")
    demand_source: Literal["both", "forecast", "orders"] = Field(
        default="both", description="MRP: customer orders plus unconsumed forecast, the forecast, or orders only."
    )
    forecast_quantile: float | None = Field(
        default=None, gt=0, lt=1, description="MRP: plan on this forecast quantile instead of the mean."
    )
    lead_time_quantile: float = Field(
        default=0.9, gt=0, lt=1, description="MRP and placement: supplier lead-time quantile."
    )
    placement: bool = Field(
        default=True, description="MRP: items without their own safety stock take the latest placement plan's."
    )
    service_level: float = Field(default=0.95, gt=0, lt=1, description="Placement: end items' service level.")
    correlation: Literal["independent", "correlated"] = Field(
        default="independent", description="Placement: demand of shared components, independent or correlated."
    )


FormatParam = Annotated[
    Literal["json", "csv", "xlsx"] | None,
    Query(description="`json` (default), `csv` or `xlsx` (the whole table); `Accept: text/csv` also selects CSV."),
]
CursorParam = Annotated[str | None, Query(max_length=2000, description="`next_cursor` of the previous page.")]
LimitParam = Annotated[
    int, Query(ge=1, le=plans.MAX_LIMIT, description=f"Rows per JSON page (at most {plans.MAX_LIMIT}).")
]

DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Rows (JSON page), or every row as CSV or XLSX with `Content-Disposition: attachment`.",
        "content": {"application/json": {}, "text/csv": {}, XLSX: {}},
    },
    404: {"description": "No such plan, or the plan has no such table."},
    409: {"description": "The plan is not done (pending, running or failed)."},
    422: {"description": "The cursor is not valid."},
}


def _selection(engine: Engine, request: PlanRequest) -> list[tuple[str, str]]:
    """(sku, make_or_buy) of the items the request selects; 409/422 when there is nothing to plan."""
    with engine.connect() as conn:
        items = [(str(s), str(k)) for s, k in conn.execute(select(Item.sku, Item.make_or_buy))]
    if not items:
        raise HTTPException(status_code=409, detail="no items to plan; upload them with POST /v1/data/items")
    if request.skus:
        items = [(s, k) for s, k in items if fnmatch.fnmatchcase(s, request.skus)]
        if not items:
            raise HTTPException(status_code=422, detail=f"no SKU matches {request.skus!r}; list SKUs with GET /v1/skus")
    if request.kind in ("mrp", "placement"):
        return items
    if request.kind == "production" and not any(k == "make" for _, k in items):
        raise HTTPException(
            status_code=422,
            detail="kind is production but no selected SKU is a 'make' SKU; select make SKUs or ask for kind plan",
        )
    if request.schedule and not any(k == "make" for _, k in items):
        raise HTTPException(
            status_code=422,
            detail="schedule is true but no selected SKU is a 'make' SKU; select make SKUs or leave schedule out",
        )
    return items


@router.post(
    "",
    status_code=202,
    summary="Compute a plan (replenishment, and production when there is any)",
    responses={429: {"description": "This API key has too many jobs queued; retry after `Retry-After` seconds."}},
)
def create(
    engine: EngineDep,
    settings: SettingsDep,
    key: PlannerKey,
    body: Annotated[PlanRequest | None, Body()] = None,
) -> JSONResponse:
    """Create a pending plan and queue its job; poll `links.self` until its status is `done`. 429 (with
    `Retry-After`) when this key already has `LEANPLAN_MAX_QUEUED_JOBS_PER_KEY` jobs queued."""
    from service.jobs.queue import QueueFull
    from service.planning.lifecycle import enqueue

    request = body or PlanRequest()
    _selection(engine, request)
    params = request.model_dump(mode="json", exclude={"kind"})
    try:
        plan_id, job_id = enqueue(
            engine, request.kind, params, key_id=key.id, max_queued=settings.max_queued_jobs_per_key
        )
    except QueueFull as err:
        raise HTTPException(status_code=429, detail=str(err), headers={"Retry-After": str(err.retry_after)}) from None
    body_out = {
        "id": plan_id,
        "status": "pending",
        "job_id": job_id,
        "links": {
            "self": f"/v1/plans/{plan_id}",
            "replenishment": f"/v1/plans/{plan_id}/replenishment",
            "schedule": f"/v1/plans/{plan_id}/schedule",
            "approve": f"/v1/plans/{plan_id}/approve",
        },
    }
    return JSONResponse(body_out, status_code=202, headers={"Location": f"/v1/plans/{plan_id}"})


@router.get("", summary="Recent plans with their status")
def index(
    engine: EngineDep,
    _: ErpKey,
    status: Annotated[
        Literal["pending", "running", "done", "failed", "approved"] | None, Query(description="Only plans in it.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="How many (most recent first).")] = 50,
) -> dict[str, Any]:
    """The most recent plans first."""
    rows = plans.list_plans(engine, limit=limit, status=status)
    return {"count": len(rows), "plans": rows}


def _plan(engine: Engine, plan_id: str, done: bool = False) -> dict[str, Any]:
    try:
        return plans.require_plan(engine, plan_id, done=done)
    except plans.PlanNotFound as err:
        raise HTTPException(status_code=404, detail=str(err)) from None
    except plans.PlanNotReady as err:
        raise HTTPException(status_code=409, detail=str(err)) from None


@router.get("/{plan_id}", summary="A plan's status, provenance and summary", responses={404: {}})
def one(plan_id: str, engine: EngineDep, _: ErpKey) -> dict[str, Any]:
    """Status (with the job's progress while pending or running), as-of date, model version, params (provenance:
    configuration, forecast set, input fingerprints, code version), summary, approval."""
    from service.jobs.queue import get_job

    plan = _plan(engine, plan_id)
    job = get_job(engine, plan["job_id"]) if plan["job_id"] else None
    plan["job"] = (
        {k: job[k] for k in ("id", "status", "progress", "message", "error", "attempts", "started_at", "finished_at")}
        if job is not None
        else None
    )
    return plan


def _wants(request: Request, fmt: str | None) -> str:
    if fmt is not None:
        return fmt
    return "csv" if "text/csv" in request.headers.get("accept", "") else "json"


def _download(
    request: Request, engine: Engine, plan: dict[str, Any], what: str, fmt: str | None, cursor: str | None, limit: int
) -> Response:
    kind = _wants(request, fmt)
    filename = f"{plan['id']}-{what}"
    headers = {"X-Plan-Id": plan["id"], "X-Model-Version": plan["model_version"] or ""}
    if kind == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return Response(plans.export_csv(engine, plan, what), media_type=CSV, headers=headers)
    if kind == "xlsx":
        headers["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
        return Response(plans.export_xlsx(engine, plan, what), media_type=XLSX, headers=headers)
    page_of = plans.replenishment_page if what == "replenishment" else plans.schedule_page
    try:
        page = page_of(engine, plan, cursor=cursor, limit=limit)
    except plans.BadCursor as err:
        raise HTTPException(status_code=422, detail=str(err)) from None
    if page.next_cursor is not None:
        headers["Link"] = f'<{request.url.include_query_params(cursor=page.next_cursor)}>; rel="next"'
    return JSONResponse(_jsonable(page.as_json()), headers=headers)


def _jsonable(body: dict[str, Any]) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(body)


@router.get(
    "/{plan_id}/replenishment",
    summary="Replenishment lines of a plan (JSON pages, CSV or XLSX)",
    response_class=Response,
    responses=DOWNLOAD_RESPONSES,
)
def replenishment(
    plan_id: str,
    request: Request,
    engine: EngineDep,
    _: ErpKey,
    format: FormatParam = None,
    cursor: CursorParam = None,
    limit: LimitParam = plans.DEFAULT_LIMIT,
) -> Response:
    """Plan lines by SKU (reorder point, order now, supplier, …), each with plan_id and model_version. XLSX adds
    supplier splits, alerts and provenance sheets."""
    plan = _plan(engine, plan_id, done=True)
    if plan["kind"] == "production":
        raise HTTPException(
            status_code=404,
            detail=f"plan {plan_id!r} is a production plan without replenishment lines; "
            f"read its schedule with GET /v1/plans/{plan_id}/schedule",
        )
    return _download(request, engine, plan, "replenishment", format, cursor, limit)


@router.get(
    "/{plan_id}/schedule",
    summary="Production schedule of a plan (JSON pages, CSV or XLSX)",
    response_class=Response,
    responses=DOWNLOAD_RESPONSES,
)
def schedule(
    plan_id: str,
    request: Request,
    engine: EngineDep,
    _: ErpKey,
    format: FormatParam = None,
    cursor: CursorParam = None,
    limit: LimitParam = plans.DEFAULT_LIMIT,
) -> Response:
    """Scheduled operations (production order, operation, SKU, quantity, line, start, end, setup, due, lateness),
    each with plan_id and model_version."""
    plan = _plan(engine, plan_id, done=True)
    if "schedule" not in plan["links"]:
        raise HTTPException(
            status_code=404,
            detail=f"plan {plan_id!r} has no production schedule; compute one with POST /v1/plans "
            '{"schedule": true} (needs make SKUs)',
        )
    return _download(request, engine, plan, "schedule", format, cursor, limit)


@router.post(
    "/{plan_id}/approve",
    summary="Approve a done plan",
    responses={404: {"description": "No such plan."}, 409: {"description": "Not done, or approved before."}},
)
def approve(plan_id: str, engine: EngineDep, key: PlannerKey) -> dict[str, Any]:
    """Mark the plan approved by the calling key (its name and id)."""
    try:
        return plans.approve(engine, plan_id, f"{key.name} ({key.id})")
    except plans.PlanNotFound as err:
        raise HTTPException(status_code=404, detail=str(err)) from None
    except (plans.PlanNotReady, plans.AlreadyApproved) as err:
        raise HTTPException(status_code=409, detail=str(err)) from None
