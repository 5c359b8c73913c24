"""`/v1/plans/{plan_id}/…` of the plans over bills of materials: MRP plans' planned orders (JSON pages or CSV),
pegging, and one item's time-phased record with where-used, components and the end demands its orders serve;
placement plans' items (service times, safety stock, decoupling points)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from service import mrp_reads, plans
from service.api.deps import EngineDep, ErpKey

router = APIRouter(prefix="/v1/plans", tags=["plans"])

CSV = "text/csv; charset=utf-8"
TextParam = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]


def _plan_of(engine: Engine, plan_id: str, kind: str, what: str) -> dict[str, Any]:
    try:
        plan = plans.require_plan(engine, plan_id, done=True)
    except plans.PlanNotFound as err:
        raise HTTPException(status_code=404, detail=str(err)) from None
    except plans.PlanNotReady as err:
        raise HTTPException(status_code=409, detail=str(err)) from None
    if plan["kind"] != kind:
        raise HTTPException(
            status_code=404,
            detail=f"plan {plan_id!r} is a {plan['kind']} plan, not {what}; compute one with POST /v1/plans "
            f'{{"kind": "{kind}"}}',
        )
    return plan


def _mrp_plan(engine: Engine, plan_id: str) -> dict[str, Any]:
    return _plan_of(engine, plan_id, "mrp", "an MRP plan")


@router.get(
    "/{plan_id}/planned-orders",
    summary="Planned make and buy orders of an MRP plan (JSON pages or CSV)",
    response_class=Response,
    responses={404: {"description": "No such MRP plan."}, 409: {"description": "Not done."}},
)
def planned_orders(
    plan_id: str,
    request: Request,
    engine: EngineDep,
    _: ErpKey,
    sku: TextParam = None,
    format: Annotated[str | None, Query(pattern="^(json|csv)$", description="`json` (default) or `csv`.")] = None,
    cursor: Annotated[str | None, Query(max_length=2000, description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=plans.MAX_LIMIT)] = plans.DEFAULT_LIMIT,
) -> Response:
    """Planned orders (order id, SKU, make or buy, low-level code, release and due dates, quantity, expedite)."""
    plan = _mrp_plan(engine, plan_id)
    headers = {"X-Plan-Id": plan["id"]}
    if format == "csv" or (format is None and "text/csv" in request.headers.get("accept", "")):
        headers["Content-Disposition"] = f'attachment; filename="{plan_id}-planned-orders.csv"'
        return Response(mrp_reads.planned_orders_csv(engine, plan), media_type=CSV, headers=headers)
    try:
        page = mrp_reads.planned_orders_page(engine, plan, cursor=cursor, limit=limit, sku=sku)
    except plans.BadCursor as err:
        raise HTTPException(status_code=422, detail=str(err)) from None
    if page.next_cursor is not None:
        headers["Link"] = f'<{request.url.include_query_params(cursor=page.next_cursor)}>; rel="next"'
    return JSONResponse(jsonable_encoder(page.as_json()), headers=headers)


@router.get(
    "/{plan_id}/pegging",
    summary="Which end demands a planned order serves, or which orders serve an end demand",
    responses={404: {"description": "No such MRP plan."}, 409: {"description": "Not done."}},
)
def pegging(
    plan_id: str,
    engine: EngineDep,
    _: ErpKey,
    order_id: TextParam = None,
    sku: TextParam = None,
    end_sku: TextParam = None,
    demand_id: Annotated[
        str | None, Query(max_length=200, description="A customer order id, `forecast` or `excess`.")
    ] = None,
) -> dict[str, Any]:
    """Pegging rows (order, SKU, due date, quantity, end SKU, end date, demand id) matching every filter given."""
    plan = _mrp_plan(engine, plan_id)
    rows = mrp_reads.pegging(engine, plan, order_id=order_id, sku=sku, end_sku=end_sku, demand_id=demand_id)
    return {"plan_id": plan_id, "count": len(rows), "truncated": len(rows) >= mrp_reads.PEGGING_LIMIT, "rows": rows}


@router.get(
    "/{plan_id}/items/{sku:path}",
    summary="One item of an MRP plan: time-phased record, where-used, components, orders and what they serve",
    responses={404: {"description": "No such MRP plan, or the SKU is not in it."}, 409: {"description": "Not done."}},
)
def item(plan_id: str, sku: str, engine: EngineDep, _: ErpKey) -> dict[str, Any]:
    """The planners' grid of one item (gross requirements, scheduled receipts, projected on hand, net requirements,
    planned receipts and releases per week) with its where-used, components, planned orders and end demands."""
    plan = _mrp_plan(engine, plan_id)
    try:
        view = mrp_reads.item_view(engine, plan, sku)
    except mrp_reads.ItemNotInPlan as err:
        raise HTTPException(status_code=404, detail=str(err)) from None
    result: dict[str, Any] = jsonable_encoder(view)
    return result


@router.get(
    "/{plan_id}/placement",
    summary="Items of a stock-placement plan: service times, safety stock, decoupling points (JSON or CSV)",
    response_class=Response,
    responses={404: {"description": "No such placement plan."}, 409: {"description": "Not done."}},
)
def placement(
    plan_id: str,
    request: Request,
    engine: EngineDep,
    _: ErpKey,
    format: Annotated[str | None, Query(pattern="^(json|csv)$", description="`json` (default) or `csv`.")] = None,
) -> Response:
    """Per item: level, inbound and outbound service time, net replenishment time, demand per period, safety factor,
    unit value, safety stock (units and value), base-stock level and whether it is a decoupling point."""
    plan = _plan_of(engine, plan_id, "placement", "a placement plan")
    rows = mrp_reads.placement_rows(engine, plan)
    headers = {"X-Plan-Id": plan_id}
    if format == "csv" or (format is None and "text/csv" in request.headers.get("accept", "")):
        import pandas as pd

        headers["Content-Disposition"] = f'attachment; filename="{plan_id}-placement.csv"'
        return Response(pd.DataFrame(rows).to_csv(index=False).encode(), media_type=CSV, headers=headers)
    return JSONResponse(jsonable_encoder({"plan_id": plan_id, "count": len(rows), "rows": rows}), headers=headers)
