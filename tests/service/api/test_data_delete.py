"""`DELETE /v1/data/open_orders/{id}` and `/customer_orders/{id}`: one row removed, audited (who, when, row) in
`data_audit` in the same transaction; unknown ids and other tables answer 404 and change nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from service.auth import create_key
from service.data_changes import audit_rows
from service.db.importer import RawInput, import_frames
from service.db.tables import CustomerOrder, DataAudit, OpenOrder
from tests.factories import valid_tables
from tests.service.api.conftest import auth


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    import_frames(engine, [RawInput(t, f, t) for t, f in valid_tables().items()])
    return engine


def _ids(engine: Engine, model: type[OpenOrder] | type[CustomerOrder]) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(model.id)).scalars())


@pytest.mark.parametrize("table, model", [("open_orders", OpenOrder), ("customer_orders", CustomerOrder)])
def test_delete_removes_one_order_and_audits_it(
    client: TestClient, loaded: Engine, table: str, model: type[OpenOrder] | type[CustomerOrder]
) -> None:
    key, secret = create_key(loaded, "erp", "SAP nightly")
    before = _ids(loaded, model)
    victim = sorted(before)[0]
    response = client.delete(f"/v1/data/{table}/{victim}", headers=auth(secret))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["table"], body["id"], body["deleted"], body["row"]["id"]) == (table, victim, 1, victim)
    assert _ids(loaded, model) == before - {victim}
    [entry] = audit_rows(loaded, table)
    assert (entry["key_id"], entry["key_name"], entry["action"], entry["rows"]) == (key.id, "SAP nightly", "delete", 1)
    assert entry["detail"]["id"] == victim and entry["at"] is not None

    again = client.delete(f"/v1/data/{table}/{victim}", headers=auth(secret))
    assert again.status_code == 404 and repr(victim) in again.json()["detail"]
    assert len(audit_rows(loaded, table)) == 1


def test_only_order_tables_and_keys_may_delete(client: TestClient, loaded: Engine, keys: dict[str, str]) -> None:
    assert client.delete("/v1/data/items/A-1", headers=auth(keys["erp"])).status_code == 422
    assert client.delete("/v1/data/open_orders/x").status_code == 401
    with loaded.connect() as conn:
        assert conn.execute(select(func.count()).select_from(DataAudit)).scalar_one() == 0
