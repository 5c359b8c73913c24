"""Exact stock placement on general acyclic networks: a mixed-integer program over continuous service times with the
concave stock cost replaced by chords between breakpoints, refined until the chords are exact at the optimum.

Why this works: the cost coef_j sqrt(NRT_j) is concave, so the piecewise-linear interpolation through any
breakpoints that include 0 and M_j (the largest NRT) lies below it. The MIP optimum of the interpolated cost is
therefore a lower bound; the true cost of its service times is an upper bound. Adding the solution's NRT values as
breakpoints and solving again closes the gap; when every NRT of the solution is already a breakpoint, the two
bounds meet and the solution is optimal (Magnanti, Shen, Shu, Simchi-Levi & Teo 2006, "Inventory placement in
acyclic supply chain networks", Operations Research Letters 34:228–238).

Service times are continuous, so fractional stage times (days with two, four or eight decimals) need no time grid:
the breakpoints are exactly the NRT values the solver visits. The MIP is HiGHS via `scipy.optimize.milp`; each stage
with k breakpoint intervals gets k binaries (none for one interval: its chord is linear).

Model (all stages j, arcs i→j):
    SI_j ≥ S_i,  SI_j ≥ si_lo_j,  0 ≤ S_j ≤ s_hi_j,  NRT_j = SI_j + T_j − S_j ≥ 0,
    min Σ_j chord_j(NRT_j).

Public interface: `GAP_TOLERANCE`, `GeneralOptions`, `build_model`, `solve_general(problem, options) -> Solution`.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from optimizer.placement.problem import Problem, Solution, consistent_service_times, stock_cost

__all__ = ["GAP_TOLERANCE", "GeneralOptions", "Model", "build_model", "solve_general"]

log = logging.getLogger(__name__)

#: Relative gap (objective − bound) / objective at which a solution counts as proven optimal.
GAP_TOLERANCE = 1e-6
#: Two breakpoints closer than this (periods) are one.
BREAKPOINT_TOLERANCE = 1e-7
#: Loosest MIP gap of a refinement round.
ROUND_GAP_CAP = 1e-2


@dataclass(frozen=True)
class GeneralOptions:
    """Time limit (s, wall clock, all rounds together), gap at which to stop, most refinement rounds."""

    time_limit: float = 60.0
    gap_tolerance: float = GAP_TOLERANCE
    max_rounds: int = 200


@dataclass(frozen=True, eq=False)
class Model:
    """One MIP: variables [S (n), SI (n), then per multi-interval stage its binaries y and lengths d]."""

    c: np.ndarray
    constant: float
    constraints: LinearConstraint
    bounds: Bounds
    integrality: np.ndarray


def _chord_slopes(coef: float, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = coef * np.sqrt(points)
    return values, np.diff(values) / np.diff(points)


def build_model(problem: Problem, breakpoints: dict[int, np.ndarray]) -> Model:
    """The MIP of `problem` with the stock cost of stage j interpolated through `breakpoints[j]` (sorted, from 0 to
    M_j; stages missing from the dict cost nothing)."""
    n = problem.n
    t, m = problem.stage_time, problem.max_replenishment_time
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    lo: list[float] = []
    hi: list[float] = []

    def add_row(entries: list[tuple[int, float]], low: float, high: float) -> None:
        r = len(lo)
        for col, val in entries:
            rows.append(r)
            cols.append(col)
            vals.append(val)
        lo.append(low)
        hi.append(high)

    # phase 1: service-time variables and their links
    for j in range(n):
        for i in problem.predecessors[j]:
            add_row([(n + j, 1.0), (i, -1.0)], 0.0, math.inf)  # SI_j - S_i >= 0
        add_row([(n + j, 1.0), (j, -1.0)], -t[j], math.inf)  # NRT_j >= 0
    c = np.zeros(2 * n)
    extra_c: list[float] = []
    extra_lo: list[float] = []
    extra_hi: list[float] = []
    extra_int: list[int] = []
    constant = 0.0
    # phase 2: interpolated stock cost per stage
    for j, points in breakpoints.items():
        values, slopes = _chord_slopes(float(problem.coef[j]), points)
        if len(slopes) == 1:  # one chord: linear in SI_j - S_j
            c[n + j] += slopes[0]
            c[j] -= slopes[0]
            constant += slopes[0] * t[j]
            continue
        k = len(slopes)
        first = 2 * n + len(extra_c)
        y = list(range(first, first + k))
        d = list(range(first + k, first + 2 * k))
        extra_c += list(values[:-1]) + list(slopes)
        extra_lo += [0.0] * (2 * k)
        extra_hi += [1.0] * k + list(np.diff(points))
        extra_int += [1] * k + [0] * k
        add_row([(col, 1.0) for col in y], 1.0, 1.0)  # one interval
        # SI_j - S_j - Σ (b_{k-1} y_k + d_k) = -T_j
        add_row([(n + j, 1.0), (j, -1.0)] + [(yk, -points[q]) for q, yk in enumerate(y)] + [(dk, -1.0) for dk in d],
                -t[j], -t[j])  # fmt: skip
        for q in range(k):
            add_row([(d[q], 1.0), (y[q], -float(points[q + 1] - points[q]))], -math.inf, 0.0)  # d_k <= w_k y_k
    n_vars = 2 * n + len(extra_c)
    matrix = coo_array((vals, (rows, cols)), shape=(len(lo), n_vars)).tocsr()
    var_lo = np.concatenate([np.zeros(n), problem.si_lo, np.asarray(extra_lo)])
    var_hi = np.concatenate([problem.s_hi, np.maximum(problem.si_lo, m - t), np.asarray(extra_hi)])
    return Model(
        c=np.concatenate([c, np.asarray(extra_c)]),
        constant=constant,
        constraints=LinearConstraint(matrix, np.asarray(lo), np.asarray(hi)),
        bounds=Bounds(var_lo, var_hi),
        integrality=np.concatenate([np.zeros(2 * n, dtype=np.int64), np.asarray(extra_int, dtype=np.int64)]),
    )


def _initial_breakpoints(problem: Problem) -> dict[int, np.ndarray]:
    """0, T_j (NRT of a stage that holds stock on immediate supply) and M_j for every stage whose stock costs."""
    points: dict[int, np.ndarray] = {}
    for j in range(problem.n):
        m = float(problem.max_replenishment_time[j])
        if problem.coef[j] > 0 and m > 0:
            inner = [float(problem.stage_time[j] + problem.si_lo[j])]
            points[j] = np.unique([0.0, *[v for v in inner if 0 < v < m], m])
    return points


def _add_breakpoints(points: dict[int, np.ndarray], nrt: np.ndarray) -> int:
    added = 0
    for j, current in points.items():
        v = float(min(max(nrt[j], 0.0), current[-1]))
        if np.min(np.abs(current - v)) > BREAKPOINT_TOLERANCE * max(1.0, current[-1]):
            points[j] = np.sort(np.append(current, v))
            added += 1
    return added


def _round_gap(upper: float, lower: float, tolerance: float) -> float:
    """MIP gap for the next round: loose while the bounds are far apart (a round mainly finds breakpoints), tight
    (a tenth of the tolerance) once they are close, so the last round proves optimality."""
    gap = (upper - lower) / upper if upper > 0 else 0.0
    return float(min(max(gap / 20, tolerance / 10), ROUND_GAP_CAP))


def solve_general(problem: Problem, options: GeneralOptions | None = None) -> Solution:
    """Optimal service times of an acyclic network (or the best found and its gap at the time limit)."""
    options = options or GeneralOptions()
    start = time.perf_counter()
    points = _initial_breakpoints(problem)
    t = problem.stage_time
    best_s, best_si = consistent_service_times(problem, np.zeros(problem.n))
    upper = stock_cost(problem, best_s, best_si)
    lower = 0.0
    rounds = 0
    tight = False
    while rounds < options.max_rounds:
        left = options.time_limit - (time.perf_counter() - start)
        if left <= 0:
            break
        rounds += 1
        model = build_model(problem, points)
        round_gap = options.gap_tolerance / 10 if tight else _round_gap(upper, lower, options.gap_tolerance)
        res = milp(
            model.c,
            constraints=model.constraints,
            bounds=model.bounds,
            integrality=model.integrality,
            options={"time_limit": left, "mip_rel_gap": round_gap},
        )
        if res.x is None:
            log.warning("MIP round %d found no solution (%s)", rounds, res.message)
            break
        bound = getattr(res, "mip_dual_bound", None)
        if bound is not None and np.isfinite(bound):
            lower = max(lower, float(bound) + model.constant)
        elif res.status == 0:
            lower = max(lower, float(res.fun) + model.constant)
        s_mip, si_mip = res.x[: problem.n], res.x[problem.n : 2 * problem.n]
        s, si = consistent_service_times(problem, s_mip)
        cost = stock_cost(problem, s, si)
        if cost < upper:
            upper, best_s, best_si = cost, s, si
        gap = (upper - lower) / upper if upper > 0 else 0.0
        log.info("round %d: %d cost stages, bound %.6g, best %.6g, gap %.2e", rounds, len(points), lower, upper, gap)
        if res.status != 0 or gap <= options.gap_tolerance:
            break
        added = _add_breakpoints(points, si_mip + t - s_mip) + _add_breakpoints(points, si + t - s)
        if added == 0:  # the chords are exact at this solution: only the MIP's own gap is left
            if round_gap <= options.gap_tolerance / 10:
                break
            tight = True
    lower = min(lower, upper)
    gap = (upper - lower) / upper if upper > 0 else 0.0
    return Solution(
        outbound=best_s,
        inbound=best_si,
        objective=upper,
        bound=lower,
        proven_optimal=gap <= options.gap_tolerance,
        gap=gap,
        seconds=time.perf_counter() - start,
        method="mip-refinement",
        iterations=rounds,
    )
