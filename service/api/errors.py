"""Error bodies: every error is JSON with a `detail` that says what was wrong and what to do.

Request validation errors (422) list each problem as `{loc, msg, type}` as FastAPI does; data uploads add
`errors: [{row, column, value, reason}]`. An unexpected failure is logged with its request path and answered 500
with a reference, never a traceback.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

log = logging.getLogger(__name__)


def install(app: FastAPI) -> None:
    """Register the catch-all handler on `app`."""

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        reference = uuid.uuid4().hex[:12]
        log.exception("unexpected error %s on %s %s", reference, request.method, request.url.path)
        return JSONResponse(
            status_code=500,
            content={"detail": f"internal error (reference {reference}); the server log has the details"},
        )
