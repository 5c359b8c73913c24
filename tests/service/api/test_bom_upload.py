"""`POST /v1/data/bom` on SQLite and Postgres: every BOM rule answers 422 with the row and stores nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from service.auth import create_key
from service.db.importer import RawInput, import_frames
from service.main import create_app
from tests.factories import BadCase, bom_bad_cases, bom_world, valid_tables
from tests.service.api.conftest import settings_for
from tests.service.api.test_data_upload import Corpus, csv_of, post, problems_detail, snapshot


@pytest.fixture(scope="module")
def world(module_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    tables = valid_tables()
    extra = bom_world()
    inputs = [
        RawInput(t, pd.concat([f, extra[t]], ignore_index=True) if t in extra else f, t) for t, f in tables.items()
    ]
    import_frames(module_engine, inputs)
    settings = settings_for(module_engine, tmp_path_factory.mktemp("home"))
    key = create_key(module_engine, "erp", "bom")[1]
    with TestClient(create_app(settings, module_engine), raise_server_exceptions=False) as client:
        yield Corpus(client, module_engine, key, snapshot(module_engine))


@pytest.mark.parametrize("case", bom_bad_cases(), ids=repr)
def test_bad_bom_upload_is_422_with_the_row_and_stores_nothing(case: BadCase, world: Corpus) -> None:
    response = post(world.client, world.key, case.table, case.csv_bytes())
    assert response.status_code == 422, response.text
    body = response.json()
    row, column, reason = case.expect
    assert any(e["row"] == row and e["column"] == column and reason in e["reason"] for e in body["errors"]), body
    assert body["detail"] == problems_detail(case.table, body["total"])
    assert snapshot(world.engine) == world.before


def test_bom_upload_inserts_then_changes_nothing(world: Corpus) -> None:
    line = pd.DataFrame({"parent_sku": ["Q-1"], "component_sku": ["A-2"], "op": ["1"], "qty_per": ["4"]})
    first = post(world.client, world.key, "bom", csv_of(line))
    assert first.status_code == 200, first.text
    assert {k: first.json()[k] for k in ("rows", "inserted", "updated", "unchanged")} == {
        "rows": 1, "inserted": 1, "updated": 0, "unchanged": 0
    }  # fmt: skip
    after = snapshot(world.engine)
    again = post(world.client, world.key, "bom", csv_of(line))
    assert again.json()["unchanged"] == 1 and snapshot(world.engine) == after
    with world.engine.connect() as conn:
        stored = conn.execute(text("SELECT qty_per, scrap_rate, op FROM bom WHERE parent_sku = 'Q-1'")).all()
    assert [tuple(r) for r in stored] == [(4.0, 0.0, 1)]
    world.before = after
