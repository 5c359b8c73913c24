"""Tree dynamic program against stockpyl's gsm_tree (Snyder & Shen ch. 6 instances and random trees)."""

from __future__ import annotations

import numpy as np
import pytest
from stockpyl.gsm_tree import optimize_committed_service_times
from stockpyl.instances import load_instance

from experiments.bench.placement import random_tree, to_stockpyl
from optimizer.placement.network import build_network
from optimizer.placement.problem import problem_from_network
from optimizer.placement.solve import place_safety_stock
from optimizer.placement.tree_dp import solve_tree
from tests.optimizer.placement.helpers import frames_from_stockpyl

TEXTBOOK = ["example_6_3", "example_6_5", "problem_6_7", "problem_6_8", "problem_6_9", "figure_6_14"]


@pytest.mark.parametrize("name", TEXTBOOK)
def test_textbook_instances_equal_stockpyl(name: str) -> None:
    tree = load_instance(name)
    expected_cst, expected_cost = optimize_committed_service_times(tree)
    network = build_network(*frames_from_stockpyl(tree))
    problem, _ = problem_from_network(network)
    solution = solve_tree(problem)
    assert solution.objective == pytest.approx(expected_cost, rel=1e-9)
    assert solution.proven_optimal
    # the same service times where stockpyl's optimum is unique (Example 6.5 in the book: S = 0, 0, 0, 1)
    if name == "example_6_5":
        assert dict(zip(network.names, solution.outbound.tolist(), strict=True)) == {
            str(k): float(v) for k, v in expected_cst.items()
        }


@pytest.mark.parametrize("seed", range(6))
def test_random_trees_equal_stockpyl(seed: int) -> None:
    rng = np.random.default_rng(seed)
    stages, arcs = random_tree(int(rng.integers(10, 31)), rng)
    _, expected = optimize_committed_service_times(to_stockpyl(stages, arcs))
    result = place_safety_stock(build_network(stages, arcs), method="tree")
    assert result.summary["total_safety_stock_cost"] == pytest.approx(expected, rel=1e-6)
    assert result.summary["method"] == "tree-dp"


def test_tree_and_general_agree_on_a_tree() -> None:
    stages, arcs = random_tree(25, np.random.default_rng(42))
    network = build_network(stages, arcs)
    tree = place_safety_stock(network, method="tree").summary
    general = place_safety_stock(network, method="general", time_limit=30).summary
    assert general["proven_optimal"]
    assert general["total_safety_stock_cost"] == pytest.approx(tree["total_safety_stock_cost"], rel=1e-6)


def test_tree_dp_refuses_networks_it_cannot_solve() -> None:
    stages, arcs = random_tree(6, np.random.default_rng(1))
    stages.loc[0, "stage_time"] = 1.5
    problem, _ = problem_from_network(build_network(stages, arcs))
    with pytest.raises(ValueError, match="whole-period"):
        solve_tree(problem)
