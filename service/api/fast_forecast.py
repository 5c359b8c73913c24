"""The hottest request of the API, `GET /v1/forecasts/{sku}` with no query string (an ERP fetching one SKU), served
before FastAPI's routing and dependency injection — which cost more than the request's own work.

Only the plain success is answered here, with exactly the routed handler's bytes and headers (the same reads,
ETag and serialisation: `service.api.routes.forecasts.respond`). Anything else — a query string, CSV, a missing,
unknown or revoked key, an unknown SKU, nothing published — falls through to the routed handler, which defines the
behaviour and its errors.
"""

from __future__ import annotations

import contextlib
from typing import Any

from service import forecast_reads as reads
from service.auth import KeyVerifier

PREFIX = "/v1/forecasts/"


class _Route:
    """What the metrics middleware reads from `scope["route"]`: the route template."""

    path = PREFIX + "{sku}"


ROUTE = _Route()


def _key(headers: list[tuple[bytes, bytes]]) -> tuple[str | None, str | None, bool]:
    """(presented key, If-None-Match, wants CSV) from raw ASGI headers."""
    key = match = None
    csv = False
    for name, value in headers:
        if name == b"x-api-key":
            key = value.decode("latin-1")
        elif name == b"authorization" and key is None:
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials:
                key = credentials
        elif name == b"if-none-match":
            match = value.decode("latin-1")
        elif name == b"accept" and b"text/csv" in value:
            csv = True
    return key, match, csv


class ForecastFastPath:
    """ASGI middleware answering the plain single-SKU forecast fetch (see the module docstring)."""

    def __init__(self, app: Any, state: Any) -> None:
        self.app = app
        self.state = state
        self._raw: Any = None  # one driver connection, used only on the event loop (one request at a time)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and not scope["query_string"]
            and scope["path"].startswith(PREFIX)
        ):
            sku = scope["path"][len(PREFIX) :]
            response = self._answer(scope, sku) if sku and "/" not in sku and "\x00" not in sku else None
            if response is not None:
                scope["route"] = ROUTE
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _drop(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            with contextlib.suppress(Exception):  # already gone
                raw.invalidate()

    def _answer(self, scope: dict[str, Any], sku: str) -> Any:
        from service.api.routes.forecasts import respond

        key, match, csv = _key(scope["headers"])
        if key is None or csv:
            return None
        verifier: KeyVerifier = self.state.keys
        if verifier.verify(key) is None:  # every role may read forecasts
            return None
        query = reads.ForecastQuery((sku,), limit=None)
        try:
            if self._raw is None:
                self._raw = self.state.engine.raw_connection()
            page = reads.fetch(self.state.engine, query, self._raw)
        except reads.NotPublished:
            return None
        except Exception:  # a broken connection, say: drop it; the routed handler answers this request properly
            self._drop()
            return None
        if not page.count:
            return None
        return respond(match, None, query, page, "")
