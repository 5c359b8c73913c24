"""Each API key may have at most `max_queued_jobs_per_key` jobs queued (plans and training runs); above, 429 with
`Retry-After`, and nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from service.auth import create_key
from service.db.importer import RawInput, import_frames
from service.db.tables import Job, Plan
from service.jobs.queue import claim
from service.main import create_app
from tests.factories import valid_tables
from tests.service.api.conftest import auth, settings_for


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    import_frames(engine, [RawInput(t, f, t) for t, f in valid_tables().items()])
    settings = settings_for(engine, tmp_path / "home", max_queued_jobs_per_key=2)
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as test_client:
        yield test_client


def _count(engine: Engine, table: type[Job] | type[Plan]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_key_queues_a_bounded_number_of_plans(client: TestClient, engine: Engine) -> None:
    key, secret = create_key(engine, "scientist", "busy ERP")
    for _ in range(2):
        assert client.post("/v1/plans", json={}, headers=auth(secret)).status_code == 202
    with engine.connect() as conn:
        assert set(conn.execute(select(Job.key_id))) == {(key.id,)}
    plans, jobs = _count(engine, Plan), _count(engine, Job)

    refused = client.post("/v1/plans", json={}, headers=auth(secret))
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "already has 2 jobs queued" in refused.json()["detail"]
    assert (_count(engine, Plan), _count(engine, Job)) == (plans, jobs)  # nothing stored
    training = client.post("/v1/training-runs", json={"config": "quick"}, headers=auth(secret))
    assert training.status_code == 429 and "Retry-After" in training.headers

    other = create_key(engine, "planner", "another client")[1]
    assert client.post("/v1/plans", json={}, headers=auth(other)).status_code == 202  # the quota is per key

    assert claim(engine, "test-worker", kinds=("plan",)) is not None  # one job leaves the queue
    assert client.post("/v1/plans", json={}, headers=auth(secret)).status_code == 202


def test_training_runs_count_towards_the_quota(client: TestClient, engine: Engine) -> None:
    secret = create_key(engine, "scientist", "scientist")[1]
    assert client.post("/v1/training-runs", json={"config": "quick"}, headers=auth(secret)).status_code == 202
    assert client.post("/v1/plans", json={}, headers=auth(secret)).status_code == 202
    assert client.post("/v1/plans", json={}, headers=auth(secret)).status_code == 429
