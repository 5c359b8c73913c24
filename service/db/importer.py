"""Import canonical tables into the database: read, validate everything, then write everything in one transaction.

Public interface:

- `import_path(engine, path, table=None) -> ImportReport`: a file, or every table file of a directory.
- `import_frames(engine, inputs) -> ImportReport`: already-read frames (the API's uploads).
- `ImportRejected`: raised when any input breaks its contract; carries each file's `DataValidationError`.

Nothing is written unless every input is valid, and a failure while writing rolls the whole import back.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine

from pipelines.contracts import TABLE_ORDER, TABLES, spec
from pipelines.ingest import SUFFIXES, DataValidationError, parse_table, read_raw, table_for_path
from service.db.bom_checks import cross_table_issues
from service.db.upsert import UpsertResult, upsert


@dataclass(frozen=True)
class RawInput:
    """One input to import: the table it is for, its unparsed cells and where it came from."""

    table: str
    frame: pd.DataFrame
    source: str


@dataclass
class ImportReport:
    """What an import did, per input, and which files of a directory it skipped (with why)."""

    results: list[tuple[str, UpsertResult]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "loaded": [
                {
                    "source": source,
                    "table": r.table,
                    "rows": r.rows,
                    "inserted": r.inserted,
                    "updated": r.updated,
                    "unchanged": r.unchanged,
                }
                for source, r in self.results
            ],
            "skipped": [{"source": s, "reason": why} for s, why in self.skipped],
            "seconds": round(self.seconds, 3),
        }


class ImportRejected(ValueError):
    """At least one input broke its table's contract; nothing was written."""

    def __init__(self, errors: list[DataValidationError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def discover(path: Path, table: str | None = None) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """Files to import under `path` with their tables, in load order, and the files skipped (with why)."""
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; give a file or a directory of table files")
    if path.is_file():
        return [(path, table or table_for_path(path))], []
    if table:
        raise ValueError("--table names the table of one file; give a file, not a directory")
    found: list[tuple[Path, str]] = []
    skipped: list[tuple[str, str]] = []
    for file in sorted(p for p in path.iterdir() if p.is_file()):
        if file.suffix.lower() not in SUFFIXES:
            skipped.append((str(file), f"not a table file ({', '.join(SUFFIXES)})"))
            continue
        stem = file.name.split(".", 1)[0].lower()
        if stem not in TABLES:
            skipped.append((str(file), f"{stem!r} is not a canonical table ({', '.join(TABLE_ORDER)})"))
            continue
        found.append((file, stem))
    if not found:
        raise FileNotFoundError(f"{path} holds no table files; name them after a table, e.g. items.csv, demand.parquet")
    found.sort(key=lambda item: (TABLE_ORDER.index(item[1]), str(item[0])))
    return found, skipped


def _referenced_columns() -> set[str]:
    return {f"{ref.target}.{ref.target_column}" for t in TABLES.values() for ref in t.references}


def known_keys(conn: Connection) -> dict[str, set[Any]]:
    """Key values already stored that references may point to, e.g. {"items.sku": {...}}."""
    quote = conn.dialect.identifier_preparer.quote
    known: dict[str, set[Any]] = {}
    for name in _referenced_columns():
        table, column = name.split(".")
        known[name] = {row[0] for row in conn.exec_driver_sql(f"SELECT DISTINCT {quote(column)} FROM {quote(table)}")}
    return known


def validate_inputs(conn: Connection, inputs: Iterable[RawInput]) -> list[tuple[RawInput, pd.DataFrame]]:
    """Validate all inputs in load order against stored keys plus the keys the batch itself brings, then the rules
    that span tables (`service.db.bom_checks`) against the stored rows plus the whole batch."""
    ordered = sorted(inputs, key=lambda i: TABLE_ORDER.index(spec(i.table).name))
    known = known_keys(conn)
    unusable: set[str] = set()  # referenced tables whose input failed: don't flood dependants with errors
    valid: list[tuple[RawInput, pd.DataFrame]] = []
    errors: list[DataValidationError] = []
    for item in ordered:
        usable = {k: v for k, v in known.items() if k.split(".")[0] not in unusable}
        try:
            frame = parse_table(item.table, item.frame, known=usable, source=item.source)
        except DataValidationError as err:
            errors.append(err)
            unusable.add(item.table)
            continue
        for name in known:
            table, column = name.split(".")
            if table == item.table:
                known[name] = known[name] | set(frame[column].dropna())
        valid.append((item, frame))
    if not errors:
        found = cross_table_issues(conn, [(item.table, frame) for item, frame in valid])
        for (item, _), issues in zip(valid, found, strict=True):
            if issues:
                errors.append(DataValidationError(item.table, item.source, issues))
    if errors:
        raise ImportRejected(errors)
    return valid


def import_frames(engine: Engine, inputs: Iterable[RawInput]) -> ImportReport:
    """Validate every input, then upsert them all in one transaction."""
    started = time.perf_counter()
    report = ImportReport()
    inputs = list(inputs)
    with engine.begin() as conn:
        for item, frame in validate_inputs(conn, inputs):
            report.results.append((item.source, upsert(conn, item.table, frame)))
    report.seconds = time.perf_counter() - started
    return report


def import_path(
    engine: Engine,
    path: Path | str,
    table: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
) -> ImportReport:
    """Import one file (table from `table` or the file name) or every table file of a directory; `delimiter` and
    `decimal` apply to its CSV files (default: sniffed, see `pipelines.ingest.read_raw`)."""
    started = time.perf_counter()
    files, skipped = discover(Path(path), table)
    errors: list[DataValidationError] = []
    inputs: list[RawInput] = []
    for file, name in files:
        csv = SUFFIXES.get(file.suffix.lower()) == "csv"
        try:
            raw = read_raw(file, table=name, delimiter=delimiter if csv else None, decimal=decimal if csv else None)
            inputs.append(RawInput(name, raw, str(file)))
        except DataValidationError as err:
            errors.append(err)
    if errors:
        raise ImportRejected(errors)
    report = import_frames(engine, inputs)
    report.skipped = skipped
    report.seconds = time.perf_counter() - started
    return report
