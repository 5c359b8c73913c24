"""Kanban sizing: a hand-computed loop per case (given container, defaulted container, no demand, zero lead time),
signals that add up to the containers used, and refusals that name the item."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from optimizer.kanban import size_kanban


def test_hand_computed_loops() -> None:
    gross = np.array(
        [
            [30.0, 50.0, 0.0, 40.0],  # A: D = 30/week, C = 25 given, L = 2
            [12.0, 12.0, 12.0, 12.0],  # B: D = 12, no container: a week rounded up to lots of 10 → C = 20, L = 1
            [0.0, 0.0, 0.0, 0.0],  # C: no demand → no loop; container = one lot (5)
            [10.0, 10.0, 10.0, 10.0],  # D: zero lead time → the minimum of one card
        ]
    )
    k = size_kanban(
        gross, lead_time_periods=[2, 1, 3, 0], lot_size=[1, 10, 5, 1], container_qty=[25, np.nan, np.nan, 10],
        safety_factor=0.1, skus=["A", "B", "C", "D"],
    )  # fmt: skip
    assert k.demand_per_period.tolist() == [30.0, 12.0, 0.0, 10.0]
    assert k.container_qty.tolist() == [25.0, 20.0, 5.0, 10.0]
    assert k.container_defaulted.tolist() == [False, True, True, False]
    # A: ceil(30 · 2 · 1.1 / 25) = ceil(2.64) = 3; B: ceil(12 · 1 · 1.1 / 20) = ceil(0.66) = 1
    assert k.cards.tolist() == [3, 1, 0, 1]
    assert k.loop_qty.tolist() == [75.0, 20.0, 0.0, 10.0]
    # A: cumulative 30, 80, 80, 120 over containers of 25 → 1, 3, 3, 4 emptied → signals 1, 2, 0, 1
    # B: cumulative 12, 24, 36, 48 over 20 → 0, 1, 1, 2 → 0, 1, 0, 1
    assert k.signals.tolist() == [[1, 2, 0, 1], [0, 1, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1]]
    assert k.signal_qty[0].tolist() == [25.0, 50.0, 0.0, 25.0]


def test_safety_factor_and_minimum_cards() -> None:
    gross = np.full((1, 6), 100.0)
    assert size_kanban(gross, 3, container_qty=50, safety_factor=0.0).cards.tolist() == [6]  # exactly 6: no rounding
    assert size_kanban(gross, 3, container_qty=50, safety_factor=0.5).cards.tolist() == [9]
    assert size_kanban(gross, 1, container_qty=500, min_cards=2).cards.tolist() == [2]


def test_signals_count_the_containers_used() -> None:
    rng = np.random.default_rng(7)
    gross = rng.gamma(0.6, 40.0, size=(50, 26)) * (rng.random((50, 26)) < 0.7)
    k = size_kanban(gross, rng.integers(0, 6, 50), lot_size=rng.choice([1.0, 5.0, 12.0], 50))
    used = np.floor(gross.sum(axis=1) / k.container_qty + 1e-9)
    assert (k.signals >= 0).all() and k.signals.sum(axis=1).tolist() == used.tolist()
    assert (k.container_qty >= k.demand_per_period).all()  # defaulted: at least a week of demand


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gross": [[1.0, -2.0]], "lead_time_periods": 1}, "item 'X': gross requirements must be finite and >= 0"),
        ({"gross": [[1.0, 2.0]], "lead_time_periods": -1}, "item 'X': lead_time_periods must be finite and >= 0"),
        ({"gross": [[1.0, 2.0]], "lead_time_periods": 1, "lot_size": 0}, "item 'X': lot_size must be > 0"),
        ({"gross": [[1.0]], "lead_time_periods": 1, "container_qty": 0}, "item 'X': container_qty must be > 0"),
        ({"gross": [[1.0]], "lead_time_periods": 1, "safety_factor": -0.1}, "safety_factor must be >= 0"),
        ({"gross": [1.0, 2.0], "lead_time_periods": 1}, "must be items × periods"),
        ({"gross": [[1.0]], "lead_time_periods": [1, 2]}, "one value per item"),
    ],
)
def test_bad_input_is_refused_by_name(kwargs: dict[str, Any], message: str) -> None:
    skus = ["X"] if np.ndim(kwargs["gross"]) == 2 else None
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        size_kanban(**kwargs, skus=skus)
