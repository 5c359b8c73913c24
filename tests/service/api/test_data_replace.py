"""`POST /v1/data/{table}?mode=replace[&scope=skus|as_of]`: the upload becomes the table's content (or that of its
SKUs / as-of dates) in one transaction, audited; rows other tables reference are not removed (409, nothing changed)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from service.data_changes import audit_rows
from service.db.importer import RawInput, import_frames
from service.db.tables import Inventory, Item, OpenOrder
from tests.factories import valid_tables
from tests.service.api.conftest import auth


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    import_frames(engine, [RawInput(t, f, t) for t, f in valid_tables().items()])
    return engine


def _post(client: TestClient, key: str, table: str, body: str, **params: str) -> dict[str, Any]:
    headers = {**auth(key), "Content-Type": "text/csv"}
    response = client.post(f"/v1/data/{table}", content=body.encode(), headers=headers, params=params)
    return {"status": response.status_code, **response.json()}


def _rows(engine: Engine, *columns: object) -> set[tuple[object, ...]]:
    with engine.connect() as conn:
        return {tuple(r) for r in conn.execute(select(*columns))}  # type: ignore[call-overload]


def test_replace_swaps_the_open_orders(client: TestClient, loaded: Engine, keys: dict[str, str]) -> None:
    before = _rows(loaded, OpenOrder.id)
    assert len(before) == 2
    body = "id,sku,qty,due_date,kind\nPO-NEW,A-1,5,2024-03-01,purchase\n"
    answer = _post(client, keys["erp"], "open_orders", body, mode="replace")
    assert answer["status"] == 200, answer
    assert (answer["inserted"], answer["removed"]) == (1, 2)
    assert _rows(loaded, OpenOrder.id) == {("PO-NEW",)}
    [entry] = audit_rows(loaded, "open_orders")
    assert (entry["action"], entry["rows"], entry["detail"]["scope"]) == ("replace", 2, "all")
    plain = _post(client, keys["erp"], "open_orders", "id,sku,qty,due_date\nPO-2,A-2,1,2024-03-02\n")
    assert plain.get("removed") is None and _rows(loaded, OpenOrder.id) == {("PO-NEW",), ("PO-2",)}  # upsert adds


def test_replace_scoped_by_as_of_and_skus(client: TestClient, loaded: Engine, keys: dict[str, str]) -> None:
    stored = _rows(loaded, Inventory.sku, Inventory.as_of)
    day = sorted(stored, key=lambda r: str(r[1]))[0][1]
    body = f"sku,as_of,on_hand\nA-1,{day},7\n"
    answer = _post(client, keys["erp"], "inventory", body, mode="replace", scope="as_of")
    assert answer["status"] == 200, answer
    assert _rows(loaded, Inventory.sku, Inventory.as_of) == {r for r in stored if r[1] != day} | {("A-1", day)}
    orders = _post(client, keys["erp"], "open_orders", "id,sku,qty,due_date\nPO-9,A-2,1,2024-03-02\n",
                   mode="replace", scope="skus")  # fmt: skip
    assert orders["status"] == 200, orders
    remaining = _rows(loaded, OpenOrder.id, OpenOrder.sku)
    assert ("PO-9", "A-2") in remaining and all(sku != "A-2" or i == "PO-9" for i, sku in remaining)
    wrong = _post(client, keys["erp"], "lines", "line_id\nL-9\n", mode="replace", scope="skus")
    assert wrong["status"] == 422 and "has no sku column" in wrong["detail"]


def test_referenced_rows_are_not_removed(client: TestClient, loaded: Engine, keys: dict[str, str]) -> None:
    before = _rows(loaded, Item.sku)
    answer = _post(client, keys["erp"], "items", "sku,unit_cost\nA-1,1.5\n", mode="replace")
    assert answer["status"] == 409, answer
    assert "still referenced" in answer["detail"] and "nothing was changed" in answer["detail"]
    assert _rows(loaded, Item.sku) == before
    assert audit_rows(loaded, "items") == []
