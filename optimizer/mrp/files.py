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

import pandas as pd

from optimizer.mrp.engine import MrpResult
from optimizer.mrp.exceptions import COLUMNS as EXCEPTION_COLUMNS
from optimizer.mrp.inputs import MrpInputError, MrpInputs

__all__ = ["PEGGING_COLUMNS", "read_frame", "read_inputs", "write_plan"]

PEGGING_COLUMNS = ["sku", "due_date", "qty", "end_sku", "end_date", "end_id"]


def read_frame(path: Path | str) -> pd.DataFrame:
    """The cells of a CSV (UTF-8, optional BOM) or Parquet file as text/values; MrpInputError when unreadable."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    except FileNotFoundError:
        raise MrpInputError(str(path), None, None, None, "file not found") from None
    except (ValueError, OSError, pd.errors.ParserError) as err:
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


def write_plan(result: MrpResult, out_dir: Path | str) -> dict[str, Path]:
    """Write the three plan files into `out_dir` (created if missing); returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"{name}.csv" for name in ("planned_orders", "pegging", "exceptions")}
    orders = result.planned_orders().sort_values(["sku", "due_date"], kind="stable")
    orders.to_csv(paths["planned_orders"], index=False, date_format="%Y-%m-%d", float_format="%.6g")
    pegging = result.pegging
    pegs = pegging.planned_orders(result) if pegging is not None else pd.DataFrame(columns=PEGGING_COLUMNS)
    pegs.to_csv(paths["pegging"], index=False, date_format="%Y-%m-%d", float_format="%.6g")
    exceptions = result.exceptions().reindex(columns=EXCEPTION_COLUMNS)
    exceptions.to_csv(paths["exceptions"], index=False, date_format="%Y-%m-%d", float_format="%.6g")
    return paths
