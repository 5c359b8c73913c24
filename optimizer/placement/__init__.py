"""Multi-echelon safety-stock placement with the Guaranteed Service Model (Graves & Willems 2000; Humair & Willems
2011): which stages of a supply network hold decoupling stock, and how much.

Modules: `network` (validated stages and arcs), `propagation` (demand pushed upstream), `problem` (the model the
solvers share), `tree_dp` (exact DP on trees), `general` (exact MIP with refined breakpoints, spanning-tree branch and
bound), `baselines`, `result`, `solve` (`place_safety_stock`), `files` (Willems 2008 format), `from_tables`
(leanplan's canonical tables).

Public interface: `Network`, `NetworkError`, `build_network`, `network_from_tables`, `read_willems`,
`place_safety_stock`, `PlacementResult`.
"""

from optimizer.placement.files import read_willems
from optimizer.placement.from_tables import network_from_tables
from optimizer.placement.network import Network, NetworkError, build_network
from optimizer.placement.result import PlacementResult
from optimizer.placement.solve import place_safety_stock

__all__ = [
    "Network",
    "NetworkError",
    "PlacementResult",
    "build_network",
    "network_from_tables",
    "place_safety_stock",
    "read_willems",
]
