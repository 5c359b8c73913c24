"""Uploads of canonical tables over HTTP: receive the body with a size cap, pick the format, validate, upsert.

Public interface:

- `Upload`: a received body (a spooled temporary file) with its format and file name.
- `receive(request, max_bytes, fmt=None) -> Upload`: stream the body to a temporary file, 413 over `max_bytes`,
  415 for a content type that is not a table format; `multipart/form-data` takes the `file` field.
- `store(engine, table, upload) -> dict`: read, validate and upsert in one transaction (blocking: run it in a
  thread); `{table, rows, inserted, updated, unchanged, seconds}`.
- `UploadError`: a 4xx answer, with `errors` (row, column, value, reason) and `total` for rejected rows.

Row numbers count records from 1, the header not included (CSV line = row + 1), as `leanplan import` reports them.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import SpooledTemporaryFile
from typing import IO, Any

import pandas as pd
import psycopg
from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from pipelines.contracts import TABLE_ORDER, TABLES
from pipelines.ingest import SUFFIXES, DataValidationError, InputLimits, InputTooLarge, RowIssue, read_raw
from service.data_changes import Referenced, replace_table
from service.db.importer import ImportRejected, ImportReport, RawInput, import_frames

FORMATS = ("csv", "json", "parquet", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/json": "json",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    XLSX_TYPE: "xlsx",
}
OCTET = "application/octet-stream"
MULTIPART = "multipart/form-data"
ACCEPTED = (
    "text/csv, application/json, application/vnd.apache.parquet (or application/x-parquet), "
    f"{XLSX_TYPE}, application/octet-stream with ?format=csv|json|parquet|xlsx, "
    "or multipart/form-data with the file in a `file` field"
)
SPOOL_BYTES = 8 * 1024 * 1024  # bodies up to this size stay in memory, larger ones go to a temporary file


@dataclass
class UploadError(Exception):
    """A 4xx answer to an upload: `detail` says what was wrong and what to do."""

    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None
    total: int | None = None

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"detail": self.detail}
        if self.errors is not None:
            out["errors"] = self.errors
            out["total"] = self.total
        return out


@dataclass
class Upload:
    """A received upload: its bytes in `file`, its format and the name it was sent under."""

    file: IO[bytes]
    fmt: str
    filename: str
    size: int = 0
    extra: list[IO[bytes]] = field(default_factory=list)
    max_bytes: int = InputLimits.max_bytes  # the upload cap, which also bounds what the file may expand to
    delimiter: str | None = None  # a CSV's field delimiter (None: sniffed from the header)
    decimal: str | None = None  # a CSV's decimal mark (None: ',' after ';' delimiters, '.' otherwise)
    replace: str | None = None  # None: upsert; a `service.data_changes.SCOPES` scope: swap that part of the table
    key: Any = None  # the `KeyInfo` sending it (audited with a replace)

    def close(self) -> None:
        for f in (self.file, *self.extra):
            f.close()


def check_table(table: str) -> None:
    """404 unless `table` is a canonical table."""
    if table not in TABLES:
        raise UploadError(404, f"unknown table {table!r}; canonical tables are: {', '.join(TABLE_ORDER)}")


def too_large(max_bytes: int) -> UploadError:
    mb = max_bytes / (1024 * 1024)
    return UploadError(413, f"upload larger than the {mb:.3g} MB limit; split the file or compress it as Parquet")


def _media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def _check_format(fmt: str | None) -> None:
    if fmt is not None and fmt not in FORMATS:
        raise UploadError(415, f"format {fmt!r} is not supported; use one of {', '.join(FORMATS)}")


def body_format(content_type: str, fmt: str | None) -> str:
    """The table format of a raw body: `?format=` (with a table content type, octet-stream or none), else the type."""
    _check_format(fmt)
    if content_type in CONTENT_TYPES and fmt is None:
        return CONTENT_TYPES[content_type]
    if fmt is not None and (content_type in CONTENT_TYPES or content_type in ("", OCTET)):
        return fmt
    if content_type == OCTET:
        raise UploadError(415, f"{OCTET} needs ?format=csv|json|parquet|xlsx; accepted: {ACCEPTED}")
    shown = content_type or "none"
    raise UploadError(415, f"content type {shown!r} is not a table format; accepted: {ACCEPTED}")


def part_format(content_type: str, fmt: str | None, filename: str) -> str:
    """The table format of a multipart file: `?format=`, else the part's content type, else the name's suffix."""
    _check_format(fmt)
    if fmt is not None:
        return fmt
    if content_type in CONTENT_TYPES:
        return CONTENT_TYPES[content_type]
    by_name = SUFFIXES.get(Path(filename).suffix.lower())
    if by_name:
        return by_name
    raise UploadError(
        415,
        f"cannot tell the format of file {filename!r} (content type {content_type or 'none'!r}); name it "
        f"*.csv, *.json, *.parquet or *.xlsx, or add ?format=csv|json|parquet|xlsx",
    )


async def _capped(request: Request, max_bytes: int) -> AsyncGenerator[bytes, None]:
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise too_large(max_bytes)
            yield chunk
    except ClientDisconnect:
        raise UploadError(400, "the client disconnected before the upload was complete; send it again") from None


async def receive(request: Request, max_bytes: int, fmt: str | None = None) -> Upload:
    """The request's table file, streamed to a spooled temporary file (413 once it passes `max_bytes`)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise too_large(max_bytes)
    content_type = _media_type(request.headers.get("content-type"))
    if content_type == MULTIPART:
        return await _receive_multipart(request, max_bytes, fmt)
    fmt = body_format(content_type, fmt)
    spool: SpooledTemporaryFile[bytes] = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115  (closed by Upload)
    size = 0
    try:
        async for chunk in _capped(request, max_bytes):
            spool.write(chunk)
            size += len(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return Upload(spool, fmt, f"upload.{fmt}", size, max_bytes=max_bytes)


async def _receive_multipart(request: Request, max_bytes: int, fmt: str | None) -> Upload:
    parser = MultiPartParser(request.headers, _capped(request, max_bytes), max_files=1, max_fields=20)
    try:
        form = await parser.parse()
    except MultiPartException as err:
        raise UploadError(422, f"malformed multipart body: {err.message}; send one file in a `file` field") from None
    part = form.get("file")
    others: list[IO[bytes]] = [v.file for _, v in form.multi_items() if isinstance(v, UploadFile) and v is not part]
    if not isinstance(part, UploadFile):
        for f in others:
            f.close()
        raise UploadError(422, "multipart upload has no `file` field; send the table file as the `file` field")
    upload = Upload(part.file, "", part.filename or "", part.size or 0, others, max_bytes=max_bytes)
    try:
        upload.fmt = part_format(_media_type(part.content_type), fmt, part.filename or "")
    except UploadError:
        upload.close()
        raise
    return upload


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def _rejected(table: str, issues: list[RowIssue], total: int, status: int = 422) -> UploadError:
    errors = [{**issue.as_dict(), "value": _json_safe(issue.value)} for issue in issues]
    if total == 1 and issues and issues[0].row is None and issues[0].column is None:
        detail = f"{table} upload rejected: {issues[0].reason}; nothing was stored"
    else:
        detail = f"{total} problem{'s' if total != 1 else ''} in {table} upload; nothing was stored"
    return UploadError(status, detail, errors, total)


def _nul_check(table: str, upload: Upload, data: bytes, frame: pd.DataFrame) -> None:
    """Reject NUL characters: databases cannot store them in text."""
    if upload.fmt in ("csv", "json") and b"\x00" not in data and b"\\u0000" not in data:
        return
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object:
            continue
        bad = values.map(lambda v: isinstance(v, str) and "\x00" in v)
        if bad.any():
            row = int(bad.to_numpy().argmax()) + 1
            issue = RowIssue(row, str(column), None, "contains a NUL character (0x00); remove it")
            raise _rejected(table, [issue], int(bad.sum()))
    if upload.fmt == "csv":
        issue = RowIssue(None, None, None, "contains a NUL byte (0x00); save the file as UTF-8 text")
        raise _rejected(table, [issue], 1)


def store(engine: Engine, table: str, upload: Upload) -> dict[str, Any]:
    """Read, validate and upsert `upload` into `table` in one transaction; 422 (nothing stored) on bad input."""
    started = time.perf_counter()
    data = upload.file.read()
    if not data.strip():
        detail = f"{table} upload rejected: the body is empty; send the table's rows (e.g. a CSV with a header)"
        issue = RowIssue(None, None, None, "file is empty")
        raise UploadError(422, detail, [issue.as_dict()], 1)
    source = upload.filename or f"{table}.{upload.fmt}"
    try:
        raw = read_raw(
            Path(source),
            data=data,
            fmt=upload.fmt,
            table=table,
            limits=InputLimits(upload.max_bytes),
            delimiter=upload.delimiter,
            decimal=upload.decimal,
        )
        _nul_check(table, upload, data, raw)
        del data
        removed = None
        if upload.replace is None:
            report = import_frames(engine, [RawInput(table, raw, source)])
        else:
            result, removed = replace_table(engine, RawInput(table, raw, source), upload.replace, upload.key)
            report = ImportReport(results=[(source, result)])
    except ImportRejected as err:
        first = err.errors[0]
        raise _rejected(table, first.issues, first.total) from None
    except InputTooLarge as err:
        raise _rejected(table, err.issues, err.total, status=413) from None
    except Referenced as err:
        raise UploadError(409, str(err)) from None
    except DataValidationError as err:
        raise _rejected(table, err.issues, err.total) from None
    except OperationalError as err:
        if "database is locked" not in str(err.orig):
            raise
        raise UploadError(
            409,
            f"{table} upload waited too long for another write to finish (database is locked); nothing was "
            "stored, send it again",
        ) from None
    except (DataError, psycopg.DataError) as err:
        cause = err.orig if isinstance(err, DataError) else err
        reason = str(cause).splitlines()[0]
        raise UploadError(
            422, f"a value does not fit its database column in {table}: {reason}; nothing was stored"
        ) from None
    except IntegrityError as err:
        reason = str(err.orig).splitlines()[0] if err.orig else str(err)
        raise UploadError(
            409, f"{table} upload conflicts with stored data ({reason}); nothing was stored, send it again"
        ) from None
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as err:
        raise UploadError(
            422, f"cannot validate the {upload.fmt} upload for {table}: {err}; check its cells and send it again"
        ) from None
    _, result = report.results[0]
    return {
        "table": table,
        "rows": result.rows,
        "inserted": result.inserted,
        "updated": result.updated,
        "unchanged": result.unchanged,
        **({"removed": removed} if removed is not None else {}),
        "seconds": round(time.perf_counter() - started, 3),
    }
