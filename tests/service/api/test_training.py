"""`/v1/training-runs`: queue training jobs (scientist and above), one per experiment, follow them to the end."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.jobs import queue
from service.jobs.worker import Worker
from service.settings import Settings
from service.training import experiment_names
from tests.service.api.conftest import auth

URL = "/v1/training-runs"


def test_needs_a_key(client: TestClient) -> None:
    for method, url in (("post", URL), ("get", URL), ("get", f"{URL}/x")):
        response = client.request(method, url, json={})
        assert response.status_code == 401
        assert response.json()["detail"].startswith("missing or invalid API key")


@pytest.mark.parametrize("role", ["erp", "planner"])
def test_needs_a_scientist(client: TestClient, keys: dict[str, str], role: str) -> None:
    for method, url in (("post", URL), ("get", URL), ("get", f"{URL}/x")):
        response = client.request(method, url, json={}, headers=auth(keys[role]))
        assert response.status_code == 403
        assert response.json() == {
            "detail": f"this needs a key of role 'scientist' or above; this key's role is {role!r}"
        }


@pytest.mark.parametrize("role", ["scientist", "admin"])
def test_post_queues_a_job(client: TestClient, keys: dict[str, str], engine: Engine, role: str) -> None:
    response = client.post(URL, json={"config": "quick", "sku_pattern": "^RAF-00"}, headers=auth(keys[role]))
    assert response.status_code == 202, response.text
    body = response.json()
    run_id = body["id"]
    assert response.headers["location"] == f"{URL}/{run_id}"
    assert body["links"] == {"self": f"{URL}/{run_id}", "models": "/v1/models"}
    assert (body["status"], body["progress"], body["attempts"], body["experiment"]) == ("queued", 0.0, 0, "quick")
    assert (body["config"], body["sku_pattern"], body["error"], body["mlflow_run_id"]) == (
        "quick", "^RAF-00", None, None,
    )  # fmt: skip
    job = queue.get_job(engine, run_id)
    assert job is not None and job["kind"] == "train" and job["lock_key"] == "train:quick"


def test_default_experiment(client: TestClient, keys: dict[str, str], api_settings: Settings) -> None:
    response = client.post(URL, json={}, headers=auth(keys["scientist"]))
    assert response.status_code == 202
    assert response.json()["config"] == str(api_settings.training_config)
    assert response.json()["experiment"] == "quick"


def test_one_run_per_experiment(client: TestClient, keys: dict[str, str]) -> None:
    first = client.post(URL, json={"config": "quick"}, headers=auth(keys["scientist"])).json()["id"]
    second = client.post(URL, json={"config": "quick"}, headers=auth(keys["scientist"]))
    assert second.status_code == 409
    assert second.json() == {
        "detail": f"a training run of experiment 'quick' is already queued or running ({first}); "
        f"follow it at GET /v1/training-runs/{first}"
    }
    assert second.headers["location"] == f"{URL}/{first}"
    other = client.post(URL, json={"config": "raf"}, headers=auth(keys["scientist"]))
    assert other.status_code == 202


def test_unknown_experiment(client: TestClient, keys: dict[str, str], api_settings: Settings) -> None:
    response = client.post(URL, json={"config": "nope"}, headers=auth(keys["scientist"]))
    assert response.status_code == 422
    names = ", ".join(experiment_names(api_settings))
    assert response.json() == {"detail": f"unknown experiment config 'nope'; choose one of: {names}"}
    assert "quick" in names


def test_config_must_be_a_name(client: TestClient, keys: dict[str, str]) -> None:
    response = client.post(URL, json={"config": "../../etc/passwd"}, headers=auth(keys["scientist"]))
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "config"]]


def test_bad_sku_pattern(client: TestClient, keys: dict[str, str]) -> None:
    response = client.post(URL, json={"sku_pattern": "(["}, headers=auth(keys["scientist"]))
    assert response.status_code == 422
    assert response.json() == {
        "detail": "sku_pattern '([' is not a valid regular expression: missing ]: [ "
        "(RE2 syntax: no backreferences or lookaround)"
    }


def test_get_unknown_run(client: TestClient, keys: dict[str, str], engine: Engine) -> None:
    plan_job = queue.enqueue(engine, "plan", {})
    for run_id in ("nope", plan_job):
        response = client.get(f"{URL}/{run_id}", headers=auth(keys["scientist"]))
        assert response.status_code == 404
        assert response.json() == {
            "detail": f"no training run {run_id!r}; list training runs with GET /v1/training-runs"
        }


def test_list_newest_first(client: TestClient, keys: dict[str, str], engine: Engine) -> None:
    ids = [client.post(URL, json={"config": c}, headers=auth(keys["scientist"])).json()["id"] for c in ("quick", "raf")]
    queue.enqueue(engine, "plan", {})
    listed = client.get(URL, headers=auth(keys["scientist"]))
    assert listed.status_code == 200 and [r["id"] for r in listed.json()] == ids[::-1]
    assert [r["id"] for r in client.get(f"{URL}?limit=1", headers=auth(keys["scientist"])).json()] == ids[1:]
    assert client.get(f"{URL}?status=running", headers=auth(keys["scientist"])).json() == []
    assert client.get(f"{URL}?limit=0", headers=auth(keys["scientist"])).status_code == 422


def test_a_failed_run_shows_its_error(
    client: TestClient, keys: dict[str, str], engine: Engine, api_settings: Settings
) -> None:
    run_id = client.post(URL, json={"config": "quick"}, headers=auth(keys["scientist"])).json()["id"]
    Worker(engine, api_settings).run(once=True)  # the database holds no demand
    body = client.get(f"{URL}/{run_id}", headers=auth(keys["scientist"])).json()
    assert (body["status"], body["attempts"], body["message"]) == ("failed", 1, "failed")
    assert body["error"] == (
        "the database holds no demand for SKUs matching '^RAF-'; upload some with POST /v1/data/demand"
    )
    assert body["finished_at"] is not None and body["result"] is None
    again = client.post(URL, json={"config": "quick"}, headers=auth(keys["scientist"]))
    assert again.status_code == 202  # a finished run no longer holds the experiment
