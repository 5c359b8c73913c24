"""Engines for SQLite (default, a file under `var/`) and Postgres (`DATABASE_URL`), with the right session setup."""

from __future__ import annotations

import weakref
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from service.settings import get_settings, normalize_url


def _sqlite_setup(engine: Engine) -> None:
    """Real transactions (BEGIN emitted by us, also around DDL), foreign keys on, WAL for concurrent readers."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


_SCHEMAS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def schema_of(engine: Engine) -> str | None:
    """The Postgres schema `make_engine` bound `engine` to, if any (child processes need it with the URL)."""
    return _SCHEMAS.get(engine)


def make_engine(url: str, schema: str | None = None, **kwargs: Any) -> Engine:
    """An engine for `url` (sqlite:///… or postgresql+psycopg://…); creates the SQLite file's directory.

    `schema` (Postgres only) puts every table in that schema, created if missing: isolated test and
    benchmark databases inside one Postgres database.
    """
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        _sqlite_setup(engine)
        return engine
    if schema:
        with create_engine(url).begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        kwargs.setdefault("connect_args", {})["options"] = f"-csearch_path={schema}"
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    if schema:
        _SCHEMAS[engine] = schema
    return engine


@lru_cache
def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for `url` (default: the configured `DATABASE_URL` and `LEANPLAN_DATABASE_SCHEMA`)."""
    schema = None
    if url is None:
        settings = get_settings()
        url, schema = settings.database_url, settings.database_schema
    return make_engine(url, schema=schema)


__all__ = ["get_engine", "make_engine", "normalize_url", "schema_of"]
