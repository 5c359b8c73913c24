"""The replenishment list: one page of a plan's lines, filtered (class, supplier, alert, orders only, SKU prefix)
and sorted on a whitelisted column in SQL, so 5,000 SKUs cost one indexed query of `PAGE_SIZE` rows plus a count.

Public interface: `LineQuery`, `LinesPage`, `lines_page(engine, plan, query)`, `SORTS`, `ALERT_CHOICES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine, Select, case, func, select

from service.db.tables import Alert, Item, PlanLine
from service.web.plans import PlanRef

PAGE_SIZE = 50
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
ALERT_CHOICES = ("any", "none", *SEVERITY_RANK)


def _alerts(plan_id: str) -> Any:
    rank = case(*((Alert.severity == s, r) for s, r in SEVERITY_RANK.items()), else_=9)
    return (
        select(
            Alert.sku.label("sku"),
            func.count().label("alerts"),
            func.min(rank).label("rank"),
            func.sum(Alert.value_at_risk).label("value_at_risk"),
        )
        .where(Alert.plan_id == plan_id, Alert.sku.is_not(None))
        .group_by(Alert.sku)
        .subquery("a")
    )


#: sort key → (label, column builder given the alert subquery)
SORTS: dict[str, Any] = {
    "sku": lambda a: PlanLine.sku,
    "class": lambda a: PlanLine.abc,
    "supplier": lambda a: PlanLine.supplier_id,
    "on_hand": lambda a: PlanLine.on_hand,
    "position": lambda a: PlanLine.inventory_position,
    "safety_stock": lambda a: PlanLine.safety_stock,
    "reorder_point": lambda a: PlanLine.reorder_point,
    "order_up_to": lambda a: PlanLine.order_up_to,
    "order_qty": lambda a: PlanLine.order_qty,
    "order_value": lambda a: PlanLine.order_qty * Item.unit_cost,
    "order_by": lambda a: PlanLine.order_by,
    "stockout": lambda a: PlanLine.stockout_date,
    "days_of_supply": lambda a: PlanLine.days_of_supply,
    "fill": lambda a: PlanLine.expected_fill_rate,
    "alerts": lambda a: a.c.rank,
    "value_at_risk": lambda a: a.c.value_at_risk,
}
DEFAULT_SORT = ("value_at_risk", "desc")


MAX_PAGE = 1_000_000  # a larger page number would overflow the database's OFFSET


@dataclass(frozen=True)
class LineQuery:
    """Filters, sort and page of the list (validated: unknown values fall back to the defaults)."""

    abc: str = ""
    supplier: str = ""
    alert: str = ""
    orders: bool = False
    q: str = ""
    sort: str = DEFAULT_SORT[0]
    dir: str = DEFAULT_SORT[1]
    page: int = 1

    @classmethod
    def of(cls, **raw: Any) -> LineQuery:
        sort = raw.get("sort") if raw.get("sort") in SORTS else DEFAULT_SORT[0]
        direction = raw.get("dir") if raw.get("dir") in ("asc", "desc") else DEFAULT_SORT[1]
        alert = raw.get("alert") if raw.get("alert") in ALERT_CHOICES else ""
        try:
            number = min(max(1, int(raw.get("page") or 1)), MAX_PAGE)
        except (TypeError, ValueError):
            number = 1
        return cls(
            abc=str(raw.get("abc") or "")[:8], supplier=str(raw.get("supplier") or "")[:100], alert=alert or "",
            orders=bool(raw.get("orders")), q=str(raw.get("q") or "").strip()[:100], sort=str(sort),
            dir=str(direction), page=number,
        )  # fmt: skip

    def params(self, **change: Any) -> str:
        """The query string of this view with `change` applied (page reset unless given)."""
        changed = replace(self, **{"page": 1, **change})
        raw = {
            "abc": changed.abc, "supplier": changed.supplier, "alert": changed.alert,
            "orders": "1" if changed.orders else "", "q": changed.q, "sort": changed.sort, "dir": changed.dir,
            "page": changed.page if changed.page > 1 else "",
        }  # fmt: skip
        return urlencode({k: v for k, v in raw.items() if v not in ("", None)})

    def sort_link(self, key: str) -> str:
        """Query string sorting by `key` (toggling the direction when it is already the sort)."""
        if self.sort == key:
            return self.params(sort=key, dir="asc" if self.dir == "desc" else "desc")
        ascending = key in ("sku", "class", "supplier", "order_by", "stockout")
        return self.params(sort=key, dir="asc" if ascending else "desc")


@dataclass
class LinesPage:
    """One page of lines and what the filter controls need."""

    plan: PlanRef
    query: LineQuery
    rows: list[dict[str, Any]]
    total: int
    matching: int
    classes: list[str] = field(default_factory=list)
    suppliers: list[tuple[str, int]] = field(default_factory=list)

    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.matching // PAGE_SIZE))


def _filtered(statement: Select[Any], plan_id: str, q: LineQuery, a: Any) -> Select[Any]:
    statement = statement.where(PlanLine.plan_id == plan_id)
    if q.abc:
        statement = statement.where(PlanLine.abc == q.abc)
    if q.supplier:
        statement = statement.where(PlanLine.supplier_id == q.supplier)
    if q.orders:
        statement = statement.where(PlanLine.order_qty > 0)
    if q.q:
        escaped = q.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").lower()
        statement = statement.where(func.lower(PlanLine.sku).like(escaped + "%", escape="\\"))
    if q.alert == "any":
        statement = statement.where(a.c.alerts.is_not(None))
    elif q.alert == "none":
        statement = statement.where(a.c.alerts.is_(None))
    elif q.alert in SEVERITY_RANK:
        has = select(Alert.id).where(Alert.plan_id == plan_id, Alert.sku == PlanLine.sku, Alert.severity == q.alert)
        statement = statement.where(has.exists())
    return statement


def lines_page(engine: Engine, plan: PlanRef, query: LineQuery) -> LinesPage:
    """Page `query.page` of plan `plan`'s lines under the query's filters and sort."""
    a = _alerts(plan.id)
    column = SORTS[query.sort](a)
    order = column.desc() if query.dir == "desc" else column.asc()
    columns = (
        PlanLine.sku, PlanLine.abc, PlanLine.xyz, PlanLine.supplier_id, PlanLine.on_hand, PlanLine.inventory_position,
        PlanLine.safety_stock, PlanLine.reorder_point, PlanLine.order_up_to, PlanLine.order_qty,
        (PlanLine.order_qty * Item.unit_cost).label("order_value"), PlanLine.order_by, PlanLine.stockout_date,
        PlanLine.days_of_supply, PlanLine.expected_fill_rate, Item.name, a.c.alerts, a.c.rank, a.c.value_at_risk,
    )  # fmt: skip
    base = (
        select(*columns)
        .select_from(PlanLine)
        .join(Item, Item.sku == PlanLine.sku, isouter=True)
        .join(a, a.c.sku == PlanLine.sku, isouter=True)
    )
    statement = _filtered(base, plan.id, query, a)
    statement = statement.order_by(column.is_(None), order, PlanLine.sku)
    statement = statement.limit(PAGE_SIZE).offset((query.page - 1) * PAGE_SIZE)
    counted = _filtered(
        select(func.count()).select_from(PlanLine).join(a, a.c.sku == PlanLine.sku, isouter=True), plan.id, query, a
    )
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(statement).mappings()]
        matching = int(conn.execute(counted).scalar() or 0)
        total = int(conn.execute(select(func.count()).where(PlanLine.plan_id == plan.id)).scalar() or 0)
        classes = [
            c for c in conn.execute(
                select(PlanLine.abc).where(PlanLine.plan_id == plan.id, PlanLine.abc.is_not(None)).distinct()
            ).scalars()
        ]  # fmt: skip
        suppliers = [
            (str(s), int(n))
            for s, n in conn.execute(
                select(PlanLine.supplier_id, func.count())
                .where(PlanLine.plan_id == plan.id, PlanLine.supplier_id.is_not(None))
                .group_by(PlanLine.supplier_id)
                .order_by(PlanLine.supplier_id)
            ).all()
        ]
    rank_name = {r: s for s, r in SEVERITY_RANK.items()}
    for row in rows:
        row["severity"] = rank_name.get(row["rank"]) if row["rank"] is not None else None
    return LinesPage(plan, query, rows, total, matching, sorted(str(c) for c in classes), suppliers)


__all__ = ["ALERT_CHOICES", "PAGE_SIZE", "SORTS", "LineQuery", "LinesPage", "lines_page"]
