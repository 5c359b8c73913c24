"""`/v1/forecasts`: the published forecast set, as JSON or CSV, paged, filtered, cacheable (the ERP hot path).

Every 200 carries an `ETag` (the model version and the query identify the body: published sets never change);
`If-None-Match` with it answers 304 without a body. `since=<model_version>` answers an empty page when that version
is still the published one, so a nightly job fetches the full set only after a new model was published.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from service import forecast_reads as reads
from service.api import deps
from service.auth import KeyInfo

router = APIRouter(prefix="/v1/forecasts", tags=["forecasts"])

CSV = "text/csv; charset=utf-8"
JSON = "application/json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

_require_erp = deps.require("erp")
#: the key schemes of `deps` (registered in the OpenAPI components by their use elsewhere)
_SECURITY: dict[str, Any] = {"security": [{"HTTPBearer": []}, {"APIKeyHeader": []}]}


async def _erp_key(request: Request) -> KeyInfo:
    """`deps.ErpKey` in one dependency on the event loop: the headers read here, the key checked by
    `deps.current_key` (a verified key is cached, so that is a dictionary lookup). The three chained security
    dependencies and the thread hop of `ErpKey` cost more than the rest of a single-SKU fetch."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    bearer = None
    if scheme.lower() == "bearer" and credentials:
        bearer = HTTPAuthorizationCredentials(scheme=scheme, credentials=credentials)
    return _require_erp(deps.current_key(request, bearer, request.headers.get("x-api-key")))


ErpKey = Annotated[KeyInfo, Depends(_erp_key)]


class OneParams(BaseModel):
    """Query parameters of `GET /v1/forecasts/{sku}`."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    start: dt.date | None = Field(None, alias="from", description="First period (inclusive), YYYY-MM-DD.")
    end: dt.date | None = Field(None, alias="to", description="Last period (inclusive), YYYY-MM-DD.")
    quantiles: list[str] | None = Field(
        None, description="Quantile levels to include, e.g. `0.1,0.5,0.9` (default: every stored level)."
    )
    format: Literal["json", "csv"] | None = Field(
        None, description="`json` (default) or `csv`; `Accept: text/csv` also selects CSV."
    )
    since: str | None = Field(
        None,
        max_length=200,
        description="A model version you already have: when it is still the published one the answer is an empty "
        "page (no rows, `next_cursor` null); otherwise the current set.",
    )


class ListParams(OneParams):
    """Query parameters of `GET /v1/forecasts`."""

    sku: list[str] | None = Field(
        None, description="SKUs to return; repeat the parameter or separate with commas (default: every SKU)."
    )
    cursor: str | None = Field(None, max_length=2000, description="`next_cursor` of the previous page.")
    limit: int = Field(
        reads.DEFAULT_LIMIT, ge=1, le=reads.MAX_LIMIT, description=f"Rows per page (at most {reads.MAX_LIMIT})."
    )


P = TypeVar("P", bound=OneParams)


def _parse(request: Request, model: type[P]) -> P:
    """The query parameters as `model`, validated by pydantic; 422 like FastAPI's own validation.

    Parsed here rather than declared one by one: FastAPI's per-parameter handling costs more than the database
    query of a single-SKU fetch. `_openapi(model)` documents them.
    """
    if not request.url.query:
        return model()
    params = request.query_params
    lists = _LISTS[model]
    data = {k: params.getlist(k) if k in lists else params[k] for k in params}
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in err.errors(include_url=False, include_context=False)]
        ) from None


def _openapi(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True)["properties"]
    return {
        "parameters": [
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": prop.pop("description", ""),
                "schema": prop,
            }
            for name, prop in schema.items()
        ]
    }


_LISTS: dict[type[OneParams], set[str]] = {OneParams: {"quantiles"}, ListParams: {"quantiles", "sku"}}

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Forecast rows (JSON, or CSV with columns sku,date,horizon,mean,q…,model_version).",
        "content": {JSON: {}, "text/csv": {}},
        "headers": {
            "ETag": {"description": "Send back as If-None-Match to get 304 while nothing changed."},
            "Link": {"description": '`<url>; rel="next"` when there is a next page.'},
        },
    },
    304: {"description": "Not modified: the ETag in If-None-Match still matches."},
    404: {"description": "No forecast is published, or the SKU is unknown."},
    409: {"description": "The cursor belongs to a model version that is no longer published."},
}


def _wants_csv(request: Request, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "csv"
    return "text/csv" in request.headers.get("accept", "")


def _read(request: Request, query: reads.ForecastQuery, csv: bool) -> reads.Page | reads.CsvPage:
    try:
        if csv:
            return reads.fetch_csv(request.app.state.engine, query)
        return reads.fetch(request.app.state.engine, query)
    except reads.NotPublished as err:
        raise HTTPException(status_code=404, detail=str(err)) from None
    except reads.BadQuery as err:
        raise HTTPException(status_code=422, detail=str(err)) from None
    except reads.StaleCursor as err:
        raise HTTPException(status_code=409, detail=str(err)) from None


async def _fetch(request: Request, query: reads.ForecastQuery, csv: bool) -> reads.Page | reads.CsvPage:
    if len(query.skus) == 1:  # one indexed lookup of a few rows: cheaper on the event loop than a thread hop
        return _read(request, query, csv)
    return await run_in_threadpool(_read, request, query, csv)


def respond(
    if_none_match: str | None, url: Any, query: reads.ForecastQuery, page: reads.Page | reads.CsvPage, filename: str
) -> Response:
    """The 200 (or 304) of a page: ETag, model version, `Link` to the next page of `url`, CSV download name."""
    csv = isinstance(page, reads.CsvPage)
    tag = reads.etag(page.model_version, query, "csv" if csv else "json")
    headers = {"ETag": tag, "X-Model-Version": page.model_version, "Cache-Control": "private, no-cache"}
    if reads.etag_matches(if_none_match, tag):
        return Response(status_code=304, headers=headers)
    if page.next_cursor is not None:
        headers["Link"] = f'<{url.include_query_params(cursor=page.next_cursor)}>; rel="next"'
    if isinstance(page, reads.CsvPage):
        headers["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return Response(page.body, media_type=CSV, headers=headers)
    return Response(reads.to_json(page), media_type=JSON, headers=headers)


async def _stream(request: Request, query: reads.ForecastQuery, filename: str) -> Response:
    """Every row of `query` as one CSV download, streamed in chunks (constant memory); ETag / 304 as for pages."""
    query = replace(query, cursor=None, limit=None)
    try:
        stream = await run_in_threadpool(reads.stream_csv, request.app.state.engine, query)
    except reads.NotPublished as err:
        raise HTTPException(status_code=404, detail=str(err)) from None
    except reads.BadQuery as err:
        raise HTTPException(status_code=422, detail=str(err)) from None
    tag = reads.etag(stream.model_version, query, "csv")
    headers = {"ETag": tag, "X-Model-Version": stream.model_version, "Cache-Control": "private, no-cache"}
    if reads.etag_matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return StreamingResponse(stream.chunks, media_type=CSV, headers=headers)


def _respond(request: Request, query: reads.ForecastQuery, page: reads.Page | reads.CsvPage, filename: str) -> Response:
    return respond(request.headers.get("if-none-match"), request.url, query, page, filename)


def _query(skus: tuple[str, ...], p: OneParams, cursor: str | None, limit: int | None) -> reads.ForecastQuery:
    start, end = p.start, p.end
    try:
        levels = reads.parse_quantiles(p.quantiles) if p.quantiles else None
        position = reads.decode_cursor(cursor) if cursor else None
    except reads.BadQuery as err:
        raise HTTPException(status_code=422, detail=str(err)) from None
    if start is not None and end is not None and start > end:
        raise HTTPException(status_code=422, detail=f"from ({start}) is after to ({end}); swap them")
    return reads.ForecastQuery(skus, start, end, levels or None, p.since, position, limit)


@router.get(
    "",
    summary="Forecast rows of the published model version (paged; JSON or CSV)",
    response_class=Response,
    responses=RESPONSES,
    openapi_extra={**_openapi(ListParams), **_SECURITY},
)
async def index(request: Request, _: ErpKey) -> Response:
    """Rows `sku, date, horizon, mean, q…, model_version` ordered by SKU and date; follow `next_cursor` (JSON) for
    the next page. CSV without `limit` or `cursor` is every row, streamed; with them, pages with a `Link: rel="next"`
    header."""
    p = _parse(request, ListParams)
    try:
        skus = reads.split_skus(p.sku) if p.sku else ()
    except reads.BadQuery as err:
        raise HTTPException(status_code=422, detail=str(err)) from None
    query = _query(skus, p, p.cursor, p.limit)
    csv = _wants_csv(request, p.format)
    if csv and p.cursor is None and "limit" not in request.query_params:
        return await _stream(request, query, "forecasts")  # the whole export; `limit` or `cursor` ask for pages
    page = await _fetch(request, query, csv)
    return _respond(request, query, page, "forecasts")


@router.get(
    "/{sku}",
    summary="Forecast rows of one SKU (JSON or CSV)",
    response_class=Response,
    responses=RESPONSES,
    openapi_extra={**_openapi(OneParams), **_SECURITY},
)
async def one(request: Request, sku: str, _: ErpKey) -> Response:
    """Every period of one SKU in the published forecast."""
    p = _parse(request, OneParams)
    query = _query((sku,), p, None, None)
    page = await _fetch(request, query, _wants_csv(request, p.format))
    if not page.count and not page.unchanged:
        if not await run_in_threadpool(reads.sku_exists, request.app.state.engine, sku):
            raise HTTPException(status_code=404, detail=f"SKU {sku!r} not found; list SKUs with GET /v1/skus")
        if p.start is None and p.end is None:
            raise HTTPException(
                status_code=404,
                detail=f"SKU {sku!r} has no forecast in model version {page.model_version}; "
                "list the forecast SKUs with GET /v1/forecasts",
            )
    return _respond(request, query, page, f"forecast-{_UNSAFE.sub('_', sku)}")
