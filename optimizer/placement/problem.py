"""The Guaranteed Service Model as the solvers see it, and the service times they return.

Stage j quotes an outbound service time S_j to its customers and is quoted the inbound service time
SI_j = max(external inbound service time_j, max over suppliers i of S_i). Its net replenishment time is
NRT_j = SI_j + T_j − S_j ≥ 0 and it holds safety stock z_j · σ_j · sqrt(NRT_j) (σ_j: demand std per period after
propagation), worth ``coef_j · sqrt(NRT_j)`` with ``coef_j = unit value_j · z_j · σ_j``. Minimise the total worth
subject to 0 ≤ S_j ≤ max service time_j. Reference: Graves & Willems (2000), MSOM 2(1):68–83, problem (P).

Public interface: `Problem`, `problem_from_network`, `rounded_problem`, `Solution`, `consistent_service_times`,
`stock_cost`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from optimizer.placement.network import Network
from optimizer.placement.propagation import propagate_demand

__all__ = ["Problem", "Solution", "consistent_service_times", "problem_from_network", "rounded_problem", "stock_cost"]


@dataclass(frozen=True, eq=False)
class Problem:
    """Solver input: arrays indexed in topological order; `s_hi` is min(max service time, M) (finite)."""

    stage_time: np.ndarray
    coef: np.ndarray
    si_lo: np.ndarray
    s_hi: np.ndarray
    max_replenishment_time: np.ndarray
    predecessors: tuple[tuple[int, ...], ...]
    successors: tuple[tuple[int, ...], ...]
    is_tree: bool
    integral: bool

    @property
    def n(self) -> int:
        """Number of stages."""
        return len(self.stage_time)


@dataclass(frozen=True, eq=False)
class Solution:
    """Service times and how sure we are of them.

    `objective` is the total stock worth Σ coef_j sqrt(NRT_j) of these service times; `bound` a proven lower bound;
    `gap` = (objective − bound) / objective (0 when the objective is 0); `proven_optimal` when gap ≤ the solver's
    tolerance. `method` names the algorithm, `iterations` its refinement rounds (1 for one-pass methods).
    """

    outbound: np.ndarray
    inbound: np.ndarray
    objective: float
    bound: float
    proven_optimal: bool
    gap: float
    seconds: float
    method: str
    iterations: int = 1


def problem_from_network(network: Network, correlation: str = "independent") -> tuple[Problem, np.ndarray]:
    """The solver input of `network` and the propagated demand std per stage."""
    _, std = propagate_demand(network, correlation)
    coef = network.unit_value * network.safety_factor * std
    coef = np.where(coef > 0, coef, 0.0)  # a safety factor below 0 (service level < 0.5) never pays for stock
    m = network.max_replenishment_time
    problem = Problem(
        stage_time=network.stage_time,
        coef=coef,
        si_lo=network.inbound_service_time,
        s_hi=np.minimum(network.max_service_time, m),
        max_replenishment_time=m,
        predecessors=network.predecessors,
        successors=network.successors,
        is_tree=network.is_tree,
        integral=network.integral_times,
    )
    return problem, std


def consistent_service_times(problem: Problem, outbound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make candidate outbound service times feasible and tight: SI_j = max(si_lo_j, max S_i) and
    S_j = clip(S_j, 0, min(s_hi_j, SI_j + T_j)), in topological order. Never raises the cost of a solution of the
    relaxed model (SI_j ≥ S_i): each NRT only falls."""
    s = np.asarray(outbound, dtype=float).copy()
    si = np.zeros(problem.n)
    for j in range(problem.n):
        upstream = max((s[i] for i in problem.predecessors[j]), default=0.0)
        si[j] = max(problem.si_lo[j], upstream)
        s[j] = min(max(s[j], 0.0), problem.s_hi[j], si[j] + problem.stage_time[j])
    return s + 0.0, si + 0.0  # + 0.0 turns -0.0 into 0.0


def stock_cost(problem: Problem, outbound: np.ndarray, inbound: np.ndarray) -> float:
    """Σ coef_j sqrt(NRT_j) of given service times."""
    nrt = np.maximum(inbound + problem.stage_time - outbound, 0.0)
    return float(np.dot(problem.coef, np.sqrt(nrt)))


def rounded_problem(problem: Problem) -> Problem:
    """The same network with times rounded to whole periods (for a quick start on fractional data: its service
    times, made consistent with the true times, are a feasible answer; its cost is no bound)."""
    t = np.rint(problem.stage_time)
    si_lo = np.rint(problem.si_lo)
    m = np.zeros(problem.n)
    for j in range(problem.n):
        m[j] = t[j] + max(si_lo[j], max((m[i] for i in problem.predecessors[j]), default=0.0))
    s_hi = np.minimum(np.floor(problem.s_hi + 1e-9), m)
    return dataclasses.replace(problem, stage_time=t, si_lo=si_lo, s_hi=s_hi, max_replenishment_time=m, integral=True)
