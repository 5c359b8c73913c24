"""`GET /v1/skus` and `GET /v1/skus/{sku}`: roles, paging, filters, the full view of one SKU, 404."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from service.db.forecasts import write_forecast_set
from service.db.tables import Alert
from service.skus import champion_records
from tests.service.api.conftest import auth
from tests.service.api.seed import forecast_frame
from tests.service.api.test_whatif import SKUS, load_sample


def get(client: TestClient, key: str, path: str, **params: Any) -> tuple[int, Any]:
    response = client.get(path, params=params, headers=auth(key))
    return response.status_code, response.json()


def publish_with_champions(engine: Engine) -> None:
    champions = pd.DataFrame(
        {"pattern": "lumpy", "class_champion": "croston", "champion": ["croston", "ets"], "calibration": "conformal",
         "members": None, "pinball": [0.41, 0.52], "rmsse": [0.9, 1.1], "mase": [0.8, 1.0], "wape": [0.7, 0.9],
         "bias": [0.01, -0.02]},
        index=pd.Index(["RAF-0177", "RAF-0178"], name="sku"),
    )  # fmt: skip
    info = {"run_id": "run-1", "champions": champion_records(champions)}
    write_forecast_set(engine, "3", forecast_frame(SKUS, start="2003-01-01"), publish_now=True, info=info)


def test_roles(client: TestClient, keys: dict[str, str]) -> None:
    assert client.get("/v1/skus").status_code == 401
    assert client.get("/v1/skus/X").status_code == 401
    for role in ("erp", "planner", "scientist", "admin"):
        assert get(client, keys[role], "/v1/skus")[0] == 200


def test_list_pages_and_fields(engine: Engine, client: TestClient, keys: dict[str, str], tmp_path: Path) -> None:
    plan_id = load_sample(engine, tmp_path)
    publish_with_champions(engine)
    status, first = get(client, keys["erp"], "/v1/skus", limit=4)
    assert status == 200
    assert first["plan_id"] == plan_id and first["model_version"] == "3"
    assert [i["sku"] for i in first["items"]] == SKUS[:4]
    seen = [i["sku"] for i in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        _, page = get(client, keys["erp"], "/v1/skus", limit=4, cursor=cursor)
        seen += [i["sku"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert seen == SKUS
    _, everything = get(client, keys["erp"], "/v1/skus")
    assert everything["next_cursor"] is None
    by_sku = {i["sku"]: i for i in everything["items"]}
    item = by_sku["RAF-0177"]
    assert item["name"] and item["make_or_buy"] == "buy" and item["unit_cost"] > 0
    assert set(item["class"]) == {"abc", "xyz", "pattern"} and item["class"]["abc"] in {"A", "B", "C"}
    assert item["champion"] == "croston" and by_sku["RAF-0178"]["champion"] == "ets"
    assert by_sku["RAF-0170"]["champion"] is None
    assert set(item["policy"]) == {"supplier_id", "service_target", "safety_stock", "reorder_point", "order_up_to",
                                   "order_qty"}  # fmt: skip
    with engine.connect() as conn:
        counts = dict(
            conn.execute(select(Alert.sku, func.count()).where(Alert.plan_id == plan_id).group_by(Alert.sku)).all()
        )
    assert {s: i["open_alerts"] for s, i in by_sku.items() if i["open_alerts"]} == counts


def test_list_filters(engine: Engine, client: TestClient, keys: dict[str, str], tmp_path: Path) -> None:
    load_sample(engine, tmp_path)
    key = keys["erp"]
    _, everything = get(client, key, "/v1/skus")
    items = everything["items"]

    def skus(**params: Any) -> list[str]:
        status, body = get(client, key, "/v1/skus", **params)
        assert status == 200, body
        return [i["sku"] for i in body["items"]]

    for name in ("abc", "xyz", "pattern"):
        value = items[0]["class"][name]
        assert skus(**{name: value}) == [i["sku"] for i in items if i["class"][name] == value]
    assert skus(has_alert=True) == [i["sku"] for i in items if i["open_alerts"] > 0]
    assert skus(has_alert=False) == [i["sku"] for i in items if i["open_alerts"] == 0]
    assert skus(make_or_buy="make") == []
    assert skus(search="raf-017") == SKUS
    assert skus(search="RAF-0177") == ["RAF-0177"]
    assert skus(search="%") == []
    name = items[3]["name"]
    assert "RAF-0173" in skus(search=name[:4].lower())
    assert skus(supplier="SUP-134") == ["RAF-0178"]
    assert skus(supplier="SUP-NONE") == []


def test_list_bad_queries(client: TestClient, keys: dict[str, str]) -> None:
    assert get(client, keys["erp"], "/v1/skus", cursor="!!") == (
        422,
        {"detail": "cursor is not valid; pass the next_cursor of the previous page unchanged"},
    )
    status, body = get(client, keys["erp"], "/v1/skus", abc="D")
    assert status == 422 and body["detail"][0]["loc"] == ["query", "abc"]
    assert body["detail"][0]["msg"] == "Input should be 'A', 'B' or 'C'"
    status, body = get(client, keys["erp"], "/v1/skus", limit=0)
    assert status == 422 and body["detail"][0]["msg"] == "Input should be greater than or equal to 1"


def test_detail(engine: Engine, client: TestClient, keys: dict[str, str], tmp_path: Path) -> None:
    plan_id = load_sample(engine, tmp_path)
    publish_with_champions(engine)
    status, body = get(client, keys["erp"], "/v1/skus/RAF-0177")
    assert status == 200
    assert body["sku"] == "RAF-0177" and body["plan_id"] == plan_id and body["as_of"] == "2003-01-01"
    assert body["item"]["sku"] == "RAF-0177" and body["item"]["make_or_buy"] == "buy"
    assert body["champion"] == {
        "model_version": "3",
        "model": "croston",
        "class_champion": "croston",
        "calibration": "conformal",
        "members": None,
        "metrics": {"pinball": 0.41, "rmsse": 0.9, "mase": 0.8, "wape": 0.7, "bias": 0.01},
    }
    policy = body["policy"]
    for field in ("safety_stock", "reorder_point", "order_up_to", "expected_fill_rate", "days_of_supply", "capital",
                  "lead_time_days", "reason", "expected_capital"):  # fmt: skip
        assert field in policy
    assert 0 < policy["expected_fill_rate"] <= 1 and policy["service_target"] == 0.95
    (offer,) = body["suppliers"]
    assert offer["supplier_id"] == "SUP-049" and offer["primary"] is True
    assert offer["receipts"] == 12 and 0 <= offer["on_time_rate"] <= 1  # received or overdue (2 more not yet due)
    assert offer["observed_lead_time_days"]["n"] >= 1
    assert offer["observed_lead_time_days"]["p10"] <= offer["observed_lead_time_days"]["p90"]
    assert len(offer["lead_time_points_days"]) == 5 and offer["lead_time_mean_days"] > 0
    assert body["inventory"]["as_of"] == "2003-01-01"
    demand = body["demand"]
    assert demand["periods"] > 12 and len(demand["recent"]) == 12
    assert demand["recent"][-1]["date"] == demand["last_date"]
    _, listed = get(client, keys["erp"], "/v1/skus", search="RAF-0177")
    assert len(body["open_alerts"]) == listed["items"][0]["open_alerts"]


def test_detail_without_plan_or_forecast(
    engine: Engine, client: TestClient, keys: dict[str, str], tmp_path: Path
) -> None:
    load_sample(engine, tmp_path, plan=False)
    status, body = get(client, keys["erp"], "/v1/skus/RAF-0170")
    assert status == 200
    assert body["plan_id"] is None and body["class"] is None and body["policy"] is None
    assert body["champion"] is None and body["open_alerts"] == []
    assert len(body["suppliers"]) == 2


def test_unknown_sku(client: TestClient, keys: dict[str, str]) -> None:
    assert get(client, keys["erp"], "/v1/skus/A-17") == (
        404,
        {"detail": "SKU 'A-17' not found; list SKUs with GET /v1/skus"},
    )
