"""Demand seen by every stage: external demand pushed upstream through the arcs with their quantities.

Stage i needs ``a_ie`` units per unit of external demand at stage e, where ``a_ie`` sums the products of arc
quantities over every path from i to e (``a_ee = 1``). Then, per period,

- mean_i = Σ_e a_ie · μ_e;
- ``correlation="independent"`` (the default, and the Guaranteed Service Model's usual assumption): external demands
  are independent, so variances add: σ_i = sqrt(Σ_e (a_ie · σ_e)²) — risk pooling across end items;
- ``correlation="correlated"``: external demands move together (fully, positively correlated), so standard
  deviations add: σ_i = Σ_e a_ie · σ_e — no pooling, the cautious bound.

Reference: Graves & Willems (2000), MSOM 2(1):68–83, section 2 (demand propagation); Willems (2008) on pooling.

Public interface: `Correlation`, `propagate_demand(network, correlation) -> (mean, std)`, `requirement_matrix`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from optimizer.placement.network import Network, NetworkError

__all__ = ["CORRELATIONS", "Correlation", "propagate_demand", "requirement_matrix"]

Correlation = Literal["independent", "correlated"]
CORRELATIONS: tuple[str, ...] = ("independent", "correlated")


def requirement_matrix(network: Network) -> tuple[np.ndarray, np.ndarray]:
    """(A, demand_stages): A[i, k] = units stage i supplies per unit of external demand at `demand_stages[k]`."""
    demand_stages = np.flatnonzero(network.has_demand)
    a = np.zeros((network.n, len(demand_stages)))
    a[demand_stages, np.arange(len(demand_stages))] = 1.0
    qty_of = {(i, j): q for i, j, q in zip(network.arc_source, network.arc_destination, network.arc_qty, strict=True)}
    for i in range(network.n - 1, -1, -1):  # reverse topological order: customers first
        for j in network.successors[i]:
            a[i] += qty_of[(i, j)] * a[j]
    return a, demand_stages


def propagate_demand(network: Network, correlation: str = "independent") -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of demand per period at every stage (topological order of `network`)."""
    if correlation not in CORRELATIONS:
        raise NetworkError(f"correlation must be one of {CORRELATIONS}, got {correlation!r}")
    a, demand_stages = requirement_matrix(network)
    mean = a @ network.demand_mean[demand_stages]
    scaled = a * network.demand_std[demand_stages]
    std = np.sqrt((scaled**2).sum(axis=1)) if correlation == "independent" else scaled.sum(axis=1)
    return mean, std
