"""General acyclic networks: the small real chains against a second, independent exact formulation; never worse
than either baseline; the spanning-tree branch and bound agrees with the MIP."""

from __future__ import annotations

import pytest

from optimizer.placement.files import read_willems
from optimizer.placement.general import GeneralOptions, solve_general, solve_spanning_tree
from optimizer.placement.network import Network, build_network
from optimizer.placement.problem import problem_from_network
from optimizer.placement.solve import place_safety_stock
from tests.optimizer.placement.helpers import WILLEMS, lambda_formulation_optimum

pytestmark = pytest.mark.skipif(not WILLEMS.is_dir(), reason=f"Willems (2008) data not found at {WILLEMS}")

# the independent formulation needs 10-60 s on chains 03, 07 and 08 (fractional times, slow to refine)
SLOW = pytest.mark.slow
SMALL_CHAINS = ["01", "02", pytest.param("03", marks=SLOW), "04", "05", "06", pytest.param("07", marks=SLOW),
                pytest.param("08", marks=SLOW), "09"]  # fmt: skip


def _network(chain: str) -> Network:
    return build_network(*read_willems(WILLEMS / "stages.csv", WILLEMS / "arcs.csv", chain))


@pytest.mark.parametrize("chain", SMALL_CHAINS)
def test_small_chains_equal_independent_formulation(chain: str) -> None:
    network = _network(chain)
    result = place_safety_stock(network, time_limit=60)
    s = result.summary
    assert s["proven_optimal"], s
    problem, _ = problem_from_network(network)
    seed = result.stages["net_replenishment_time"].to_numpy()
    assert s["total_safety_stock_cost"] == pytest.approx(lambda_formulation_optimum(problem, seed), rel=1e-6)
    assert s["total_safety_stock_cost"] <= s["baseline_every_stage_cost"] * (1 + 1e-12)
    assert s["total_safety_stock_cost"] <= s["baseline_end_items_cost"] * (1 + 1e-12)
    # the table agrees with the summary and the service times are feasible
    table = result.stages
    assert table["safety_stock_cost"].sum() == pytest.approx(s["total_safety_stock_cost"], rel=1e-9)
    assert (table["net_replenishment_time"] >= 0).all()
    ends = network.end_items
    assert (table["outbound_service_time"].to_numpy()[ends] <= network.max_service_time[ends] + 1e-9).all()


@pytest.mark.parametrize("chain", ["01", "04", "06", "10"])
def test_spanning_tree_branch_and_bound_equals_mip(chain: str) -> None:
    problem, _ = problem_from_network(_network(chain))
    bb = solve_spanning_tree(problem, GeneralOptions(time_limit=30))
    mip = solve_general(problem, GeneralOptions(time_limit=30))
    assert bb.proven_optimal and mip.proven_optimal
    assert bb.objective == pytest.approx(mip.objective, rel=1e-6)


def test_time_limit_reports_a_gap_not_a_false_optimum() -> None:
    problem, _ = problem_from_network(_network("16"))
    solution = solve_general(problem, GeneralOptions(time_limit=0.5))
    assert solution.bound <= solution.objective
    assert solution.proven_optimal == (solution.gap <= 1e-6)
