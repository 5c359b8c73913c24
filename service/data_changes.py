"""Changes to canonical data beyond the upsert of an upload, each audited in `data_audit` (who, when, rows).

`delete_order(engine, table, order_id, key)` removes one open order or customer order by id (nothing else
references those rows) and records it in the same transaction; `audit_rows(engine, table)` lists the audit, newest
first.

Public interface: `DELETABLE`, `NotFound`, `delete_order`, `audit_rows`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, delete, insert, select

from service.auth import KeyInfo
from service.db.tables import CustomerOrder, DataAudit, OpenOrder

__all__ = ["DELETABLE", "NotFound", "audit_rows", "delete_order"]

#: Tables whose rows may be deleted by id; nothing references their rows.
DELETABLE: dict[str, type[OpenOrder] | type[CustomerOrder]] = {
    "open_orders": OpenOrder,
    "customer_orders": CustomerOrder,
}


class NotFound(LookupError):
    """No row of that table has that id."""


def delete_order(engine: Engine, table: str, order_id: str, key: KeyInfo | None) -> dict[str, Any]:
    """Delete row `order_id` of `table` (one of `DELETABLE`) and audit it, in one transaction; the removed row."""
    model = DELETABLE[table]
    with engine.begin() as conn:
        row = conn.execute(select(model.__table__).where(model.id == order_id)).mappings().first()
        if row is None:
            raise NotFound(f"{table} has no row with id {order_id!r}; check the id (nothing was deleted)")
        conn.execute(delete(model).where(model.id == order_id))
        removed = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
        conn.execute(
            insert(DataAudit).values(
                key_id=key.id if key else None,
                key_name=key.name if key else None,
                action="delete",
                table_name=table,
                rows=1,
                detail={"id": order_id, "row": removed},
            )
        )
    return removed


def audit_rows(engine: Engine, table: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The audit, newest first, optionally of one table."""
    query = select(DataAudit.__table__).order_by(DataAudit.id.desc()).limit(limit)
    if table is not None:
        query = query.where(DataAudit.table_name == table)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
