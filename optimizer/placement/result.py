"""What a placement tells the planner: per stage service times, stock and whether it decouples, plus totals and
the savings against both baselines.

Per stage (`STAGE_RESULT_COLUMNS`): inbound and outbound service time, net replenishment time NRT (periods),
demand mean and std per period after propagation, safety factor z, unit value (rolled-up cost), safety stock
z·σ·sqrt(NRT) in units and value, base-stock level μ·NRT + safety stock, and `decoupling_point` — the stage holds
stock against its replenishment time (NRT > 0), so its customers need not wait for it.

Public interface: `STAGE_RESULT_COLUMNS`, `PlacementResult`, `build_result`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from optimizer.placement.network import Network
from optimizer.placement.problem import Solution

__all__ = ["NRT_TOLERANCE", "STAGE_RESULT_COLUMNS", "PlacementResult", "build_result"]

#: An NRT at most this (periods) counts as 0: no stock held against it.
NRT_TOLERANCE = 1e-9

STAGE_RESULT_COLUMNS = (
    "stage",
    "inbound_service_time",
    "outbound_service_time",
    "net_replenishment_time",
    "demand_mean",
    "demand_std",
    "safety_factor",
    "unit_value",
    "safety_stock",
    "safety_stock_cost",
    "base_stock_level",
    "decoupling_point",
)


@dataclass(frozen=True, eq=False)
class PlacementResult:
    """`stages`: one row per stage (`STAGE_RESULT_COLUMNS`, topological order); `summary`: totals, baselines,
    savings, solver status (see `build_result`); `solution`: the solver's raw answer."""

    stages: pd.DataFrame
    summary: dict[str, Any]
    solution: Solution


def _saving(baseline: float, cost: float) -> float:
    return 0.0 if baseline <= 0 else (baseline - cost) / baseline


def build_result(
    network: Network,
    mean: np.ndarray,
    std: np.ndarray,
    solution: Solution,
    baseline_every_stage_cost: float,
    baseline_end_items_cost: float,
    correlation: str,
) -> PlacementResult:
    """Tabulate `solution` for `network`; `mean`/`std` are the propagated demand per period."""
    nrt = np.maximum(solution.inbound + network.stage_time - solution.outbound, 0.0)
    nrt = np.where(nrt <= NRT_TOLERANCE, 0.0, nrt)
    z = np.maximum(network.safety_factor, 0.0)
    safety = z * std * np.sqrt(nrt)
    value = safety * network.unit_value
    stages = pd.DataFrame(
        {
            "stage": list(network.names),
            "inbound_service_time": solution.inbound,
            "outbound_service_time": solution.outbound,
            "net_replenishment_time": nrt,
            "demand_mean": mean,
            "demand_std": std,
            "safety_factor": network.safety_factor,
            "unit_value": network.unit_value,
            "safety_stock": safety,
            "safety_stock_cost": value,
            "base_stock_level": mean * nrt + safety,
            "decoupling_point": nrt > 0,
        }
    )
    total = float(value.sum())
    summary: dict[str, Any] = {
        "stages": network.n,
        "arcs": len(network.arc_source),
        "decoupling_points": int((nrt > 0).sum()),
        "total_safety_stock_cost": total,
        "baseline_every_stage_cost": baseline_every_stage_cost,
        "baseline_end_items_cost": baseline_end_items_cost,
        "saving_vs_every_stage": _saving(baseline_every_stage_cost, total),
        "saving_vs_end_items": _saving(baseline_end_items_cost, total),
        "proven_optimal": bool(solution.proven_optimal),
        "bound": solution.bound,
        "gap": solution.gap,
        "method": solution.method,
        "iterations": solution.iterations,
        "correlation": correlation,
        "seconds": solution.seconds,
    }
    return PlacementResult(stages=stages, summary=summary, solution=solution)
