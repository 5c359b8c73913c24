"""MRP plans on the stored data (kind `mrp`): computed through the lifecycle by the CLI path and by the job runner,
stored in one transaction (planned orders, pegging, records, exceptions as alerts), read over HTTP."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select

from service.db.importer import RawInput, import_frames
from service.db.tables import Alert, BomLine, MrpRecord, Pegging, Plan, PlannedOrder
from service.planning.lifecycle import compute_now
from service.settings import Settings
from tests.factories import valid_tables
from tests.service.api.conftest import auth
from tests.service.api.test_plans import post_plan, run_job

AS_OF = "2024-03-01"


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    """The factory tables plus a large order CO-2 (2,000 M-1 due 2024-03-22) that stock and MO-1 cannot cover."""
    tables = valid_tables()
    big = pd.DataFrame([{"id": "CO-2", "sku": "M-1", "qty": "2000", "due_date": "2024-03-22", "priority": "1"}])
    tables["customer_orders"] = pd.concat([tables["customer_orders"], big], ignore_index=True)
    import_frames(engine, [RawInput(t, f, t) for t, f in tables.items()])
    return engine


def _count(engine: Engine, table: Any, plan_id: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(table.plan_id == plan_id)).scalar_one())


def test_an_mrp_plan_explodes_the_customer_order_into_component_purchases(loaded: Engine) -> None:
    outcome = compute_now(loaded, "mrp", {"as_of": AS_OF, "demand_source": "orders", "horizon_weeks": 8})
    computed = outcome.computed
    assert computed is not None and computed.kind == "mrp"
    orders = pd.DataFrame(computed.rows["planned_orders"])
    # M-1: 250 on hand + MO-1 (500, due 2024-03-10) cover CO-1 (300, 2024-03-15) but not CO-2 (2,000, 2024-03-22):
    # 1,550 short in the week of 2024-03-22: one lot-for-lot order, released a week (its lead time) before
    made = orders[orders["sku"] == "M-1"]
    assert made["qty"].tolist() == [1550.0] and str(made["due_date"].iloc[0]) == "2024-03-22"
    assert str(made["release_date"].iloc[0]) == "2024-03-15"
    # its components: A-1 at 2 per unit with 2 % scrap, A-2 at 0.5 per unit, both needed at M-1's release
    need = dict(zip(orders["sku"], orders["qty"], strict=False))
    # (A-1 nets its 7 on hand and PO-9's 20 arriving that week)
    assert need["A-1"] == pytest.approx(1550 * 2 / 0.98 - 7 - 20, abs=1e-6)
    assert need["A-2"] == pytest.approx(1550 * 0.5, abs=1e-6)
    assert set(orders.loc[orders["sku"] != "M-1", "make_or_buy"]) == {"buy"}
    # bought orders to place now carry their supplier split (the multi-sourcing of replenishment plans)
    now = orders[(orders["make_or_buy"] == "buy") & (orders["release_date"].astype(str) == AS_OF)]
    assert len(now) and all(
        o["splits"] for o in computed.rows["planned_orders"] if o["order_id"] in set(now["order_id"])
    )
    for order in computed.rows["planned_orders"]:
        if order["splits"]:
            assert sum(p["qty"] for p in order["splits"]) >= order["qty"] - 1e-6 and order["supplier_id"]
    kinds = {a["type"] for a in computed.rows["alerts"]}
    assert "mrp_expedite" in kinds  # A-1's six-week supplier lead time cannot meet a release in week 2
    # every planned quantity is pegged, in full, to an end demand (CO-1, or surplus of a lot)
    pegging = pd.DataFrame(computed.rows["peggings"])
    pegged = pegging.groupby("order_id")["qty"].sum()
    assert pegged.reindex(orders["order_id"]).to_numpy() == pytest.approx(orders["qty"].to_numpy(), rel=1e-9)
    assert set(pegging.loc[pegging["demand_id"] != "excess", "demand_id"]) == {"CO-2"}
    assert set(pegging.loc[pegging["demand_id"] != "excess", "end_sku"]) == {"M-1"}
    # stored in one go: header done with provenance, and every row of every table
    with loaded.connect() as conn:
        plan = conn.execute(select(Plan).where(Plan.id == outcome.plan_id)).one()
    assert plan.status == "done" and plan.params["kind"] == "mrp" and plan.params["entry"] == "cli"
    assert plan.params["request"]["demand_source"] == "orders" and plan.params["lead_times"]
    assert plan.summary["planned_orders"] == len(orders) and plan.summary["changes"]["previous_plan_id"] is None
    assert _count(loaded, PlannedOrder, outcome.plan_id) == len(orders)
    assert _count(loaded, Pegging, outcome.plan_id) == len(pegging)
    assert _count(loaded, MrpRecord, outcome.plan_id) == 3  # M-1, A-1, A-2: the items in the BOM
    assert _count(loaded, Alert, outcome.plan_id) == plan.summary["exceptions"]
    again = compute_now(loaded, "mrp", {"as_of": AS_OF, "demand_source": "orders", "horizon_weeks": 8})
    with loaded.connect() as conn:
        summary = conn.execute(select(Plan.summary).where(Plan.id == again.plan_id)).scalar_one()
    assert summary["changes"]["previous_plan_id"] == outcome.plan_id


def test_without_a_bill_of_materials_nothing_is_stored_and_the_error_says_what_to_do(loaded: Engine) -> None:
    with loaded.begin() as conn:
        conn.execute(delete(BomLine))
    with pytest.raises(LookupError, match=r"no bill of materials.*POST /v1/data/bom"):
        compute_now(loaded, "mrp", {"as_of": AS_OF})
    with loaded.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Plan)).scalar_one() == 0


def test_mrp_plans_over_http(client: TestClient, keys: dict[str, str], api_settings: Settings, loaded: Engine) -> None:
    created = post_plan(client, keys, kind="mrp", as_of=AS_OF, horizon_weeks=8)
    run_job(loaded, api_settings, created["job_id"])
    plan_id = created["id"]
    erp = auth(keys["erp"])
    header = client.get(f"/v1/plans/{plan_id}", headers=erp).json()
    assert header["kind"] == "mrp" and header["status"] == "done" and header["params"]["entry"] == "api"
    assert header["links"]["planned_orders"] == f"/v1/plans/{plan_id}/planned-orders"

    page = client.get(f"/v1/plans/{plan_id}/planned-orders?limit=1", headers=erp)
    assert page.status_code == 200 and page.json()["count"] == 1 and 'rel="next"' in page.headers["link"]
    csv = client.get(f"/v1/plans/{plan_id}/planned-orders?format=csv", headers=erp)
    table = pd.read_csv(io.BytesIO(csv.content))
    assert csv.headers["content-type"].startswith("text/csv") and len(table) == header["summary"]["planned_orders"]

    first = table.iloc[0]
    pegs = client.get(f"/v1/plans/{plan_id}/pegging?order_id={first['order_id']}", headers=erp).json()
    assert pegs["count"] >= 1 and sum(r["qty"] for r in pegs["rows"]) == pytest.approx(first["qty"])

    view = client.get(f"/v1/plans/{plan_id}/items/A-1", headers=erp).json()
    assert set(view["record"]) >= {"gross_requirements", "projected_on_hand", "planned_releases"}
    assert len(view["periods"]) == 8 and all(len(v) == 8 for v in view["record"].values())
    assert [u["parent_sku"] for u in view["where_used"]] == ["M-1"] and view["components"] == []

    missing = client.get(f"/v1/plans/{plan_id}/items/RAF-NOPE", headers=erp)
    assert missing.status_code == 404 and "is not in MRP plan" in missing.json()["detail"]
    other = post_plan(client, keys, kind="replenishment", as_of=AS_OF)
    run_job(loaded, api_settings, other["job_id"])
    wrong = client.get(f"/v1/plans/{other['id']}/planned-orders", headers=erp)
    assert wrong.status_code == 404 and "not an MRP plan" in wrong.json()["detail"]
