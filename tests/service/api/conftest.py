"""API test fixtures: an app bound to the test database (SQLite and Postgres), a client, one key per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.auth import ROLES, create_key
from service.db.engine import schema_of
from service.main import create_app
from service.settings import Settings


def settings_for(engine: Engine, home: Path, **overrides: object) -> Settings:
    """Settings pointing at `engine`'s database (URL and schema) with everything else under `home` (no forecast
    cache unless asked: tests publish and read back at once)."""
    overrides.setdefault("forecast_cache_seconds", 0)
    return Settings(
        home=home,
        database_url=engine.url.render_as_string(hide_password=False),
        database_schema=schema_of(engine),
        mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
        key_cache_seconds=0,
        **overrides,  # type: ignore[arg-type]
    )


def auth(key: str) -> dict[str, str]:
    """Headers carrying `key`."""
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def api_settings(engine: Engine, tmp_path: Path) -> Settings:
    return settings_for(engine, tmp_path / "home")


@pytest.fixture
def app(engine: Engine, api_settings: Settings) -> FastAPI:
    return create_app(api_settings, engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def keys(engine: Engine) -> dict[str, str]:
    """One fresh key per role: {"erp": "lp_…", "planner": …, "scientist": …, "admin": …}."""
    return {role: create_key(engine, role, f"test {role}")[1] for role in ROLES}
