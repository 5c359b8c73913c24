"""Exact dynamic program for tree-shaped networks (Graves & Willems 2000, section 5; erratum 2003).

The undirected network must be a forest and all times whole periods. Each tree is rooted; in post-order every
stage k tabulates, over its integer service times, the least cost of its subtree given the one service time that
couples it to its parent:

- parent is a customer of k: F_k(S) = min over SI of c_k(S, SI), coupled by SI_parent ≥ S_k;
- parent is a supplier of k: G_k(SI) = min over S of c_k(S, SI), coupled by SI_k ≥ S_parent;

with c_k(S, SI) = coef_k sqrt(SI + T_k − S) + Σ_{supplier children i} min_{S_i ≤ SI} F_i(S_i)
+ Σ_{customer children j} min_{SI_j ≥ S} G_j(SI_j). Each table is a numpy array over S ∈ [0, min(s_hi, M)] and
SI ∈ [si_lo, M − T], so the work is O(Σ_k M_k²) vectorised.

Public interface: `solve_tree(problem) -> Solution`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from optimizer.placement.problem import Problem, Solution, consistent_service_times, stock_cost

__all__ = ["solve_tree"]


@dataclass
class _Table:
    """What a solved subtree hands its parent: values over the coupling variable, and the other variable's argmin."""

    lo: int  # first value of the coupling variable
    best: np.ndarray  # prefix-min (coupled by S) or suffix-min (coupled by SI) of the subtree cost
    best_at: np.ndarray  # coupling value attaining `best`
    other: np.ndarray  # argmin of the stage's other service time, per coupling value


def _prefix_min(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    best = np.minimum.accumulate(values)
    idx = np.arange(len(values))
    at = np.maximum.accumulate(np.where(values == best, idx, 0))
    return best, at


def _suffix_min(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    best_rev, at_rev = _prefix_min(values[::-1])
    return best_rev[::-1], (len(values) - 1 - at_rev)[::-1]


def _check(problem: Problem) -> None:
    if not problem.is_tree:
        raise ValueError("solve_tree needs a tree-shaped network; use optimizer.placement.general for others")
    if not problem.integral:
        raise ValueError("solve_tree needs whole-period times; use optimizer.placement.general for fractional ones")


def solve_tree(problem: Problem) -> Solution:
    """Optimal service times of a tree-shaped network with whole-period times (proven optimal by construction)."""
    _check(problem)
    start = time.perf_counter()
    n = problem.n
    t = np.rint(problem.stage_time).astype(np.int64)
    m = np.rint(problem.max_replenishment_time).astype(np.int64)
    s_hi = np.rint(problem.s_hi).astype(np.int64)
    si_lo = np.rint(problem.si_lo).astype(np.int64)
    neighbours: list[list[tuple[int, bool]]] = [[] for _ in range(n)]  # (other, other is a customer)
    for j in range(n):
        for i in problem.predecessors[j]:
            neighbours[i].append((j, True))
            neighbours[j].append((i, False))

    outbound = np.zeros(n, dtype=np.int64)
    inbound = np.zeros(n, dtype=np.int64)
    visited = np.zeros(n, dtype=bool)
    for root in range(n - 1, -1, -1):
        if visited[root]:
            continue
        # post-order of the component, each stage with its parent and whether the parent is its customer
        order: list[tuple[int, int, bool]] = []
        stack = [(root, -1, False)]
        visited[root] = True
        while stack:
            k, parent, parent_is_customer = stack.pop()
            order.append((k, parent, parent_is_customer))
            for other, is_customer in neighbours[k]:
                if not visited[other]:
                    visited[other] = True
                    stack.append((other, k, not is_customer))
        tables: dict[int, _Table] = {}
        root_choice: tuple[int, int] = (0, 0)
        for k, parent, parent_is_customer in reversed(order):
            s_vals = np.arange(0, s_hi[k] + 1)
            si_vals = np.arange(si_lo[k], max(si_lo[k], m[k] - t[k]) + 1)
            nrt = si_vals[None, :] + t[k] - s_vals[:, None]
            cost = np.where(nrt >= 0, problem.coef[k] * np.sqrt(np.maximum(nrt, 0)), np.inf)
            children = [(c, c_is_customer) for c, c_is_customer in neighbours[k] if c != parent]
            for c, c_is_customer in children:
                tab = tables[c]
                if c_is_customer:  # SI_c >= S: suffix-min of G_c at S
                    cost = cost + tab.best[np.maximum(s_vals - tab.lo, 0)][:, None]
                else:  # S_c <= SI: prefix-min of F_c at SI
                    cost = cost + tab.best[np.minimum(si_vals, len(tab.best) - 1)][None, :]
            if parent < 0:
                flat = int(np.argmin(cost))
                root_choice = (int(s_vals[flat // cost.shape[1]]), int(si_vals[flat % cost.shape[1]]))
                tables[k] = _Table(0, np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
            elif parent_is_customer:  # coupled by S_k
                arg = np.argmin(cost, axis=1)
                best, at = _prefix_min(cost[np.arange(len(s_vals)), arg])
                tables[k] = _Table(0, best, at, si_vals[arg])
            else:  # coupled by SI_k
                arg = np.argmin(cost, axis=0)
                best, at = _suffix_min(cost[arg, np.arange(len(si_vals))])
                tables[k] = _Table(int(si_lo[k]), best, at + si_lo[k], s_vals[arg])
        # backtrack from the root: each child's coupling value from its parent's choice
        parent_of = {k: parent for k, parent, _ in order}
        s_root, si_root = root_choice
        chosen: list[tuple[int, int, int]] = [(root, s_root, si_root)]
        while chosen:
            k, s_k, si_k = chosen.pop()
            outbound[k], inbound[k] = s_k, si_k
            for c, c_is_customer in neighbours[k]:
                if c == parent_of[k]:
                    continue
                tab = tables[c]
                if c_is_customer:
                    si_c = int(tab.best_at[max(s_k - tab.lo, 0)])
                    chosen.append((c, int(tab.other[si_c - tab.lo]), si_c))
                else:
                    s_c = int(tab.best_at[min(si_k, len(tab.best) - 1)])
                    chosen.append((c, s_c, int(tab.other[s_c])))
    dp_value = stock_cost(problem, outbound.astype(float), inbound.astype(float))
    s, si = consistent_service_times(problem, outbound.astype(float))
    objective = min(dp_value, stock_cost(problem, s, si))
    return Solution(
        outbound=s,
        inbound=si,
        objective=objective,
        bound=objective,
        proven_optimal=True,
        gap=0.0,
        seconds=time.perf_counter() - start,
        method="tree-dp",
    )
