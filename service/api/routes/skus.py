"""`/v1/skus`: the SKU list (paged, filtered) and one SKU's full view (class, champion, policy, suppliers, alerts)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query

from service import skus as view
from service.api.deps import EngineDep, ErpKey, SettingsDep

router = APIRouter(prefix="/v1/skus", tags=["skus"])

Abc = Literal["A", "B", "C"]
Xyz = Literal["X", "Y", "Z"]
Pattern = Literal["smooth", "erratic", "intermittent", "lumpy", "none"]


@router.get("", summary="SKUs with class, champion model, policy and open alert count (paged)")
def index(
    _: ErpKey,
    engine: EngineDep,
    settings: SettingsDep,
    abc: Annotated[Abc | None, Query(description="ABC class in the latest plan.")] = None,
    xyz: Annotated[Xyz | None, Query(description="XYZ class in the latest plan.")] = None,
    pattern: Annotated[Pattern | None, Query(description="Demand pattern in the latest plan.")] = None,
    supplier: Annotated[str | None, Query(max_length=200, description="Only SKUs this supplier offers.")] = None,
    make_or_buy: Annotated[Literal["make", "buy"] | None, Query()] = None,
    has_alert: Annotated[
        bool | None, Query(description="Only SKUs with (true) or without (false) open alerts.")
    ] = None,
    search: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Prefix of the SKU or its name (any case).")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=2000, description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """SKUs in SKU order; follow `next_cursor` for the next page. Class and policy come from the latest done or
    approved plan, the champion from the published forecast set."""
    query = view.SkuFilter(abc, xyz, pattern, supplier, make_or_buy, has_alert, search, cursor, limit)
    try:
        return view.list_skus(engine, query, settings.mlflow_tracking_uri)
    except view.BadCursor as err:
        raise HTTPException(status_code=422, detail=str(err)) from None


@router.get(
    "/{sku:path}",
    summary="One SKU: item, class, champion and backtest metrics, policy, supplier reliability, alerts, stock, demand",
    responses={404: {"description": "Unknown SKU."}},
)
def show(sku: str, _: ErpKey, engine: EngineDep, settings: SettingsDep) -> dict[str, Any]:
    try:
        return view.sku_detail(engine, sku, settings.mlflow_tracking_uri)
    except view.SkuNotFound as err:
        raise HTTPException(status_code=404, detail=str(err)) from None
