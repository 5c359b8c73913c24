"""Reads of the published forecast set for the HTTP API, built for the hot path.

JSON: one SQL query per request, the forecast rows LEFT JOINed to the published set, so the same query tells
"nothing is published" (no row), "published, nothing matches" (one row without forecast columns) and the rows
themselves, in primary-key order. Rows become JSON bytes with orjson: no models in between.

CSV (the bulk export): the published version and its quantile names first (a one-row query), then the rows of
that version in primary-key order, the database writing the start of each line (`sku,date,horizon,mean`) and one
orjson pass parsing every row's quantiles: no per-row objects beyond the lines. `stream_csv` writes every row of
a query (no page size) in chunks of `CSV_CHUNK_ROWS` rows read through a streaming cursor: constant memory however
many rows the set holds.

Pages are keyed by an opaque cursor holding (model version, sku, date) of the last row; a cursor from an older
published version is refused, so a walk never mixes two versions. Every row carries its model version.

Public interface: `ForecastQuery`, `Page`, `CsvPage`, `NotPublished`, `BadQuery`, `StaleCursor`,
`CsvStream`, `parse_quantiles`, `split_skus`, `decode_cursor`, `fetch`, `fetch_csv`, `stream_csv`, `sku_exists`,
`to_json`, `etag`, `etag_matches`, `DEFAULT_LIMIT`, `MAX_LIMIT`, `CSV_CHUNK_ROWS`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Date,
    Engine,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement

from service.db.tables import Forecast, ForecastSet, Item
from service.spreadsheet_safety import sql_text

DEFAULT_LIMIT = 1_000
MAX_LIMIT = 50_000
MAX_SKUS = 10_000
NOT_PUBLISHED = "no forecast is published yet; train a model with POST /v1/training-runs"

_F = Forecast.__table__
_S = ForecastSet.__table__
# Dates and quantiles are read as the driver returns them (text on SQLite; a date on Postgres) and decoded by
# orjson: SQLAlchemy's per-row JSON and date processors would cost more than the query itself.
_COLUMNS = (
    _S.c.model_version,
    _F.c.sku,
    type_coerce(_F.c.date, String).label("date"),
    _F.c.horizon,
    _F.c.mean,
    cast(_F.c.quantiles, Text).label("quantiles"),
)

#: sku, date (text or date), horizon, mean, quantiles {"q0.1": …}
Record = tuple[str, Any, int, float, dict[str, float | None]]


class NotPublished(LookupError):
    """No forecast set is published."""


class BadQuery(ValueError):
    """A request parameter that cannot be answered (the message says which and what to do)."""


class StaleCursor(ValueError):
    """A cursor of a forecast version that is no longer the published one."""


@dataclass(frozen=True, slots=True)
class Cursor:
    version: str
    sku: str
    date: dt.date


@dataclass(frozen=True, slots=True)
class ForecastQuery:
    """What to read: SKUs (empty: all), a date range, quantile columns (None: all), `since` a model version the
    caller already has, a cursor and a page size (None: no limit)."""

    skus: tuple[str, ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None
    quantiles: tuple[str, ...] | None = None
    since: str | None = None
    cursor: Cursor | None = None
    limit: int | None = DEFAULT_LIMIT

    def key(self) -> str:
        """A canonical text of the query (for ETags; separators that SKUs do not hold)."""
        c = self.cursor
        return "\x1e".join(
            (
                "\x1f".join(self.skus),
                str(self.start),
                str(self.end),
                "*" if self.quantiles is None else ",".join(self.quantiles),
                self.since or "",
                f"{c.version}\x1f{c.sku}\x1f{c.date}" if c else "",
                str(self.limit),
            )
        )


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the published set: its version, the quantile columns, the rows and the next page's cursor."""

    model_version: str
    quantiles: tuple[str, ...]
    rows: list[Record]
    next_cursor: str | None
    unchanged: bool = False

    @property
    def count(self) -> int:
        return len(self.rows)


def parse_quantiles(values: Sequence[str]) -> tuple[str, ...]:
    """`["0.1,0.5", "q0.9"]` → `("q0.1", "q0.5", "q0.9")` (order kept, duplicates dropped)."""
    names: dict[str, None] = {}
    for value in values:
        for part in value.split(","):
            text = part.strip()
            if not text:
                continue
            try:
                level = float(text[1:] if text[:1] in "qQ" else text)
            except ValueError:
                raise BadQuery(f"quantile {text!r} is not a number; write levels like quantiles=0.1,0.5,0.9") from None
            if not 0.0 < level < 1.0:
                raise BadQuery(f"quantile {text!r} is outside (0, 1); write levels like quantiles=0.1,0.5,0.9")
            names[f"q{level:g}"] = None
    return tuple(names)


def split_skus(values: Sequence[str]) -> tuple[str, ...]:
    """SKUs from repeated and comma-separated `sku` parameters (order kept, duplicates dropped)."""
    if len(values) == 1 and "," not in values[0]:
        return (values[0].strip(),) if values[0].strip() else ()
    skus = tuple(dict.fromkeys(s.strip() for v in values for s in v.split(",") if s.strip()))
    if len(skus) > MAX_SKUS:
        raise BadQuery(f"{len(skus)} SKUs in one request; ask for at most {MAX_SKUS}, or leave sku out to get all")
    return skus


def encode_cursor(version: str, sku: str, date: Any) -> str:
    raw = orjson.dumps([version, sku, str(date)[:10]])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(text: str) -> Cursor:
    """The cursor of a `next_cursor` (BadQuery when it is not one)."""
    try:
        version, sku, date = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        return Cursor(str(version), str(sku), dt.date.fromisoformat(date))
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError):
        raise BadQuery("cursor is not valid; pass the next_cursor of the previous page unchanged") from None


def _row_filters(skus: int, start: bool, end: bool, cursor: bool) -> list[ColumnElement[bool]]:
    """Conditions on forecast rows for one request shape, with bound parameters `sku`/`skus`, `start`, `end`,
    `after_sku`/`after_date` (the names `_params` fills)."""
    conditions: list[ColumnElement[bool]] = []
    if skus == 1:
        conditions.append(_F.c.sku == bindparam("sku", type_=String))
    elif skus > 1:
        conditions.append(_F.c.sku.in_(bindparam("skus", expanding=True, type_=String)))
    if start:
        conditions.append(_F.c.date >= bindparam("start", type_=Date))
    if end:
        conditions.append(_F.c.date <= bindparam("end", type_=Date))
    if cursor:
        after = tuple_(bindparam("after_sku", type_=String), bindparam("after_date", type_=Date))
        conditions.append(tuple_(_F.c.sku, _F.c.date) > after)
    return conditions


@functools.lru_cache(maxsize=128)
def _statement(skus: int, start: bool, end: bool, since: bool, cursor: bool, limit: bool) -> Any:
    """The query of one shape of request (SKU count 0, 1 or many; which filters), with bound parameters: built and
    compiled once per shape, so a request only binds values."""
    on = [_F.c.model_version == _S.c.model_version, *_row_filters(skus, start, end, cursor)]
    if since:
        on.append(_S.c.model_version != bindparam("since", type_=String))
    stmt = (
        select(*_COLUMNS)
        .select_from(_S.outerjoin(_F, and_(*on)))
        .where(_S.c.status == "published")
        # the version first: the primary key's order, so the database walks the index instead of sorting
        .order_by(_S.c.model_version, _F.c.sku, _F.c.date)
    )
    return stmt.limit(bindparam("limit", type_=Integer)) if limit else stmt


def _params(query: ForecastQuery) -> dict[str, Any]:
    """The bound values of `query` (names as in the statements)."""
    n = len(query.skus)
    params: dict[str, Any] = {}
    if n == 1:
        params["sku"] = query.skus[0]
    elif n > 1:
        params["skus"] = list(query.skus)
    if query.start is not None:
        params["start"] = query.start
    if query.end is not None:
        params["end"] = query.end
    if query.since is not None:
        params["since"] = query.since
    if query.cursor is not None:
        params["after_sku"], params["after_date"] = query.cursor.sku, query.cursor.date
    if query.limit is not None:
        params["limit"] = query.limit + 1
    return params


def _bound(query: ForecastQuery) -> tuple[Any, dict[str, Any]]:
    p = _params(query)
    shape = (min(len(query.skus), 2), "start" in p, "end" in p, "since" in p, "after_sku" in p, "limit" in p)
    return _statement(*shape), p


@functools.lru_cache(maxsize=64)
def _compiled(dialect: Dialect, skus: int, since: bool, limit: bool) -> tuple[str, tuple[str, ...] | None, Any]:
    """SQL text for the driver, the positional order of its parameters (None: named) and the compiled form."""
    compiled = _statement(skus, False, False, since, False, limit).compile(dialect=dialect)
    order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
    return compiled.string, order, compiled


def _rows(engine: Engine, query: ForecastQuery, raw: Any = None) -> Sequence[Any]:
    """The rows of `query`. Without dates to bind (no value conversion needed), the SQL compiled once runs on the
    driver directly: a third of the cost of a SQLAlchemy execution, on the path of every single-SKU fetch. `raw`: a
    driver connection to use (and end the transaction of) instead of one from the pool."""
    if query.start is None and query.end is None and query.cursor is None and len(query.skus) <= 1:
        p = _params(query)
        sql, order, compiled = _compiled(engine.dialect, len(query.skus), "since" in p, "limit" in p)
        values = compiled.construct_params(p)
        own = raw is None
        connection = engine.raw_connection() if own else raw
        try:
            cursor = connection.cursor()
            cursor.execute(sql, [values[name] for name in order] if order else values)
            rows: Sequence[Any] = cursor.fetchall()
            cursor.close()
            return rows
        finally:
            if own:
                connection.close()
            else:
                connection.rollback()
    with engine.connect() as conn:
        return conn.execute(*_bound(query)).all()


def _quantiles(raw: str) -> Any:
    """Parsed JSON of quantiles (orjson; Python's json for the NaN it may have written)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def fetch(engine: Engine, query: ForecastQuery, raw: Any = None) -> Page:
    """The page of the published set answering `query` (NotPublished, BadQuery for unknown quantiles,
    StaleCursor when the cursor's version is no longer published); `raw` as for `_rows`."""
    result = _rows(engine, query, raw)
    if not result:
        raise NotPublished(NOT_PUBLISHED)
    version = result[0][0]
    if query.cursor is not None and query.cursor.version != version:
        raise StaleCursor(_stale(query.cursor.version, version))
    if result[0][1] is None:  # published, but nothing matches (or the caller has this version already)
        columns = _columns(query.quantiles, _available(engine, version))
        return Page(version, columns, [], None, unchanged=query.since == version)
    rows: list[Record] = [(r[1], r[2], r[3], r[4], _quantiles(r[5])) for r in result]
    columns = _columns(query.quantiles, tuple(rows[0][4]))
    next_cursor = None
    if query.limit is not None and len(rows) > query.limit:
        del rows[query.limit :]
        last = rows[-1]
        next_cursor = encode_cursor(version, last[0], last[1])
    return Page(version, columns, rows, next_cursor)


def _available(engine: Engine, version: str) -> tuple[str, ...]:
    with engine.connect() as conn:
        raw = conn.execute(
            select(cast(_F.c.quantiles, Text)).where(_F.c.model_version == version).limit(1)
        ).scalar_one_or_none()
    return tuple(_quantiles(raw)) if raw else ()


def _columns(requested: tuple[str, ...] | None, available: tuple[str, ...]) -> tuple[str, ...]:
    ordered = tuple(sorted(available, key=lambda c: float(c[1:])))
    if requested is None:
        return ordered
    unknown = [c for c in requested if c not in available]
    if unknown:
        listed = ", ".join(c[1:] for c in ordered) or "none"
        raise BadQuery(
            f"quantile{'s' if len(unknown) > 1 else ''} {', '.join(c[1:] for c in unknown)} not in the published "
            f"forecast; available: {listed}"
        )
    return requested


@dataclass(frozen=True, slots=True)
class CsvPage:
    """One CSV page: the version, the body (header included) and the next page's cursor."""

    model_version: str
    body: bytes
    next_cursor: str | None
    count: int
    unchanged: bool = False


_PUBLISHED = (
    select(_S.c.model_version, cast(_F.c.quantiles, Text))
    .select_from(_S.outerjoin(_F, _F.c.model_version == _S.c.model_version))
    .where(_S.c.status == "published")
    .limit(1)
)


def _published(conn: Connection) -> tuple[str, tuple[str, ...]]:
    """The published version and its quantile columns (NotPublished when there is none)."""
    row = conn.execute(_PUBLISHED).first()
    if row is None:
        raise NotPublished(NOT_PUBLISHED)
    return row[0], tuple(_quantiles(row[1])) if row[1] else ()


def _csv_text(column: Any) -> Any:
    """A text column as a CSV field: quoted (inner quotes doubled) when it holds a comma, quote or line break."""
    column = sql_text(column)
    special = or_(*(column.contains(c, autoescape=True) for c in (",", '"', "\n", "\r")))
    return case((special, literal('"') + func.replace(column, '"', '""') + '"'), else_=column)


@functools.lru_cache(maxsize=128)
def _csv_statement(skus: int, start: bool, end: bool, cursor: bool, limit: bool) -> Any:
    """Per row: its key, the line's start `sku,date,horizon,mean` built by the database, and the quantiles' JSON
    (extracting each level in SQL re-parses the JSON per level: slower than one orjson pass here)."""
    line = _csv_text(_F.c.sku) + "," + cast(_F.c.date, String) + "," + cast(_F.c.horizon, String)
    line = line + "," + cast(_F.c.mean, String)
    where = [_F.c.model_version == bindparam("version", type_=String), *_row_filters(skus, start, end, cursor)]
    columns = (_F.c.sku, type_coerce(_F.c.date, String), line, cast(_F.c.quantiles, Text))
    stmt = select(*columns).where(*where).order_by(_F.c.sku, _F.c.date)
    return stmt.limit(bindparam("limit", type_=Integer)) if limit else stmt


def _csv_field(text: str) -> str:
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\r\n') else text


def fetch_csv(engine: Engine, query: ForecastQuery) -> CsvPage:
    """The CSV page of the published set answering `query` (the same errors as `fetch`)."""
    with engine.connect() as conn:
        version, available = _published(conn)
        if query.cursor is not None and query.cursor.version != version:
            raise StaleCursor(_stale(query.cursor.version, version))
        columns = _columns(query.quantiles, available)
        header = ",".join(("sku", "date", "horizon", "mean", *columns, "model_version")) + "\n"
        if query.since == version:
            return CsvPage(version, header.encode(), None, 0, unchanged=True)
        p = _params(query)
        p.pop("since", None)
        p["version"] = version
        shape = (min(len(query.skus), 2), "start" in p, "end" in p, "after_sku" in p, "limit" in p)
        result: Sequence[Any] = conn.execute(_csv_statement(*shape), p).all()
    next_cursor = None
    if query.limit is not None and len(result) > query.limit:
        result = result[: query.limit]
        next_cursor = encode_cursor(version, result[-1][0], result[-1][1])
    if not result:
        return CsvPage(version, header.encode(), None, 0)
    return CsvPage(version, (header + _csv_lines(result, columns, version)).encode(), next_cursor, len(result))


def _csv_lines(result: Sequence[Any], columns: tuple[str, ...], version: str) -> str:
    """The CSV lines of rows of `_csv_statement` (each ending with the version and a line break)."""
    lines = [r[2] for r in result]
    if columns:
        values: list[dict[str, Any]] = _quantiles("[" + ",".join([r[3] for r in result]) + "]")
        lines = [
            f"{line},{','.join(['' if (v := q.get(c)) is None else str(v) for c in columns])}"
            for line, q in zip(lines, values, strict=True)
        ]
    suffix = f",{_csv_field(version)}\n"
    return suffix.join(lines) + suffix


CSV_CHUNK_ROWS = 5_000  # rows per chunk of a streamed CSV export


@dataclass(frozen=True, slots=True)
class CsvStream:
    """Every row of a query as CSV: the version and the body's chunks (header first), read as they are sent."""

    model_version: str
    chunks: Iterator[bytes]
    unchanged: bool = False


def stream_csv(engine: Engine, query: ForecastQuery, chunk_rows: int = CSV_CHUNK_ROWS) -> CsvStream:
    """Every row of the published set answering `query` (its page size and cursor ignored) as CSV chunks of
    `chunk_rows` rows; `NotPublished` and `BadQuery` are raised here, before any chunk is read."""
    with engine.connect() as conn:
        version, available = _published(conn)
    columns = _columns(query.quantiles, available)
    header = ",".join(("sku", "date", "horizon", "mean", *columns, "model_version")) + "\n"
    if query.since == version:
        return CsvStream(version, iter([header.encode()]), unchanged=True)
    whole = replace(query, cursor=None, limit=None, since=None)
    return CsvStream(version, _csv_chunks(engine, whole, version, columns, header, chunk_rows))


def _csv_chunks(
    engine: Engine, query: ForecastQuery, version: str, columns: tuple[str, ...], header: str, chunk_rows: int
) -> Iterator[bytes]:
    yield header.encode()
    p = _params(query)
    p["version"] = version
    shape = (min(len(query.skus), 2), "start" in p, "end" in p, False, False)
    with engine.connect().execution_options(stream_results=True, max_row_buffer=chunk_rows) as conn:
        for part in conn.execute(_csv_statement(*shape), p).partitions(chunk_rows):
            yield _csv_lines(part, columns, version).encode()


def _stale(old: str, new: str) -> str:
    return f"the published forecast changed from model version {old} to {new} while paging; fetch again without cursor"


def sku_exists(engine: Engine, sku: str) -> bool:
    """True when `sku` is a known item."""
    with engine.connect() as conn:
        return conn.execute(select(Item.sku).where(Item.sku == sku)).first() is not None


def to_json(page: Page) -> bytes:
    """`{"model_version", "quantiles", "count", "next_cursor", "rows": [{sku, date, horizon, mean, q…,
    model_version}]}`."""
    version, columns = page.model_version, page.quantiles
    rows = []
    for sku, date, horizon, mean, q in page.rows:
        row: dict[str, Any] = {"sku": sku, "date": date, "horizon": horizon, "mean": mean}
        for c in columns:
            row[c] = q.get(c)
        row["model_version"] = version
        rows.append(row)
    body = {
        "model_version": version,
        "quantiles": [float(c[1:]) for c in columns],
        "count": len(rows),
        "next_cursor": page.next_cursor,
        "rows": rows,
    }
    return orjson.dumps(body)


def etag(version: str, query: ForecastQuery, variant: str) -> str:
    """A strong ETag: published sets never change, so the version and the query identify the body."""
    digest = hashlib.blake2b(f"{version}\x00{variant}\x00{query.key()}".encode(), digest_size=12).hexdigest()
    return f'"{digest}"'


def etag_matches(header: str | None, tag: str) -> bool:
    """True when an `If-None-Match` header names `tag` (or is `*`)."""
    if not header:
        return False
    for part in header.split(","):
        candidate = part.strip()
        if candidate == "*" or candidate.removeprefix("W/") == tag:
            return True
    return False
