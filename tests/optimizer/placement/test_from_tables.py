"""A network from the canonical items / bom / suppliers / routings frames."""

from __future__ import annotations

import pandas as pd
import pytest

from optimizer.placement.from_tables import lead_times_at_quantile, network_from_tables
from optimizer.placement.network import NetworkError

ITEMS = pd.DataFrame(
    {
        "sku": ["FG", "SUB", "RM1", "RM2"],
        "unit_cost": [50.0, 20.0, 4.0, 3.0],
        "make_or_buy": ["make", "make", "buy", "buy"],
        "queue_days": [1.0, 2.0, 0.0, 0.0],
        "lot_size": [48.0, 24.0, 1.0, 1.0],
    }
)
BOM = pd.DataFrame(
    {
        "parent_sku": ["FG", "FG", "SUB"],
        "component_sku": ["SUB", "RM2", "RM1"],
        "qty_per": [1.0, 2.0, 3.0],
        "scrap_rate": [0.0, 0.0, 0.25],
    }
)
SUPPLIERS = pd.DataFrame({"sku": ["RM1", "RM1", "RM2"], "nominal_lead_time_days": [14, 10, 30]})
ROUTINGS = pd.DataFrame(
    {"sku": ["FG", "FG", "SUB"], "op": [1, 1, 1], "line_id": ["L1", "L2", "L1"], "rate_per_hour": [2.0, 4.0, 1.0]}
)
DEMAND = pd.DataFrame({"sku": ["FG"], "demand_mean": [100.0], "demand_std": [30.0]})


def test_times_values_and_quantities() -> None:
    net = network_from_tables(ITEMS, BOM, DEMAND, suppliers=SUPPLIERS, routings=ROUTINGS)
    time = dict(zip(net.names, net.stage_time, strict=True))
    assert time["RM1"] == 10  # shortest nominal offer
    assert time["FG"] == pytest.approx(48 / 4 / 24 + 1.0)  # lot on the fastest line, plus queue
    assert time["SUB"] == pytest.approx(24 / 1 / 24 + 2.0)
    value = dict(zip(net.names, net.unit_value, strict=True))
    assert value["FG"] == 50.0  # standard cost already contains components
    qty = {
        (net.names[i], net.names[j]): q
        for i, j, q in zip(net.arc_source, net.arc_destination, net.arc_qty, strict=True)
    }
    assert qty[("RM1", "SUB")] == pytest.approx(3.0 / 0.75)
    assert net.max_service_time[net.names.index("FG")] == 0.0


def test_added_cost_basis_rolls_up() -> None:
    net = network_from_tables(ITEMS, BOM, DEMAND, suppliers=SUPPLIERS, routings=ROUTINGS, cost_basis="added")
    value = dict(zip(net.names, net.unit_value, strict=True))
    assert value["SUB"] == pytest.approx(20 + 4 * 4.0)
    assert value["FG"] == pytest.approx(50 + value["SUB"] + 2 * 3.0)


def test_lead_times_at_quantile_override_nominal() -> None:
    offers = pd.DataFrame({"sku": ["RM1", "RM2"], "lt_1": [9.0, 20.0], "lt_2": [13.0, 40.0]})
    lt = lead_times_at_quantile(offers, ["lt_1", "lt_2"], 1.0)
    net = network_from_tables(ITEMS, BOM, DEMAND, lead_times=lt, routings=ROUTINGS)
    assert dict(zip(net.names, net.stage_time, strict=True))["RM2"] == 40.0


def test_missing_lead_time_and_routing_name_the_sku() -> None:
    with pytest.raises(NetworkError, match="bought item 'RM2' has no lead time"):
        network_from_tables(ITEMS, BOM, DEMAND, suppliers=SUPPLIERS.iloc[:2], routings=ROUTINGS)
    with pytest.raises(NetworkError, match="made item 'SUB' has no routing"):
        network_from_tables(ITEMS, BOM, DEMAND, suppliers=SUPPLIERS, routings=ROUTINGS.iloc[:2])
    with pytest.raises(NetworkError, match="cycle"):
        cyclic = pd.concat([BOM, pd.DataFrame({"parent_sku": ["RM1"], "component_sku": ["FG"], "qty_per": [1.0]})])
        network_from_tables(ITEMS, cyclic, DEMAND, suppliers=SUPPLIERS, routings=ROUTINGS)
