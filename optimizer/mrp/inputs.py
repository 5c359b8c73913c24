"""Typed MRP inputs built from long frames, every refusal naming the source, row and field.

Public interface
- `MrpInputs.from_frames(items, bom, demand, inventory=None, open_orders=None, plan_date=None, sources=None)`:
  validate and encode. Items: sku, make_or_buy (`make`|`buy`), lead_time_periods (whole ≥ 0); optional lot_rule
  (`lfl` lot-for-lot, `fixed`, `moq` MOQ + multiple, `poq` period order quantity, `ww` Wagner–Whitin; default lfl),
  lot_size (> 0: the fixed quantity or the multiple; 1), moq (≥ 0; 0), poq_periods (whole ≥ 1; 2), safety_stock
  (≥ 0; 0), unit_cost (≥ 0; 0), order_cost (≥ 0; 50), holding_rate (annual share of unit cost ≥ 0; 0.25).
  BOM: parent_sku, component_sku, qty_per > 0; optional scrap_rate in [0, 1) (0), valid_from, valid_to.
  Demand: sku, date, qty ≥ 0; optional id (customer order id, default `forecast`). The demand dates fix the period
  grid (a fixed number of days, or whole months). Inventory: sku, on_hand ≥ 0 (optional as_of: latest row wins).
  Open orders: id, sku, qty > 0, due_date.
- `MrpInputError`: a `ValueError` with `.source`, `.row` (records from 1), `.field`, `.value`, `.reason`.
- `LOT_RULES`: the lot rule names, in code order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from optimizer.mrp.graph import BomCycleError, low_level_codes

__all__ = ["LOT_RULES", "MrpInputError", "MrpInputs"]

LOT_RULES = ("lfl", "fixed", "moq", "poq", "ww")
_RULE_ALIASES = {"lot-for-lot": "lfl", "l4l": "lfl", "foq": "fixed", "fixed_qty": "fixed", "wagner-whitin": "ww"}
DEFAULT_DEMAND_ID = "forecast"


class MrpInputError(ValueError):
    """Bad MRP input: names the file (or table), the record (from 1), the field and what is allowed."""

    def __init__(self, source: str, row: int | None, field: str | None, value: Any, reason: str) -> None:
        self.source, self.row, self.field, self.value, self.reason = source, row, field, value, reason
        where = source + (f" row {row}" if row is not None else "") + (f", field {field!r}" if field else "")
        shown = f", value {value!r}" if value is not None else ""
        super().__init__(f"{where}{shown}: {reason}")


def _first_bad(source: str, frame: pd.DataFrame, field: str, bad: np.ndarray, reason: str) -> None:
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        value = frame[field].iloc[pos]
        shown = None if pd.isna(value) else (value.item() if isinstance(value, np.generic) else value)
        raise MrpInputError(source, pos + 1, field, shown, reason + f" ({int(bad.sum())} row(s) in all)")


def _require(source: str, frame: pd.DataFrame, columns: tuple[str, ...], allow_empty: bool = False) -> pd.DataFrame:
    frame = frame.rename(columns={c: str(c).strip().lower() for c in frame.columns})
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MrpInputError(source, None, missing[0], None, f"missing column(s) {', '.join(missing)}")
    if frame.empty and not allow_empty:
        raise MrpInputError(source, None, None, None, "no rows")
    return frame.reset_index(drop=True)


def _text(source: str, frame: pd.DataFrame, field: str) -> np.ndarray:
    """The column as stripped text (pyarrow kernels: a million cells in tens of milliseconds)."""
    raw = frame[field]
    if raw.dtype != object or not all(isinstance(v, str) for v in raw.iloc[:1000].dropna()):
        raw = raw.astype("string").astype(object)
    text = pc.utf8_trim_whitespace(pa.array(raw.to_numpy(dtype=object), type=pa.string(), from_pandas=True))
    bad = pc.fill_null(pc.equal(text, ""), True).to_numpy(zero_copy_only=False)
    _first_bad(source, frame, field, bad, "must not be empty")
    return np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)


def _number(
    source: str,
    frame: pd.DataFrame,
    field: str,
    default: float | None,
    low: float,
    strict: bool = False,
    high: float | None = None,
    whole: bool = False,
) -> np.ndarray:
    if field not in frame.columns:
        if default is None:
            raise MrpInputError(source, None, field, None, "missing column")
        return np.full(len(frame), default, dtype=float)
    raw = frame[field]
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        parsed = raw.to_numpy(dtype=float, na_value=np.nan)
        empty = np.isnan(parsed)
    else:
        parsed = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        empty = raw.isna().to_numpy() | (raw.astype("string").str.strip() == "").fillna(True).to_numpy()
    if default is None:
        _first_bad(source, frame, field, empty, "must not be empty")
    _first_bad(source, frame, field, ~empty & ~np.isfinite(parsed), "is not a finite number")
    values = np.where(empty, default if default is not None else np.nan, parsed)
    too_low = values <= low if strict else values < low
    _first_bad(source, frame, field, too_low, f"must be {'>' if strict else '>='} {low:g}")
    if high is not None:
        _first_bad(source, frame, field, values >= high, f"must be < {high:g}")
    if whole:
        _first_bad(source, frame, field, values != np.round(values), "must be a whole number")
    return values


def _dates(source: str, frame: pd.DataFrame, field: str, required: bool = True) -> np.ndarray:
    if field not in frame.columns:
        return np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[ns]")
    raw = frame[field]
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw.dt.tz_localize(None) if getattr(raw.dt, "tz", None) is not None else raw
        empty = raw.isna().to_numpy()
    else:
        try:
            parsed = pd.to_datetime(raw, format="ISO8601")
        except (ValueError, TypeError):
            parsed = pd.to_datetime(raw, errors="coerce", format="mixed")
        empty = raw.isna().to_numpy() | (raw.astype("string").str.strip() == "").fillna(True).to_numpy()
    if required:
        _first_bad(source, frame, field, empty, "must not be empty")
    _first_bad(source, frame, field, ~empty & parsed.isna().to_numpy(), "is not a date (use YYYY-MM-DD)")
    return parsed.dt.normalize().to_numpy(dtype="datetime64[ns]")


def _sku_index(source: str, frame: pd.DataFrame, field: str, index: pd.Index) -> np.ndarray:
    codes = index.get_indexer(pd.Index(_text(source, frame, field)))
    _first_bad(source, frame, field, codes < 0, "unknown SKU: add it to the items file")
    return codes.astype(np.int64)


def _common_step(steps: np.ndarray) -> int:
    """The largest step every gap between consecutive demand dates is a multiple of (sparse dates keep the grid)."""
    return int(np.gcd.reduce(steps.astype(np.int64)))


def _period_grid(source: str, demand: pd.DataFrame, dates: np.ndarray, plan_date: Any) -> pd.DatetimeIndex:
    """The fixed-frequency grid of the demand dates (their common step, in days or whole months: a period without
    demand is simply empty), from the plan date (default: the first date) to the last date; a plan date off that
    grid is refused."""
    unique = pd.DatetimeIndex(np.unique(dates))
    start = unique[0] if plan_date is None else pd.Timestamp(plan_date).normalize()
    step: pd.DateOffset
    months = np.asarray(unique.year * 12 + unique.month)
    if len(unique) > 1 and bool((unique.day == 1).all()) and _common_step(np.diff(months)) >= 1:
        n_months = _common_step(np.diff(months))
        step = pd.DateOffset(months=n_months)
        offset = (months[0] - (start.year * 12 + start.month)) / n_months
        on_lattice = start.day == 1 and float(offset).is_integer()
    else:
        days = _common_step(np.diff(unique) // np.timedelta64(1, "D")) if len(unique) > 1 else 7
        step = pd.DateOffset(days=days)
        on_lattice = (unique[0] - start).days % days == 0
    if not on_lattice:
        raise MrpInputError("plan date", None, None, str(start.date()), "is not on the period grid of the demand dates")
    first = min(start, unique[0])
    grid = pd.date_range(first, max(start, unique[-1]), freq=step)
    grid = pd.date_range(start, grid[-1], freq=step)
    off = ~pd.DatetimeIndex(dates).isin(grid) & (dates >= np.datetime64(start))
    _first_bad(source, demand, "date", off, "is not on the period grid of the other demand dates")
    return grid


def _period_of(dates: np.ndarray, grid: pd.DatetimeIndex) -> np.ndarray:
    """Index of the period each date falls in (−1 before the grid, len(grid) after its last period ends)."""
    assert grid.freq is not None, "the period grid is built with a frequency"
    edges = grid.append(pd.DatetimeIndex([grid[-1] + grid.freq])).to_numpy()
    return (np.searchsorted(edges, dates, side="right") - 1).astype(np.int64)


@dataclass(frozen=True)
class MrpInputs:
    """Encoded MRP inputs: items by index, BOM lines and demand as integer-coded arrays, one period grid.

    Items (length n): `skus`, `make`, `lead_time` (periods), `lot_rule` (index into LOT_RULES), `lot_size`, `moq`,
    `poq_periods`, `safety_stock`, `unit_cost`, `order_cost`, `holding_cost` (per unit and period), `on_hand`, `level`
    (low-level code). BOM lines: `bom_parent`, `bom_component`, `bom_factor` (= qty_per / (1 − scrap_rate)),
    `bom_first`, `bom_last` (first and last period the line is valid in). Demand rows: `demand_item`,
    `demand_period`, `demand_qty`, `demand_id`. Open orders: `open_id`, `open_item`, `open_period` (may be < 0:
    past due, or ≥ T: beyond the horizon), `open_qty`, `open_due`. `periods` is the grid; period 0 is the plan date.
    """

    skus: np.ndarray
    make: np.ndarray
    lead_time: np.ndarray
    lot_rule: np.ndarray
    lot_size: np.ndarray
    moq: np.ndarray
    poq_periods: np.ndarray
    safety_stock: np.ndarray
    unit_cost: np.ndarray
    order_cost: np.ndarray
    holding_cost: np.ndarray
    on_hand: np.ndarray
    level: np.ndarray
    bom_parent: np.ndarray
    bom_component: np.ndarray
    bom_factor: np.ndarray
    bom_first: np.ndarray
    bom_last: np.ndarray
    demand_item: np.ndarray
    demand_period: np.ndarray
    demand_qty: np.ndarray
    demand_id: np.ndarray
    open_id: np.ndarray
    open_item: np.ndarray
    open_period: np.ndarray
    open_qty: np.ndarray
    open_due: np.ndarray
    periods: pd.DatetimeIndex

    @property
    def n_items(self) -> int:
        return len(self.skus)

    @property
    def n_periods(self) -> int:
        return len(self.periods)

    @classmethod
    def from_frames(
        cls,
        items: pd.DataFrame,
        bom: pd.DataFrame,
        demand: pd.DataFrame,
        inventory: pd.DataFrame | None = None,
        open_orders: pd.DataFrame | None = None,
        plan_date: Any = None,
        sources: Mapping[str, str] | None = None,
    ) -> MrpInputs:
        """Validate and encode the five tables; `sources` names each table in errors (e.g. the file path)."""
        src = {k: (sources or {}).get(k, k) for k in ("items", "bom", "demand", "inventory", "open_orders")}
        item = _encode_items(src["items"], items)
        index = pd.Index(item["skus"])
        if not index.is_unique:
            frame = _require(src["items"], items, ("sku",))
            _first_bad(src["items"], frame, "sku", index.duplicated().to_numpy(), "duplicate SKU")
        n = len(index)

        d = _require(src["demand"], demand, ("sku", "date", "qty"))
        d_item = _sku_index(src["demand"], d, "sku", index)
        d_date = _dates(src["demand"], d, "date")
        d_qty = _number(src["demand"], d, "qty", None, 0.0)
        d_id = (
            d["id"].astype("string").str.strip().fillna(DEFAULT_DEMAND_ID).replace("", DEFAULT_DEMAND_ID)
            if "id" in d.columns
            else pd.Series(DEFAULT_DEMAND_ID, index=d.index)
        ).to_numpy(dtype=object)
        grid = _period_grid(src["demand"], d, d_date, plan_date)
        d_period = np.maximum(_period_of(d_date, grid), 0)  # demand before the plan date is backlog of period 0

        b = _require(src["bom"], bom, ("parent_sku", "component_sku", "qty_per"), allow_empty=True)
        parent = _sku_index(src["bom"], b, "parent_sku", index)
        component = _sku_index(src["bom"], b, "component_sku", index)
        qty_per = _number(src["bom"], b, "qty_per", None, 0.0, strict=True)
        scrap = _number(src["bom"], b, "scrap_rate", 0.0, 0.0, high=1.0)
        valid_from, valid_to = _dates(src["bom"], b, "valid_from", False), _dates(src["bom"], b, "valid_to", False)
        _first_bad(src["bom"], b, "valid_to", valid_to < valid_from, "is before valid_from")
        first = np.where(np.isnat(valid_from), 0, np.searchsorted(grid.to_numpy(), valid_from, side="left"))
        last = np.where(np.isnat(valid_to), len(grid) - 1, np.searchsorted(grid.to_numpy(), valid_to, "right") - 1)
        try:
            level = low_level_codes(parent, component, n, names=list(index))
        except BomCycleError as err:
            raise MrpInputError(src["bom"], None, None, None, str(err)) from err

        on_hand = np.zeros(n)
        if inventory is not None and len(inventory):
            inv = _require(src["inventory"], inventory, ("sku", "on_hand"))
            inv_item = _sku_index(src["inventory"], inv, "sku", index)
            qty = _number(src["inventory"], inv, "on_hand", None, 0.0)
            as_of = _dates(src["inventory"], inv, "as_of", False)
            order = np.lexsort((as_of.astype("int64"), inv_item))
            if "as_of" not in inv.columns:
                dup = pd.Series(inv_item).duplicated().to_numpy()
                _first_bad(src["inventory"], inv, "sku", dup, "listed twice; give as_of to keep the latest")
            on_hand[inv_item[order]] = qty[order]  # the latest as_of is written last

        empty_obj, empty_int = np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
        o_id, o_item, o_qty, o_due = empty_obj, empty_int, np.empty(0), np.empty(0, dtype="datetime64[ns]")
        if open_orders is not None and len(open_orders):
            o = _require(src["open_orders"], open_orders, ("id", "sku", "qty", "due_date"))
            o_id = _text(src["open_orders"], o, "id")
            _first_bad(src["open_orders"], o, "id", pd.Series(o_id).duplicated().to_numpy(), "duplicate order id")
            o_item = _sku_index(src["open_orders"], o, "sku", index)
            o_qty = _number(src["open_orders"], o, "qty", None, 0.0, strict=True)
            o_due = _dates(src["open_orders"], o, "due_date")
        step_days = (grid[-1] - grid[0]).days / (len(grid) - 1) if len(grid) > 1 else 7.0
        item["holding_cost"] = item["holding_cost"] * step_days / 365.25  # per unit and period
        return cls(
            **item,
            on_hand=on_hand,
            level=level,
            bom_parent=parent,
            bom_component=component,
            bom_factor=qty_per / (1.0 - scrap),
            bom_first=first.astype(np.int64),
            bom_last=last.astype(np.int64),
            demand_item=d_item,
            demand_period=d_period,
            demand_qty=d_qty,
            demand_id=d_id,
            open_id=o_id,
            open_item=o_item,
            open_period=_period_of(o_due, grid) if len(o_due) else empty_int,
            open_qty=o_qty,
            open_due=o_due,
            periods=grid,
        )


def _encode_items(source: str, items: pd.DataFrame) -> dict[str, np.ndarray]:
    frame = _require(source, items, ("sku", "make_or_buy", "lead_time_periods"))
    kind = frame["make_or_buy"].astype("string").str.strip().str.lower()
    _first_bad(
        source, frame, "make_or_buy", ~kind.isin(["make", "buy"]).fillna(False).to_numpy(), "must be make or buy"
    )
    if "lot_rule" in frame.columns:
        rule = frame["lot_rule"].astype("string").str.strip().str.lower().replace(_RULE_ALIASES).fillna("lfl")
        rule = rule.mask(rule == "", "lfl")
    else:
        rule = pd.Series("lfl", index=frame.index)
    rule_code = pd.Index(LOT_RULES).get_indexer(pd.Index(rule.to_numpy(dtype=object)))
    _first_bad(source, frame, "lot_rule", rule_code < 0, f"must be one of {', '.join(LOT_RULES)}")
    unit_cost = _number(source, frame, "unit_cost", 0.0, 0.0)
    holding_rate = _number(source, frame, "holding_rate", 0.25, 0.0)
    return {
        "skus": _text(source, frame, "sku"),
        "make": (kind == "make").to_numpy(dtype=bool),
        "lead_time": _number(source, frame, "lead_time_periods", None, 0.0, whole=True).astype(np.int64),
        "lot_rule": rule_code.astype(np.int64),
        "lot_size": _number(source, frame, "lot_size", 1.0, 0.0, strict=True),
        "moq": _number(source, frame, "moq", 0.0, 0.0),
        "poq_periods": _number(source, frame, "poq_periods", 2.0, 1.0, whole=True).astype(np.int64),
        "safety_stock": _number(source, frame, "safety_stock", 0.0, 0.0),
        "unit_cost": unit_cost,
        "order_cost": _number(source, frame, "order_cost", 50.0, 0.0),
        "holding_cost": holding_rate * unit_cost,  # per year; divided by periods per year in the engine
    }
