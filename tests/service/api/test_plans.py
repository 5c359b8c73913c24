"""`/v1/plans`: create (a job), status and provenance, replenishment and schedule as JSON/CSV/XLSX, approve; the plan
job runner (one transaction, retry after a kill, failure) and one run through the worker."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select, update

from optimizer.replenishment import plan_replenishment
from service import plans, production
from service.db.importer import RawInput, import_frames
from service.db.tables import Alert, Plan, PlanLine, ScheduledOperation
from service.jobs import plan_job
from service.jobs.context import JobContext
from service.jobs.queue import claim, get_job
from service.replenishment import load_inputs, store_plan
from service.settings import Settings
from tests.factories import valid_tables
from tests.service.api.conftest import auth

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    import_frames(engine, [RawInput(t, f, t) for t, f in valid_tables().items()])
    return engine


def run_job(engine: Engine, settings: Settings, job_id: str) -> dict[str, Any]:
    """Claim the queued plan job and run its runner in this process (as the worker would, without the outcome)."""
    job = claim(engine, "test-worker", kinds=("plan",))
    assert job is not None and job["id"] == job_id
    return plan_job.run(JobContext(engine, settings, job_id, dict(job["params"]), worker_id="test-worker"))


def post_plan(client: TestClient, keys: dict[str, str], **body: Any) -> dict[str, Any]:
    answer = client.post("/v1/plans", json=body, headers=auth(keys["planner"]))
    assert answer.status_code == 202, answer.text
    created: dict[str, Any] = answer.json()
    return created


def done_plan(client: TestClient, keys: dict[str, str], settings: Settings, engine: Engine, **body: Any) -> str:
    created = post_plan(client, keys, time_limit=3, **body)
    run_job(engine, settings, created["job_id"])
    return str(created["id"])


def test_every_route_needs_a_key_and_planner_routes_a_planner(client: TestClient, keys: dict[str, str]) -> None:
    routes = [
        ("POST", "/v1/plans"),
        ("GET", "/v1/plans"),
        ("GET", "/v1/plans/pl-x"),
        ("GET", "/v1/plans/pl-x/replenishment"),
        ("GET", "/v1/plans/pl-x/schedule"),
        ("POST", "/v1/plans/pl-x/approve"),
    ]
    for method, path in routes:
        answer = client.request(method, path)
        assert answer.status_code == 401, (method, path)
        assert answer.json()["detail"].startswith("missing or invalid API key")
    for method, path in [("POST", "/v1/plans"), ("POST", "/v1/plans/pl-x/approve")]:
        answer = client.request(method, path, headers=auth(keys["erp"]))
        assert answer.status_code == 403
        assert answer.json() == {"detail": "this needs a key of role 'planner' or above; this key's role is 'erp'"}


def test_create_validates_the_request_at_the_edge(client: TestClient, keys: dict[str, str], loaded: Engine) -> None:
    planner = auth(keys["planner"])
    for body in ({"fill_rate": 1.0}, {"fill_rate": 0}, {"shortage_scale": 0}, {"time_limit": 601}, {"nope": 1}):
        answer = client.post("/v1/plans", json=body, headers=planner)
        assert answer.status_code == 422, body
    answer = client.post("/v1/plans", json={"skus": "RAF-*"}, headers=planner)
    assert answer.status_code == 422
    assert answer.json() == {"detail": "no SKU matches 'RAF-*'; list SKUs with GET /v1/skus"}
    answer = client.post("/v1/plans", json={"skus": "A-*", "schedule": True}, headers=planner)
    assert answer.status_code == 422
    assert answer.json() == {
        "detail": "schedule is true but no selected SKU is a 'make' SKU; select make SKUs or leave schedule out"
    }
    with loaded.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Plan)).scalar() == 0


def test_create_without_items_says_to_upload_them(client: TestClient, keys: dict[str, str]) -> None:
    answer = client.post("/v1/plans", headers=auth(keys["planner"]))
    assert answer.status_code == 409
    assert answer.json() == {"detail": "no items to plan; upload them with POST /v1/data/items"}


def test_a_plan_from_request_to_approval(
    client: TestClient, keys: dict[str, str], loaded: Engine, api_settings: Settings
) -> None:
    erp, planner = auth(keys["erp"]), auth(keys["planner"])
    created = post_plan(client, keys, fill_rate=0.9, time_limit=3)
    plan_id = created["id"]
    assert plan_id.startswith("pl-") and created["status"] == "pending"
    assert created["links"]["self"] == f"/v1/plans/{plan_id}"

    pending = client.get(f"/v1/plans/{plan_id}", headers=erp).json()
    assert pending["status"] == "pending" and pending["job"]["status"] == "queued"
    assert pending["params"]["request"]["fill_rate"] == 0.9
    for what in ("replenishment", "schedule"):
        answer = client.get(f"/v1/plans/{plan_id}/{what}", headers=erp)
        assert answer.status_code == 409
        assert answer.json() == {
            "detail": f"plan {plan_id!r} is pending, not done yet; "
            f"poll GET /v1/plans/{plan_id} until its status is done"
        }
    answer = client.post(f"/v1/plans/{plan_id}/approve", headers=planner)
    assert answer.status_code == 409 and "is pending, not done yet" in answer.json()["detail"]

    result = run_job(loaded, api_settings, created["job_id"])
    assert result == {"plan_id": plan_id, "status": "done", "lines": 3, "alerts": result["alerts"], "operations": 4}

    plan = client.get(f"/v1/plans/{plan_id}", headers=erp).json()
    assert plan["status"] == "done" and plan["kind"] == "plan" and plan["as_of"] == "2024-03-01"
    params = plan["params"]
    assert params["service_targets"]["default"] == 0.9 and params["input_fingerprint"]
    assert params["forecast"]["fallback"] and params["production"]["safety_stock"]["plan_id"] == plan_id
    assert plan["summary"]["skus"] == 3 and "orders" not in plan["summary"]["production"]
    assert plan["summary"]["production"]["kpis"]["operations"] == 4
    assert set(plan["links"]) == {"self", "replenishment", "alerts", "schedule"}
    assert plan["job"]["status"] == "running" and plan["job"]["progress"] == 1.0  # the worker records the outcome

    listed = client.get("/v1/plans", headers=erp).json()
    assert listed["count"] == 1 and listed["plans"][0]["id"] == plan_id and listed["plans"][0]["status"] == "done"
    assert client.get("/v1/plans?status=failed", headers=erp).json() == {"count": 0, "plans": []}

    first = client.get(f"/v1/plans/{plan_id}/replenishment?limit=2", headers=erp)
    assert first.status_code == 200 and first.headers["x-plan-id"] == plan_id
    page = first.json()
    assert [r["sku"] for r in page["rows"]] == ["A-1", "A-2"] and page["next_cursor"]
    assert all(r["plan_id"] == plan_id and "model_version" in r for r in page["rows"])
    assert 'rel="next"' in first.headers["link"]
    rest = client.get(f"/v1/plans/{plan_id}/replenishment", params={"cursor": page["next_cursor"]}, headers=erp)
    assert [r["sku"] for r in rest.json()["rows"]] == ["M-1"] and rest.json()["next_cursor"] is None

    ops = client.get(f"/v1/plans/{plan_id}/schedule", headers=erp).json()
    assert ops["count"] == 4 and {r["sku"] for r in ops["rows"]} == {"M-1"}
    assert all(r["plan_id"] == plan_id for r in ops["rows"])

    approved = client.post(f"/v1/plans/{plan_id}/approve", headers=planner)
    assert approved.status_code == 200
    body = approved.json()
    assert body["status"] == "approved" and body["approved_by"].startswith("test planner (")
    assert body["approved_at"]
    again = client.post(f"/v1/plans/{plan_id}/approve", headers=auth(keys["admin"]))
    assert again.status_code == 409
    assert again.json()["detail"].startswith(f"plan {plan_id!r} was already approved by 'test planner (")
    assert client.get(f"/v1/plans/{plan_id}/replenishment", headers=erp).status_code == 200


def test_downloads_parse_back(client: TestClient, keys: dict[str, str], loaded: Engine, api_settings: Settings) -> None:
    erp = auth(keys["erp"])
    plan_id = done_plan(client, keys, api_settings, loaded)
    answer = client.get(f"/v1/plans/{plan_id}/replenishment?format=csv", headers=erp)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == f'attachment; filename="{plan_id}-replenishment.csv"'
    lines = pd.read_csv(io.StringIO(answer.text))
    assert list(lines["sku"]) == ["A-1", "A-2", "M-1"] and set(lines["plan_id"]) == {plan_id}
    assert {"reorder_point", "order_qty", "model_version", "details"} <= set(lines.columns)

    by_accept = client.get(f"/v1/plans/{plan_id}/schedule", headers={**erp, "Accept": "text/csv"})
    assert by_accept.headers["content-disposition"] == f'attachment; filename="{plan_id}-schedule.csv"'
    ops = pd.read_csv(io.StringIO(by_accept.text))
    assert len(ops) == 4 and {"job_id", "op", "line_id", "start", "end"} <= set(ops.columns)

    xlsx = client.get(f"/v1/plans/{plan_id}/replenishment?format=xlsx", headers=erp)
    assert xlsx.status_code == 200
    assert xlsx.headers["content-disposition"] == f'attachment; filename="{plan_id}-replenishment.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["lines", "supplier splits", "alerts", "provenance"]
    sheets = pd.read_excel(io.BytesIO(xlsx.content), sheet_name=None)
    assert list(sheets["lines"]["sku"]) == ["A-1", "A-2", "M-1"]
    assert "input_fingerprint" in set(sheets["provenance"]["key"])
    schedule = pd.read_excel(
        io.BytesIO(client.get(f"/v1/plans/{plan_id}/schedule?format=xlsx", headers=erp).content), sheet_name=None
    )
    assert list(schedule) == ["schedule", "provenance"] and len(schedule["schedule"]) == 4


def test_unknown_plans_and_missing_tables_say_what_to_do(
    client: TestClient, keys: dict[str, str], loaded: Engine
) -> None:
    erp = auth(keys["erp"])
    for path in ("/v1/plans/pl-nope", "/v1/plans/pl-nope/replenishment", "/v1/plans/pl-nope/schedule"):
        answer = client.get(path, headers=erp)
        assert answer.status_code == 404
        assert answer.json() == {"detail": "plan 'pl-nope' not found; list plans with GET /v1/plans"}
    answer = client.post("/v1/plans/pl-nope/approve", headers=auth(keys["planner"]))
    assert answer.status_code == 404
    assert answer.json() == {"detail": "plan 'pl-nope' not found; list plans with GET /v1/plans"}

    inputs = load_inputs(loaded, skus="A-*")
    rp = store_plan(loaded, plan_replenishment(inputs), inputs.as_of)
    answer = client.get(f"/v1/plans/{rp}/schedule", headers=erp)
    assert answer.status_code == 404
    assert answer.json() == {
        "detail": f"plan {rp!r} has no production schedule; compute one with POST /v1/plans "
        '{"schedule": true} (needs make SKUs)'
    }
    stored = client.get(f"/v1/plans/{rp}", headers=erp).json()
    assert stored["kind"] == "replenishment" and stored["job"] is None and stored["params"]["policy"]
    assert client.get(f"/v1/plans/{rp}/replenishment", headers=erp).json()["count"] == 2

    options = production.ProductionOptions(time_limit=2, as_of="2024-03-01", horizon_days=14)
    pp, _ = production.run(loaded, options)
    answer = client.get(f"/v1/plans/{pp}/replenishment", headers=erp)
    assert answer.status_code == 404
    assert answer.json() == {
        "detail": f"plan {pp!r} is a production plan without replenishment lines; "
        f"read its schedule with GET /v1/plans/{pp}/schedule"
    }
    assert client.get(f"/v1/plans/{pp}/schedule", headers=erp).json()["count"] > 0
    assert "orders" not in client.get(f"/v1/plans/{pp}", headers=erp).json()["summary"]

    answer = client.get(f"/v1/plans/{rp}/replenishment?cursor=!!", headers=erp)
    assert answer.status_code == 422
    assert answer.json() == {"detail": "cursor is not valid; pass the next_cursor of the previous page unchanged"}
    assert client.get(f"/v1/plans/{rp}/replenishment?format=pdf", headers=erp).status_code == 422


def test_a_failing_plan_is_marked_failed_with_its_error(
    client: TestClient, keys: dict[str, str], loaded: Engine, api_settings: Settings
) -> None:
    request = {"skus": "NOPE-*", "time_limit": 1.0}
    plan_id = plans.create(loaded, request)
    ctx = JobContext(loaded, api_settings, "job-1", {"plan_id": plan_id, **request})
    with pytest.raises(LookupError, match="no items to plan match 'NOPE-\\*'"):
        plan_job.run(ctx)
    plan = client.get(f"/v1/plans/{plan_id}", headers=auth(keys["erp"])).json()
    error = "no items to plan match 'NOPE-*'; load data with `leanplan import`"
    assert plan["status"] == "failed" and plan["error"] == error
    answer = client.get(f"/v1/plans/{plan_id}/replenishment", headers=auth(keys["erp"]))
    assert answer.status_code == 409
    assert answer.json() == {"detail": f"plan {plan_id!r} failed ({error}); compute a new one with POST /v1/plans"}


def test_a_retry_after_a_kill_replaces_the_left_overs(loaded: Engine, api_settings: Settings) -> None:
    request = {"time_limit": 2.0, "schedule": False}
    plan_id = plans.create(loaded, request)
    with loaded.begin() as conn:  # what a killed attempt could never commit, but a retry must not trip over
        conn.execute(update(Plan).where(Plan.id == plan_id).values(status="running"))
        conn.execute(insert(PlanLine).values(plan_id=plan_id, sku="A-1", on_hand=1.0))
        conn.execute(insert(Alert).values(plan_id=plan_id, type="x", severity="low", message="stale"))
    result = plan_job.run(JobContext(loaded, api_settings, "job-2", {"plan_id": plan_id, **request}))
    assert result["status"] == "done" and result["operations"] == 0
    with loaded.connect() as conn:
        assert conn.execute(select(func.count()).where(PlanLine.plan_id == plan_id)).scalar() == 3
        assert conn.execute(select(func.count()).where(Alert.message == "stale")).scalar() == 0
        assert conn.execute(select(func.count()).select_from(ScheduledOperation)).scalar() == 0
    # a job retried after its attempt committed leaves the plan as it is
    again = plan_job.run(JobContext(loaded, api_settings, "job-3", {"plan_id": plan_id, **request}))
    assert again == {"plan_id": plan_id, "status": "done"}


def test_the_worker_runs_a_queued_plan(
    client: TestClient, keys: dict[str, str], loaded: Engine, api_settings: Settings
) -> None:
    from service.jobs.worker import Worker

    created = post_plan(client, keys, time_limit=3)
    assert Worker(loaded, api_settings, poll=0.1).run(once=True) == 1
    plan = client.get(f"/v1/plans/{created['id']}", headers=auth(keys["erp"])).json()
    assert plan["status"] == "done" and plan["job"]["status"] == "succeeded" and plan["job"]["progress"] == 1.0
    job = get_job(loaded, created["job_id"])
    assert job is not None and job["result"]["plan_id"] == created["id"]


def _sample_subset(engine: Engine, buy: int = 30, make: int = 3) -> None:
    """The sample data restricted to the first `buy` RAF and `make` PBS SKUs (every line and changeover)."""
    from pipelines.ingest import read_raw

    files = [(path, path.name.split(".")[0]) for path in sorted(SAMPLE.glob("*.csv"))]
    frames = [(path, table, read_raw(path, table=table)) for path, table in files]
    skus = next(frame for _, table, frame in frames if table == "items")["sku"]
    keep = set(skus[skus.str.startswith("RAF-")].head(buy)) | set(skus[skus.str.startswith("PBS-")].head(make))
    inputs = []
    for path, table, frame in frames:
        if "sku" in frame.columns:
            frame = frame[frame["sku"].isin(keep)]
        if table == "bom":  # bills of materials whose items are all kept
            frame = frame[frame["parent_sku"].isin(keep) & frame["component_sku"].isin(keep)]
        if frame.empty:
            continue
        inputs.append(RawInput(table, frame.reset_index(drop=True), str(path)))
    import_frames(engine, inputs)


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="no sample data")
def test_a_plan_on_the_sample_data(
    client: TestClient, keys: dict[str, str], engine: Engine, api_settings: Settings
) -> None:
    _sample_subset(engine)
    plan_id = done_plan(client, keys, api_settings, engine)
    erp = auth(keys["erp"])
    plan = client.get(f"/v1/plans/{plan_id}", headers=erp).json()
    assert plan["status"] == "done" and plan["summary"]["skus"] == 33
    assert plan["params"]["production"]["safety_stock"] == {"plan_id": plan_id, "source": "this plan"}
    lines = pd.read_csv(io.StringIO(client.get(f"/v1/plans/{plan_id}/replenishment?format=csv", headers=erp).text))
    assert len(lines) == 33 and lines["sku"].is_monotonic_increasing
    ops = client.get(f"/v1/plans/{plan_id}/schedule?limit=10000", headers=erp).json()["rows"]
    assert ops and {r["sku"][:4] for r in ops} == {"PBS-"}
