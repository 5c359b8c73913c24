"""Hostile uploads: small files that declare huge tables, zip bombs, very wide or deep files, overlong cells and
mass duplicates. Each is answered 413 or 422 within 1 s and 200 MB of extra memory, and nothing is stored.

Memory is the process's peak resident set during the request above its size before it (`/proc/self/clear_refs`
resets the peak); `python -m tests.service.api.test_hostile_uploads` prints the figures of every case.
"""

from __future__ import annotations

import io
import json
import re
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.auth import create_key
from service.db.importer import RawInput, import_frames
from service.main import create_app
from tests.factories import valid_tables
from tests.service.api.conftest import auth, settings_for
from tests.service.api.test_data_upload import CSV, PARQUET, XLSX, snapshot

MAX_SECONDS = 1.0
#: wall-clock guard only: two test workers and the app share two cores
MAX_WALL_SECONDS = 5.0
MAX_MB = 200.0
UPLOAD_MB = 4.0


@dataclass(frozen=True)
class Hostile:
    name: str
    table: str
    make: Callable[[], bytes]
    content_type: str
    status: int
    reason: str  # a part of the first error's reason

    def __repr__(self) -> str:
        return self.name


def _parquet_of_duplicates(rows: int = 1_000_000) -> bytes:
    table = pa.table({"sku": ["A-1"] * rows, "date": ["2024-01-01"] * rows, "qty": [1.0] * rows})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def _xlsx(cells: dict[str, object]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for ref, value in {
        "A1": "sku",
        "B1": "date",
        "C1": "qty",
        "A2": "A-1",
        "B2": "2024-01-01",
        "C2": 1,
        **cells,
    }.items():
        sheet[ref] = value
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rezip(data: bytes, change: Callable[[str, bytes], bytes], extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change(info.filename, src.read(info)))
        for name, body in (extra or {}).items():
            dst.writestr(name, body)
    return out.getvalue()


def _xlsx_declaring_a_million_rows() -> bytes:
    def change(name: str, body: bytes) -> bytes:
        if name == "xl/worksheets/sheet1.xml":
            return re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:C1048576"', body)
        return body

    return _rezip(_xlsx({}), change)


def _xlsx_with_huge_shared_strings() -> bytes:
    strings = b"".join(b"<si><t>" + b"x" * 1000 + b"</t></si>" for _ in range(60_000))
    table = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="60000" uniqueCount="60000">'

    data = _xlsx({})
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert "xl/sharedStrings.xml" not in z.namelist()  # openpyxl writes inline strings: add the table
    return _rezip(data, lambda _, body: body, {"xl/sharedStrings.xml": table + strings + b"</sst>"})


def _xlsx_zip_bomb() -> bytes:
    bomb = b"<row/>" * (100 * 1024 * 1024 // 6)

    def change(name: str, body: bytes) -> bytes:
        return body.replace(b"</sheetData>", bomb + b"</sheetData>") if name == "xl/worksheets/sheet1.xml" else body

    return _rezip(_xlsx({}), change)


def _csv_of_wide_header(columns: int = 100_000) -> bytes:
    return (",".join(f"c{i}" for i in range(columns)) + "\n" + ",".join("1" for _ in range(columns)) + "\n").encode()


def _deep_json(depth: int = 200_000) -> bytes:
    return ("[" * depth + "]" * depth).encode()


def _json_with_many_keys(keys: int = 100_000) -> bytes:
    return json.dumps([{f"k{i}": 1 for i in range(keys)}]).encode()


def _overlong_cell() -> bytes:
    frame = valid_tables()["items"]
    frame.loc[0, "name"] = "x" * 1_000_000
    return frame.to_csv(index=False).encode()


def _duplicates_csv(rows: int = 50_000) -> bytes:
    return b"sku,date,qty\n" + b"A-1,2024-01-01,1\n" * rows


CASES = [
    Hostile("parquet-1M-rows-in-11KB", "demand", _parquet_of_duplicates, PARQUET, 413, "1,000,000 rows × 3 columns"),
    Hostile("xlsx-cell-in-column-XFD", "demand", lambda: _xlsx({"XFD2": 1}), XLSX, 422, "16,384 columns"),
    Hostile("xlsx-declares-1M-rows", "demand", _xlsx_declaring_a_million_rows, XLSX, 413, "1,048,576 rows"),
    Hostile("xlsx-60MB-shared-strings", "demand", _xlsx_with_huge_shared_strings, XLSX, 413, "expands from"),
    Hostile("xlsx-zip-bomb-100MB", "demand", _xlsx_zip_bomb, XLSX, 413, "expands from"),
    Hostile("csv-100k-columns", "demand", _csv_of_wide_header, CSV, 422, "100,000 columns"),
    Hostile("json-nested-200k-deep", "demand", _deep_json, "application/json", 422, "cannot read as json"),
    Hostile("json-100k-keys", "demand", _json_with_many_keys, "application/json", 422, "100,000 distinct keys"),
    Hostile("csv-1MB-cell", "items", _overlong_cell, CSV, 422, "1,000,000 characters"),
    Hostile("csv-50k-duplicate-keys", "demand", _duplicates_csv, CSV, 422, "duplicate key (sku, date)"),
]


@cache
def body_of(case: Hostile) -> bytes:
    return case.make()


def _status(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))  # type: ignore[union-attr]


def measure(client: TestClient, key: str, case: Hostile) -> tuple[object, float, float]:
    """The response, its wall time in seconds and the peak extra memory in MB while it was served."""
    response, seconds, _, extra_mb = measure_cpu(client, key, case)
    return response, seconds, extra_mb


def measure_cpu(client: TestClient, key: str, case: Hostile) -> tuple[object, float, float, float]:
    """The response, its wall and CPU seconds (this process, every thread: the app serves in a thread of it) and
    the peak extra memory in MB while it was served."""
    body = body_of(case)
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak resident set
    before = _status("VmRSS")
    started, cpu_started = time.perf_counter(), time.process_time()
    response = client.post(
        f"/v1/data/{case.table}", content=body, headers={**auth(key), "Content-Type": case.content_type}
    )
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return response, seconds, cpu, (_status("VmHWM") - before) / 1024


@pytest.fixture(scope="module")
def hostile_client(module_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    import_frames(module_engine, [RawInput(t, f, f"{t}.csv") for t, f in valid_tables().items()])
    settings = settings_for(module_engine, tmp_path_factory.mktemp("home"), max_upload_mb=UPLOAD_MB)
    key = create_key(module_engine, "erp", "hostile")[1]
    with TestClient(create_app(settings, module_engine), raise_server_exceptions=False) as client:
        yield client, key


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_hostile_upload_is_refused_fast_and_small(
    case: Hostile, hostile_client: tuple[TestClient, str], module_engine: Engine
) -> None:
    client, key = hostile_client
    assert len(body_of(case)) <= UPLOAD_MB * 1024 * 1024  # every file passes the plain size cap
    before = snapshot(module_engine)
    measure(client, key, case)  # warm-up: first-call imports are not the input's cost
    response, seconds, cpu, extra_mb = measure_cpu(client, key, case)
    assert response.status_code == case.status, response.text[:500]  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert case.reason in body["errors"][0]["reason"], body
    # the target is the work a file costs (CPU); wall time only guards against a hang on a loaded shared machine
    assert cpu <= MAX_SECONDS, f"{case.name}: {cpu:.2f} s of CPU"
    assert seconds <= MAX_WALL_SECONDS, f"{case.name}: {seconds:.2f} s"
    assert extra_mb <= MAX_MB, f"{case.name}: {extra_mb:.0f} MB"
    assert snapshot(module_engine) == before


def test_mass_duplicates_list_the_first_problems_and_count_all(hostile_client: tuple[TestClient, str]) -> None:
    client, key = hostile_client
    rows = 30_000
    response = client.post("/v1/data/demand", content=_duplicates_csv(rows), headers={**auth(key), "Content-Type": CSV})
    body = response.json()
    assert response.status_code == 422 and body["total"] == rows and len(body["errors"]) == 100
    assert body["errors"][0] == {
        "row": 1, "column": "sku, date", "value": "A-1, 2024-01-01", "reason": "duplicate key (sku, date): appears "
        "more than once",
    }  # fmt: skip


def main() -> None:  # pragma: no cover - prints the figures for BENCHMARKS.md
    import tempfile

    from service.db.engine import make_engine
    from service.db.migrate import upgrade

    with tempfile.TemporaryDirectory() as home:
        engine = make_engine(f"sqlite:///{home}/hostile.db")
        upgrade(engine)
        import_frames(engine, [RawInput(t, f, f"{t}.csv") for t, f in valid_tables().items()])
        key = create_key(engine, "erp", "hostile")[1]
        app = create_app(settings_for(engine, Path(home) / "home", max_upload_mb=UPLOAD_MB), engine)
        with TestClient(app, raise_server_exceptions=False) as client:
            print("| file | size | answer | time | peak extra memory |\n|---|---|---|---|---|")
            for case in CASES:
                measure(client, key, case)
                response, seconds, extra_mb = measure(client, key, case)
                size = len(body_of(case))
                shown = f"{size / 1024:,.1f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:,.2f} MB"
                status = response.status_code  # type: ignore[attr-defined]
                print(f"| {case.name} | {shown} | {status} | {seconds * 1000:,.0f} ms | {extra_mb:,.1f} MB |")
        engine.dispose()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
