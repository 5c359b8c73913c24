"""Shared test helpers: stockpyl networks as our frames, and a second, independent exact GSM formulation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from ortools.linear_solver import pywraplp
from scipy.stats import norm

from experiments.bench import WILLEMS_DIR
from optimizer.placement.problem import Problem, consistent_service_times, stock_cost

BACKEND = "HIGHS"  # SCIP gives the same optima, several times slower
WILLEMS = WILLEMS_DIR


def frames_from_stockpyl(tree: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A stockpyl GSM instance as (stages, arcs): holding cost as unit value, z per node as a service level."""
    sinks = [k for k in tree.nodes if not k.successors()]
    z_default = next((k.demand_bound_constant for k in sinks if k.demand_bound_constant is not None), 1)
    rows, arcs = [], []
    for k in tree.nodes:
        z = k.demand_bound_constant if k.demand_bound_constant is not None else z_default
        ds = k.demand_source
        rows.append(
            {
                "stage": str(k.index),
                "stage_time": k.processing_time,
                "stage_cost": 0.0,
                "unit_value": k.holding_cost,
                "demand_mean": ds.mean if ds is not None and ds.mean is not None else np.nan,
                "demand_std": ds.standard_deviation if ds is not None and ds.standard_deviation is not None else np.nan,
                "service_level": norm.cdf(z),
                "max_service_time": np.inf if k.external_outbound_cst is None else k.external_outbound_cst,
                "inbound_service_time": k.external_inbound_cst or 0,
            }
        )
        arcs += [{"source": str(k.index), "destination": str(s.index)} for s in k.successors()]
    return pd.DataFrame(rows), pd.DataFrame(arcs, columns=["source", "destination"])


def lambda_formulation_optimum(problem: Problem, seed_nrt: np.ndarray | None = None, tolerance: float = 1e-7) -> float:
    """Exact optimum by a formulation independent of `optimizer.placement.general`: convex-combination (λ) weights
    on breakpoints with SOS2 binaries, solved by SCIP, breakpoints refined until the solution's NRT values are all
    breakpoints (then the interpolated cost equals the true cost at the MIP optimum, a proof whatever breakpoints
    it started from; `seed_nrt` only adds starting breakpoints)."""
    n, t, m = problem.n, problem.stage_time, problem.max_replenishment_time
    points = {j: [0.0, float(m[j])] for j in range(n) if problem.coef[j] > 0 and m[j] > 0}
    if seed_nrt is not None:
        for j, b in points.items():
            if 0.0 < seed_nrt[j] < b[-1]:
                b.insert(1, float(seed_nrt[j]))
    for _ in range(100):
        solver = pywraplp.Solver.CreateSolver(BACKEND)
        solver.SuppressOutput()
        inf = solver.infinity()
        s = [solver.NumVar(0.0, float(problem.s_hi[j]), f"s{j}") for j in range(n)]
        si = [solver.NumVar(float(problem.si_lo[j]), inf, f"si{j}") for j in range(n)]
        cost = []
        for j in range(n):
            for i in problem.predecessors[j]:
                solver.Add(si[j] >= s[i])
            solver.Add(s[j] <= si[j] + float(t[j]))
            if j not in points:
                continue
            b = points[j]
            lam = [solver.NumVar(0.0, 1.0, f"l{j}_{k}") for k in range(len(b))]
            seg = [solver.BoolVar(f"z{j}_{k}") for k in range(len(b) - 1)]
            solver.Add(sum(lam) == 1)
            solver.Add(sum(seg) == 1)
            for k in range(len(b)):
                solver.Add(lam[k] <= sum(seg[q] for q in (k - 1, k) if 0 <= q < len(seg)))
            solver.Add(si[j] + float(t[j]) - s[j] == sum(lk * bk for lk, bk in zip(lam, b, strict=True)))
            cost.append(sum(lk * float(problem.coef[j]) * math.sqrt(bk) for lk, bk in zip(lam, b, strict=True)))
        solver.Minimize(sum(cost))
        params = pywraplp.MPSolverParameters()
        params.SetDoubleParam(params.RELATIVE_MIP_GAP, 1e-9)
        assert solver.Solve(params) == pywraplp.Solver.OPTIMAL
        sv = np.array([v.solution_value() for v in s])
        siv = np.array([v.solution_value() for v in si])
        nrt = siv + t - sv
        new = 0
        for j, b in points.items():
            v = min(max(float(nrt[j]), 0.0), b[-1])
            if min(abs(v - x) for x in b) > tolerance * max(1.0, b[-1]):
                b.append(v)
                b.sort()
                new += 1
        if new == 0:
            s2, si2 = consistent_service_times(problem, sv)
            return min(stock_cost(problem, s2, si2), solver.Objective().Value())
    raise AssertionError("the λ formulation did not converge in 100 rounds")
