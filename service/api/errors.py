"""Error bodies: every error is JSON with a `detail` that says what was wrong and what to do.

Request validation errors (422) list each problem as `{loc, msg, type}` as FastAPI does; data uploads add
`errors: [{row, column, value, reason}]`. An unexpected failure is logged with its request path and answered 500
with a reference, never a traceback; a value the database refuses (a NUL character on Postgres, say) is a 422.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

log = logging.getLogger(__name__)


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        log.info("database refused a value on %s %s: %s", request.method, request.url.path, str(exc.orig)[:200])
        return JSONResponse(
            status_code=422,
            content={
                "detail": "the request holds a value the database cannot store or compare "
                f"({str(exc.orig).splitlines()[0]}); remove it (e.g. NUL characters) and retry"
            },
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        reference = uuid.uuid4().hex[:12]
        log.exception("unexpected error %s on %s %s", reference, request.method, request.url.path)
        return JSONResponse(
            status_code=500,
            content={"detail": f"internal error (reference {reference}); the server log has the details"},
        )
