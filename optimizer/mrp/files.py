"""The file form of MRP: read the input tables from CSV/Parquet files, write the plan as CSV files.

Public interface
- `read_inputs(items, bom, demand, inventory=None, open_orders=None, plan_date=None) -> MrpInputs`: paths in,
  validated inputs out; `MrpInputError` names the file, row and field.
- `write_plan(result, out_dir) -> dict[str, Path]`: `planned_orders.csv` (sku, make_or_buy, release_date,
  due_date, qty, expedite_periods), `pegging.csv` (sku, due_date, qty, end_sku, end_date, end_id; empty when
  pegging is off) and `exceptions.csv` (see `optimizer.mrp.exceptions.COLUMNS`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from optimizer.mrp.engine import MrpResult
from optimizer.mrp.exceptions import COLUMNS as EXCEPTION_COLUMNS
from optimizer.mrp.inputs import MrpInputError, MrpInputs
from optimizer.mrp.pegging import Pegging

__all__ = ["PEGGING_COLUMNS", "read_frame", "read_inputs", "write_csv", "write_plan"]

QTY_DECIMALS = 6  # quantities are written to a millionth of a unit
PEGGING_COLUMNS = ["sku", "due_date", "qty", "end_sku", "end_date", "end_id"]


TEXT_COLUMNS = ("sku", "parent_sku", "component_sku", "id", "make_or_buy", "lot_rule", "op")


def read_frame(path: Path | str) -> pd.DataFrame:
    """The cells of a CSV (UTF-8, optional BOM) or Parquet file; MrpInputError when unreadable. CSV is read with
    pyarrow: identifiers stay text, other columns get their inferred type (a column with a bad value stays text and
    is refused by row in validation); empty cells are missing."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        convert = pa_csv.ConvertOptions(
            column_types=dict.fromkeys(TEXT_COLUMNS, pa.string()),
            strings_can_be_null=True,
            null_values=[""],
            true_values=[],
            false_values=[],
        )
        return pa_csv.read_csv(path, convert_options=convert).to_pandas(date_as_object=False)
    except FileNotFoundError:
        raise MrpInputError(str(path), None, None, None, "file not found") from None
    except (ValueError, OSError, pa.ArrowException, pd.errors.ParserError) as err:
        raise MrpInputError(str(path), None, None, None, f"cannot read: {err}") from None


def read_inputs(
    items: Path | str,
    bom: Path | str,
    demand: Path | str,
    inventory: Path | str | None = None,
    open_orders: Path | str | None = None,
    plan_date: Any = None,
) -> MrpInputs:
    """Read and validate the MRP tables from files (see `MrpInputs.from_frames` for the columns)."""
    paths = {"items": items, "bom": bom, "demand": demand, "inventory": inventory, "open_orders": open_orders}
    frames = {k: read_frame(p) if p is not None else None for k, p in paths.items()}
    return MrpInputs.from_frames(
        items=frames["items"],  # type: ignore[arg-type]
        bom=frames["bom"],  # type: ignore[arg-type]
        demand=frames["demand"],  # type: ignore[arg-type]
        inventory=frames["inventory"],
        open_orders=frames["open_orders"],
        plan_date=plan_date,
        sources={k: str(p) for k, p in paths.items() if p is not None},
    )


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write `frame` as CSV with pyarrow (ISO dates, empty cells for missing values; ~10× pandas' writer)."""
    columns = {}
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            columns[name] = pa.array(col.to_numpy(dtype="datetime64[ns]"), from_pandas=True).cast(pa.date32())
        elif col.dtype == object:
            columns[name] = pa.array(col.to_numpy(), type=pa.string(), from_pandas=True)
        else:
            columns[name] = pa.array(col, from_pandas=True)
    table = pa.table(columns) if columns else pa.table({c: pa.array([], pa.string()) for c in frame.columns})
    _write_table(table, path)


def _write_table(table: pa.Table, path: Path) -> None:
    """CSV without quotes unless a text cell needs them (a third faster on millions of rows)."""
    try:
        pa_csv.write_csv(table, path, pa_csv.WriteOptions(quoting_style="none"))
    except pa.ArrowInvalid:  # a text cell holds a comma, quote or line break
        pa_csv.write_csv(table, path, pa_csv.WriteOptions(quoting_style="needed"))


def _dates(periods: pd.DatetimeIndex, index: np.ndarray) -> pa.Array:
    return pa.array(periods.to_numpy(dtype="datetime64[ns]")).cast(pa.date32()).take(pa.array(index))


def _planned_orders_table(result: MrpResult) -> pa.Table:
    """The planned orders as an Arrow table built by index (no Python objects per row), by sku and due date."""
    inputs, item = result.inputs, result.order_item
    return pa.table(
        {
            "sku": pa.array(inputs.skus, type=pa.string()).take(pa.array(item)),
            "make_or_buy": pa.array(["buy", "make"]).take(pa.array(inputs.make[item].astype(np.int8))),
            "release_date": _dates(inputs.periods, result.order_release),
            "due_date": _dates(inputs.periods, result.order_period),
            "qty": pc.round(pa.array(result.order_qty), QTY_DECIMALS),
            "expedite_periods": pa.array(result.order_expedite),
        }
    )


def _pegging_table(result: MrpResult, pegging: Pegging) -> pa.Table:
    """Pegging rows (sku, due_date, qty, end_sku, end_date, end_id) built by index in Arrow."""
    coo = pegging.planned.tocoo()
    order = pegging.order_rows[coo.row]
    inputs, columns = result.inputs, pegging.columns
    end_dates = pa.array(columns["end_date"].to_numpy(dtype="datetime64[ns]"), from_pandas=True).cast(pa.date32())
    col = pa.array(coo.col)
    return pa.table(
        {
            "sku": pa.array(inputs.skus, type=pa.string()).take(pa.array(result.order_item[order])),
            "due_date": _dates(inputs.periods, result.order_period[order]),
            "qty": pc.round(pa.array(coo.data), QTY_DECIMALS),
            "end_sku": pa.array(columns["end_sku"].to_numpy(), type=pa.string()).take(col),
            "end_date": end_dates.take(col),
            "end_id": pa.array(columns["end_id"].to_numpy(), type=pa.string()).take(col),
        }
    )


def write_plan(result: MrpResult, out_dir: Path | str) -> dict[str, Path]:
    """Write the three plan files into `out_dir` (created if missing); returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"{name}.csv" for name in ("planned_orders", "pegging", "exceptions")}
    _write_table(_planned_orders_table(result), paths["planned_orders"])
    pegging = result.pegging
    if pegging is None:
        write_csv(pd.DataFrame(columns=PEGGING_COLUMNS), paths["pegging"])
    else:
        _write_table(_pegging_table(result, pegging), paths["pegging"])
    exceptions = result.exceptions().reindex(columns=EXCEPTION_COLUMNS)
    write_csv(exceptions, paths["exceptions"])
    return paths
