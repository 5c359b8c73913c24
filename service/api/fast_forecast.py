"""The hottest request of the API, `GET /v1/forecasts/{sku}` with no query string (an ERP fetching one SKU), served
before FastAPI's routing and dependency injection — which cost more than the request's own work.

Only the plain success is answered here, with exactly the routed handler's bytes and headers (the same reads,
ETag and serialisation: `service.api.routes.forecasts.respond`). Anything else — a query string, CSV, a missing,
unknown or revoked key, an unknown SKU, nothing published — falls through to the routed handler, which defines the
behaviour and its errors.

A published forecast set never changes, so its pages are kept in memory; which set is published is looked up at
most every `LEANPLAN_FORECAST_CACHE_SECONDS` (default 1 s: a newly published model reaches this path within that
time; 0 turns the cache off).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from service import forecast_reads as reads
from service.api.routes.forecasts import respond
from service.auth import KeyVerifier

PREFIX = "/v1/forecasts/"
MAX_CACHED = 50_000  # SKU pages kept in memory (a few MB)


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
        self.ttl: float = state.settings.forecast_cache_seconds
        self._raw: Any = None  # one driver connection, used only on the event loop (one request at a time)
        self._version: str | None = None
        self._checked = -float("inf")
        self._pages: dict[str, reads.Page] = {}  # pages of `_version` (a published set never changes)

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

    def _connect(self) -> Any:
        """A driver connection of our own, in autocommit: a read is one round trip (no BEGIN, no ROLLBACK)."""
        raw = self.state.engine.raw_connection()
        driver = raw.driver_connection
        if hasattr(driver, "autocommit"):  # psycopg; SQLite connections run without implicit transactions already
            driver.autocommit = True
        return raw

    def _drop(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            with contextlib.suppress(Exception):  # already gone
                raw.invalidate()

    def _answer(self, scope: dict[str, Any], sku: str) -> Any:
        key, match, csv = _key(scope["headers"])
        if key is None or csv:
            return None
        verifier: KeyVerifier = self.state.keys
        if verifier.verify(key) is None:  # every role may read forecasts
            return None
        query = reads.ForecastQuery((sku,), limit=None)
        try:
            if self._raw is None:
                self._raw = self._connect()
            page = self._cached(sku)
            if page is None:
                page = reads.fetch(self.state.engine, query, self._raw)
                self._keep(sku, page)
        except reads.NotPublished:
            return None
        except Exception:  # a broken connection, say: drop it; the routed handler answers this request properly
            self._drop()
            return None
        if not page.count:
            return None
        return respond(match, None, query, page, "")

    def _cached(self, sku: str) -> reads.Page | None:
        """The page of `sku` in the published set, if it is in memory; the published version is looked up again
        when the last look-up is older than `ttl` seconds (and the pages of a replaced version are dropped)."""
        if self.ttl <= 0:
            return None
        now = time.monotonic()
        if now - self._checked > self.ttl:
            cursor = self._raw.cursor()
            cursor.execute("SELECT model_version FROM forecast_sets WHERE status = 'published'")
            row = cursor.fetchone()
            cursor.close()
            version = row[0] if row else None
            if version != self._version:
                self._pages.clear()
                self._version = version
            self._checked = now
        return self._pages.get(sku)

    def _keep(self, sku: str, page: reads.Page) -> None:
        if self.ttl <= 0 or page.model_version != self._version or not page.count:
            return
        if len(self._pages) >= MAX_CACHED:
            self._pages.clear()
        self._pages[sku] = page
