"""`/v1/alerts`: the latest done plan's alerts by value at risk, filters, pages, plan_id, errors."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert

from service import plans
from service.db.tables import Alert, Plan
from tests.service.api.conftest import auth

ALERTS = [
    ("A-1", "stockout_before_receipt", "critical", 50.0),
    ("A-2", "below_safety_stock", "medium", 120.0),
    ("M-1", "below_safety_stock", "high", 80.0),
    ("A-1", "excess_stock", "low", 80.0),
]


def _plan(engine: Engine, plan_id: str, status: str = "done", alerts: bool = True) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Plan).values(id=plan_id, status=status, model_version="7", params={}, summary={}))
        if alerts:
            rows = [
                {"plan_id": plan_id, "sku": s, "type": t, "severity": v, "value_at_risk": r, "message": f"{s} {t}"}
                for s, t, v, r in ALERTS
            ]
            conn.execute(insert(Alert), rows)


@pytest.fixture
def erp(keys: dict[str, str]) -> dict[str, str]:
    return auth(keys["erp"])


def test_alerts_need_a_key(client: TestClient) -> None:
    answer = client.get("/v1/alerts")
    assert answer.status_code == 401 and answer.json()["detail"].startswith("missing or invalid API key")


def test_without_a_done_plan_there_are_no_alerts(client: TestClient, engine: Engine, erp: dict[str, str]) -> None:
    answer = client.get("/v1/alerts", headers=erp)
    assert answer.status_code == 404
    assert answer.json() == {"detail": "no done plan yet, so no alerts; compute a plan with POST /v1/plans"}
    _plan(engine, "pl-pending", status="pending", alerts=False)
    assert client.get("/v1/alerts", headers=erp).status_code == 404
    answer = client.get("/v1/alerts?plan_id=pl-pending", headers=erp)
    assert answer.status_code == 409
    assert answer.json() == {
        "detail": "plan 'pl-pending' is pending, not done yet; poll GET /v1/plans/pl-pending until its status is done"
    }
    answer = client.get("/v1/alerts?plan_id=pl-nope", headers=erp)
    assert answer.status_code == 404
    assert answer.json() == {"detail": "plan 'pl-nope' not found; list plans with GET /v1/plans"}


def test_alerts_of_the_latest_plan_by_value_at_risk(client: TestClient, engine: Engine, erp: dict[str, str]) -> None:
    _plan(engine, "rp-1")
    body = client.get("/v1/alerts", headers=erp).json()
    assert body["plan_id"] == "rp-1" and body["model_version"] == "7" and body["count"] == 4
    assert [(r["sku"], r["value_at_risk"]) for r in body["rows"]] == [
        ("A-2", 120.0),
        ("M-1", 80.0),
        ("A-1", 80.0),
        ("A-1", 50.0),
    ]
    assert all(r["plan_id"] == "rp-1" and r["model_version"] == "7" for r in body["rows"])
    critical = client.get("/v1/alerts?severity=critical&severity=high", headers=erp).json()["rows"]
    assert [r["sku"] for r in critical] == ["M-1", "A-1"]
    typed = client.get("/v1/alerts?type=below_safety_stock,excess_stock&sku=A-1", headers=erp).json()["rows"]
    assert [(r["sku"], r["type"]) for r in typed] == [("A-1", "excess_stock")]
    answer = client.get("/v1/alerts?severity=urgent", headers=erp)
    assert answer.status_code == 422


def test_alert_pages_follow_the_cursor(client: TestClient, engine: Engine, erp: dict[str, str]) -> None:
    _plan(engine, "rp-1")
    seen, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        body = client.get("/v1/alerts", params=params, headers=erp).json()
        seen += [(r["sku"], r["type"]) for r in body["rows"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 4 and len(set(seen)) == 4
    answer = client.get("/v1/alerts?cursor=bm9wZQ", headers=erp)
    assert answer.status_code == 422
    assert answer.json() == {"detail": "cursor is not valid; pass the next_cursor of the previous page unchanged"}


def test_plan_id_selects_an_older_plan(client: TestClient, engine: Engine, erp: dict[str, str]) -> None:
    _plan(engine, "rp-old")
    _plan(engine, "pp-1", alerts=False)  # a production plan: no lines, so not the latest plan for alerts
    assert plans.latest_plan_id(engine) == "rp-old"
    assert client.get("/v1/alerts", headers=erp).json()["plan_id"] == "rp-old"
    answer = client.get("/v1/alerts?plan_id=rp-old&sku=M-1", headers=erp)
    assert [r["type"] for r in answer.json()["rows"]] == ["below_safety_stock"]


def test_hostile_input_is_a_4xx(client: TestClient, engine: Engine, erp: dict[str, str]) -> None:
    import base64
    import json

    _plan(engine, "rp-1")
    answer = client.get("/v1/alerts", params={"sku": "A-1\x00"}, headers=erp)
    assert answer.status_code == 422 and answer.json() == {"detail": "sku contains a NUL character; remove it"}
    assert client.get("/v1/alerts", params={"plan_id": "rp\x00"}, headers=erp).status_code == 404
    for values in ([1e400, 1], [1.0, 2**70], [float("nan"), 1], ["x", 1]):
        cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
        answer = client.get("/v1/alerts", params={"cursor": cursor}, headers=erp)
        assert answer.status_code == 422, values
