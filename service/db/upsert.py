"""Bulk, idempotent upserts of validated canonical frames.

A frame is copied into a temporary staging table (Postgres: COPY; SQLite: one executemany), counted against the
target (new keys, changed rows) and merged with one ``INSERT … SELECT … ON CONFLICT DO UPDATE`` that only touches
rows whose values differ. Loading the same frame twice therefore changes nothing. The caller owns the
transaction: run several upserts inside one ``engine.begin()`` block and they land together or not at all.

Public interface: `upsert(conn, table, frame) -> UpsertResult`.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Boolean, Connection, Date, DateTime, Integer, Table

from service.db.tables import CANONICAL_MODELS

SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's storage format for DateTime on SQLite


@dataclass(frozen=True)
class UpsertResult:
    """What an upsert did to `table`: `rows` given = `inserted` + `updated` + `unchanged`."""

    table: str
    rows: int
    inserted: int
    updated: int

    @property
    def unchanged(self) -> int:
        return self.rows - self.inserted - self.updated


def _db_values(frame: pd.DataFrame, table: Table, dialect: str) -> dict[str, pd.Series]:
    """Columns converted to what the driver stores: ISO text for dates, None for missing values."""
    out: dict[str, pd.Series] = {}
    for column in table.columns:
        values = frame[column.name]
        if isinstance(column.type, DateTime):
            fmt = SQLITE_DATETIME if dialect == "sqlite" else "%Y-%m-%dT%H:%M:%S.%f"
            values = pd.to_datetime(values).dt.strftime(fmt)
        elif isinstance(column.type, Date):
            values = pd.to_datetime(values).dt.strftime("%Y-%m-%d")
        elif isinstance(column.type, Integer):
            values = values.astype("Int64")
        elif isinstance(column.type, Boolean):
            values = values.astype("boolean")
        out[column.name] = values.astype(object).where(values.notna(), None)
    return out


def _stage(conn: Connection, table: Table, stage: str, frame: pd.DataFrame) -> None:
    dialect = conn.dialect.name
    quote = conn.dialect.identifier_preparer.quote
    names = [c.name for c in table.columns]
    cols = ", ".join(quote(n) for n in names)
    values = _db_values(frame, table, dialect)
    if dialect == "postgresql":
        conn.exec_driver_sql(f"CREATE TEMP TABLE {stage} (LIKE {quote(table.name)} INCLUDING DEFAULTS) ON COMMIT DROP")
        buffer = io.StringIO()
        null = f"null-{uuid.uuid4().hex}"  # a marker no cell can hold (a fixed one like \N would eat real text)
        pd.DataFrame(values).to_csv(buffer, index=False, header=False, na_rep=null)
        raw = conn.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {stage} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '{null}')") as copy,
        ):
            copy.write(buffer.getvalue())
    else:
        conn.exec_driver_sql(f"CREATE TEMP TABLE {stage} AS SELECT {cols} FROM main.{quote(table.name)} WHERE 0")
        rows = list(zip(*(values[n].to_numpy() for n in names), strict=True))
        placeholders = ", ".join("?" for _ in names)
        conn.exec_driver_sql(f"INSERT INTO {stage} ({cols}) VALUES ({placeholders})", rows)


def _scalar(conn: Connection, sql: str) -> int:
    value: Any = conn.exec_driver_sql(sql).scalar()
    return int(value or 0)


def upsert(conn: Connection, table_name: str, frame: pd.DataFrame) -> UpsertResult:
    """Insert new keys and update changed rows of canonical table `table_name` from a validated `frame`."""
    table = CANONICAL_MODELS[table_name].__table__
    assert isinstance(table, Table)
    if frame.empty:
        return UpsertResult(table_name, 0, 0, 0)
    quote = conn.dialect.identifier_preparer.quote
    distinct = "IS DISTINCT FROM" if conn.dialect.name == "postgresql" else "IS NOT"
    keys = [c.name for c in table.primary_key.columns]
    others = [c.name for c in table.columns if c.name not in keys]
    names = [c.name for c in table.columns]
    stage = quote(f"stage_{table_name}_{uuid.uuid4().hex[:8]}")
    target = quote(table.name)

    _stage(conn, table, stage, frame)
    on_key = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in keys)
    changed = " OR ".join(f"t.{quote(c)} {distinct} s.{quote(c)}" for c in others) or "FALSE"
    inserted = _scalar(
        conn, f"SELECT count(*) FROM {stage} s WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE {on_key})"
    )
    updated = _scalar(conn, f"SELECT count(*) FROM {stage} s JOIN {target} t ON {on_key} WHERE {changed}")
    cols = ", ".join(quote(n) for n in names)
    if others:
        sets = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in others)
        differs = " OR ".join(f"{target}.{quote(c)} {distinct} excluded.{quote(c)}" for c in others)
        action = f"DO UPDATE SET {sets} WHERE {differs}"
    else:
        action = "DO NOTHING"
    conn.exec_driver_sql(
        f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {stage} WHERE true "
        f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) {action}"
    )
    conn.exec_driver_sql(f"DROP TABLE {stage}")
    return UpsertResult(table_name, len(frame), inserted, updated)
