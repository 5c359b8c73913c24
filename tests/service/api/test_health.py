"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert

from service.db.tables import Job
from tests.service.api.conftest import auth
from tests.service.api.seed import seed


def test_healthz_needs_no_key(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_database_and_model(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["database"]["ok"] and body["database"]["revision"]
    assert body["model"] == {"ok": True, "champion": None, "note": "no model trained yet; POST /v1/training-runs"}


def test_readyz_is_503_when_the_database_is_gone(client: TestClient, engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE alembic_version")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ancient'")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert not response.json()["database"]["ok"]


def test_metrics_expose_latency_jobs_and_forecast_age(client: TestClient, engine: Engine, keys: dict[str, str]) -> None:
    seed(engine, plan=False)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Job).values(
                id="j1",
                kind="plan",
                status="succeeded",
                started_at=now - dt.timedelta(seconds=42),
                finished_at=now,
            )
        )
    client.get("/v1/keys", headers=auth(keys["admin"]))
    client.get("/v1/keys/../nowhere")
    text = client.get("/metrics").text
    assert 'leanplan_http_request_duration_seconds_count{method="GET",route="/v1/keys",status="200"} 1.0' in text
    assert 'route="unmatched",status="404"' in text
    assert 'leanplan_jobs{kind="plan",status="succeeded"} 1.0' in text
    assert 'leanplan_job_duration_seconds_bucket{kind="plan",le="60.0",status="succeeded"} 1.0' in text
    assert 'leanplan_job_duration_seconds_bucket{kind="plan",le="30.0",status="succeeded"} 0.0' in text
    age = next(line for line in text.splitlines() if line.startswith("leanplan_forecast_age_seconds "))
    assert 0 <= float(age.split()[1]) < 600
