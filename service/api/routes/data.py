"""`/v1/data/{table}`: upload a canonical table as CSV, JSON, Parquet or XLSX; validated, all-or-nothing upsert."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from pipelines.contracts import TABLE_ORDER
from service import uploads
from service.api.deps import EngineDep, ErpKey, SettingsDep

router = APIRouter(prefix="/v1/data", tags=["data"])


class UploadResult(BaseModel):
    table: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    removed: int | None = None  # mode=replace: stored rows of the scope the upload did not hold, now deleted
    seconds: float


class RowProblem(BaseModel):
    row: int | None
    column: str | None
    value: Any = None
    reason: str


class UploadRejected(BaseModel):
    detail: str
    errors: list[RowProblem] = []
    total: int = 0


class Problem(BaseModel):
    detail: str


_BINARY = {"schema": {"type": "string", "format": "binary"}}
BODY = {
    "requestBody": {
        "required": True,
        "description": "The table file as the raw body, or as the `file` field of a multipart form.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"type": "array", "items": {"type": "object"}},
                        {"type": "object", "properties": {"rows": {"type": "array", "items": {"type": "object"}}}},
                    ]
                }
            },
            "application/vnd.apache.parquet": _BINARY,
            "application/x-parquet": _BINARY,
            uploads.XLSX_TYPE: _BINARY,
            "application/octet-stream": _BINARY,
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}
DESCRIPTION = f"""Validate every row against the table's contract, then insert new keys and update changed rows in
one transaction; nothing is stored unless every row passes, and sending the same file twice changes nothing.

Tables, in load order (referenced tables first): {", ".join(TABLE_ORDER)}. Demand may be long (sku, date, qty) or
wide (sku, then one column per period start). Rejected rows are listed as `errors: [{{row, column, value,
reason}}]`; `row` counts records from 1, the header not included (CSV line = row + 1).

CSV as ERPs write it: the delimiter (`,` `;` tab `|`) is sniffed from the header unless `delimiter=` names it;
after `;` numbers may use a decimal comma (`decimal=` overrides). Dates must be ISO 8601 (`YYYY-MM-DD`, optionally
with `THH:MM[:SS]`): `2003/01/01` or `31/12/2001` are rejected naming row and column."""


@router.post(
    "/{table}",
    response_model=UploadResult,
    summary="Upload a canonical table",
    description=DESCRIPTION,
    openapi_extra=BODY,
    responses={
        404: {"model": Problem, "description": "Not a canonical table."},
        409: {"model": Problem, "description": "Conflicts with rows changed meanwhile; send it again."},
        413: {"model": Problem, "description": "Body larger than `LEANPLAN_MAX_UPLOAD_MB`."},
        415: {"model": Problem, "description": "Content type is not a table format."},
        422: {"model": UploadRejected, "description": "Rejected; nothing was stored."},
    },
)
async def upload(
    request: Request,
    table: Annotated[str, Path(description="Canonical table, e.g. items or demand.")],
    engine: EngineDep,
    settings: SettingsDep,
    key: ErpKey,
    format: Annotated[
        Literal["csv", "json", "parquet", "xlsx"] | None,
        Query(description="Format of an application/octet-stream body (or of a multipart file)."),
    ] = None,
    delimiter: Annotated[
        Literal[",", ";", "tab", "|"] | None,
        Query(description="A CSV's field delimiter (default: sniffed from the header)."),
    ] = None,
    decimal: Annotated[
        Literal[".", ","] | None,
        Query(description="A CSV's decimal mark (default: `,` when the delimiter is `;`, else `.`)."),
    ] = None,
    mode: Annotated[
        Literal["upsert", "replace"],
        Query(
            description="`upsert` (default) adds and updates; `replace` also deletes the stored rows of `scope` "
            "that the upload does not hold, in the same transaction (audited)."
        ),
    ] = "upsert",
    scope: Annotated[
        Literal["all", "skus", "as_of"],
        Query(
            description="With mode=replace: the whole table (`all`), only the SKUs the upload holds (`skus`), or "
            "only its as-of dates (`as_of`, inventory)."
        ),
    ] = "all",
) -> Any:
    try:
        uploads.check_table(table)
        received = await uploads.receive(request, int(settings.max_upload_mb * 1024 * 1024), format)
        received.delimiter = "\t" if delimiter == "tab" else delimiter
        received.decimal = decimal
        received.replace = scope if mode == "replace" else None
        received.key = key
        try:
            return await run_in_threadpool(uploads.store, engine, table, received)
        finally:
            received.close()
    except uploads.UploadError as err:
        return JSONResponse(status_code=err.status, content=err.body())


class Deleted(BaseModel):
    """The row a delete removed (audited in `data_audit` with the key and the time)."""

    table: str
    id: str
    deleted: int
    row: dict[str, Any]


@router.delete(
    "/{table}/{order_id}",
    response_model=Deleted,
    summary="Delete one open order or customer order by id (audited)",
    responses={
        404: {"model": Problem, "description": "No row with that id; nothing was deleted."},
    },
)
def delete_order(
    table: Annotated[
        Literal["open_orders", "customer_orders"], Path(description="`open_orders` or `customer_orders`.")
    ],
    order_id: Annotated[str, Path(min_length=1, max_length=200, description="The order's id.")],
    engine: EngineDep,
    key: ErpKey,
) -> Deleted:
    """Remove a stale order so it no longer counts in inventory positions or MRP; who and when is recorded in
    the `data_audit` table with the removed row."""
    from service import data_changes

    try:
        row = data_changes.delete_order(engine, table, order_id, key)
    except data_changes.NotFound as err:
        raise HTTPException(status_code=404, detail=str(err)) from None
    return Deleted(table=table, id=order_id, deleted=1, row=row)
