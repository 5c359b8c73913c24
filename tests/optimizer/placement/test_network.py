"""Network validation (errors name the stage), unit-value roll-up, demand propagation, baselines."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from optimizer.placement.baselines import end_items_only, every_stage
from optimizer.placement.network import NetworkError, build_network
from optimizer.placement.problem import problem_from_network
from optimizer.placement.propagation import propagate_demand
from optimizer.placement.solve import place_safety_stock


def _stages(**overrides: list[float]) -> pd.DataFrame:
    """Two parts A, B feed assembly C, which feeds end items D and E."""
    frame = pd.DataFrame(
        {
            "stage": ["A", "B", "C", "D", "E"],
            "stage_time": [10.0, 4.0, 3.0, 2.0, 1.0],
            "stage_cost": [5.0, 2.0, 3.0, 1.0, 0.0],
            "demand_mean": [np.nan, np.nan, np.nan, 10.0, 0.0],
            "demand_std": [np.nan, np.nan, np.nan, 3.0, 0.0],
            "max_service_time": [np.nan, np.nan, np.nan, 0.0, 2.0],
        }
    )
    for col, values in overrides.items():
        frame[col] = values
    return frame


ARCS = pd.DataFrame({"source": ["A", "B", "C", "C"], "destination": ["C", "C", "D", "E"], "qty": [2.0, 1.0, 1.0, 3.0]})


def test_rollup_and_propagation_with_quantities() -> None:
    network = build_network(_stages(demand_std=[np.nan, np.nan, np.nan, 3.0, 4.0]), ARCS)
    value = dict(zip(network.names, network.unit_value, strict=True))
    assert value["C"] == pytest.approx(3 + 2 * 5 + 2)
    assert value["E"] == pytest.approx(0 + 3 * value["C"])
    mean, std = propagate_demand(network, "independent")
    by = dict(zip(network.names, std, strict=True))
    assert by["C"] == pytest.approx(math.hypot(3.0, 3 * 4.0))
    assert by["A"] == pytest.approx(2 * math.hypot(3.0, 12.0))
    _, std_corr = propagate_demand(network, "correlated")
    assert dict(zip(network.names, std_corr, strict=True))["A"] == pytest.approx(2 * (3.0 + 12.0))
    assert dict(zip(network.names, mean, strict=True))["A"] == pytest.approx(2 * 10.0)


def test_zero_demand_end_item_is_valid_and_holds_nothing() -> None:
    result = place_safety_stock(build_network(_stages(), ARCS))
    row = result.stages.set_index("stage").loc["E"]
    assert row["safety_stock"] == 0.0
    assert result.summary["proven_optimal"]


@pytest.mark.parametrize(
    ("stages", "arcs", "message"),
    [
        (_stages(), pd.concat([ARCS, pd.DataFrame({"source": ["D"], "destination": ["A"]})]), "cycle through stage"),
        (_stages(), pd.concat([ARCS, pd.DataFrame({"source": ["Z"], "destination": ["C"]})]), "unknown stage 'Z'"),
        (_stages(stage_time=[10.0, -1.0, 3.0, 2.0, 1.0]), ARCS, "stage 'B': stage_time must be a number >= 0"),
        (_stages(stage_cost=[5.0, 2.0, -3.0, 1.0, 0.0]), ARCS, "stage 'C': stage_cost must be a number >= 0"),
        (_stages(demand_std=[np.nan, np.nan, np.nan, 3.0, np.nan]), ARCS, "end item 'E' has no demand standard"),
        (_stages(service_level=[0.95, 0.95, 0.95, 1.0, 0.9]), ARCS, "stage 'D': service_level"),
        (_stages(), pd.DataFrame({"source": ["A"], "destination": ["A"]}), "loop on stage 'A'"),
        (pd.concat([_stages(), _stages().iloc[[0]]]), ARCS, "stage 'A' appears twice"),
        (_stages(), ARCS.assign(qty=[2.0, 0.0, 1.0, 3.0]), "arc 'B' -> 'C': qty must be > 0"),
    ],
)
def test_bad_input_names_the_stage(stages: pd.DataFrame, arcs: pd.DataFrame, message: str) -> None:
    with pytest.raises(NetworkError, match=message):
        build_network(stages, arcs)


def test_baselines_are_what_they_say() -> None:
    network = build_network(_stages(), ARCS)
    problem, _ = problem_from_network(network)
    s_all, _, _ = every_stage(problem)
    assert (s_all == 0).all()
    s_end, si_end, _ = end_items_only(problem)
    nrt = si_end + problem.stage_time - s_end
    internal = ~network.end_items
    assert np.allclose(nrt[internal], 0.0)
    assert np.allclose(
        s_end[network.end_items], np.minimum(problem.s_hi, si_end + problem.stage_time)[network.end_items]
    )


def test_result_columns_and_decoupling_points() -> None:
    result = place_safety_stock(build_network(_stages(), ARCS))
    t = result.stages
    assert (t["decoupling_point"] == (t["net_replenishment_time"] > 0)).all()
    expected = t["demand_mean"] * t["net_replenishment_time"] + t["safety_stock"]
    assert np.allclose(t["base_stock_level"], expected)
    assert result.summary["total_safety_stock_cost"] <= result.summary["baseline_every_stage_cost"] + 1e-9
    assert result.summary["total_safety_stock_cost"] <= result.summary["baseline_end_items_cost"] + 1e-9
