"""Data contracts: every table reads from CSV/Parquet/XLSX/JSON, long and wide, and rejects each kind of bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.contracts import TABLE_ORDER, TABLES
from pipelines.ingest import MAX_ISSUES, DataValidationError, parse_table, read_raw, read_table
from tests.factories import BadCase, bad_cases, valid_tables

KNOWN = {
    "items.sku": {"A-1", "A-2", "M-1"},
    "suppliers.supplier_id": {"S1", "S2"},
    "lines.line_id": {"L1", "L2"},
}


@pytest.mark.parametrize("table", TABLE_ORDER)
def test_valid_table_parses_to_contract_types(table: str) -> None:
    frame = parse_table(table, valid_tables()[table], known=KNOWN)
    assert list(frame.columns) == TABLES[table].columns
    assert len(frame) == len(valid_tables()[table])
    for column, kind in TABLES[table].kinds.items():
        if kind in ("date", "datetime"):
            assert pd.api.types.is_datetime64_any_dtype(frame[column])
        elif kind == "float":
            assert frame[column].dtype == np.float64


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx", "json"])
@pytest.mark.parametrize("table", ["items", "demand", "receipts", "line_downtime"])
def test_every_file_format_reads_the_same(table: str, fmt: str, tmp_path: Path) -> None:
    expected = parse_table(table, valid_tables()[table], known=KNOWN)
    path = tmp_path / f"{table}.{fmt}"
    if fmt == "csv":
        valid_tables()[table].to_csv(path, index=False)
    elif fmt == "parquet":
        expected.to_parquet(path)
    elif fmt == "xlsx":
        expected.to_excel(path, index=False)
    else:
        valid_tables()[table].to_json(path, orient="records")
    name, frame = read_table(path, known=KNOWN)
    assert name == table
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)


def test_wide_demand_melts_to_long_and_reports_the_period_column() -> None:
    wide = pd.DataFrame({"sku": ["A-1", "A-2"], "2024-01": ["3", "12"], "2024-02": ["0", ""]}, dtype=object).replace(
        {"": None}
    )
    frame = parse_table("demand", wide, known=KNOWN)
    assert frame.to_dict("records") == [
        {"sku": "A-1", "date": pd.Timestamp("2024-01-01"), "qty": 3.0},
        {"sku": "A-1", "date": pd.Timestamp("2024-02-01"), "qty": 0.0},
        {"sku": "A-2", "date": pd.Timestamp("2024-01-01"), "qty": 12.0},
    ]
    wide.loc[1, "2024-02"] = "-4"
    with pytest.raises(DataValidationError) as err:
        parse_table("demand", wide, known=KNOWN)
    issue = err.value.issues[0]
    assert (issue.row, issue.column, issue.value) == (2, "2024-02", -4.0)


def test_utf8_with_bom_and_utf16_are_read(tmp_path: Path) -> None:
    text = valid_tables()["items"].to_csv(index=False)
    for encoding in ("utf-8-sig", "utf-16"):
        path = tmp_path / "items.csv"
        path.write_bytes(text.encode(encoding))
        assert len(read_table(path)[1]) == 3


def test_identifiers_keep_leading_zeros_and_strip_blanks() -> None:
    raw = pd.DataFrame({"sku": [" 007 ", "0100"], "unit_cost": ["1", "2"]}, dtype=object)
    assert parse_table("items", raw)["sku"].tolist() == ["007", "0100"]


def test_errors_are_capped_but_counted() -> None:
    raw = pd.DataFrame({"sku": ["A-1"] * 500, "date": [f"2024-01-{d:02d}x" for d in range(500)], "qty": ["1"] * 500})
    with pytest.raises(DataValidationError) as err:
        parse_table("demand", raw, known=KNOWN)
    assert err.value.total >= 500
    assert len(err.value.issues) == MAX_ISSUES
    assert "problem(s); nothing was loaded" in str(err.value)


def test_unknown_table_names_the_canonical_ones(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_text("sku\nA\n")
    with pytest.raises(KeyError, match="canonical tables are: items, suppliers"):
        read_table(path)


def test_cross_column_checks_name_the_column() -> None:
    raw = valid_tables()["receipts"]
    raw.loc[0, "received_date"] = "2023-12-01"
    with pytest.raises(DataValidationError) as err:
        parse_table("receipts", raw, known=KNOWN)
    issue = err.value.issues[0]
    assert (issue.row, issue.column, issue.reason) == (
        1,
        "received_date",
        "received_date must not be before order_date",
    )


def test_shift_calendar_syntax_is_checked() -> None:
    raw = valid_tables()["lines"]
    raw.loc[1, "shifts"] = "weekdays 6-22"
    with pytest.raises(DataValidationError) as err:
        parse_table("lines", raw)
    assert (err.value.issues[0].row, err.value.issues[0].column) == (2, "shifts")


@pytest.mark.parametrize("case", bad_cases(), ids=repr)
def test_bad_input_is_rejected_with_row_column_and_reason(case: BadCase, tmp_path: Path) -> None:
    path = tmp_path / f"{case.table}.csv"
    path.write_bytes(case.csv_bytes())
    with pytest.raises(DataValidationError) as err:
        read_table(path, known=KNOWN)
    row, column, reason = case.expect
    issues = err.value.issues
    assert any(i.row == row and i.column == column and reason in i.reason for i in issues), [str(i) for i in issues]
    assert err.value.table == case.table


def test_read_raw_rejects_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "items.txt"
    path.write_text("sku\n")
    with pytest.raises(DataValidationError, match="unsupported file type"):
        read_raw(path)
