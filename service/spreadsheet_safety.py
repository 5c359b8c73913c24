"""Exports that a spreadsheet opens as data, never as code (OWASP "CSV injection").

A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula (or becomes one) in Excel,
LibreOffice and Google Sheets: an ERP could plant `=HYPERLINK(…)` or `=cmd|…` through a SKU or supplier id. Such a
cell gets a leading `'`, which spreadsheets show as text. Numbers, dates and booleans stay what they are; only text
changes. XLSX workbooks are written as values only: xlsxwriter never turns a string into a formula, a URL or a number.

Public interface:

- `DANGEROUS`: the first characters that make a text cell active.
- `neutralise(value)`: one cell, made safe (non-text values are returned unchanged).
- `neutralise_frame(frame) -> DataFrame`: a copy with every text cell made safe (frames without such cells are
  returned as they are).
- `to_csv_bytes(frame, **to_csv_kwargs) -> bytes`: safe UTF-8 CSV (`index=False` unless told otherwise).
- `write_csv(frame, path, **to_csv_kwargs) -> Path`: the same, written to a file.
- `excel_writer(target, **kwargs) -> pd.ExcelWriter`: an xlsxwriter `ExcelWriter` that writes values only and makes
  every text cell safe; use it as `pd.ExcelWriter` is used.
- `sql_text(column)`: the same rule as a SQL expression, for CSV built by the database.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import pandas as pd
from pandas.io.excel._xlsxwriter import XlsxWriter
from sqlalchemy import case, func, literal
from sqlalchemy.sql.elements import ColumnElement

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
#: xlsxwriter options: strings are written as strings (never formulas, hyperlinks or numbers)
VALUES_ONLY = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def neutralise(value: Any) -> Any:
    """`value` with a leading `'` when it is text starting with one of `DANGEROUS`; anything else unchanged."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value


def _text_columns(frame: pd.DataFrame) -> list[Any]:
    return [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype)]


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells are made safe; `frame` itself when none needs it."""
    out: pd.DataFrame | None = None
    for column in _text_columns(frame):
        values = frame[column]
        texts = values.map(lambda v: isinstance(v, str) and v.startswith(DANGEROUS))
        if not texts.any():
            continue
        if out is None:
            out = frame.copy()
        out[column] = values.map(neutralise)
    return frame if out is None else out


def to_csv_bytes(frame: pd.DataFrame, **kwargs: Any) -> bytes:
    """`frame` as safe UTF-8 CSV bytes."""
    kwargs.setdefault("index", False)
    return str(neutralise_frame(frame).to_csv(**kwargs)).encode()


def write_csv(frame: pd.DataFrame, path: Path | str, **kwargs: Any) -> Path:
    """Write `frame` as safe UTF-8 CSV to `path`."""
    kwargs.setdefault("index", False)
    neutralise_frame(frame).to_csv(path, **kwargs)
    return Path(path)


class _SafeXlsxWriter(XlsxWriter):
    """pandas' xlsxwriter engine with every text cell made safe before it is written."""

    def _write_cells(self, cells: Any, *args: Any, **kwargs: Any) -> None:
        def safe(cell: Any) -> Any:
            cell.val = neutralise(cell.val)
            return cell

        super()._write_cells((safe(cell) for cell in cells), *args, **kwargs)


def excel_writer(target: Path | str | IO[bytes], **kwargs: Any) -> pd.ExcelWriter:
    """An `ExcelWriter` (xlsxwriter) that writes values only: no formulas, no hyperlinks, text cells made safe."""
    engine_kwargs = dict(kwargs.pop("engine_kwargs", None) or {})
    engine_kwargs["options"] = {**engine_kwargs.get("options", {}), **VALUES_ONLY}
    return _SafeXlsxWriter(target, engine_kwargs=engine_kwargs, **kwargs)


def sql_text(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """`column` (text) with a leading `'` when it starts with one of `DANGEROUS`, computed by the database."""
    first = func.substr(column, 1, 1)
    return case((first.in_(DANGEROUS), literal("'") + column), else_=column)


__all__ = [
    "DANGEROUS",
    "VALUES_ONLY",
    "excel_writer",
    "neutralise",
    "neutralise_frame",
    "sql_text",
    "to_csv_bytes",
    "write_csv",
]
