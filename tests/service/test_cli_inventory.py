"""`leanplan plan replenishment`, `bench policy`, `bench raf-inputs` and `bench policy-speed` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tests.factories import write_csvs
from tests.optimizer.planning_tables import AS_OF, planning_tables

REPO = Path(__file__).resolve().parents[2]


def leanplan(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEANPLAN_HOME": str(home), "DATABASE_URL": f"sqlite:///{home / 'cli.db'}"}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def test_plan_replenishment_stores_and_prints_a_summary(tmp_path: Path) -> None:
    write_csvs(planning_tables(), tmp_path / "in")
    assert leanplan("import", str(tmp_path / "in"), home=tmp_path).returncode == 0
    result = leanplan("plan", "replenishment", "--as-of", AS_OF, "--fill-rate", "0.97", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "from demand history (no forecast)" in result.stdout and "target 97.0%" in result.stdout
    written = list((tmp_path / "plans").glob("pl-*"))
    assert {p.suffix for p in written} == {".csv", ".xlsx"}
    as_json = leanplan("plan", "replenishment", "--as-of", AS_OF, "--skus", "F*", "--json", home=tmp_path)
    summary = json.loads(as_json.stdout)
    assert summary["skus"] == 2 and summary["plan_id"].startswith("pl-")
    bad = leanplan("plan", "replenishment", "--fill-rate", "1.5", home=tmp_path)
    assert bad.returncode == 2 and "strictly between 0 and 1" in bad.stderr and "Traceback" not in bad.stderr
    none = leanplan("plan", "replenishment", "--skus", "NOPE*", home=tmp_path)
    assert none.returncode == 2 and "no items to plan match" in none.stderr


def test_bench_policy_on_any_demand_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    skus = [f"P{i}" for i in range(25)]
    dates = pd.date_range("2020-01-01", periods=30, freq="MS").strftime("%Y-%m-%d")
    qty = np.where(rng.random((25, 30)) < 0.5, rng.poisson(4, (25, 30)), 0)
    pd.DataFrame({"sku": np.repeat(skus, 30), "date": np.tile(dates, 25), "qty": qty.ravel()}).to_csv(
        tmp_path / "d.csv", index=False
    )
    pd.DataFrame({"sku": skus, "unit_cost": rng.uniform(1, 50, 25).round(2), "lead_time_periods": 2}).to_csv(
        tmp_path / "i.csv", index=False
    )
    out = tmp_path / "bench.json"
    result = leanplan(
        "bench", "policy", "--demand", str(tmp_path / "d.csv"), "--items", str(tmp_path / "i.csv"),
        "--fill-rate", "0.9", "--json", str(out), "--no-frontier", home=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert set(report["policies"]) == {"leanplan", "minmax", "normal"}
    assert isinstance(report["inventory_saved_vs_minmax"], float)
    assert isinstance(report["inventory_saved_vs_normal"], float)
    missing = leanplan("bench", "policy", "--demand", str(tmp_path / "nope.csv"), "--items", str(tmp_path / "i.csv"),
                       home=tmp_path)  # fmt: skip
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_bench_raf_inputs_and_policy_speed(tmp_path: Path) -> None:
    result = leanplan(
        "bench", "raf-inputs", "--raf-dir", str(REPO / "data/real/raf_spare_parts"), "--out", str(tmp_path),
        "--receipts", str(REPO / "data/sample/receipts.csv"), "--suppliers", str(REPO / "data/sample/suppliers.csv"),
        home=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    demand = pd.read_csv(tmp_path / "raf_demand.csv")
    items = pd.read_csv(tmp_path / "raf_items.csv")
    assert len(demand) == 5000 * 84 and list(demand.columns) == ["sku", "date", "qty"]
    assert demand["qty"].sum() == 605_764 and demand["date"].min() == "1996-01-01"
    assert len(items) == 5000 and (items["lead_time_periods"] == 0).sum() == 627
    assert items["lead_time_std_periods"].gt(0).mean() > 0.9 and items.loc[0, "sku"] == "RAF-0001"
    speed = leanplan("bench", "policy-speed", "--skus", "300", "--stockpyl-skus", "10", home=tmp_path)
    assert speed.returncode == 0, speed.stderr
    figures = json.loads(speed.stdout)["sizes"][0]
    assert figures["skus"] == 300 and figures["ratio_stockpyl_rq_over_leanplan"] > 0
    assert figures["vectorized_rq_max_abs_diff_r"] < 1e-3
