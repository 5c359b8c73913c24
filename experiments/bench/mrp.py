"""MRP benchmarks: explosion speed from files to written plan, and the 38 real chains of Willems (2008).

- `run_speed(sizes, pegging=True, seed=7)`: synthetic factories of `sizes` items (5 BOM lines per item on average,
  10 levels, 104 weekly periods, mixed lot rules), written as CSV, then timed: read + validate, plan, pegging,
  exceptions and writing the three CSV files. Reports seconds per step and the growth exponent (least-squares slope
  of log time over log items).
- `run_chains(data_dir=..., seed=11)`: every chain of `supply_chains/willems2008` planned over 52 weeks (end items
  get weekly demand drawn from avg/std per day × 7 days, normal, clipped at 0, fixed seed; lead times are
  stage_time in days rounded up to weeks; stages without predecessors are bought; safety stock one week of mean
  demand on end items); every invariant of `optimizer.mrp.checks` is checked on every chain.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.bench import WILLEMS_DIR
from optimizer.mrp.checks import invariant_violations
from optimizer.mrp.engine import MrpOptions, plan
from optimizer.mrp.files import read_inputs, write_plan
from optimizer.mrp.inputs import MrpInputs

__all__ = ["WILLEMS_DIR", "chain_frames", "run_chains", "run_speed", "synthetic_factory"]


LEVELS, PERIODS, LINES_PER_ITEM = 10, 104, 5


def synthetic_factory(n_items: int, seed: int = 7, periods: int = PERIODS) -> dict[str, pd.DataFrame]:
    """Items, BOM, demand, inventory and open orders of a random 10-level factory (see the module docstring)."""
    rng = np.random.default_rng(seed)
    level = np.sort(rng.integers(0, LEVELS, n_items))
    level[:LEVELS] = np.arange(LEVELS)  # every level present
    level = np.sort(level)
    skus = np.array([f"I{i:06d}" for i in range(n_items)], dtype=object)
    bounds = np.searchsorted(level, np.arange(LEVELS + 1))
    parents = np.flatnonzero(level < LEVELS - 1)
    n_lines = LINES_PER_ITEM * n_items
    parent = rng.choice(parents, n_lines)
    next_level = rng.random(n_lines) < 0.7
    low = np.where(next_level, bounds[level[parent] + 1], bounds[level[parent] + 1])
    high = np.where(next_level, bounds[level[parent] + 2], n_items)
    component = (low + (rng.random(n_lines) * (high - low)).astype(np.int64)).astype(np.int64)
    bom = pd.DataFrame({"parent_sku": skus[parent], "component_sku": skus[component]}).drop_duplicates()
    bom["qty_per"] = rng.choice([1, 1, 1, 2, 4], len(bom))
    bom["scrap_rate"] = np.where(rng.random(len(bom)) < 0.2, 0.02, 0.0)
    rules = rng.choice(["lfl", "fixed", "moq", "poq", "ww"], n_items, p=[0.4, 0.15, 0.15, 0.15, 0.15])
    items = pd.DataFrame(
        {
            "sku": skus,
            "make_or_buy": np.where(level < LEVELS - 1, "make", "buy"),
            "lead_time_periods": rng.integers(0, 4, n_items),
            "lot_rule": rules,
            "lot_size": np.where(np.isin(rules, ["fixed", "moq"]), rng.choice([10, 50, 100, 500], n_items), 1),
            "moq": np.where(rules == "moq", rng.choice([0, 100, 1000], n_items), 0),
            "poq_periods": np.where(rules == "poq", rng.integers(2, 5, n_items), 2),
            "safety_stock": np.where(rng.random(n_items) < 0.3, rng.integers(1, 50, n_items), 0),
            "unit_cost": np.round(rng.lognormal(1.0, 1.0, n_items), 2),
        }
    )
    ends = np.flatnonzero(level == 0)
    dates = pd.date_range("2025-01-06", periods=periods, freq="7D")
    mean = rng.gamma(2.0, 10.0, len(ends))
    qty = rng.poisson(np.repeat(mean, periods))
    demand = pd.DataFrame(
        {"sku": np.repeat(skus[ends], periods), "date": np.tile(dates.strftime("%Y-%m-%d"), len(ends)), "qty": qty}
    )
    demand = demand[demand["qty"] > 0]
    inventory = pd.DataFrame({"sku": skus, "on_hand": rng.integers(0, 200, n_items)})
    with_open = rng.random(n_items) < 0.2
    open_orders = pd.DataFrame(
        {
            "id": [f"PO{i:07d}" for i in range(int(with_open.sum()))],
            "sku": skus[with_open],
            "qty": rng.integers(10, 500, int(with_open.sum())),
            "due_date": dates[rng.integers(0, 8, int(with_open.sum()))].strftime("%Y-%m-%d"),
        }
    )
    return {"items": items, "bom": bom, "demand": demand, "inventory": inventory, "open_orders": open_orders}


def _time_one(n_items: int, pegging: bool, seed: int) -> dict[str, Any]:
    tables = synthetic_factory(n_items, seed)
    with tempfile.TemporaryDirectory(prefix="mrp-bench-") as tmp:
        paths = {name: Path(tmp) / f"{name}.csv" for name in tables}
        for name, frame in tables.items():
            frame.to_csv(paths[name], index=False)
        c0, t0 = time.process_time(), time.perf_counter()
        inputs = read_inputs(paths["items"], paths["bom"], paths["demand"], paths["inventory"], paths["open_orders"])
        t1 = time.perf_counter()
        result = plan(inputs, MrpOptions(pegging=pegging))
        t2 = time.perf_counter()
        pegs = result.pegging
        t3 = time.perf_counter()
        written = write_plan(result, Path(tmp) / "out")
        t4, c4 = time.perf_counter(), time.process_time()
        sizes = {name: p.stat().st_size for name, p in written.items()}
    return {
        "items": n_items,
        "bom_lines": len(tables["bom"]),
        "levels": int(inputs.level.max()) + 1,
        "periods": inputs.n_periods,
        "demand_rows": len(tables["demand"]),
        "planned_orders": len(result.order_qty),
        "pegging_rows": int(pegs.planned.nnz) if pegs is not None else 0,
        "read_s": round(t1 - t0, 3),
        "plan_s": round(t2 - t1, 3),
        "peg_s": round(t3 - t2, 3),
        "write_s": round(t4 - t3, 3),
        "total_s": round(t4 - t0, 3),
        "cpu_s": round(c4 - c0, 3),  # this process's CPU time: what the run costs when other work shares the cores
        "output_mb": {k: round(v / 1e6, 1) for k, v in sizes.items()},
    }


def run_speed(sizes: list[int], pegging: bool = True, seed: int = 7) -> dict[str, Any]:
    """Time files → written plan at each size; the growth exponent is fitted over all sizes."""
    runs = [_time_one(n, pegging, seed) for n in sizes]
    exponent = None
    if len(runs) >= 2:
        x = np.log([r["items"] for r in runs])
        y = np.log([r["total_s"] for r in runs])
        exponent = round(float(np.polyfit(x, y, 1)[0]), 3)
    return {"runs": runs, "growth_exponent": exponent, "pegging": pegging}


def chain_frames(
    chain: str, data_dir: Path = WILLEMS_DIR, seed: int = 11, periods: int = 52
) -> dict[str, pd.DataFrame]:
    """The MRP tables of one Willems (2008) chain (see the module docstring for the assumptions)."""
    stages = pd.read_csv(data_dir / "stages.csv", dtype={"chain": str})
    arcs = pd.read_csv(data_dir / "arcs.csv", dtype={"chain": str})
    stages, arcs = stages[stages["chain"] == chain], arcs[arcs["chain"] == chain]
    if stages.empty:
        raise ValueError(f"chain {chain!r} not found in {data_dir / 'stages.csv'}")
    has_components = stages["stage_name"].isin(arcs["destination_stage"])
    items = pd.DataFrame(
        {
            "sku": stages["stage_name"].to_numpy(),
            "make_or_buy": np.where(has_components, "make", "buy"),
            "lead_time_periods": np.ceil(stages["stage_time"].fillna(0).to_numpy() / 7.0 - 1e-9).astype(int),
            "unit_cost": stages["stage_cost"].fillna(0).to_numpy(),
            "safety_stock": np.round(stages["avg_demand"].fillna(0).to_numpy() * 7.0, 2),
        }
    )
    bom = pd.DataFrame(
        {"parent_sku": arcs["destination_stage"], "component_sku": arcs["source_stage"], "qty_per": arcs["quantity"]}
    )
    ends = stages[stages["avg_demand"].notna()]
    rng = np.random.default_rng([seed, int(chain)])
    mean = np.repeat(ends["avg_demand"].to_numpy() * 7.0, periods)
    std = np.repeat(ends["std_dev_demand"].fillna(0).to_numpy() * math.sqrt(7.0), periods)
    dates = pd.date_range("2025-01-06", periods=periods, freq="7D")
    demand = pd.DataFrame(
        {
            "sku": np.repeat(ends["stage_name"].to_numpy(), periods),
            "date": np.tile(dates, len(ends)),
            "qty": np.round(np.maximum(rng.normal(mean, std), 0.0), 2),
        }
    )
    return {"items": items, "bom": bom, "demand": demand}


def run_chains(data_dir: Path = WILLEMS_DIR, seed: int = 11, chains: list[str] | None = None) -> dict[str, Any]:
    """Plan every chain (or `chains`) and count invariant violations; returns per-chain rows and a summary."""
    names = chains or sorted(pd.read_csv(data_dir / "chains.csv", dtype={"chain": str})["chain"])
    rows = []
    t_all = time.perf_counter()
    for chain in names:
        frames = chain_frames(chain, data_dir, seed)
        t0 = time.perf_counter()
        result = plan(MrpInputs.from_frames(frames["items"], frames["bom"], frames["demand"]))
        violations = invariant_violations(result)
        kinds = result.exceptions()["kind"].value_counts().to_dict()
        rows.append(
            {
                "chain": chain,
                "items": result.inputs.n_items,
                "bom_lines": len(frames["bom"]),
                "levels": int(result.inputs.level.max()) + 1,
                "planned_orders": len(result.order_qty),
                "exceptions": {str(k): int(v) for k, v in kinds.items()},
                "violations": violations,
                "ok": not any(violations.values()),
                "seconds": round(time.perf_counter() - t0, 3),
            }
        )
    return {
        "chains": rows,
        "summary": {
            "chains": len(rows),
            "chains_with_all_invariants": sum(r["ok"] for r in rows),
            "total_s": round(time.perf_counter() - t_all, 2),
        },
    }
