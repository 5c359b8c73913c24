"""SKU pages and reads that used to answer 500: a supplier without receipts (none at all, or none received yet)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.auth import create_key
from service.db.importer import RawInput, import_frames
from service.main import create_app
from tests.factories import valid_tables
from tests.service.api.conftest import auth, settings_for
from tests.service.web.test_routes import sign_in


def _client(engine: Engine, home: Path, receipts: pd.DataFrame | None) -> TestClient:
    tables = valid_tables()
    if receipts is None:
        del tables["receipts"]
    else:
        tables["receipts"] = receipts
    import_frames(engine, [RawInput(t, f, t) for t, f in tables.items()])
    return TestClient(create_app(settings_for(engine, home), engine), raise_server_exceptions=False)


@pytest.fixture(params=["no receipts", "none received"])
def client(request: pytest.FixtureRequest, engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    receipts = None
    if request.param == "none received":
        receipts = valid_tables()["receipts"]
        receipts["received_date"], receipts["qty_received"] = None, 0
    with _client(engine, tmp_path / "home", receipts) as test_client:
        yield test_client


@pytest.mark.parametrize("sku", ["A-1", "A-2", "M-1"])
def test_a_sku_whose_suppliers_have_no_receipts(client: TestClient, engine: Engine, sku: str) -> None:
    r = client.get(f"/v1/skus/{sku}", headers=auth(create_key(engine, "planner")[1]))
    assert r.status_code == 200, r.text
    sign_in(client, create_key(engine, "planner")[1])
    page = client.get(f"/app/skus/{sku}")
    assert page.status_code == 200, page.text
    assert sku in page.text
