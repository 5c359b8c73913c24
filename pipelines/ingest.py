"""Read and validate canonical tables from CSV, Parquet, XLSX or JSON, long or wide.

Public interface:

- `read_table(path, table=None, known=None) -> (table_name, DataFrame)`: read one file and validate it.
- `parse_table(table, raw, known=None, source=...) -> DataFrame`: validate an already-read frame.
- `read_raw(path, …, delimiter=None, decimal=None) -> DataFrame`: the file's cells, unparsed. A CSV's delimiter
  (`,` `;` tab `|`) is sniffed from its header unless given; with `;` numbers may use a decimal comma (`decimal`
  `,` or `.`, default `,` after `;` and `.` otherwise), turned into a point in the table's number columns.
- `table_for_path(path) -> str`: the table a file name stands for (`demand.csv`, `demand.raf.parquet` → demand).
- `DataValidationError`: the one error bad input raises, listing each bad row (row, column, value, reason).

Row numbers count records from 1, the header not included. Nothing is returned unless every row passes, so a
caller that writes only validated frames never stores part of a bad file. Dates in text are strict ISO 8601
(`YYYY-MM-DD` or `YYYY-MM`, optionally `THH:MM[:SS][zone]`): `2003/01/01`, `31/12/2001` or `20030101` are refused
naming row and column.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.errors as pa_errors

from pipelines.contracts import BOOL, DATETIME, FLOAT, INT, STR, TableSpec, spec

MAX_ISSUES = 100
SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx", ".json": "json"}

#: (position in the frame, column, value, reason)
Problem = tuple[int, str | None, Any, str]

#: Known key values per referenced column, e.g. {"items.sku": {"A-1", …}}.
KnownKeys = Mapping[str, Collection[Any]]


@dataclass(frozen=True)
class RowIssue:
    """One problem in the input: `row` counts records from 1 (None for file-level problems)."""

    row: int | None
    column: str | None
    value: Any
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "file"
        column = f", column {self.column!r}" if self.column else ""
        value = f", value {self.value!r}" if self.value is not None else ""
        return f"{where}{column}{value}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": self.value, "reason": self.reason}


def _show(value: Any) -> Any:
    """A JSON-friendly rendering of a cell for error reports."""
    if value is None or _isnull(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


class DataValidationError(ValueError):
    """Input that breaks a table's contract. `issues` lists at most `MAX_ISSUES` of `total` problems."""

    def __init__(self, table: str | None, source: str, issues: list[RowIssue], total: int | None = None) -> None:
        self.table = table
        self.source = source
        self.total = total if total is not None else len(issues)
        self.issues = issues[:MAX_ISSUES]
        shown = "\n".join(f"  - {issue}" for issue in self.issues[:20])
        more = f"\n  … and {self.total - 20} more" if self.total > 20 else ""
        what = f"table {table!r}" if table else "input"
        super().__init__(f"{source}: {what} rejected, {self.total} problem(s); nothing was loaded:\n{shown}{more}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "source": self.source,
            "total": self.total,
            "issues": [issue.as_dict() for issue in self.issues],
        }


def table_for_path(path: Path) -> str:
    """Table named by a file: its name up to the first dot (`demand.raf.csv` → `demand`)."""
    name = path.name.split(".", 1)[0].lower()
    spec(name)  # raises for unknown names
    return name


def _file_error(source: str, table: str | None, reason: str) -> DataValidationError:
    return DataValidationError(table, source, [RowIssue(None, None, None, reason)])


def _decode(data: bytes, source: str, table: str | None) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise _file_error(
            source,
            table,
            f"not UTF-8 text: byte 0x{data[err.start]:02x} at line {line} (offset {err.start}); save the file as UTF-8",
        ) from None


# --- declared size: checked before parsing ------------------------------------------------------------------------


@dataclass(frozen=True)
class InputLimits:
    """What a file may declare before it is parsed, so that a small file cannot make the reader allocate much.

    `max_bytes` bounds the expanded size (XLSX members, a Parquet file's cells at 8 bytes each); `max_cells` bounds
    rows × columns (default: `max_bytes`, as a CSV cell takes at least one byte); `max_expansion` bounds how much a
    compressed file (Parquet, XLSX) may grow; `max_field_chars` bounds one cell.
    """

    max_bytes: int = 256 * 1024 * 1024
    max_columns: int = 5_000
    max_cells: int | None = None
    max_expansion: float = 200.0
    max_field_chars: int = 10_000

    @property
    def cells(self) -> int:
        return self.max_cells if self.max_cells is not None else self.max_bytes


class InputTooLarge(DataValidationError):
    """A file whose declared size is over `InputLimits` (rejected before parsing; HTTP answers 413)."""


def _too_large(source: str, table: str | None, reason: str) -> InputTooLarge:
    return InputTooLarge(table, source, [RowIssue(None, None, None, reason)])


def _mb(n: float) -> str:
    return f"{n / (1024 * 1024):.3g} MB"


def check_declared_size(data: bytes, fmt: str, source: str, table: str | None, limits: InputLimits) -> None:
    """Raise before parsing when `data` declares more columns, cells or bytes than `limits` allow."""
    if fmt == "csv":
        _check_csv(data, source, table, limits)
    elif fmt == "parquet":
        _check_parquet(data, source, table, limits)
    elif fmt == "xlsx":
        _check_xlsx(data, source, table, limits)


def _check_columns(columns: int, source: str, table: str | None, limits: InputLimits) -> None:
    if columns > limits.max_columns:
        raise _file_error(
            source, table, f"{columns:,} columns; at most {limits.max_columns:,} are accepted (check the delimiter)"
        )


def _check_cells(rows: int, columns: int, size: int, source: str, table: str | None, limits: InputLimits) -> None:
    _check_columns(columns, source, table, limits)
    cells = rows * columns
    if cells > limits.cells:
        raise _too_large(source, table, f"declares {rows:,} rows × {columns:,} columns; at most {limits.cells:,} "
                         "cells are accepted per upload: split the file")  # fmt: skip
    if cells * 8 > max(limits.max_expansion * size, 1024 * 1024):
        raise _too_large(
            source, table, f"declares {rows:,} rows × {columns:,} columns in {size:,} bytes, more than "
            f"{limits.max_expansion:g} times its size when read; send it as CSV or split it",
        )  # fmt: skip


def _check_csv(data: bytes, source: str, table: str | None, limits: InputLimits) -> None:
    end = data.find(b"\n", 0, (limits.max_columns + 1) * 256)
    header = data[: end if end >= 0 else (limits.max_columns + 1) * 256]
    _check_columns(max(header.count(d.encode()) for d in DELIMITERS) + 1, source, table, limits)


def _check_parquet(data: bytes, source: str, table: str | None, limits: InputLimits) -> None:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(io.BytesIO(data))
    except Exception:  # a broken footer: the reader reports it
        return
    _check_cells(meta.num_rows, meta.num_columns, len(data), source, table, limits)


_XLSX_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,4})([0-9]{1,9})"')
_XLSX_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*?\bref="([A-Z0-9:]+)"')


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _check_xlsx(data: bytes, source: str, table: str | None, limits: InputLimits) -> None:
    import zipfile

    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        members = book.infolist()
    except (zipfile.BadZipFile, ValueError):  # not a workbook: the reader reports it
        return
    expanded = sum(m.file_size for m in members)
    if expanded > limits.max_bytes or expanded > max(limits.max_expansion * len(data), 1024 * 1024):
        raise _too_large(source, table, f"expands from {len(data):,} bytes to {_mb(expanded)}; at most "
                         f"{_mb(min(limits.max_bytes, max(limits.max_expansion * len(data), 1024 * 1024)))} "
                         "is accepted: send it as CSV or split it")  # fmt: skip
    for member in members:
        if not (member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml")):
            continue
        xml = book.read(member)
        declared = _XLSX_DIMENSION.search(xml)
        refs = [declared.group(1).split(b":")[-1]] if declared else []
        last = max((int(r) for r in re.findall(rb"[0-9]+", b" ".join(refs))), default=0)
        letters = {m.group(1) for m in _XLSX_CELL.finditer(xml)} | {re.sub(rb"[0-9]", b"", r) for r in refs}
        columns = max((_column_number(c) for c in letters if c), default=0)
        rows = max(last, xml.count(b"<row") + xml.count(b":row "))
        _check_cells(rows, columns, len(data), source, table, limits)


def _check_frame(frame: pd.DataFrame, data: bytes, source: str, table: str | None, limits: InputLimits) -> None:
    """After reading: the frame's width and size, and no cell longer than `limits.max_field_chars`."""
    _check_columns(len(frame.columns), source, table, limits)
    if frame.size > limits.cells:
        raise _too_large(source, table, f"{len(frame):,} rows × {len(frame.columns):,} columns; at most "
                         f"{limits.cells:,} cells are accepted per upload: split the file")  # fmt: skip
    if len(data) <= limits.max_field_chars:
        return
    for position, column in enumerate(frame.columns):
        values = frame.iloc[:, position]
        if values.dtype != object:
            continue
        lengths = values.map(lambda v: len(v) if isinstance(v, str) else 0).to_numpy()
        if len(lengths) and lengths.max() > limits.max_field_chars:
            row = int(lengths.argmax()) + 1
            reason = f"{int(lengths.max()):,} characters; a cell may hold at most {limits.max_field_chars:,}"
            raise DataValidationError(table, source, [RowIssue(row, str(column), None, reason)])


#: Field delimiters a CSV may use (sniffed from the header when not given).
DELIMITERS = (",", ";", "\t", "|")
DECIMALS = (".", ",")


def sniff_delimiter(text: str) -> str:
    """The delimiter the CSV header uses most (`,` when it has none or on a tie)."""
    end = text.find("\n")
    header = text[: end if end >= 0 else len(text)]
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _csv_options(
    delimiter: str | None, decimal: str | None, fmt: str, source: str, table: str | None
) -> tuple[str | None, str | None]:
    """Check `delimiter` and `decimal` (CSV only; one of `DELIMITERS` / `DECIMALS`, and not both `,`)."""
    if delimiter is None and decimal is None:
        return None, None
    if fmt != "csv":
        raise _file_error(source, table, f"delimiter and decimal apply to CSV only, not to {fmt}; leave them out")
    if delimiter is not None and delimiter not in DELIMITERS:
        raise _file_error(source, table, f"delimiter {delimiter!r} is not one of , ; tab |")
    if decimal is not None and decimal not in DECIMALS:
        raise _file_error(source, table, f"decimal {decimal!r} is not '.' or ','")
    if decimal == "," and delimiter == ",":
        raise _file_error(source, table, "decimal ',' needs another delimiter (';' as European CSV exports use)")
    return delimiter, decimal


def _decimal_comma(frame: pd.DataFrame, table: str | None, source: str) -> pd.DataFrame:
    """Decimal commas turned into points in the number columns of `table` (and a wide table's period columns)."""
    if table is None:
        raise _file_error(source, table, "decimal ',' needs the table to be known (name the file after the table)")
    contract = spec(table)
    for column in frame.columns:
        kind = contract.kinds.get(str(column).strip().lower())
        if kind in (FLOAT, INT) or kind is None:
            values = frame[column]
            frame[column] = values.where(values.isna(), values.astype("string").str.replace(",", ".", regex=False))
    return frame


def read_raw(
    path: Path | str,
    data: bytes | None = None,
    fmt: str | None = None,
    table: str | None = None,
    limits: InputLimits | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
) -> pd.DataFrame:
    """The cells of a CSV/Parquet/XLSX/JSON file, unparsed; `data` reads from bytes instead of the path. A file
    declaring more than `limits` (default `InputLimits()`) is refused before it is parsed (`InputTooLarge`).
    A CSV's `delimiter` is sniffed from its header unless given; `decimal` (default `,` when the delimiter is `;`)
    is a CSV's decimal mark, turned into a point in `table`'s number columns."""
    path = Path(path)
    source = str(path)
    fmt = fmt or SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise _file_error(source, table, f"unsupported file type {path.suffix!r}; use one of {', '.join(SUFFIXES)}")
    delimiter, decimal = _csv_options(delimiter, decimal, fmt, source, table)
    raw_bytes = data if data is not None else path.read_bytes()
    if not raw_bytes.strip():
        raise _file_error(source, table, "file is empty")
    limits = limits or InputLimits()
    check_declared_size(raw_bytes, fmt, source, table, limits)
    try:
        if fmt == "csv":
            text = _decode(raw_bytes, source, table)
            delimiter = delimiter or sniff_delimiter(text)
            decimal = decimal or ("," if delimiter == ";" else ".")
            if decimal == "," and delimiter == ",":
                raise _file_error(source, table, "decimal ',' needs another delimiter (';' as European exports use)")
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)  # extra fields would be dropped silently
                frame = pd.read_csv(
                    io.StringIO(text),
                    sep=delimiter,
                    dtype=str,
                    keep_default_na=False,
                    na_values=[""],
                    skipinitialspace=True,
                    index_col=False,
                )
        elif fmt == "parquet":
            frame = pd.read_parquet(io.BytesIO(raw_bytes))
        elif fmt == "xlsx":
            frame = pd.read_excel(io.BytesIO(raw_bytes), sheet_name=0, dtype=object)
        else:
            frame = _read_json(_decode(raw_bytes, source, table), limits)
    except DataValidationError:
        raise
    except pd.errors.ParserError as err:
        raise _file_error(source, table, f"malformed CSV: {err}") from None
    except pd.errors.ParserWarning:
        raise _file_error(source, table, "malformed CSV: a row has more fields than the header") from None
    except (ValueError, OSError, ImportError) as err:
        raise _file_error(source, table, f"cannot read as {fmt}: {err}") from None
    except Exception as err:  # engines raise their own types (e.g. pyarrow, zipfile)
        raise _file_error(source, table, f"cannot read as {fmt}: {type(err).__name__}: {err}") from None
    if frame.empty:
        raise _file_error(source, table, "no rows: the file has a header but no records")
    _check_frame(frame, raw_bytes, source, table, limits)
    if fmt == "csv" and decimal == ",":
        frame = _decimal_comma(frame, table, source)
    return frame


def _read_json(text: str, limits: InputLimits) -> pd.DataFrame:
    payload = json.loads(text)
    if isinstance(payload, dict) and isinstance(payload.get("rows"), list):
        payload = payload["rows"]
    if not isinstance(payload, list) or not all(isinstance(r, dict) for r in payload):
        raise ValueError('expected a list of records [{"column": value, …}] or {"rows": [...]}')
    columns = len(set().union(*payload)) if payload else 0
    if columns > limits.max_columns or columns * len(payload) > limits.cells:
        raise ValueError(f"{len(payload):,} records with {columns:,} distinct keys; at most {limits.max_columns:,} "
                         f"keys and {limits.cells:,} cells are accepted")  # fmt: skip
    return pd.DataFrame.from_records(payload)


def read_table(path: Path | str, table: str | None = None, known: KnownKeys | None = None) -> tuple[str, pd.DataFrame]:
    """Read and validate one file; the table is `table` or named by the file (see `table_for_path`)."""
    path = Path(path)
    name = table or table_for_path(path)
    spec(name)
    raw = read_raw(path, table=name)
    return name, parse_table(name, raw, known=known, source=str(path))


# --- parsing -------------------------------------------------------------------------------------------------


def _normalize_columns(raw: pd.DataFrame, source: str, table: str) -> pd.DataFrame:
    names = [str(c).strip().lower() for c in raw.columns]
    seen: set[str] = set()
    dupes = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if dupes:
        raise _file_error(source, table, f"duplicate column(s): {', '.join(dupes)}")
    frame = raw.copy()
    frame.columns = pd.Index(names)
    return frame


def _widen_to_long(
    frame: pd.DataFrame, table: TableSpec, source: str
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None]:
    """Melt a wide frame (id columns + one column per period) to long; rows and source columns per record."""
    rows = np.arange(1, len(frame) + 1)
    if table.wide is None or table.wide[1] in frame.columns:
        return frame, rows, None
    ids, date_col, value_col = table.wide
    period_cols = [c for c in frame.columns if c not in ids]
    missing_ids = [c for c in ids if c not in frame.columns]
    periods = pd.to_datetime(pd.Series(period_cols, dtype=object), format="ISO8601", errors="coerce")
    if missing_ids or not period_cols or periods.isna().any():
        return frame, rows, None  # not wide: let the column check report what is wrong
    n_rows, n_periods = len(frame), len(period_cols)
    long = pd.DataFrame(
        {
            **{c: np.repeat(frame[c].to_numpy(dtype=object), n_periods) for c in ids},
            date_col: np.tile(periods.to_numpy(), n_rows),
            value_col: frame[period_cols].to_numpy(dtype=object).reshape(-1),
        }
    )
    long = long[pd.notna(long[value_col])].reset_index(drop=True) if long[value_col].isna().any() else long
    keep = pd.notna(frame[period_cols].to_numpy(dtype=object).reshape(-1))
    return long, np.repeat(rows, n_periods)[keep], np.tile(np.array(period_cols, dtype=object), n_rows)[keep]


def _as_text(values: pd.Series) -> pd.Series:
    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
            return np.nan
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        text = str(v).strip()
        return text if text else np.nan

    if values.dtype == object or pd.api.types.is_string_dtype(values):
        stripped = values.astype("string").str.strip()
        stripped = stripped.mask(stripped == "")
        return stripped.astype(object).where(stripped.notna(), np.nan)
    return values.map(one).astype(object)


MAX_INT = 2**31 - 1  # integer columns are 32-bit in the database


def _parse_column(values: pd.Series, kind: str) -> tuple[pd.Series, list[tuple[pd.Series, str]]]:
    """Parse `values` as `kind`; returns the parsed series and (bad mask, reason) pairs."""
    present = values.notna()
    if kind == STR:
        return _as_text(values), []
    if kind == BOOL:
        return _parse_bool(values, present)
    if kind in (FLOAT, INT):
        if pd.api.types.is_bool_dtype(values):
            return values.astype(float), [(present, "is a boolean, not a number")]
        text = values if pd.api.types.is_numeric_dtype(values) else _as_text(values)
        parsed = pd.to_numeric(text, errors="coerce").astype(float)
        bad = [(present & parsed.isna(), "is not a number")]
        if kind == FLOAT:
            return parsed, bad
        fractional = parsed.notna() & np.isfinite(parsed) & (parsed != np.round(parsed))
        too_big = parsed.notna() & np.isfinite(parsed) & (parsed.abs() > MAX_INT)
        whole = parsed.where(np.isfinite(parsed) & ~fractional & ~too_big)
        return whole.round().astype("Int64"), [
            *bad,
            (fractional, "is not a whole number"),
            (too_big, f"is out of range (at most {MAX_INT:,} in magnitude)"),
        ]
    return _parse_dates(values, kind, present)


#: Spellings of a boolean cell (case-insensitive); numbers 1 and 0 count too.
BOOL_WORDS = {"true": True, "t": True, "yes": True, "y": True, "1": True,
              "false": False, "f": False, "no": False, "n": False, "0": False}  # fmt: skip


def _parse_bool(values: pd.Series, present: pd.Series) -> tuple[pd.Series, list[tuple[pd.Series, str]]]:
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean"), []
    if pd.api.types.is_numeric_dtype(values):
        parsed = values.map(lambda v: bool(v) if v in (0, 1) else None)
    else:
        parsed = _as_text(values).map(lambda v: BOOL_WORDS.get(v.lower()) if isinstance(v, str) else None)
    parsed = parsed.astype("boolean")
    return parsed, [(present & parsed.isna(), "is not a boolean (use true or false)")]


#: Dates and date-times in text: strict ISO 8601 (`YYYY-MM-DD`, optionally `[T ]HH:MM[:SS[.fff]]` and a zone; or a
#: month `YYYY-MM`, read as its first day).
ISO_DATE = r"\d{4}-\d{2}(?:-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?)?"
_ISO_DATE = re.compile(ISO_DATE)


def _parse_dates(values: pd.Series, kind: str, present: pd.Series) -> tuple[pd.Series, list[tuple[pd.Series, str]]]:
    if pd.api.types.is_datetime64_any_dtype(values):
        when = values.dt.tz_localize(None) if getattr(values.dt, "tz", None) is not None else values
    else:
        text = _as_text(values)
        distinct = pd.unique(text[present].astype(str))  # dates repeat: check each spelling once
        iso = text.isin([d for d in distinct if _ISO_DATE.fullmatch(d)])
        when = pd.to_datetime(text.where(iso), format="ISO8601", errors="coerce")
    parsed: pd.Series = when.astype("datetime64[ns]")
    if kind == DATETIME:
        return parsed, [(present & parsed.isna(), "is not a date-time (use ISO 8601: YYYY-MM-DDTHH:MM)")]
    timed = parsed.notna() & (parsed != parsed.dt.normalize())
    return parsed.where(~timed), [
        (present & parsed.isna(), "is not a date (use ISO 8601: YYYY-MM-DD)"),
        (timed, "is not a date (has a time of day; use YYYY-MM-DD)"),
    ]


def _pandera_issues(err: pa_errors.SchemaErrors, typed: pd.DataFrame, contract: TableSpec) -> list[Problem]:
    """Row-level problems from pandera's failure cases: one per row and check."""
    out: list[Problem] = []
    seen: set[tuple[int, str]] = set()
    for case in err.failure_cases.itertuples(index=False):
        index, check, column = case.index, str(case.check), case.column
        if index is None or (isinstance(index, float) and np.isnan(index)):
            continue  # frame-level summaries; the row-level cases carry the detail
        position = int(index)
        if check in ("multiple_fields_uniqueness", "field_uniqueness"):
            key = ", ".join(contract.key)
            values = ", ".join(str(_show(typed.at[position, c])) for c in contract.key)
            problem: Problem = (position, key, values, f"duplicate key ({key}): appears more than once")
        elif check == "not_nullable":
            problem = (position, column, None, "missing value (required)")
        elif case.schema_context == "DataFrameSchema":  # a check across columns: name the column it is about
            about = next((c for c in contract.columns if check.startswith(c)), None)
            problem = (position, about, typed.at[position, about] if about else None, check)
        else:
            problem = (position, column, case.failure_case, check)
        if (position, problem[3]) not in seen:
            seen.add((position, problem[3]))
            out.append(problem)
    return out


def parse_table(table: str, raw: pd.DataFrame, known: KnownKeys | None = None, source: str = "<data>") -> pd.DataFrame:
    """Validate `raw` against table `table`'s contract; return the typed frame or raise `DataValidationError`.

    `known` holds the key values that references may point to (e.g. ``{"items.sku": {...}}``); a reference
    whose target is missing from `known` is not checked.
    """
    contract = spec(table)
    if raw.empty:
        raise _file_error(source, table, "no rows")
    frame = _normalize_columns(raw, source, table)
    frame, rows, source_cols = _widen_to_long(frame, contract, source)

    unknown = [c for c in frame.columns if c not in contract.kinds]
    missing = [c for c in contract.required if c not in frame.columns]
    if unknown or missing:
        issues = [
            RowIssue(None, c, None, f"missing required column; {table} needs {', '.join(contract.required)}")
            for c in missing
        ]
        issues += [
            RowIssue(None, c, None, f"unknown column; {table} has columns {', '.join(contract.columns)}")
            for c in unknown
        ]
        raise DataValidationError(table, source, issues)

    frame = frame.reset_index(drop=True)
    problems: list[Problem] = []
    skipped = 0  # problems counted but not listed (only the first MAX_ISSUES of each kind are kept)
    unparsed: dict[str, np.ndarray] = {}
    parsed: dict[str, pd.Series] = {}
    for column, kind in contract.kinds.items():
        if column not in frame.columns:
            default = contract.defaults[column]
            parsed[column] = pd.Series([default] * len(frame), dtype=object)
            values = parsed[column]
        else:
            values = frame[column]
        typed, failures = _parse_column(values, kind)
        default = contract.defaults.get(column)
        if default is not None:
            typed = typed.fillna(default) if kind != STR else typed.where(typed.notna(), default)
        for bad, reason in failures:
            mask = bad.to_numpy(dtype=bool)
            unparsed[column] = unparsed[column] | mask if column in unparsed else mask
            positions, count = _first(mask)
            skipped += count - len(positions)
            problems += [(int(p), column, values.iloc[p], reason) for p in positions]
        parsed[column] = typed
    typed_frame = pd.DataFrame(parsed)

    unique = typed_frame
    if contract.key:  # duplicates found here: pandera's own report of many duplicates takes minutes
        key = ", ".join(contract.key)
        positions, count = _first(typed_frame.duplicated(subset=list(contract.key), keep=False).to_numpy())
        skipped += count - len(positions)
        for p in positions:
            values_text = ", ".join(str(_show(typed_frame.at[p, c])) for c in contract.key)
            problems.append((int(p), key, values_text, f"duplicate key ({key}): appears more than once"))
        if count:
            unique = typed_frame[~typed_frame.duplicated(subset=list(contract.key), keep="first")]
    try:
        contract.schema.validate(unique, lazy=True)
    except pa_errors.SchemaErrors as err:
        for p in _pandera_issues(err, typed_frame, contract):
            if p[1] is None or p[1] not in unparsed or not unparsed[p[1]][p[0]]:
                problems.append(p)

    for ref in contract.references:
        targets = (known or {}).get(f"{ref.target}.{ref.target_column}")
        if targets is None:
            continue
        values = typed_frame[ref.column]
        unknown_mask = values.notna() & ~values.isin(pd.Index(list(targets)))
        positions, count = _first(unknown_mask.to_numpy(dtype=bool))
        skipped += count - len(positions)
        for position in positions:
            problems.append(
                (
                    int(position),
                    ref.column,
                    values.iloc[position],
                    f"unknown {ref.column}: not in {ref.target}; load it into {ref.target} first",
                )
            )

    if problems:
        problems.sort(key=lambda p: (p[0], p[1] or ""))
        issues = [
            RowIssue(
                int(rows[p]),
                str(source_cols[p])
                if source_cols is not None and contract.wide and p_col == contract.wide[2]
                else p_col,
                _show(value),
                reason,
            )
            for p, p_col, value, reason in problems[:MAX_ISSUES]
        ]
        raise DataValidationError(table, source, issues, total=len(problems) + skipped)
    return typed_frame


def _first(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """The positions of the first `MAX_ISSUES` true values of `mask`, and how many true values it has."""
    positions = np.flatnonzero(mask)
    return positions[:MAX_ISSUES], len(positions)


def _isnull(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
