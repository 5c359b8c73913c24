"""Stock-placement plans on the stored data (kind `placement`): computed through the lifecycle, stored in one
transaction, read over HTTP; bad requests refused."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select

from service.db.importer import RawInput, import_frames
from service.db.tables import BomLine, PlacementStage, Plan
from service.placement import end_item_demand
from service.planning.lifecycle import compute_now
from service.settings import Settings
from tests.factories import valid_tables
from tests.service.api.conftest import auth
from tests.service.api.test_plans import post_plan, run_job

AS_OF = "2024-03-01"


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    import_frames(engine, [RawInput(t, f, t) for t, f in valid_tables().items()])
    return engine


def test_weekly_demand_of_end_items_scales_each_skus_own_period() -> None:
    months = pd.date_range("2023-03-01", periods=12, freq="MS")
    demand = pd.DataFrame({"sku": "M-1", "date": months, "qty": [100.0, 300.0] * 6})
    out = end_item_demand(demand, pd.Index(["M-1", "NEW"]), pd.Timestamp("2024-03-01"), weeks=60).set_index("sku")
    days = 31  # the median gap between these month starts (four gaps of 30 days, seven of 31)
    assert out.loc["M-1", "demand_mean"] == pytest.approx(200.0 * 7 / days, rel=1e-3)
    assert out.loc["M-1", "demand_std"] == pytest.approx(pd.Series([100.0, 300.0] * 6).std() * (7 / days) ** 0.5, 1e-3)
    assert out.loc["NEW", "demand_mean"] == 0.0 and out.loc["NEW", "demand_std"] == 0.0


def test_a_placement_plan_is_never_worse_than_either_baseline(loaded: Engine) -> None:
    outcome = compute_now(loaded, "placement", {"as_of": AS_OF, "time_limit": 10})
    computed = outcome.computed
    assert computed is not None
    s = computed.summary
    assert s["items"] == 3 and s["total_safety_stock_cost"] <= s["baseline_every_stage_cost"] + 1e-6
    assert s["total_safety_stock_cost"] <= s["baseline_end_items_cost"] + 1e-6
    rows = pd.DataFrame(computed.rows["placement_stages"]).set_index("sku")
    assert rows.loc["M-1", "level"] == 0 and rows.loc["A-1", "level"] == 1
    assert (rows["net_replenishment_time"] >= -1e-9).all()
    # the decoupling points are the items with a positive net replenishment time; stock is held only there
    assert ((rows["net_replenishment_time"] > 0) == rows["decoupling_point"]).all()
    assert not ((rows["safety_stock"] > 1e-9) & ~rows["decoupling_point"]).any()
    with loaded.connect() as conn:
        plan = conn.execute(select(Plan).where(Plan.id == outcome.plan_id)).one()
        stored = conn.execute(select(func.count()).where(PlacementStage.plan_id == outcome.plan_id)).scalar_one()
    assert plan.status == "done" and plan.params["kind"] == "placement" and stored == 3


def test_without_a_bill_of_materials_nothing_is_stored(loaded: Engine) -> None:
    with loaded.begin() as conn:
        conn.execute(delete(BomLine))
    with pytest.raises(LookupError, match="no bill of materials"):
        compute_now(loaded, "placement", {"as_of": AS_OF})
    with loaded.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Plan)).scalar_one() == 0


def test_placement_plans_over_http(
    client: TestClient, keys: dict[str, str], api_settings: Settings, loaded: Engine
) -> None:
    created = post_plan(client, keys, kind="placement", as_of=AS_OF, service_level=0.98)
    run_job(loaded, api_settings, created["job_id"])
    erp = auth(keys["erp"])
    body = client.get(f"/v1/plans/{created['id']}/placement", headers=erp).json()
    assert body["count"] == 3 and {r["sku"] for r in body["rows"]} == {"M-1", "A-1", "A-2"}
    csv = client.get(f"/v1/plans/{created['id']}/placement?format=csv", headers=erp)
    assert len(pd.read_csv(io.BytesIO(csv.content))) == 3
    header = client.get(f"/v1/plans/{created['id']}", headers=erp).json()
    assert header["params"]["request"]["service_level"] == 0.98
    bad = client.post("/v1/plans", json={"kind": "placement", "service_level": 1.5}, headers=auth(keys["planner"]))
    assert bad.status_code == 422
    wrong = client.get(f"/v1/plans/{created['id']}/planned-orders", headers=erp)
    assert wrong.status_code == 404 and "not an MRP plan" in wrong.json()["detail"]


def test_mrp_takes_the_safety_stock_of_the_latest_placement_for_items_without_their_own(loaded: Engine) -> None:
    from service.mrp import MrpRequest, load

    months = pd.date_range("2023-03-01", periods=10, freq="MS").strftime("%Y-%m-%d")
    history = pd.DataFrame({"sku": "M-1", "date": months, "qty": ["100", "700"] * 5}, dtype=object)
    import_frames(loaded, [RawInput("demand", history, "history")])  # a variable end item: stock pays somewhere
    placed = compute_now(loaded, "placement", {"as_of": AS_OF, "time_limit": 10})
    assert placed.computed is not None
    stock = {r["sku"]: r["safety_stock"] for r in placed.computed.rows["placement_stages"]}
    inputs = load(loaded, MrpRequest(as_of=AS_OF)).inputs
    got = dict(zip(inputs.skus, inputs.safety_stock, strict=True))
    assert got == pytest.approx(stock) and any(v > 0 for v in got.values())
    without = load(loaded, MrpRequest(as_of=AS_OF, placement=False)).inputs
    assert not without.safety_stock.any()
    mrp = compute_now(loaded, "mrp", {"as_of": AS_OF})
    with loaded.connect() as conn:
        params = conn.execute(select(Plan.params).where(Plan.id == mrp.plan_id)).scalar_one()
    assert params["safety_stock"]["placement_plan_id"] == placed.plan_id
