"""Storage on SQLite and Postgres: idempotent, all-or-nothing imports; bad input leaves the database unchanged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from pipelines.contracts import TABLE_ORDER
from service.db import upsert as upsert_module
from service.db.importer import ImportRejected, RawInput, import_frames, import_path
from tests.factories import BadCase, bad_cases, valid_tables, write_csvs


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every canonical table's rows, sorted: equal snapshots mean nothing changed."""
    with engine.connect() as conn:
        return {t: sorted(tuple(r) for r in conn.execute(text(f'SELECT * FROM "{t}"'))) for t in TABLE_ORDER}


def counts(report: object) -> dict[str, tuple[int, int, int]]:
    return {r.table: (r.inserted, r.updated, r.unchanged) for _, r in report.results}  # type: ignore[attr-defined]


def test_directory_import_loads_every_table_and_is_idempotent(engine: Engine, tmp_path: Path) -> None:
    write_csvs(valid_tables(), tmp_path)
    (tmp_path / "notes.txt").write_text("not a table")
    first = import_path(engine, tmp_path)
    assert [r.table for _, r in first.results] == list(TABLE_ORDER)
    assert all(inserted == r.rows for r in (res for _, res in first.results) for inserted in [r.inserted])
    assert first.skipped and "notes.txt" in first.skipped[0][0]
    before = snapshot(engine)
    assert len(before["demand"]) == 4 and len(before["routings"]) == 3

    again = import_path(engine, tmp_path)
    assert all(v == (0, 0, r.rows) for (_, r), v in zip(again.results, counts(again).values(), strict=True))
    assert snapshot(engine) == before


def test_changed_rows_are_updated_and_new_keys_inserted(engine: Engine, tmp_path: Path) -> None:
    tables = valid_tables()
    write_csvs(tables, tmp_path)
    import_path(engine, tmp_path)
    demand = tables["demand"]
    demand.loc[0, "qty"] = "99"
    demand = pd.concat(
        [demand, pd.DataFrame({"sku": ["A-2"], "date": ["2024-02-01"], "qty": ["1"]})], ignore_index=True
    )
    path = tmp_path / "update" / "demand.csv"
    path.parent.mkdir()
    demand.to_csv(path, index=False)
    report = import_path(engine, path)
    assert counts(report) == {"demand": (1, 1, 3)}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT qty FROM demand WHERE sku='A-1' AND date='2024-01-01'")).scalar() == 99.0


def test_values_round_trip_with_types(engine: Engine, tmp_path: Path) -> None:
    write_csvs(valid_tables(), tmp_path)
    import_path(engine, tmp_path)
    with engine.connect() as conn:
        receipts = pd.read_sql(text("SELECT * FROM receipts ORDER BY po_id"), conn)
        downtime = pd.read_sql(text("SELECT * FROM line_downtime"), conn, parse_dates=["start", "end"])
        items = pd.read_sql(text("SELECT * FROM items ORDER BY sku"), conn)
    assert receipts["qty_received"].tolist() == [18.0, 0.0]
    assert pd.isna(receipts.loc[1, "received_date"])
    assert downtime.loc[0, "start"] == pd.Timestamp("2024-03-05 06:00")
    assert items["shelf_life_days"].tolist()[2] == 365 and items["lot_size"].tolist() == [1.0, 10.0, 100.0]


def test_failure_half_way_rolls_back_everything(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = valid_tables()
    write_csvs(tables, tmp_path / "v1")
    import_path(engine, tmp_path / "v1")
    before = snapshot(engine)

    tables["items"].loc[0, "unit_cost"] = "7.77"  # would update items …
    tables["demand"].loc[0, "qty"] = "55"  # … and demand, which fails while writing
    write_csvs(tables, tmp_path / "v2")
    real_upsert = upsert_module.upsert

    def failing(conn: object, table: str, frame: pd.DataFrame) -> object:
        if table == "demand":
            real_upsert(conn, table, frame)  # type: ignore[arg-type]
            raise RuntimeError("disk full (injected)")
        return real_upsert(conn, table, frame)  # type: ignore[arg-type]

    monkeypatch.setattr("service.db.importer.upsert", failing)
    with pytest.raises(RuntimeError, match="injected"):
        import_path(engine, tmp_path / "v2")
    assert snapshot(engine) == before


def test_references_resolve_against_stored_rows(engine: Engine, tmp_path: Path) -> None:
    tables = valid_tables()
    write_csvs({"items": tables["items"]}, tmp_path / "master")
    import_path(engine, tmp_path / "master")
    write_csvs({"demand": tables["demand"]}, tmp_path / "later")
    assert counts(import_path(engine, tmp_path / "later")) == {"demand": (4, 0, 0)}


def test_one_bad_file_rejects_the_whole_directory(engine: Engine, tmp_path: Path) -> None:
    tables = valid_tables()
    tables["receipts"].loc[1, "sku"] = "GHOST"
    write_csvs(tables, tmp_path)
    with pytest.raises(ImportRejected) as err:
        import_path(engine, tmp_path)
    assert [e.table for e in err.value.errors] == ["receipts"]
    assert "row 2, column 'sku', value 'GHOST': unknown sku" in str(err.value)
    assert all(not rows for rows in snapshot(engine).values())


def test_a_failed_master_table_does_not_flood_dependants(engine: Engine) -> None:
    tables = valid_tables()
    tables["items"].loc[0, "unit_cost"] = "-1"
    inputs = [RawInput(name, frame, f"{name}.csv") for name, frame in tables.items()]
    with pytest.raises(ImportRejected) as err:
        import_frames(engine, inputs)
    assert [e.table for e in err.value.errors] == ["items"]


@pytest.fixture(scope="module")
def loaded_engine(module_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    directory = tmp_path_factory.mktemp("valid")
    write_csvs(valid_tables(), directory)
    import_path(module_engine, directory)
    return module_engine


@pytest.mark.parametrize("case", bad_cases(), ids=repr)
def test_bad_input_changes_nothing(case: BadCase, loaded_engine: Engine, tmp_path: Path) -> None:
    before = snapshot(loaded_engine)
    path = tmp_path / f"{case.table}.csv"
    path.write_bytes(case.csv_bytes())
    with pytest.raises(ImportRejected) as err:
        import_path(loaded_engine, path)
    row, column, reason = case.expect
    assert any(i.row == row and i.column == column and reason in i.reason for i in err.value.errors[0].issues)
    assert snapshot(loaded_engine) == before


def test_text_that_looks_like_a_null_marker_is_stored_verbatim(engine: Engine) -> None:
    tables = valid_tables()
    items = tables["items"].copy()
    items.loc[0, "name"] = r"\N"
    items.loc[1, "name"] = "NULL"
    import_frames(engine, [RawInput("items", items, "items.csv")])
    with engine.connect() as conn:
        names = dict(conn.execute(text("SELECT sku, name FROM items")).all())
    assert names["A-1"] == r"\N" and names["A-2"] == "NULL" and names["M-1"] == "tablet"
