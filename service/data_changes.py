"""Changes to canonical data beyond the upsert of an upload, each audited in `data_audit` (who, when, rows).

`delete_order(engine, table, order_id, key)` removes one open order or customer order by id (nothing else
references those rows) and records it in the same transaction. `replace_table(engine, item, scope, key)` makes a
validated upload the table's whole content (or that of the SKUs, or the as-of dates, it holds): in one transaction
it upserts the rows, deletes the stored rows of the scope the upload does not hold, and records how many; rows other
tables still reference are not removed (`Referenced`, nothing changed). `audit_rows(engine, table)` lists the
audit, newest first.

Public interface: `DELETABLE`, `SCOPES`, `NotFound`, `Referenced`, `delete_order`, `replace_table`, `audit_rows`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, Table, and_, delete, insert, select, tuple_
from sqlalchemy.exc import IntegrityError

from service.auth import KeyInfo
from service.db.importer import RawInput, validate_inputs
from service.db.tables import CANONICAL_MODELS, CustomerOrder, DataAudit, OpenOrder
from service.db.upsert import UpsertResult, upsert

__all__ = [
    "DELETABLE", "SCOPES", "NotFound", "Referenced", "audit_rows", "delete_order", "replace_table",
]  # fmt: skip

#: What a replace swaps: every row, the rows of the SKUs the upload holds, or of its as-of dates.
SCOPES = ("all", "skus", "as_of")
_SCOPE_COLUMN = {"skus": "sku", "as_of": "as_of"}
_BATCH = 500  # keys per DELETE statement

#: Tables whose rows may be deleted by id; nothing references their rows.
DELETABLE: dict[str, type[OpenOrder] | type[CustomerOrder]] = {
    "open_orders": OpenOrder,
    "customer_orders": CustomerOrder,
}


class NotFound(LookupError):
    """No row of that table has that id."""


class Referenced(Exception):
    """The replace would remove rows that other tables reference; nothing was changed."""


def _audit(conn: Connection, key: KeyInfo | None, action: str, table: str, rows: int, detail: dict[str, Any]) -> None:
    conn.execute(
        insert(DataAudit).values(
            key_id=key.id if key else None,
            key_name=key.name if key else None,
            action=action,
            table_name=table,
            rows=rows,
            detail=detail,
        )
    )


def _plain(values: pd.Series) -> list[Any]:
    """Frame values as the database hands them back (dates as `datetime.date`)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return list(values.dt.date)
    return list(values)


def replace_table(engine: Engine, item: RawInput, scope: str, key: KeyInfo | None) -> tuple[UpsertResult, int]:
    """Make `item` the content of its table within `scope` (see `SCOPES`), audited; (upsert result, rows removed).
    Raises `DataValidationError`/`ImportRejected` as an upload does, `ValueError` for a scope the table lacks, and
    `Referenced` when a row to remove is still referenced."""
    if scope not in SCOPES:
        raise ValueError(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
    table: Table = CANONICAL_MODELS[item.table].__table__  # type: ignore[assignment]
    column = _SCOPE_COLUMN.get(scope)
    if column is not None and column not in table.c:
        raise ValueError(f"{item.table} has no {column} column; replace it whole (scope all)")
    keys = list(table.primary_key.columns)
    with engine.begin() as conn:
        [(_, frame)] = validate_inputs(conn, [item])
        result = upsert(conn, item.table, frame)
        kept = set(zip(*(_plain(frame[c.name]) for c in keys), strict=True))
        query = select(*keys)
        if column is not None:
            query = query.where(table.c[column].in_(sorted(set(_plain(frame[column])))))
        stale = [tuple(r) for r in conn.execute(query) if tuple(r) not in kept]
        try:
            with conn.begin_nested():
                for start in range(0, len(stale), _BATCH):
                    batch = stale[start : start + _BATCH]
                    where = tuple_(*keys).in_(batch) if len(keys) > 1 else keys[0].in_([k[0] for k in batch])
                    conn.execute(delete(table).where(and_(where)))
        except IntegrityError:
            raise Referenced(
                f"replacing {item.table} would remove {len(stale):,} row(s) of which some are still referenced by "
                f"other tables (e.g. {', '.join(map(str, stale[:3]))}); keep those rows in the upload or delete "
                "what references them first; nothing was changed"
            ) from None
        _audit(conn, key, "replace", item.table, len(stale), {"scope": scope, "source": item.source,
                                                              "rows": result.rows})  # fmt: skip
    return result, len(stale)


def delete_order(engine: Engine, table: str, order_id: str, key: KeyInfo | None) -> dict[str, Any]:
    """Delete row `order_id` of `table` (one of `DELETABLE`) and audit it, in one transaction; the removed row."""
    model = DELETABLE[table]
    with engine.begin() as conn:
        row = conn.execute(select(model.__table__).where(model.id == order_id)).mappings().first()
        if row is None:
            raise NotFound(f"{table} has no row with id {order_id!r}; check the id (nothing was deleted)")
        conn.execute(delete(model).where(model.id == order_id))
        removed = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
        _audit(conn, key, "delete", table, 1, {"id": order_id, "row": removed})
    return removed


def audit_rows(engine: Engine, table: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The audit, newest first, optionally of one table."""
    query = select(DataAudit.__table__).order_by(DataAudit.id.desc()).limit(limit)
    if table is not None:
        query = query.where(DataAudit.table_name == table)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
