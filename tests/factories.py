"""Small, valid canonical tables that reference each other; tests break them one cell at a time."""

from __future__ import annotations

import pandas as pd

from pipelines.contracts import TABLE_ORDER


def valid_tables() -> dict[str, pd.DataFrame]:
    """One consistent miniature data set, every cell as text (as a CSV delivers it)."""
    tables = {
        "items": {
            "sku": ["A-1", "A-2", "M-1"],
            "name": ["bolt", "nut", "tablet"],
            "family": ["", "", "F1"],
            "unit_cost": ["1.5", "0.2", "3"],
            "price": ["2", "0.3", "5"],
            "shelf_life_days": ["", "", "365"],
            "lot_size": ["1", "10", "100"],
            "moq": ["0", "0", "500"],
            "make_or_buy": ["buy", "buy", "make"],
        },
        "suppliers": {
            "supplier_id": ["S1", "S2", "S1"],
            "sku": ["A-1", "A-1", "A-2"],
            "supplier_name": ["Acme", "Bolt Co", "Acme"],
            "unit_price": ["1.4", "1.3", "0.2"],
            "moq": ["10", "50", "0"],
            "lot_multiple": ["5", "25", "10"],
            "nominal_lead_time_days": ["14", "30", "0"],
            "capacity_per_period": ["", "1000", ""],
        },
        "lines": {"line_id": ["L1", "L2"], "name": ["press", "pack"], "shifts": ["Mon-Fri 06:00-22:00", "24/7"]},
        "demand": {
            "sku": ["A-1", "A-1", "A-2", "M-1"],
            "date": ["2024-01-01", "2024-02-01", "2024-01-01", "2024-01-01"],
            "qty": ["3", "0", "12", "400"],
        },
        "inventory": {
            "sku": ["A-1", "M-1"],
            "as_of": ["2024-03-01", "2024-03-01"],
            "on_hand": ["7", "250"],
            "backorders": ["0", "0"],
        },
        "open_orders": {
            "id": ["PO-9", "MO-1"],
            "sku": ["A-1", "M-1"],
            "qty": ["20", "500"],
            "due_date": ["2024-03-20", "2024-03-10"],
            "kind": ["purchase", "production"],
            "supplier_id": ["S1", ""],
        },
        "receipts": {
            "po_id": ["PO-1", "PO-2"],
            "supplier_id": ["S1", "S2"],
            "sku": ["A-1", "A-1"],
            "qty_ordered": ["20", "50"],
            "order_date": ["2024-01-02", "2024-01-10"],
            "promised_date": ["2024-01-16", "2024-02-09"],
            "received_date": ["2024-01-18", ""],
            "qty_received": ["18", "0"],
        },
        "line_downtime": {
            "line_id": ["L1"],
            "start": ["2024-03-05T06:00"],
            "end": ["2024-03-05T14:00"],
            "reason": ["maintenance"],
        },
        "routings": {
            "sku": ["M-1", "M-1", "M-1"],
            "op": ["1", "2", "2"],
            "line_id": ["L1", "L2", "L1"],
            "rate_per_hour": ["100", "250", "80"],
        },
        "bom": {
            "parent_sku": ["M-1", "M-1"],
            "component_sku": ["A-1", "A-2"],
            "op": ["1", "2"],
            "qty_per": ["2", "0.5"],
            "scrap_rate": ["0.02", ""],
            "valid_from": ["2024-01-01", ""],
            "valid_to": ["", ""],
        },
        "changeovers": {
            "line_id": ["*", "L1"],
            "from_family": ["F1", "F1"],
            "to_family": ["F2", "F2"],
            "minutes": ["30", "45"],
        },
        "customer_orders": {
            "id": ["CO-1"],
            "sku": ["M-1"],
            "qty": ["300"],
            "due_date": ["2024-03-15"],
            "priority": ["1"],
        },
    }
    assert set(tables) == set(TABLE_ORDER)
    return {name: pd.DataFrame(cols, dtype=object).replace({"": None}) for name, cols in tables.items()}


def write_csvs(tables: dict[str, pd.DataFrame], directory: str | object) -> None:
    """Write each table as `<name>.csv` into `directory`."""
    from pathlib import Path

    out = Path(str(directory))
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(out / f"{name}.csv", index=False)


# --- bad input corpus -----------------------------------------------------------------------------------------

#: (table, numeric column that must be >= 0 or > 0, date column or None) per canonical table
_NUMERIC = {
    "items": ("unit_cost", None),
    "suppliers": ("unit_price", None),
    "lines": (None, None),
    "demand": ("qty", "date"),
    "inventory": ("on_hand", "as_of"),
    "open_orders": ("qty", "due_date"),
    "receipts": ("qty_ordered", "order_date"),
    "line_downtime": (None, "start"),
    "routings": ("rate_per_hour", None),
    "bom": ("qty_per", "valid_from"),
    "changeovers": ("minutes", None),
    "customer_orders": ("qty", "due_date"),
}
_REFERENCES = {
    "sku": "unknown sku",
    "supplier_id": "unknown supplier_id",
    "line_id": "unknown line_id",
    "parent_sku": "unknown parent_sku",
    "component_sku": "unknown component_sku",
}


_INTEGER_COLUMNS = ("shelf_life_days", "nominal_lead_time_days", "op", "priority")


class BadCase:
    """A valid table broken in one way; `expect` = (row, column, reason fragment) of the first reported issue."""

    def __init__(
        self,
        name: str,
        table: str,
        frame: pd.DataFrame | None,
        expect: tuple[int | None, str | None, str],
        raw: bytes | None = None,
    ) -> None:
        self.name, self.table, self.frame, self.expect, self.raw = name, table, frame, expect, raw

    def csv_bytes(self) -> bytes:
        if self.raw is not None:
            return self.raw
        assert self.frame is not None
        return self.frame.to_csv(index=False).encode()

    def __repr__(self) -> str:
        return f"{self.table}-{self.name}"


def _with(frame: pd.DataFrame, row: int, column: str, value: object) -> pd.DataFrame:
    broken = frame.copy()
    broken.loc[row, column] = value
    return broken


def bad_cases() -> list[BadCase]:
    """Every kind of bad input, for every canonical table where it applies."""
    from pipelines.contracts import TABLES

    cases: list[BadCase] = []
    for table, frame in valid_tables().items():
        contract = TABLES[table]
        first_required = contract.required[0]
        cases.append(
            BadCase(
                "missing-column",
                table,
                frame.drop(columns=[first_required]),
                (None, first_required, "missing required column"),
            )
        )
        cases.append(BadCase("unknown-column", table, frame.assign(colour="red"), (None, "colour", "unknown column")))
        numeric, date = _NUMERIC[table]
        if numeric:
            cases.append(BadCase("wrong-type", table, _with(frame, 0, numeric, "abc"), (1, numeric, "is not a number")))
            cases.append(BadCase("negative", table, _with(frame, 0, numeric, "-5"), (1, numeric, "must be >")))
            cases.append(BadCase("nan", table, _with(frame, 0, numeric, "NaN"), (1, numeric, "is not a number")))
            cases.append(BadCase("inf", table, _with(frame, 0, numeric, "inf"), (1, numeric, "must be finite")))
        integer = next((c for c in frame.columns if c in _INTEGER_COLUMNS), None)
        if integer:
            huge = _with(frame, 0, integer, "99999999999")
            cases.append(BadCase("integer-out-of-range", table, huge, (1, integer, "is out of range")))
        if date:
            cases.append(BadCase("bad-date", table, _with(frame, 0, date, "2024-13-45"), (1, date, "is not a date")))
        duplicated = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
        cases.append(BadCase("duplicate-key", table, duplicated, (1, ", ".join(contract.key), "duplicate key")))
        for ref in contract.references:
            if ref.column in _REFERENCES:
                row = int(frame[ref.column].notna().to_numpy().argmax())
                broken = _with(frame, row, ref.column, "NO-SUCH")
                cases.append(
                    BadCase(f"unknown-{ref.column}", table, broken, (row + 1, ref.column, _REFERENCES[ref.column]))
                )
        required_key = next(c for c in contract.key if c not in contract.defaults)
        cases.append(
            BadCase("missing-value", table, _with(frame, 0, required_key, None), (1, required_key, "missing value"))
        )
        cases.append(BadCase("empty-file", table, None, (None, None, "file is empty"), raw=b""))
        header = ",".join(frame.columns).encode() + b"\n"
        cases.append(BadCase("header-only", table, None, (None, None, "no rows"), raw=header))
        latin1 = frame.to_csv(index=False).replace(str(frame.iloc[0, 0]), "Caf\u00e9", 1).encode("latin-1")
        cases.append(BadCase("wrong-encoding", table, None, (None, None, "not UTF-8"), raw=latin1))
        ragged = header + b",".join([b"x"] * (len(frame.columns) + 2)) + b"\n"
        cases.append(BadCase("malformed-csv", table, None, (None, None, "malformed CSV"), raw=ragged))
    return cases


# --- bill of materials: a three-level world on top of `valid_tables`, and its cross-table bad cases -----------


def bom_world() -> dict[str, pd.DataFrame]:
    """Made items with routings and a three-level BOM that `valid_tables` can take on top of itself.

    P-1 (made) uses S-1 at op 1 and A-2 at op 2; S-1 (made) uses S-2; S-2 (made) uses A-1. Q-1 is made with a
    routing and no BOM yet; N-1 is made without a routing."""
    tables = {
        "items": {
            "sku": ["P-1", "S-1", "S-2", "Q-1", "N-1"],
            "unit_cost": ["9", "4", "2", "3", "1"],
            "make_or_buy": ["make"] * 5,
            "lot_rule": ["moq_multiple", "fixed", "wagner_whitin", "poq", ""],
            "order_cost": ["120", "300", "", "", ""],
            "queue_days": ["1", "2.5", "", "", ""],
            "pull": ["false", "", "true", "", ""],
        },
        "routings": {
            "sku": ["P-1", "P-1", "S-1", "S-2", "Q-1"],
            "op": ["1", "2", "1", "1", "1"],
            "line_id": ["L1", "L2", "L1", "L1", "L2"],
            "rate_per_hour": ["100", "200", "50", "80", "60"],
        },
        "bom": {
            "parent_sku": ["P-1", "P-1", "S-1", "S-2"],
            "component_sku": ["S-1", "A-2", "S-2", "A-1"],
            "op": ["1", "2", "1", ""],
            "qty_per": ["0.25", "1", "1.5", "0.8"],
            "scrap_rate": ["", "0.01", "0.03", ""],
            "valid_from": ["", "2024-01-01", "", ""],
            "valid_to": ["", "2030-12-31", "", ""],
        },
    }
    return {name: pd.DataFrame(cols, dtype=object).replace({"": None}) for name, cols in tables.items()}


def _bom_rows(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["parent_sku", "component_sku", "op", "qty_per"], dtype=object)


def bom_bad_cases() -> list[BadCase]:
    """Uploads that break a BOM rule against `valid_tables` + `bom_world` already stored: each rejected with a reason
    on the row (row, column, reason fragment), nothing stored."""
    good = bom_world()["bom"]
    items = pd.concat([valid_tables()["items"], bom_world()["items"]], ignore_index=True)
    return [
        BadCase(
            "cycle-through-stored-lines",
            "bom",
            _bom_rows(("S-2", "P-1", "1", "1")),
            (1, "component_sku", "closes a cycle in the bill of materials: S-2 → P-1 → S-1 → S-2"),
        ),
        BadCase(
            "cycle-within-the-upload",
            "bom",
            _bom_rows(("Q-1", "S-2", "1", "1"), ("S-2", "Q-1", "1", "2")),
            (2, "component_sku", "closes a cycle in the bill of materials: Q-1 → S-2 → Q-1"),
        ),
        BadCase("self-cycle", "bom", _bom_rows(("P-1", "P-1", "1", "1")), (1, "component_sku", "P-1 → P-1")),
        BadCase("bought-parent", "bom", _bom_rows(("A-1", "A-2", "", "1")), (1, "parent_sku", "A-1 is a bought item")),
        BadCase(
            "made-parent-without-routing",
            "bom",
            _bom_rows(("N-1", "A-1", "", "1")),
            (1, "parent_sku", "N-1 is a made item without a routing"),
        ),
        BadCase(
            "op-not-in-routing", "bom", _bom_rows(("S-1", "A-2", "2", "1")), (1, "op", "S-1's routing has no op 2")
        ),
        BadCase("unknown-parent", "bom", _bom_rows(("GHOST", "A-1", "", "1")), (1, "parent_sku", "unknown parent_sku")),
        BadCase(
            "unknown-component", "bom", _bom_rows(("P-1", "GHOST", "1", "1")), (1, "component_sku", "unknown component")
        ),
        BadCase("qty-per-zero", "bom", _bom_rows(("P-1", "A-1", "1", "0")), (1, "qty_per", "must be > 0")),
        BadCase("qty-per-negative", "bom", _bom_rows(("P-1", "A-1", "1", "-2")), (1, "qty_per", "must be > 0")),
        BadCase(
            "component-twice-for-parent-and-op",
            "bom",
            _bom_rows(("P-1", "A-1", "2", "1"), ("P-1", "A-1", "2", "3")),
            (2, "parent_sku, component_sku, op", "duplicate key"),
        ),
        BadCase(
            "scrap-rate-one",
            "bom",
            _with(good, 0, "scrap_rate", "1"),
            (1, "scrap_rate", "must be < 1"),
        ),
        BadCase(
            "valid-to-before-valid-from",
            "bom",
            _with(good, 1, "valid_to", "2023-06-30"),
            (2, "valid_to", "valid_to must be after valid_from"),
        ),
        BadCase(
            "parent-turned-bought",
            "items",
            _with(items, 4, "make_or_buy", "buy"),
            (5, "make_or_buy", "S-1 has components in bom"),
        ),
    ]
