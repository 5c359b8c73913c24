"""Place safety stock in a network: propagate demand, pick the exact method, compare with both baselines.

`place_safety_stock(network)` uses the tree dynamic program when the network is a tree with whole-period times; on
other networks a branch and bound over a spanning tree (`TREE_SHARE` of the time limit; on fractional times it runs
on whole-period times and only supplies a start), then the breakpoint-refined MIP from its answer (`method` forces
tree or MIP alone). The two baselines use the same cost, so the savings
compare like with like; the optimum is never worse than either (the baselines are feasible service times, and the
solver keeps the best of its own answer and theirs).

Public interface: `METHODS`, `place_safety_stock(network, correlation, method, time_limit) -> PlacementResult`.
"""

from __future__ import annotations

import dataclasses
import time

from optimizer.placement.baselines import end_items_only, every_stage
from optimizer.placement.general import GeneralOptions, solve_general, solve_spanning_tree
from optimizer.placement.network import Network, NetworkError
from optimizer.placement.problem import (
    Problem,
    Solution,
    consistent_service_times,
    problem_from_network,
    rounded_problem,
    stock_cost,
)
from optimizer.placement.propagation import propagate_demand
from optimizer.placement.result import PlacementResult, build_result
from optimizer.placement.tree_dp import solve_tree

__all__ = ["METHODS", "place_safety_stock"]

METHODS = ("auto", "tree", "general")
#: Share of the time limit the spanning-tree branch and bound gets before the MIP takes over.
TREE_SHARE = 0.3


def place_safety_stock(
    network: Network, *, correlation: str = "independent", method: str = "auto", time_limit: float = 60.0
) -> PlacementResult:
    """Optimal service times and safety stocks of `network` (or the best found and its gap at `time_limit` s)."""
    if method not in METHODS:
        raise NetworkError(f"method must be one of {METHODS}, got {method!r}")
    start = time.perf_counter()
    problem, std = problem_from_network(network, correlation)
    mean, _ = propagate_demand(network, correlation)
    use_tree = method == "tree" or (method == "auto" and problem.is_tree and problem.integral)
    if use_tree:
        if not problem.is_tree:
            raise NetworkError("method 'tree' needs a tree-shaped network; use method 'general' or 'auto'")
        if not problem.integral:
            raise NetworkError("method 'tree' needs whole-period times; use method 'general' or 'auto'")
        solution = solve_tree(problem)
    elif method == "auto":
        solution = _portfolio(problem, time_limit)
    else:
        solution = solve_general(problem, GeneralOptions(time_limit=time_limit))
    s_all, si_all, cost_all = every_stage(problem)
    s_end, si_end, cost_end = end_items_only(problem)
    for s, si, cost in ((s_all, si_all, cost_all), (s_end, si_end, cost_end)):
        if cost < solution.objective:  # only possible when the solver stopped at its time limit
            solution = dataclasses.replace(solution, outbound=s, inbound=si, objective=cost)
    solution = _with_gap(solution, time.perf_counter() - start)
    return build_result(network, mean, std, solution, cost_all, cost_end, correlation)


def _portfolio(problem: Problem, time_limit: float) -> Solution:
    """Branch and bound over a spanning tree first (it closes near-trees in a few nodes; on fractional times it runs
    on the times rounded to whole periods and only supplies a start), then the breakpoint MIP from its best answer
    (and bound) for the time left."""
    start = time.perf_counter()
    if problem.integral:
        first = solve_spanning_tree(problem, GeneralOptions(time_limit=TREE_SHARE * time_limit))
        if first.proven_optimal:
            return first
    else:  # a start from the whole-period version: feasible with the true times, but no bound
        rough = solve_spanning_tree(rounded_problem(problem), GeneralOptions(time_limit=TREE_SHARE * time_limit))
        s, si = consistent_service_times(problem, rough.outbound)
        cost = stock_cost(problem, s, si)
        first = dataclasses.replace(rough, outbound=s, inbound=si, objective=cost, bound=0.0, proven_optimal=False)
    left = max(time_limit - (time.perf_counter() - start), 1e-3)
    second = solve_general(problem, GeneralOptions(time_limit=left), start_from=first)
    return dataclasses.replace(second, method=f"{first.method}+{second.method}")


def _with_gap(solution: Solution, seconds: float) -> Solution:
    bound = min(solution.bound, solution.objective)
    gap = (solution.objective - bound) / solution.objective if solution.objective > 0 else 0.0
    return dataclasses.replace(solution, bound=bound, gap=gap, seconds=seconds)
