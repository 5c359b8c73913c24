"""`leanplan mrp` end to end on real files, and the plan on a few real chains of Willems (2008)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from experiments.bench.mrp import WILLEMS_DIR, run_chains
from service.cli import app


def _write(tmp: Path) -> dict[str, Path]:
    files = {
        "items": "sku,make_or_buy,lead_time_periods,lot_rule,lot_size,safety_stock,unit_cost\n"
        "BIKE,make,1,,,,120\nFRAME,make,1,lfl,,,40\nWHEEL,buy,2,fixed,50,4,15\n",
        "bom": "parent_sku,component_sku,qty_per,scrap_rate\nBIKE,FRAME,1,\nBIKE,WHEEL,2,0\n",
        "demand": "sku,date,qty,id\nBIKE,2025-03-03,5,SO-1\nBIKE,2025-03-10,0,\nBIKE,2025-03-17,8,forecast\n"
        "BIKE,2025-03-24,6,\n",
        "inventory": "sku,on_hand\nWHEEL,10\n",
        "open_orders": "id,sku,qty,due_date\nPO-1,WHEEL,50,2025-03-24\nPO-2,FRAME,30,2025-03-03\n"
        "PO-3,FRAME,10,2025-03-17\n",
    }
    paths = {}
    for name, text in files.items():
        paths[name] = tmp / f"{name}.csv"
        paths[name].write_text(text)
    return paths


def _args(paths: dict[str, Path], out: Path) -> list[str]:
    return [
        "mrp",
        "--items", str(paths["items"]),
        "--bom", str(paths["bom"]),
        "--demand", str(paths["demand"]),
        "--inventory", str(paths["inventory"]),
        "--open-orders", str(paths["open_orders"]),
        "--out", str(out),
    ]  # fmt: skip


def test_mrp_files_in_files_out(tmp_path: Path) -> None:
    paths = _write(tmp_path)
    result = CliRunner().invoke(app, _args(paths, tmp_path / "plan"))
    assert result.exit_code == 0, result.output
    orders = pd.read_csv(tmp_path / "plan" / "planned_orders.csv")
    assert list(orders.columns[:5]) == ["sku", "make_or_buy", "release_date", "due_date", "qty"]
    bike = orders[orders["sku"] == "BIKE"]
    assert list(zip(bike["due_date"], bike["qty"], strict=True)) == [
        ("2025-03-03", 5), ("2025-03-17", 8), ("2025-03-24", 6)
    ]  # fmt: skip
    # WHEEL: gross 10 (03-03, BIKE's expedited release), 16 (03-10), 12 (03-17); on hand 10, safety stock 4:
    # 03-03 needs 4 → 50, 03-10 34 - 16 = 18, 03-17 18 - 12 = 6. PO-1 (due 03-24) is needed from 03-03 (bring it
    # in). FRAME: gross 5, 8, 6 all covered by PO-2 (30, due 03-03): no planned order, and PO-3 serves nothing.
    wheel = orders[orders["sku"] == "WHEEL"]
    assert list(wheel["qty"]) == [50]
    assert "FRAME" not in set(orders["sku"])
    pegging = pd.read_csv(tmp_path / "plan" / "pegging.csv")
    assert list(pegging.columns) == ["sku", "due_date", "qty", "end_sku", "end_date", "end_id"]
    sums = pegging.groupby(["sku", "due_date"])["qty"].sum()
    planned = orders.set_index(["sku", "due_date"])["qty"]
    pd.testing.assert_series_equal(sums.sort_index(), planned.sort_index(), check_names=False)
    exceptions = pd.read_csv(tmp_path / "plan" / "exceptions.csv")
    assert {"expedite", "cancel", "reschedule_in", "blocked_order"} <= set(exceptions["kind"])
    assert "SO-1" in set(exceptions.loc[exceptions["kind"] == "blocked_order", "ref"])
    assert exceptions.loc[exceptions["kind"] == "cancel", "ref"].tolist() == ["PO-3"]
    moved = exceptions[exceptions["kind"] == "reschedule_in"]
    assert (moved["ref"].tolist(), moved["new_date"].tolist()) == (["PO-1"], ["2025-03-03"])


def test_mrp_bad_file_names_file_row_and_field(tmp_path: Path) -> None:
    paths = _write(tmp_path)
    paths["bom"].write_text("parent_sku,component_sku,qty_per\nBIKE,FRAME,1\nBIKE,WHEEL,-2\n")
    result = CliRunner().invoke(app, _args(paths, tmp_path / "plan"))
    assert result.exit_code == 2
    assert f"{paths['bom']} row 2, field 'qty_per', value -2: must be > 0" in result.output
    assert not (tmp_path / "plan").exists()
    paths["bom"].write_text("parent_sku,component_sku,qty_per\nBIKE,FRAME,1\nFRAME,BIKE,1\n")
    result = CliRunner().invoke(app, _args(paths, tmp_path / "plan"))
    assert result.exit_code == 2 and "BIKE → FRAME → BIKE" in result.output
    result = CliRunner().invoke(
        app, [*_args(paths, tmp_path / "plan")[:2], str(tmp_path / "nope.csv"), *_args(paths, tmp_path / "plan")[3:]]
    )
    assert result.exit_code == 2 and "nope.csv: file not found" in result.output


def test_mrp_pegging_bound_is_a_clear_error(tmp_path: Path) -> None:
    paths = _write(tmp_path)
    result = CliRunner().invoke(app, [*_args(paths, tmp_path / "plan"), "--max-pegging-entries", "1"])
    assert result.exit_code == 2 and "peg the orders of chosen SKUs" in result.output
    result = CliRunner().invoke(app, [*_args(paths, tmp_path / "plan"), "--peg", "WHEEL"])
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(tmp_path / "plan" / "pegging.csv")["sku"]) == {"BIKE", "WHEEL"}  # FRAME is not above


@pytest.mark.skipif(not (WILLEMS_DIR / "stages.csv").is_file(), reason="shared Willems data not present")
def test_small_willems_chains_keep_every_invariant() -> None:
    report = run_chains(chains=["01", "02", "05", "13", "20"])
    assert report["summary"]["chains_with_all_invariants"] == 5, report["chains"]
    assert all(row["planned_orders"] > 0 for row in report["chains"])
