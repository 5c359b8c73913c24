"""`POST /v1/data/{table}`: every format, idempotent upserts, and a corpus of bad uploads that store nothing."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from pipelines.contracts import TABLE_ORDER
from service.auth import create_key
from service.db.importer import RawInput, import_frames
from service.main import create_app
from service.uploads import ACCEPTED
from tests.factories import BadCase, bad_cases, valid_tables
from tests.service.api.conftest import auth, settings_for

TABLES_LIST = ", ".join(TABLE_ORDER)
CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SEND_ROWS = "send the table's rows (e.g. a CSV with a header)"
INJECTION = "'; DROP TABLE items;--"
SCRIPT = "<script>alert(1)</script>"
FORMULA = "=cmd|' /C calc'!A0"


def csv_of(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def parquet_of(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def snapshot(engine: Engine) -> dict[str, str]:
    """A hash of every canonical table's sorted rows: equal snapshots mean nothing changed."""
    with engine.connect() as conn:
        return {
            t: hashlib.sha256(repr(sorted(map(tuple, conn.execute(text(f'SELECT * FROM "{t}"'))))).encode()).hexdigest()
            for t in TABLE_ORDER
        }


def post(client: TestClient, key: str, table: str, body: Any, content_type: str = CSV, **kwargs: Any) -> Any:
    headers = {**auth(key), "Content-Type": content_type}
    return client.post(f"/v1/data/{quote(table, safe='')}", content=body, headers=headers, **kwargs)


# --- the bad-upload corpus: one database per module, loaded with valid tables, never changed -------------------


@dataclass
class Corpus:
    client: TestClient
    engine: Engine
    key: str
    before: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def corpus(module_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    import_frames(module_engine, [RawInput(t, f, f"{t}.csv") for t, f in valid_tables().items()])
    settings = settings_for(module_engine, tmp_path_factory.mktemp("home"), max_upload_mb=0.05)
    key = create_key(module_engine, "erp", "corpus")[1]
    with TestClient(create_app(settings, module_engine), raise_server_exceptions=False) as client:
        yield Corpus(client, module_engine, key, snapshot(module_engine))


def problems_detail(table: str, total: int) -> str:
    return f"{total} problem{'s' if total != 1 else ''} in {table} upload; nothing was stored"


@pytest.mark.parametrize("case", bad_cases(), ids=repr)
def test_bad_file_is_rejected_and_nothing_stored(case: BadCase, corpus: Corpus) -> None:
    response = post(corpus.client, corpus.key, case.table, case.csv_bytes())
    assert response.status_code == 422, response.text
    body = response.json()
    row, column, reason = case.expect
    assert any(e["row"] == row and e["column"] == column and reason in e["reason"] for e in body["errors"])
    first = body["errors"][0]
    if body["total"] == 1 and first["row"] is None and first["column"] is None:
        expected = _rejected(case.table, first["reason"])
        if case.name == "empty-file":
            expected = f"{case.table} upload rejected: the body is empty; {SEND_ROWS}"
        assert body["detail"] == expected
    else:
        assert body["detail"] == problems_detail(case.table, body["total"])
    assert snapshot(corpus.engine) == corpus.before


def items_with(column: str, value: str) -> bytes:
    frame = valid_tables()["items"]
    frame.loc[0, column] = value
    return csv_of(frame)


def demand_with(column: str, value: str) -> bytes:
    frame = valid_tables()["demand"]
    frame.loc[0, column] = value
    return csv_of(frame)


@dataclass
class Bad:
    """An HTTP-level bad upload: what is sent and the exact answer expected."""

    name: str
    table: str
    body: Any
    status: int
    detail: str
    content_type: str = CSV
    params: dict[str, str] | None = None
    first_error: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return self.name


def _rejected(table: str, reason: str) -> str:
    return f"{table} upload rejected: {reason}; nothing was stored"


def _chunks(total: int) -> Iterator[bytes]:
    for _ in range(total // 1000):
        yield b"x" * 1000


UNKNOWN_TABLE = "unknown table {!r}; canonical tables are: " + TABLES_LIST
TOO_LARGE = "upload larger than the 0.05 MB limit; split the file or compress it as Parquet"
NOT_UTF8 = "not UTF-8 text: byte 0x89 at line 1 (offset 0); save the file as UTF-8"
EXPECTED_RECORDS = 'cannot read as json: expected a list of records [{"column": value, …}] or {"rows": [...]}'
HTTP_CASES = [
    Bad("injection-table-name", INJECTION, b"sku\nA-1\n", 404, UNKNOWN_TABLE.format(INJECTION)),
    Bad("script-table-name", "<script>", b"sku\nA-1\n", 404, UNKNOWN_TABLE.format("<script>")),
    Bad(
        "formula-in-number",
        "items",
        items_with("unit_cost", FORMULA),
        422,
        problems_detail("items", 1),
        first_error={"row": 1, "column": "unit_cost", "value": FORMULA, "reason": "is not a number"},
    ),
    Bad(
        "injection-as-unknown-sku",
        "demand",
        demand_with("sku", INJECTION),
        422,
        problems_detail("demand", 1),
        first_error={
            "row": 1,
            "column": "sku",
            "value": INJECTION,
            "reason": "unknown sku: not in items; load it into items first",
        },
    ),
    Bad(
        "script-as-date",
        "demand",
        demand_with("date", SCRIPT),
        422,
        problems_detail("demand", 1),
        first_error={"row": 1, "column": "date", "value": SCRIPT, "reason": "is not a date (use ISO 8601: YYYY-MM-DD)"},
    ),
    Bad(
        "unclosed-quote",
        "items",
        b'sku,unit_cost\n"A-1,1\nA-2,2\n',
        422,
        _rejected("items", "malformed CSV: Error tokenizing data. C error: EOF inside string starting at row 1"),
    ),
    Bad("binary-garbage", "items", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), 422, _rejected("items", NOT_UTF8)),
    Bad(
        "nul-byte",
        "items",
        b"sku,unit_cost\nA-\x001,1\n",
        422,
        _rejected("items", "contains a NUL byte (0x00); save the file as UTF-8 text"),
    ),
    Bad(
        "csv-claimed-as-parquet",
        "items",
        b"sku,unit_cost\nA-1,1\n",
        422,
        _rejected(
            "items",
            "cannot read as parquet: Could not open Parquet input source '<Buffer>': Parquet magic bytes not found "
            "in footer. Either the file is corrupted or this is not a parquet file.",
        ),
        content_type=PARQUET,
    ),
    Bad(
        "malformed-json",
        "items",
        b'[{"sku": "A-1", "unit_cost": 1',
        422,
        _rejected("items", "cannot read as json: Expecting ',' delimiter: line 1 column 31 (char 30)"),
        content_type="application/json",
    ),
    Bad("json-scalar", "items", b'"A-1"', 422, _rejected("items", EXPECTED_RECORDS), content_type="application/json"),
    Bad(
        "json-negative-qty",
        "demand",
        json.dumps([{"sku": "A-1", "date": "2024-01-01", "qty": -1}]).encode(),
        422,
        problems_detail("demand", 1),
        content_type="application/json",
        first_error={"row": 1, "column": "qty", "value": -1, "reason": "must be >= 0"},
    ),
    Bad(
        "json-nested-value",
        "items",
        json.dumps([{"sku": "A-9", "unit_cost": [1, 2]}]).encode(),
        422,
        problems_detail("items", 1),
        content_type="application/json",
        first_error={"row": 1, "column": "unit_cost", "value": "[1, 2]", "reason": "is not a number"},
    ),
    Bad(
        "parquet-infinity",
        "items",
        parquet_of(pd.DataFrame({"sku": ["P-1"], "unit_cost": [float("inf")]})),
        422,
        problems_detail("items", 1),
        content_type=PARQUET,
        first_error={"row": 1, "column": "unit_cost", "value": "inf", "reason": "must be finite"},
    ),
    Bad(
        "xlsx-garbage",
        "items",
        bytes(range(256)),
        422,
        _rejected(
            "items", "cannot read as xlsx: Excel file format cannot be determined, you must specify an engine manually."
        ),
        content_type=XLSX,
    ),
    Bad(
        "whitespace-only",
        "items",
        b"  \r\n",
        422,
        f"items upload rejected: the body is empty; {SEND_ROWS}",
    ),
    Bad("huge-with-length", "demand", b"x" * 60_000, 413, TOO_LARGE),
    Bad("huge-streamed", "demand", "stream", 413, TOO_LARGE),
    Bad(
        "html",
        "items",
        b"<html></html>",
        415,
        f"content type 'text/html' is not a table format; accepted: {ACCEPTED}",
        content_type="text/html",
    ),
    Bad(
        "octet-stream-without-format",
        "items",
        b"sku\nA-1\n",
        415,
        f"application/octet-stream needs ?format=csv|json|parquet|xlsx; accepted: {ACCEPTED}",
        content_type="application/octet-stream",
    ),
    Bad(
        "multipart-without-file",
        "items",
        b'--b\r\nContent-Disposition: form-data; name="other"\r\n\r\nsku\r\n--b--\r\n',
        422,
        "multipart upload has no `file` field; send the table file as the `file` field",
        content_type="multipart/form-data; boundary=b",
    ),
    Bad(
        "multipart-without-boundary",
        "items",
        b"sku\nA-1\n",
        422,
        "malformed multipart body: Missing boundary in multipart.; send one file in a `file` field",
        content_type="multipart/form-data",
    ),
    Bad(
        "multipart-unknown-file-type",
        "items",
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="items.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nsku\r\n--b--\r\n",
        415,
        "cannot tell the format of file 'items.txt' (content type 'text/plain'); name it *.csv, *.json, *.parquet "
        "or *.xlsx, or add ?format=csv|json|parquet|xlsx",
        content_type="multipart/form-data; boundary=b",
    ),
]


@pytest.mark.parametrize("case", HTTP_CASES, ids=repr)
def test_bad_upload_answers_4xx_and_stores_nothing(case: Bad, corpus: Corpus) -> None:
    body = _chunks(60_000) if case.body == "stream" else case.body
    response = post(corpus.client, corpus.key, case.table, body, case.content_type, params=case.params)
    assert response.status_code == case.status, response.text
    assert response.json()["detail"] == case.detail
    if case.first_error is not None:
        assert response.json()["errors"][0] == case.first_error
    assert snapshot(corpus.engine) == corpus.before


def test_bad_format_parameter_is_a_validation_error(corpus: Corpus) -> None:
    response = post(corpus.client, corpus.key, "items", b"sku\n", "application/octet-stream", params={"format": "x"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "format"]


def test_upload_needs_a_key(corpus: Corpus) -> None:
    response = corpus.client.post("/v1/data/items", content=b"sku,unit_cost\nZ-1,1\n", headers={"Content-Type": CSV})
    assert response.status_code == 401
    assert response.json()["detail"].startswith("missing or invalid API key")
    assert snapshot(corpus.engine) == corpus.before


# --- successful uploads: a fresh database per test ---------------------------------------------------------------


def rows_of(engine: Engine, table: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return sorted(map(tuple, conn.execute(text(f'SELECT * FROM "{table}"'))))


def counts(response: Any) -> tuple[int, int, int, int]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["table"] and body["seconds"] >= 0
    return body["rows"], body["inserted"], body["updated"], body["unchanged"]


def test_every_table_uploads_and_a_second_upload_changes_nothing(
    client: TestClient, keys: dict[str, str], engine: Engine
) -> None:
    tables = valid_tables()
    for name in TABLE_ORDER:
        n = len(tables[name])
        assert counts(post(client, keys["erp"], name, csv_of(tables[name]))) == (n, n, 0, 0)
    before = snapshot(engine)
    for name in TABLE_ORDER:
        n = len(tables[name])
        assert counts(post(client, keys["erp"], name, csv_of(tables[name]))) == (n, 0, 0, n)
    assert snapshot(engine) == before


def test_changed_values_are_reported_as_updated(client: TestClient, keys: dict[str, str], engine: Engine) -> None:
    tables = valid_tables()
    post(client, keys["admin"], "items", csv_of(tables["items"]))
    assert counts(post(client, keys["planner"], "demand", csv_of(tables["demand"]))) == (4, 4, 0, 0)
    demand = tables["demand"]
    demand.loc[0, "qty"] = "99"
    demand = pd.concat([demand, pd.DataFrame({"sku": ["A-2"], "date": ["2024-02-01"], "qty": ["1"]})])
    assert counts(post(client, keys["erp"], "demand", csv_of(demand))) == (5, 1, 1, 3)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT qty FROM demand WHERE sku='A-1' AND date='2024-01-01'")).scalar() == 99.0


def test_every_format_stores_the_same_rows(client: TestClient, keys: dict[str, str], engine: Engine) -> None:
    items = valid_tables()["items"]
    post(client, keys["erp"], "items", csv_of(items))
    expected = rows_of(engine, "items")
    records = json.loads(items.to_json(orient="records"))
    xlsx = io.BytesIO()
    items.to_excel(xlsx, index=False)
    variants: list[tuple[str, bytes, str, dict[str, str] | None]] = [
        ("json list", json.dumps(records).encode(), "application/json", None),
        ("json rows", json.dumps({"rows": records}).encode(), "application/json; charset=utf-8", None),
        ("parquet", parquet_of(items), PARQUET, None),
        ("x-parquet", parquet_of(items), "application/x-parquet", None),
        ("octet parquet", parquet_of(items), "application/octet-stream", {"format": "parquet"}),
        ("xlsx", xlsx.getvalue(), XLSX, None),
        ("csv; charset", csv_of(items), "text/csv; charset=utf-8", None),
    ]
    for name, body, content_type, params in variants:
        assert counts(post(client, keys["erp"], "items", body, content_type, params=params)) == (3, 0, 0, 3), name
    for filename, part_type in [("items.csv", "application/vnd.ms-excel"), ("items.parquet", "")]:
        body = csv_of(items) if filename.endswith(".csv") else parquet_of(items)
        files = {"file": (filename, body, part_type or "application/octet-stream")}
        response = client.post("/v1/data/items", files=files, headers=auth(keys["erp"]))
        assert counts(response) == (3, 0, 0, 3), filename
    assert rows_of(engine, "items") == expected


def test_wide_demand_is_stored_long(client: TestClient, keys: dict[str, str], engine: Engine) -> None:
    post(client, keys["erp"], "items", csv_of(valid_tables()["items"]))
    wide = b"sku,2024-01-01,2024-02-01\nA-1,3,0\nA-2,12,\n"
    assert counts(post(client, keys["erp"], "demand", wide)) == (3, 3, 0, 0)
    assert [(r[0], str(r[1])[:10], r[2]) for r in rows_of(engine, "demand")] == [
        ("A-1", "2024-01-01", 3.0),
        ("A-1", "2024-02-01", 0.0),
        ("A-2", "2024-01-01", 12.0),
    ]
    bad = b"sku,2024-01-01,2024-02-01\nA-1,3,-4\n"
    response = post(client, keys["erp"], "demand", bad)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"row": 1, "column": "2024-02-01", "value": -4.0, "reason": "must be >= 0"}]


def test_injection_strings_in_text_columns_are_stored_verbatim(
    client: TestClient, keys: dict[str, str], engine: Engine
) -> None:
    csv = f'sku,name,family,unit_cost\n"{INJECTION}","{FORMULA}","{SCRIPT}",1\n'.encode()
    assert counts(post(client, keys["erp"], "items", csv)) == (1, 1, 0, 0)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT sku, name, family FROM items")).one()
    assert tuple(row) == (INJECTION, FORMULA, SCRIPT)
    assert rows_of(engine, "items")  # the table is still there


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("value", ["1e30", "99999999999"])
def test_an_integer_beyond_the_database_column_is_a_row_error(
    client: TestClient, keys: dict[str, str], engine: Engine, value: str
) -> None:
    before = snapshot(engine)
    response = post(client, keys["erp"], "items", f"sku,unit_cost,shelf_life_days\nA-1,1,{value}\n".encode())
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "row": 1,
            "column": "shelf_life_days",
            "value": value,
            "reason": "is out of range (at most 2,147,483,647 in magnitude)",
        }
    ]
    assert snapshot(engine) == before


def test_openapi_documents_the_accepted_bodies(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/data/{table}"]["post"]
    assert set(operation["requestBody"]["content"]) >= {"text/csv", "application/json", PARQUET, "multipart/form-data"}
    assert {"404", "413", "415", "422"} <= set(operation["responses"])


def test_a_body_larger_than_the_memory_spool_goes_through_disk(
    client: TestClient, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("service.uploads.SPOOL_BYTES", 4096)
    items = pd.DataFrame({"sku": [f"S-{i:05d}" for i in range(20_000)], "unit_cost": 1.0})
    assert counts(post(client, keys["erp"], "items", csv_of(items))) == (20_000, 20_000, 0, 0)
