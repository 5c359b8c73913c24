"""`/v1/alerts`: the open alerts — those of the latest done or approved plan (or of `plan_id`) — largest value at
risk first, filtered by severity, type and SKU, paged."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.encoders import jsonable_encoder

from service import plans
from service.api.deps import EngineDep, ErpKey

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])

Severity = Literal["critical", "high", "medium", "low"]


def _split(values: list[str] | None, name: str) -> list[str] | None:
    """Repeated and comma-separated values as one list (422 for a NUL character, which no value holds)."""
    if not values:
        return None
    if any("\x00" in v for v in values):
        raise HTTPException(status_code=422, detail=f"{name} contains a NUL character; remove it")
    out = [v.strip() for text in values for v in text.split(",") if v.strip()]
    return out or None


@router.get(
    "",
    summary="Open alerts of the latest plan (or of plan_id), by value at risk",
    responses={404: {"description": "No such plan, or no done plan yet."}, 409: {"description": "Plan not done."}},
)
def index(
    engine: EngineDep,
    _: ErpKey,
    plan_id: Annotated[str | None, Query(max_length=200, description="A plan (default: the latest done one).")] = None,
    severity: Annotated[
        list[Severity] | None, Query(description="Only these severities; repeat the parameter.")
    ] = None,
    type: Annotated[
        list[str] | None, Query(description="Only these alert types; repeat or separate with commas.")
    ] = None,
    sku: Annotated[list[str] | None, Query(description="Only these SKUs; repeat or separate with commas.")] = None,
    cursor: Annotated[str | None, Query(max_length=2000, description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[
        int, Query(ge=1, le=plans.MAX_LIMIT, description=f"Alerts per page (at most {plans.MAX_LIMIT}).")
    ] = plans.DEFAULT_LIMIT,
) -> Any:
    """`{plan_id, model_version, count, next_cursor, rows: [{id, sku, supplier_id, type, severity, value_at_risk,
    message, action, plan_id, model_version}]}`."""
    if plan_id is None:
        plan_id = plans.latest_plan_id(engine)
        if plan_id is None:
            raise HTTPException(
                status_code=404, detail="no done plan yet, so no alerts; compute a plan with POST /v1/plans"
            )
    try:
        plan = plans.require_plan(engine, plan_id, done=True)
        page = plans.alerts_page(
            engine,
            plan,
            severity=list(severity) if severity else None,
            types=_split(type, "type"),
            skus=_split(sku, "sku"),
            cursor=cursor,
            limit=limit,
        )
    except plans.PlanNotFound as err:
        raise HTTPException(status_code=404, detail=str(err)) from None
    except plans.PlanNotReady as err:
        raise HTTPException(status_code=409, detail=str(err)) from None
    except plans.BadCursor as err:
        raise HTTPException(status_code=422, detail=str(err)) from None
    return jsonable_encoder(page.as_json())
