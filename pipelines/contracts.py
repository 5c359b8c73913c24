"""Canonical tables: one pandera schema each, plus keys, references and optional-column defaults.

Every table enters leanplan through `pipelines.ingest.validate_table`, which applies these contracts.
Public interface: `TABLES` (name -> `TableSpec`), `TABLE_ORDER` (load order that satisfies references),
`spec(name)`, `LOT_RULES` (the lot-sizing rules an item may name).

Conventions: quantities are floats (units of the item), money is in the item's currency, dates are period
starts (``YYYY-MM-DD``), datetimes are local plant time without zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandera.pandas as pa

from models.calendars import ShiftSyntaxError, parse_shifts

STR = "str"
FLOAT = "float"
INT = "int"
DATE = "date"
DATETIME = "datetime"
BOOL = "bool"

#: Lot-sizing rules of `items.lot_rule` (see README: canonical data formats).
LOT_RULES: tuple[str, ...] = ("lot_for_lot", "fixed", "moq_multiple", "poq", "wagner_whitin")


@dataclass(frozen=True)
class Reference:
    """Values of `column` must exist in `target_column` of table `target` (nulls are not checked)."""

    column: str
    target: str
    target_column: str


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its pandera schema, column kinds, key, references and defaults."""

    name: str
    kinds: dict[str, str]
    schema: pa.DataFrameSchema
    key: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)
    #: for tables that may arrive wide (one column per period): (id columns, date column, value column)
    wide: tuple[tuple[str, ...], str, str] | None = None
    description: str = ""

    @property
    def columns(self) -> list[str]:
        return list(self.kinds)

    @property
    def required(self) -> list[str]:
        return [c for c in self.kinds if c not in self.defaults]


def _dtype(kind: str) -> Any:
    return {STR: str, FLOAT: float, INT: "Int64", DATE: "datetime64[ns]", DATETIME: "datetime64[ns]", BOOL: "boolean"}[
        kind
    ]


def _finite() -> pa.Check:
    return pa.Check(lambda s: ~s.isin([float("inf"), float("-inf")]), name="finite", error="must be finite")


def _nonnegative() -> list[pa.Check]:
    return [pa.Check.ge(0, error="must be >= 0"), _finite()]


def _positive() -> list[pa.Check]:
    return [pa.Check.gt(0, error="must be > 0"), _finite()]


def _nonblank() -> pa.Check:
    return pa.Check(lambda s: s.str.len() > 0, name="nonblank", error="must not be blank")


def _valid_shifts(value: str) -> bool:
    try:
        parse_shifts(value)
    except ShiftSyntaxError:
        return False
    return True


def _make(
    name: str,
    columns: dict[str, tuple[str, pa.Column]],
    key: tuple[str, ...],
    references: tuple[Reference, ...] = (),
    defaults: dict[str, Any] | None = None,
    row_checks: list[pa.Check] | None = None,
    wide: tuple[tuple[str, ...], str, str] | None = None,
    description: str = "",
) -> TableSpec:
    schema = pa.DataFrameSchema(
        {c: col for c, (_, col) in columns.items()},
        checks=row_checks or [],
        unique=list(key),
        report_duplicates="all",
        strict=True,
        name=name,
    )
    return TableSpec(
        name=name,
        kinds={c: kind for c, (kind, _) in columns.items()},
        schema=schema,
        key=key,
        references=references,
        defaults=defaults or {},
        wide=wide,
        description=description,
    )


def _ident() -> tuple[str, pa.Column]:
    """A required, non-blank identifier (SKU, supplier, line, order id)."""
    return STR, pa.Column(str, checks=[_nonblank()])


def _text(nullable: bool = True) -> tuple[str, pa.Column]:
    return STR, pa.Column(str, nullable=nullable)


def _num(kind: str, checks: list[pa.Check], nullable: bool = False) -> tuple[str, pa.Column]:
    return kind, pa.Column(_dtype(kind), checks=checks, nullable=nullable)


def _when(kind: str, nullable: bool = False) -> tuple[str, pa.Column]:
    return kind, pa.Column(_dtype(kind), nullable=nullable)


SKU_REF = Reference("sku", "items", "sku")
LINE_REF = Reference("line_id", "lines", "line_id")
SUPPLIER_REF = Reference("supplier_id", "suppliers", "supplier_id")
PARENT_REF = Reference("parent_sku", "items", "sku")
COMPONENT_REF = Reference("component_sku", "items", "sku")


def _after(later: str, earlier: str) -> pa.Check:
    return pa.Check(
        lambda df: df[later].isna() | df[earlier].isna() | (df[later] > df[earlier]),
        name=f"{later}_after_{earlier}",
        error=f"{later} must be after {earlier}",
    )


def _not_before(later: str, earlier: str) -> pa.Check:
    return pa.Check(
        lambda df: df[later].isna() | df[earlier].isna() | (df[later] >= df[earlier]),
        name=f"{later}_not_before_{earlier}",
        error=f"{later} must not be before {earlier}",
    )


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        _make(
            "items",
            {
                "sku": _ident(),
                "name": _text(),
                "family": _text(),
                "unit_cost": _num(FLOAT, _nonnegative()),
                "price": _num(FLOAT, _nonnegative(), nullable=True),
                "shelf_life_days": _num(INT, [pa.Check.gt(0, error="must be > 0")], nullable=True),
                "lot_size": _num(FLOAT, _positive()),
                "moq": _num(FLOAT, _nonnegative()),
                "make_or_buy": (
                    STR,
                    pa.Column(str, checks=[pa.Check.isin(["make", "buy"], error="must be 'make' or 'buy'")]),
                ),
                "lot_rule": (
                    STR,
                    pa.Column(str, checks=[pa.Check.isin(LOT_RULES, error=f"must be one of {', '.join(LOT_RULES)}")]),
                ),
                "poq_periods": _num(
                    INT, [pa.Check.ge(1, error="must be >= 1 (periods one order covers)")], nullable=True
                ),
                "order_cost": _num(FLOAT, _nonnegative(), nullable=True),
                "safety_stock": _num(FLOAT, _nonnegative(), nullable=True),
                "queue_days": _num(FLOAT, _nonnegative()),
                "pull": (BOOL, pa.Column("boolean")),
                "container_qty": _num(FLOAT, _positive(), nullable=True),
            },
            key=("sku",),
            defaults={
                "name": None,
                "family": None,
                "price": None,
                "shelf_life_days": None,
                "lot_size": 1.0,
                "moq": 0.0,
                "make_or_buy": "buy",
                "lot_rule": "lot_for_lot",
                "poq_periods": None,
                "order_cost": None,
                "safety_stock": None,
                "queue_days": 0.0,
                "pull": False,
                "container_qty": None,
            },
            description="Item master: one row per SKU, with the planning parameters MRP reads.",
        ),
        _make(
            "demand",
            {"sku": _ident(), "date": _when(DATE), "qty": _num(FLOAT, _nonnegative())},
            key=("sku", "date"),
            references=(SKU_REF,),
            wide=(("sku",), "date", "qty"),
            description="Demand per SKU and period start; long, or wide with one column per period.",
        ),
        _make(
            "inventory",
            {
                "sku": _ident(),
                "as_of": _when(DATE),
                "on_hand": _num(FLOAT, _nonnegative()),
                "backorders": _num(FLOAT, _nonnegative()),
            },
            key=("sku", "as_of"),
            references=(SKU_REF,),
            defaults={"backorders": 0.0},
            description="Stock snapshots; the latest as_of per SKU is the current position.",
        ),
        _make(
            "open_orders",
            {
                "id": _ident(),
                "sku": _ident(),
                "qty": _num(FLOAT, _positive()),
                "due_date": _when(DATE),
                "kind": (
                    STR,
                    pa.Column(
                        str,
                        checks=[pa.Check.isin(["purchase", "production"], error="must be 'purchase' or 'production'")],
                    ),
                ),
                "supplier_id": _text(),
            },
            key=("id",),
            references=(SKU_REF, SUPPLIER_REF),
            defaults={"kind": "purchase", "supplier_id": None},
            description="Purchase and production orders not yet received.",
        ),
        _make(
            "receipts",
            {
                "po_id": _ident(),
                "supplier_id": _ident(),
                "sku": _ident(),
                "qty_ordered": _num(FLOAT, _positive()),
                "order_date": _when(DATE),
                "promised_date": _when(DATE),
                "received_date": _when(DATE, nullable=True),
                "qty_received": _num(FLOAT, _nonnegative()),
            },
            key=("po_id", "sku"),
            references=(SKU_REF, SUPPLIER_REF),
            defaults={"received_date": None, "qty_received": 0.0},
            row_checks=[_not_before("promised_date", "order_date"), _not_before("received_date", "order_date")],
            description="Purchase history, one row per PO line; received_date empty while still open.",
        ),
        _make(
            "suppliers",
            {
                "supplier_id": _ident(),
                "sku": _ident(),
                "supplier_name": _text(),
                "unit_price": _num(FLOAT, _nonnegative()),
                "moq": _num(FLOAT, _nonnegative()),
                "lot_multiple": _num(FLOAT, _positive()),
                "nominal_lead_time_days": _num(INT, [pa.Check.ge(0, error="must be >= 0")]),
                "capacity_per_period": _num(FLOAT, _nonnegative(), nullable=True),
            },
            key=("supplier_id", "sku"),
            references=(SKU_REF,),
            defaults={"supplier_name": None, "moq": 0.0, "lot_multiple": 1.0, "capacity_per_period": None},
            description="Supplier offers: who can deliver which SKU, at what price, MOQ and lead time.",
        ),
        _make(
            "lines",
            {
                "line_id": _ident(),
                "name": _text(),
                "shifts": (
                    STR,
                    pa.Column(
                        str,
                        checks=[
                            pa.Check(
                                _valid_shifts,
                                element_wise=True,
                                name="shifts_syntax",
                                error="not a shift calendar like 'Mon-Fri 06:00-22:00; Sat 06:00-14:00' or '24/7'",
                            )
                        ],
                    ),
                ),
            },
            key=("line_id",),
            defaults={"name": None, "shifts": "24/7"},
            description="Production lines and their weekly shift calendar.",
        ),
        _make(
            "line_downtime",
            {"line_id": _ident(), "start": _when(DATETIME), "end": _when(DATETIME), "reason": _text()},
            key=("line_id", "start"),
            references=(LINE_REF,),
            defaults={"reason": None},
            row_checks=[
                pa.Check(lambda df: df["end"] > df["start"], name="end_after_start", error="end must be after start")
            ],
            description="Planned or unplanned downtime windows per line.",
        ),
        _make(
            "routings",
            {
                "sku": _ident(),
                "op": _num(INT, [pa.Check.ge(1, error="must be >= 1")]),
                "line_id": _ident(),
                "rate_per_hour": _num(FLOAT, _positive()),
            },
            key=("sku", "op", "line_id"),
            references=(SKU_REF, LINE_REF),
            description="Operations of 'make' SKUs in sequence (op 1, 2, …); one row per eligible line.",
        ),
        _make(
            "bom",
            {
                "parent_sku": _ident(),
                "component_sku": _ident(),
                "op": _num(INT, [pa.Check.ge(0, error="must be >= 0 (a routing op of the parent; 0 = no step)")]),
                "qty_per": _num(FLOAT, _positive()),
                "scrap_rate": _num(
                    FLOAT,
                    [
                        pa.Check.ge(0, error="must be >= 0"),
                        pa.Check.lt(1, error="must be < 1 (a fraction: 0.02 = 2 % scrap)"),
                        _finite(),
                    ],
                ),
                "valid_from": _when(DATE, nullable=True),
                "valid_to": _when(DATE, nullable=True),
            },
            key=("parent_sku", "component_sku", "op"),
            references=(PARENT_REF, COMPONENT_REF),
            defaults={"op": 0, "scrap_rate": 0.0, "valid_from": None, "valid_to": None},
            row_checks=[_after("valid_to", "valid_from")],
            description="Bill of materials: qty_per units of component per unit of parent, consumed at routing op.",
        ),
        _make(
            "changeovers",
            {
                "line_id": _ident(),
                "from_family": _ident(),
                "to_family": _ident(),
                "minutes": _num(FLOAT, _nonnegative()),
            },
            key=("line_id", "from_family", "to_family"),
            defaults={"line_id": "*"},
            description="Sequence-dependent changeover minutes between product families; line_id '*' = every line.",
        ),
        _make(
            "customer_orders",
            {
                "id": _ident(),
                "sku": _ident(),
                "qty": _num(FLOAT, _positive()),
                "due_date": _when(DATE),
                "priority": _num(INT, [pa.Check.ge(1, error="must be >= 1 (1 = most important)")]),
            },
            key=("id",),
            references=(SKU_REF,),
            defaults={"priority": 2},
            description="Firm customer orders.",
        ),
    )
}

#: Load order that satisfies every reference (referenced tables first).
TABLE_ORDER: tuple[str, ...] = (
    "items",
    "suppliers",
    "lines",
    "demand",
    "inventory",
    "open_orders",
    "receipts",
    "line_downtime",
    "routings",
    "bom",
    "changeovers",
    "customer_orders",
)

assert set(TABLE_ORDER) == set(TABLES)


def spec(name: str) -> TableSpec:
    """The contract of table `name`; a clear error for an unknown name."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; canonical tables are: {', '.join(TABLE_ORDER)}") from None
