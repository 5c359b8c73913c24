"""`/v1/models`: the registry's versions (planner and above), promotion and rollback (scientist and above)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from pipelines.ingest import parse_table
from service.db.forecasts import current_version
from service.settings import Settings
from service.training import forecast_writer, publish_champion, resolve_config
from tests.service.api.conftest import auth, settings_for
from tests.service.jobs.support import SAMPLE, fresh_mlflow, tiny_config

URL = "/v1/models"
pytestmark = pytest.mark.slow  # the module trains two model versions once (about 30 s)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A registry with version 1 (champion) and version 2 (challenger), trained on 20 RAF spare parts."""
    from pipelines import train

    home = tmp_path_factory.mktemp("registry")
    uri = fresh_mlflow(home)
    raw = pd.read_csv(SAMPLE / "demand.raf.csv", dtype=str).head(20)
    history = parse_table("demand", raw)
    config, _ = resolve_config(str(tiny_config(home)), Settings(home=home))
    cwd = os.getcwd()
    os.chdir(home)  # MLflow puts artifacts under ./mlruns
    try:
        outcomes = [train.run(config, history, tracking_uri=uri) for _ in range(2)]
    finally:
        os.chdir(cwd)
    assert [o.decision.alias for o in outcomes] == ["champion", "challenger"]
    yield {"uri": uri, "outcomes": outcomes}


@pytest.fixture
def api_settings(engine: Engine, tmp_path: Path, trained: dict[str, Any]) -> Settings:
    return settings_for(engine, tmp_path / "home").model_copy(update={"mlflow_tracking_uri": trained["uri"]})


@pytest.fixture
def stored(engine: Engine, trained: dict[str, Any]) -> None:
    """Both versions' forecast sets in the database, version 1 published."""
    for outcome in trained["outcomes"]:
        forecast_writer(engine, "tiny")(outcome.model_version, outcome.run_id, outcome.result)
        publish_champion(engine, outcome)
    assert current_version(engine) == "1"


def test_needs_a_key(client: TestClient) -> None:
    for method, url in (("get", URL), ("post", f"{URL}/1/promote"), ("post", f"{URL}/rollback")):
        response = client.request(method, url)
        assert response.status_code == 401
        assert response.json()["detail"].startswith("missing or invalid API key")


def test_roles(client: TestClient, keys: dict[str, str]) -> None:
    forbidden = [("get", URL, "erp", "planner")]
    forbidden += [("post", url, role, "scientist") for url in (f"{URL}/1/promote", f"{URL}/rollback") for role in
                  ("erp", "planner")]  # fmt: skip
    for method, url, role, needed in forbidden:
        response = client.request(method, url, headers=auth(keys[role]))
        assert response.status_code == 403, (method, url, role)
        assert response.json() == {
            "detail": f"this needs a key of role {needed!r} or above; this key's role is {role!r}"
        }


def test_list_versions(client: TestClient, keys: dict[str, str], trained: dict[str, Any], stored: None) -> None:
    response = client.get(URL, headers=auth(keys["planner"]))
    assert response.status_code == 200
    versions = response.json()
    first, second = trained["outcomes"]
    assert [(v["version"], v["aliases"], v["forecast_set"]) for v in versions] == [
        ("2", ["challenger"], "ready"),
        ("1", ["champion"], "published"),
    ]
    assert [v["run_id"] for v in versions] == [second.run_id, first.run_id]
    assert versions[1]["experiment"] == "tiny" and versions[1]["created_at"] is not None
    assert versions[1]["metrics"]["pinball"] == pytest.approx(first.metrics["all.pinball"], rel=1e-3)
    assert versions[1]["data"] == {"fingerprint": first.fingerprint}


def test_list_without_a_registered_model(client: TestClient, keys: dict[str, str], app: Any, tmp_path: Path) -> None:
    empty = fresh_mlflow(tmp_path / "empty")
    app.state.settings = app.state.settings.model_copy(update={"mlflow_tracking_uri": empty})
    response = client.get(URL, headers=auth(keys["planner"]))
    assert response.status_code == 200 and response.json() == []
    rollback = client.post(f"{URL}/rollback", headers=auth(keys["scientist"]))
    assert rollback.status_code == 409


def test_promote_unknown_version(client: TestClient, keys: dict[str, str]) -> None:
    response = client.post(f"{URL}/7/promote", headers=auth(keys["scientist"]))
    assert response.status_code == 404
    assert response.json() == {"detail": "model version 7 not found; list versions with GET /v1/models"}
    assert client.post(f"{URL}/abc/promote", headers=auth(keys["scientist"])).status_code == 422


def test_promote_then_rollback_publish_the_forecasts(
    client: TestClient, keys: dict[str, str], engine: Engine, stored: None
) -> None:
    promoted = client.post(f"{URL}/2/promote", headers=auth(keys["scientist"]))
    assert promoted.status_code == 200
    assert promoted.json() == {
        "champion": "2",
        "previous": "1",
        "forecasts_published": True,
        "current_forecast_version": "2",
        "message": "v2 is the champion; its forecasts are published",
    }
    assert current_version(engine) == "2"
    aliases = {v["version"]: v["aliases"] for v in client.get(URL, headers=auth(keys["planner"])).json()}
    assert aliases == {"2": ["champion"], "1": []}
    rolled = client.post(f"{URL}/rollback", headers=auth(keys["admin"]))
    assert rolled.status_code == 200
    assert rolled.json() == {
        "champion": "1",
        "previous": None,
        "forecasts_published": True,
        "current_forecast_version": "1",
        "message": "v1 is the champion; its forecasts are published",
    }
    again = client.post(f"{URL}/rollback", headers=auth(keys["scientist"]))
    assert again.status_code == 409
    assert again.json() == {
        "detail": "leanplan-demand has no earlier champion to roll back to; "
        "promote a version with POST /v1/models/{version}/promote"
    }


def test_promote_without_stored_forecasts_keeps_the_published_set(client: TestClient, keys: dict[str, str]) -> None:
    promoted = client.post(f"{URL}/2/promote", headers=auth(keys["scientist"]))
    assert promoted.status_code == 200
    assert promoted.json() == {
        "champion": "2",
        "previous": "1",
        "forecasts_published": False,
        "current_forecast_version": None,
        "message": "v2 is the champion; no complete forecast set for v2 is stored, so the published forecasts are "
        "unchanged (train again to score it)",
    }
    assert client.post(f"{URL}/rollback", headers=auth(keys["scientist"])).json()["champion"] == "1"
