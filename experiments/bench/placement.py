"""Benchmark of stock placement (Guaranteed Service Model), run by `leanplan bench placement`.

1. The 38 real chains of Willems (2008): per chain stages, arcs, seconds, proven optimal or gap, safety stock cost
   against both baselines, and the published Humair & Willems (2011) optimum from reference_solutions.csv beside it.
2. Random trees of 10–500 stages: our tree dynamic program against stockpyl's `gsm_tree` (the same optimal cost
   within 1e-6 relative, and the speed ratio).

Public interface: `DEFAULT_DATA_DIR`, `random_tree`, `to_stockpyl`, `run_chains`, `run_trees`, `run`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from experiments.bench import WILLEMS_DIR
from optimizer.placement.files import chain_ids, read_willems
from optimizer.placement.network import build_network
from optimizer.placement.solve import place_safety_stock

__all__ = ["DEFAULT_DATA_DIR", "random_tree", "run", "run_chains", "run_trees", "to_stockpyl"]

DEFAULT_DATA_DIR = WILLEMS_DIR


def random_tree(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A random tree-shaped network of `n` stages (stages, arcs frames): each new stage attaches to an earlier one
    as its supplier or its customer; whole-period stage times 0–5, unit values 1–10 per stage, end items with
    normal demand (std 1–10), max service time 0–3; one safety factor for all stages (z = 1.645 … 2.33)."""
    z = float(rng.uniform(1.645, 2.33))
    arcs: list[tuple[int, int]] = []
    for k in range(1, n):
        p = int(rng.integers(0, k))
        arcs.append((k, p) if rng.random() < 0.5 else (p, k))
    has_succ = {a for a, _ in arcs}
    has_pred = {b for _, b in arcs}
    stages = pd.DataFrame(
        {
            "stage": [str(k) for k in range(n)],
            "stage_time": rng.integers(0, 6, n).astype(float),
            "stage_cost": 0.0,
            "unit_value": rng.integers(1, 11, n).astype(float),
            "demand_mean": [float(rng.integers(10, 51)) if k not in has_succ else np.nan for k in range(n)],
            "demand_std": [float(rng.integers(1, 11)) if k not in has_succ else np.nan for k in range(n)],
            "service_level": norm.cdf(z),
            "max_service_time": [float(rng.integers(0, 4)) if k not in has_succ else np.nan for k in range(n)],
            "inbound_service_time": [float(rng.integers(0, 3)) if k not in has_pred else 0.0 for k in range(n)],
        }
    )
    arc_frame = pd.DataFrame({"source": [str(a) for a, _ in arcs], "destination": [str(b) for _, b in arcs]})
    return stages, arc_frame


def to_stockpyl(stages: pd.DataFrame, arcs: pd.DataFrame) -> Any:
    """The same network as a stockpyl `SupplyChainNetwork` (holding cost = our unit value, z per node)."""
    from stockpyl.supply_chain_network import network_from_edges

    idx = {name: k for k, name in enumerate(stages["stage"])}
    edges = [(idx[a], idx[b]) for a, b in zip(arcs["source"], arcs["destination"], strict=True)]
    sinks = set(range(len(stages))) - {a for a, _ in edges}
    z = norm.ppf(stages["service_level"].to_numpy())

    def per_node(values: Any, only: set[int] | None = None) -> dict[int, Any]:
        return {k: (float(v) if only is None or k in only else None) for k, v in enumerate(values)}

    return network_from_edges(
        edges,
        processing_time={k: int(v) for k, v in enumerate(stages["stage_time"])},
        holding_cost=per_node(stages["unit_value"]),
        demand_bound_constant=per_node(z),
        external_inbound_cst={k: int(v) for k, v in enumerate(stages["inbound_service_time"])},
        external_outbound_cst={k: (int(v) if k in sinks else None) for k, v in enumerate(stages["max_service_time"])},
        demand_type={k: ("N" if k in sinks else None) for k in range(len(stages))},
        mean=per_node(stages["demand_mean"], sinks),
        standard_deviation=per_node(stages["demand_std"], sinks),
    )


def run_trees(sizes: list[int], seed: int, echo: Callable[[str], None]) -> list[dict[str, Any]]:
    """Our tree DP vs stockpyl `gsm_tree` on one random tree per size."""
    from stockpyl.gsm_tree import optimize_committed_service_times

    rng = np.random.default_rng(seed)
    place_safety_stock(build_network(*random_tree(5, np.random.default_rng(seed + 1))), method="tree")  # warm-up
    rows = []
    for n in sizes:
        stages, arcs = random_tree(n, rng)
        network = build_network(stages, arcs)  # like stockpyl's network below, built outside the timing
        t0 = time.perf_counter()
        result = place_safety_stock(network, method="tree")
        ours = time.perf_counter() - t0
        tree = to_stockpyl(stages, arcs)
        t0 = time.perf_counter()
        _, reference = optimize_committed_service_times(tree)
        theirs = time.perf_counter() - t0
        cost = result.summary["total_safety_stock_cost"]
        row = {
            "stages": n,
            "cost": cost,
            "stockpyl_cost": reference,
            "relative_difference": abs(cost - reference) / max(abs(reference), 1e-12),
            "seconds": ours,
            "stockpyl_seconds": theirs,
            "speedup": theirs / ours,
        }
        rows.append(row)
        echo(
            f"tree {n:4d} stages: cost {cost:.6f} stockpyl {reference:.6f} "
            f"(rel diff {row['relative_difference']:.1e}); {ours:.3f} s vs {theirs:.2f} s = {row['speedup']:.0f}x"
        )
    return rows


def _status(proven: bool, gap: float) -> str:
    return "optimal" if proven else f"gap {100 * gap:.3f}%"


def run_chains(
    data_dir: Path, chains: list[str] | None, time_limit: float, echo: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Solve each chain; cost beside both baselines and the published optimum."""
    stages_path, arcs_path = data_dir / "stages.csv", data_dir / "arcs.csv"
    refs = pd.read_csv(data_dir / "reference_solutions.csv", dtype={"chain": str})
    published = refs[refs["metric"] == "optimal_total_cost"].set_index("chain")["value"]
    rows = []
    for chain in chains or chain_ids(stages_path):
        stage_frame, arc_frame = read_willems(stages_path, arcs_path, chain)
        t0 = time.perf_counter()
        network = build_network(stage_frame, arc_frame)
        result = place_safety_stock(network, time_limit=time_limit)
        seconds = time.perf_counter() - t0
        s = result.summary
        paper = float(published.get(chain, np.nan))
        row = {
            "chain": chain,
            "stages": s["stages"],
            "arcs": s["arcs"],
            "fractional_times": not network.integral_times,
            "seconds": seconds,
            "proven_optimal": bool(s["proven_optimal"]),
            "gap": s["gap"],
            "rounds": s["iterations"],
            "cost": s["total_safety_stock_cost"],
            "bound": s["bound"],
            "baseline_every_stage": s["baseline_every_stage_cost"],
            "baseline_end_items": s["baseline_end_items_cost"],
            "saving_vs_every_stage": s["saving_vs_every_stage"],
            "saving_vs_end_items": s["saving_vs_end_items"],
            "decoupling_points": s["decoupling_points"],
            "published_optimum": paper,
            "cost_over_published": s["total_safety_stock_cost"] / paper if paper > 0 else np.nan,
        }
        rows.append(row)
        echo(
            f"chain {chain}: {row['stages']:5d} stages {row['arcs']:6d} arcs {seconds:6.1f} s "
            f"{_status(row['proven_optimal'], row['gap'])}; cost {row['cost']:,.0f} "
            f"(every stage {row['baseline_every_stage']:,.0f} -{100 * row['saving_vs_every_stage']:.0f}%, end items "
            f"{row['baseline_end_items']:,.0f} -{100 * row['saving_vs_end_items']:.0f}%); published {paper:,.0f} "
            f"(x{row['cost_over_published']:.2f})"
        )
    return rows


def run(
    *,
    data_dir: Path | None = None,
    chains: list[str] | None = None,
    time_limit: float = 60.0,
    tree_sizes: list[int] | None = None,
    seed: int = 0,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Both parts; returns {"chains": rows, "trees": rows, "totals": …}."""
    data_dir = data_dir or DEFAULT_DATA_DIR
    chain_rows = run_chains(data_dir, chains, time_limit, echo)
    tree_rows = run_trees(tree_sizes if tree_sizes is not None else [10, 50, 100, 200, 500], seed, echo)
    totals = {
        "chains": len(chain_rows),
        "chains_seconds": sum(r["seconds"] for r in chain_rows),
        "slowest_chain_seconds": max((r["seconds"] for r in chain_rows), default=0.0),
        "proven_optimal": sum(bool(r["proven_optimal"]) for r in chain_rows),
        "largest_gap": max((r["gap"] for r in chain_rows), default=0.0),
        "trees_max_relative_difference": max((r["relative_difference"] for r in tree_rows), default=0.0),
        "trees_min_speedup": min((r["speedup"] for r in tree_rows), default=float("nan")),
    }
    echo(
        f"{totals['chains']} chains in {totals['chains_seconds']:.1f} s "
        f"(slowest {totals['slowest_chain_seconds']:.1f} s), proven optimal {totals['proven_optimal']}, "
        f"largest gap {100 * totals['largest_gap']:.3f}%; trees: max rel diff "
        f"{totals['trees_max_relative_difference']:.1e}, min speedup {totals['trees_min_speedup']:.0f}x"
    )
    return {"chains": chain_rows, "trees": tree_rows, "totals": totals}
