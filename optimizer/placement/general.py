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

A second exact method, for whole-period times, is branch and bound over a spanning-tree relaxation solved by the
tree dynamic program (`solve_spanning_tree`); it closes networks that are nearly trees in a few nodes.

Public interface: `GAP_TOLERANCE`, `GeneralOptions`, `Model`, `build_model`, `solve_general(problem, options,
start_from) -> Solution`, `spanning_tree`, `solve_spanning_tree(problem, options) -> Solution`.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from optimizer.placement.problem import Problem, Solution, consistent_service_times, stock_cost
from optimizer.placement.tree_dp import solve_tree

__all__ = [
    "GAP_TOLERANCE",
    "GeneralOptions",
    "Model",
    "build_model",
    "solve_general",
    "solve_spanning_tree",
    "spanning_tree",
]

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


def solve_general(
    problem: Problem, options: GeneralOptions | None = None, start_from: Solution | None = None
) -> Solution:
    """Optimal service times of an acyclic network (or the best found and its gap at the time limit).

    `start_from` (e.g. a spanning-tree branch and bound stopped early) seeds the best answer, the lower bound and
    the breakpoints (its NRT values)."""
    options = options or GeneralOptions()
    start = time.perf_counter()
    points = _initial_breakpoints(problem)
    t = problem.stage_time
    best_s, best_si = consistent_service_times(problem, np.zeros(problem.n))
    upper = stock_cost(problem, best_s, best_si)
    lower = 0.0
    if start_from is not None:
        _add_breakpoints(points, start_from.inbound + t - start_from.outbound)
        lower = start_from.bound
        if start_from.objective < upper:
            upper, best_s, best_si = start_from.objective, start_from.outbound, start_from.inbound
    rounds = 0
    tight = False
    while rounds < options.max_rounds:
        left = options.time_limit - (time.perf_counter() - start)
        if left <= 0 or (upper - lower) <= options.gap_tolerance * upper:
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
        # solver noise off (1e-9 period); consistent_service_times then makes them exactly feasible
        s_mip, si_mip = np.round(res.x[: problem.n], 9), np.round(res.x[problem.n : 2 * problem.n], 9)
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


def spanning_tree(problem: Problem) -> tuple[Problem, list[tuple[int, int]]]:
    """The problem on a maximum spanning forest (arc weight: the stock worth of its two ends, after Humair & Willems
    2011, section 5.1) and the arcs left out. Dropping arcs only drops constraints SI_j ≥ S_i: a relaxation."""
    arcs = [(i, j) for j in range(problem.n) for i in problem.predecessors[j]]
    weight = np.array([problem.coef[i] + problem.coef[j] for i, j in arcs])
    parent = list(range(problem.n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    preds: list[list[int]] = [[] for _ in range(problem.n)]
    succs: list[list[int]] = [[] for _ in range(problem.n)]
    removed: list[tuple[int, int]] = []
    for k in np.argsort(-weight, kind="stable"):
        i, j = arcs[k]
        ri, rj = find(i), find(j)
        if ri == rj:
            removed.append((i, j))
            continue
        parent[ri] = rj
        preds[j].append(i)
        succs[i].append(j)
    tree = dataclasses.replace(
        problem,
        predecessors=tuple(tuple(p) for p in preds),
        successors=tuple(tuple(q) for q in succs),
        is_tree=True,
    )
    return tree, removed


def solve_spanning_tree(problem: Problem, options: GeneralOptions | None = None) -> Solution:
    """Branch and bound over the spanning-tree relaxation, for whole-period times (Humair & Willems 2011 style).

    Each node solves the tree dynamic program on a spanning forest with tightened bounds; a left-out arc i→j whose
    constraint SI_j ≥ S_i the node's answer breaks is branched on at x = ⌊(S_i + SI_j)/2⌋: S_i ≤ x, or SI_j ≥ x + 1.
    Best bound first; stops when the best open bound is within the gap tolerance of the best answer, or at the time
    limit (the gap then says how far it may be from optimal). Fast on networks that are nearly trees.
    """
    options = options or GeneralOptions()
    if not problem.integral:
        raise ValueError("solve_spanning_tree needs whole-period times; use solve_general")
    start = time.perf_counter()
    tree, removed = spanning_tree(problem)
    best_s, best_si = consistent_service_times(problem, np.zeros(problem.n))
    upper = stock_cost(problem, best_s, best_si)
    heap: list[tuple[float, int, np.ndarray, np.ndarray]] = []
    counter = 0

    def expand(s_hi: np.ndarray, si_lo: np.ndarray) -> None:
        nonlocal upper, best_s, best_si, counter
        node = solve_tree(dataclasses.replace(tree, s_hi=s_hi, si_lo=si_lo))
        s, si = consistent_service_times(problem, node.outbound)
        cost = stock_cost(problem, s, si)
        if cost < upper:
            upper, best_s, best_si = cost, s, si
        broken = [(node.outbound[i] - node.inbound[j], i, j) for i, j in removed if node.outbound[i] > node.inbound[j]]
        if not broken or node.objective >= upper * (1 - options.gap_tolerance):
            return
        _, i, j = max(broken)
        x = float(np.floor((node.outbound[i] + node.inbound[j]) / 2))
        left_hi = s_hi.copy()
        left_hi[i] = min(left_hi[i], x)
        right_lo = si_lo.copy()
        right_lo[j] = max(right_lo[j], x + 1)
        for child_hi, child_lo in ((left_hi, si_lo), (s_hi, right_lo)):
            counter += 1
            heapq.heappush(heap, (node.objective, counter, child_hi, child_lo))

    expand(problem.s_hi.copy(), problem.si_lo.copy())
    nodes = 1
    while heap and time.perf_counter() - start < options.time_limit:
        bound, _, s_hi, si_lo = heapq.heappop(heap)
        if bound >= upper * (1 - options.gap_tolerance):
            heap.clear()
            break
        expand(s_hi, si_lo)
        nodes += 1
    lower = min(min((b for b, *_ in heap), default=upper), upper)
    gap = (upper - lower) / upper if upper > 0 else 0.0
    return Solution(
        outbound=best_s,
        inbound=best_si,
        objective=upper,
        bound=lower,
        proven_optimal=gap <= options.gap_tolerance,
        gap=gap,
        seconds=time.perf_counter() - start,
        method="spanning-tree-bb",
        iterations=nodes,
    )
