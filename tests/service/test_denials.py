"""Inputs that used to answer 500: a huge page number, SKUs containing `/`, an upload while SQLite is locked."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from pipelines.ingest import read_raw
from service.auth import create_key
from service.db.engine import make_engine
from service.db.importer import RawInput, import_frames
from service.db.migrate import upgrade
from service.main import create_app
from tests.factories import valid_tables
from tests.service.api.conftest import auth, settings_for
from tests.service.web.test_routes import sign_in

SLASHED = "AB/12-7"


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    items = valid_tables()["items"]
    items.loc[0, "sku"] = SLASHED
    import_frames(engine, [RawInput("items", read_raw("items.csv", items.to_csv(index=False).encode()), "items.csv")])
    with TestClient(create_app(settings_for(engine, tmp_path / "home"), engine), raise_server_exceptions=False) as c:
        yield c


def test_a_huge_page_number_is_the_last_page_not_a_500(client: TestClient, engine: Engine) -> None:
    sign_in(client, create_key(engine, "planner")[1])
    for page in ("99999999999999999999999", "9" * 5000, "-3"):
        assert client.get(f"/app/replenishment?page={page}").status_code == 200


def test_skus_containing_a_slash_are_reachable(client: TestClient, engine: Engine) -> None:
    headers = auth(create_key(engine, "planner")[1])
    r = client.get("/v1/skus/AB%2F12-7", headers=headers)
    assert r.status_code == 200 and r.json()["sku"] == SLASHED
    sign_in(client, create_key(engine, "planner")[1])
    page = client.get("/app/skus/AB%2F12-7")
    assert page.status_code == 200 and SLASHED in page.text


def test_an_upload_while_sqlite_is_locked_answers_409(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)

    @event.listens_for(engine, "connect")
    def _short_wait(dbapi_connection: sqlite3.Connection, _: object) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=200")  # after the engine's own 30 s

    engine.dispose()
    key = create_key(engine, "erp")[1]
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the database
    try:
        app = create_app(settings_for(engine, tmp_path / "home"), engine)
        with TestClient(app, raise_server_exceptions=False) as client:
            body = valid_tables()["items"].to_csv(index=False).encode()
            r = client.post("/v1/data/items", content=body, headers={**auth(key), "Content-Type": "text/csv"})
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert r.status_code == 409, r.text
    assert r.json()["detail"].startswith("items upload waited too long for another write to finish")
    engine.dispose()
