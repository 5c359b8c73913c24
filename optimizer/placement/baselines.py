"""The two placements a planner compares against, computed with the same cost as the optimiser.

- every stage holds its own safety stock: outbound service time 0 everywhere, so each stage covers its own stage
  time (plus any external inbound service time);
- only end items hold stock: every other stage passes its full replenishment time on (NRT 0, outbound service time
  = inbound + stage time) and each end item quotes its maximum service time to customers.

Public interface: `every_stage`, `end_items_only`.
"""

from __future__ import annotations

import numpy as np

from optimizer.placement.problem import Problem, consistent_service_times, stock_cost

__all__ = ["end_items_only", "every_stage"]


def every_stage(problem: Problem) -> tuple[np.ndarray, np.ndarray, float]:
    """(outbound, inbound, cost) when every stage quotes outbound service time 0."""
    s, si = consistent_service_times(problem, np.zeros(problem.n))
    return s, si, stock_cost(problem, s, si)


def end_items_only(problem: Problem) -> tuple[np.ndarray, np.ndarray, float]:
    """(outbound, inbound, cost) when only end items hold stock (quoting their maximum service time)."""
    end = np.array([not succ for succ in problem.successors], dtype=bool)
    wanted = np.where(end, problem.s_hi, np.inf)
    s, si = consistent_service_times(problem, wanted)
    return s, si, stock_cost(problem, s, si)
