"""Shared fixtures: migrated databases on SQLite and on Postgres (one fresh schema per use)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from service.db.engine import make_engine, normalize_url
from service.db.migrate import upgrade

POSTGRES_URL = os.environ.get("LEANPLAN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_reason() -> str | None:
    """None when Postgres answers, else why not."""
    try:
        with create_engine(normalize_url(POSTGRES_URL), connect_args={"connect_timeout": 5}).connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as err:
        return f"Postgres at {POSTGRES_URL} unreachable: {str(err).splitlines()[0]}"
    return None


@pytest.fixture(scope="session")
def postgres_available() -> None:
    reason = _postgres_reason()
    if reason and IN_CI:
        pytest.fail(f"{reason} (CI=true: Postgres tests must run, not skip)")
    if reason:
        pytest.skip(reason)


def _engine(kind: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, str | None]:
    if kind == "sqlite":
        path = tmp_path_factory.mktemp("db") / "leanplan.db"
        return make_engine(f"sqlite:///{path}"), None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    return make_engine(POSTGRES_URL, schema=schema), schema


def _drop(engine: Engine, schema: str | None) -> None:
    engine.dispose()
    if schema:
        admin = make_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


DATABASES = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A freshly migrated database, on SQLite and on Postgres."""
    if request.param == "postgres":
        request.getfixturevalue("postgres_available")
    eng, schema = _engine(request.param, tmp_path_factory)
    upgrade(eng)
    yield eng
    _drop(eng, schema)


@pytest.fixture(scope="module", params=DATABASES)
def module_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated database shared by a module's tests (for tests that must leave it unchanged)."""
    if request.param == "postgres":
        reason = _postgres_reason()
        if reason and IN_CI:
            pytest.fail(f"{reason} (CI=true: Postgres tests must run, not skip)")
        if reason:
            pytest.skip(reason)
    eng, schema = _engine(request.param, tmp_path_factory)
    upgrade(eng)
    yield eng
    _drop(eng, schema)
