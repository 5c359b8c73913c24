"""The bill of materials through `leanplan import` on SQLite and Postgres: cross-table rules, round trip, reimport."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from service.db.importer import ImportRejected, import_path
from tests.factories import BadCase, bom_bad_cases, bom_world, valid_tables, write_csvs
from tests.service.db.test_importer import counts, snapshot


def _world(directory: Path) -> Path:
    """valid_tables + bom_world as one directory of CSVs (each table once)."""
    tables = valid_tables()
    for name, frame in bom_world().items():
        tables[name] = pd.concat([tables[name], frame], ignore_index=True)
    write_csvs(tables, directory)
    return directory


def test_three_level_bom_round_trips_and_reimport_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    directory = _world(tmp_path / "world")
    first = import_path(engine, directory)
    assert counts(first)["bom"] == (6, 0, 0)
    with engine.connect() as conn:
        bom = pd.read_sql(text("SELECT * FROM bom ORDER BY parent_sku, component_sku, op"), conn)
        items = pd.read_sql(text("SELECT * FROM items ORDER BY sku"), conn).set_index("sku")
    for column in ("valid_from", "valid_to"):  # drivers return date objects or ISO text: compare as ISO text
        when = pd.to_datetime(bom[column]).dt.strftime("%Y-%m-%d")
        bom[column] = when.astype(object).where(when.notna(), None)
    assert bom.to_dict("records") == [
        {"parent_sku": "M-1", "component_sku": "A-1", "op": 1, "qty_per": 2.0, "scrap_rate": 0.02,
         "valid_from": "2024-01-01", "valid_to": None},
        {"parent_sku": "M-1", "component_sku": "A-2", "op": 2, "qty_per": 0.5, "scrap_rate": 0.0,
         "valid_from": None, "valid_to": None},
        {"parent_sku": "P-1", "component_sku": "A-2", "op": 2, "qty_per": 1.0, "scrap_rate": 0.01,
         "valid_from": "2024-01-01", "valid_to": "2030-12-31"},
        {"parent_sku": "P-1", "component_sku": "S-1", "op": 1, "qty_per": 0.25, "scrap_rate": 0.0,
         "valid_from": None, "valid_to": None},
        {"parent_sku": "S-1", "component_sku": "S-2", "op": 1, "qty_per": 1.5, "scrap_rate": 0.03,
         "valid_from": None, "valid_to": None},
        {"parent_sku": "S-2", "component_sku": "A-1", "op": 0, "qty_per": 0.8, "scrap_rate": 0.0,
         "valid_from": None, "valid_to": None},
    ]  # fmt: skip
    assert items.loc["S-2", "lot_rule"] == "wagner_whitin" and items.loc["A-1", "lot_rule"] == "lot_for_lot"
    assert bool(items.loc["S-2", "pull"]) and not bool(items.loc["P-1", "pull"]) and not bool(items.loc["A-1", "pull"])
    assert items.loc["S-1", "queue_days"] == 2.5 and items.loc["A-1", "queue_days"] == 0.0
    assert items.loc["P-1", "order_cost"] == 120.0 and pd.isna(items.loc["Q-1", "order_cost"])

    before = snapshot(engine)
    again = import_path(engine, directory)
    assert all(inserted == updated == 0 for inserted, updated, _ in counts(again).values())
    assert snapshot(engine) == before


def test_a_bom_line_update_changes_only_that_line(engine: Engine, tmp_path: Path) -> None:
    import_path(engine, _world(tmp_path / "world"))
    bom = bom_world()["bom"]
    bom.loc[0, "qty_per"] = "0.3"
    write_csvs({"bom": bom}, tmp_path / "update")
    assert counts(import_path(engine, tmp_path / "update")) == {"bom": (0, 1, 3)}


@pytest.fixture(scope="module")
def world_engine(module_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    import_path(module_engine, _world(tmp_path_factory.mktemp("world")))
    return module_engine


@pytest.mark.parametrize("case", bom_bad_cases(), ids=repr)
def test_bom_rule_broken_rejects_with_the_row_and_stores_nothing(
    case: BadCase, world_engine: Engine, tmp_path: Path
) -> None:
    before = snapshot(world_engine)
    path = tmp_path / f"{case.table}.csv"
    path.write_bytes(case.csv_bytes())
    with pytest.raises(ImportRejected) as err:
        import_path(world_engine, path)
    row, column, reason = case.expect
    issues = err.value.errors[0].issues
    assert any(i.row == row and i.column == column and reason in i.reason for i in issues), issues
    assert snapshot(world_engine) == before


def test_every_line_of_an_uploaded_cycle_is_named(world_engine: Engine, tmp_path: Path) -> None:
    rows = pd.DataFrame(
        {"parent_sku": ["Q-1", "S-2", "M-1"], "component_sku": ["S-2", "Q-1", "A-1"], "qty_per": ["1", "1", "3"]}
    )
    write_csvs({"bom": rows}, tmp_path)
    with pytest.raises(ImportRejected) as err:
        import_path(world_engine, tmp_path / "bom.csv")
    issues = err.value.errors[0].issues
    assert [(i.row, i.column) for i in issues] == [(1, "component_sku"), (2, "component_sku")]
    assert all("Q-1 → S-2 → Q-1" in i.reason for i in issues)


def test_bom_in_the_same_import_as_its_items_and_routings_is_checked_against_them(
    engine: Engine, tmp_path: Path
) -> None:
    tables = valid_tables()
    tables["items"] = pd.concat(
        [tables["items"], pd.DataFrame({"sku": ["B-1"], "unit_cost": ["1"], "make_or_buy": ["make"]})],
        ignore_index=True,
    )
    tables["bom"] = pd.concat(
        [tables["bom"], pd.DataFrame({"parent_sku": ["B-1"], "component_sku": ["A-1"], "qty_per": ["1"]})],
        ignore_index=True,
    )
    write_csvs(tables, tmp_path)
    with pytest.raises(ImportRejected) as err:
        import_path(engine, tmp_path)
    assert [e.table for e in err.value.errors] == ["bom"]
    assert "row 3, column 'parent_sku', value 'B-1': B-1 is a made item without a routing" in str(err.value)
    assert all(not rows for rows in snapshot(engine).values())
