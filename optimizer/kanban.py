"""Kanban sizing for pull items, vectorized over items: the number of cards of each loop and the replenishment
signal of each period.

For item i with requirements ``g[i, t]`` per period (the gross requirements an MRP plan computes for it):

- demand rate ``D = mean_t g[i, t]`` (units per period, over the whole horizon);
- container size ``C`` = the item's ``container_qty``, or, when it has none, one period of demand rounded up to the
  item's lot size: ``C = max(lot, ceil(D / lot) · lot)``;
- cards ``N = max(min_cards, ceil(D · L · (1 + α) / C))`` with ``L`` the replenishment lead time in periods and
  ``α`` the safety factor (default 0.1); an item without demand needs no loop (``N = 0``);
- signal ``s[i, t] = floor(G[i, t] / C) − floor(G[i, t−1] / C)`` with ``G`` the cumulative requirements: the
  containers emptied in period t, each of whose cards goes back to the supplier (or the feeding line) to be
  replaced — ``s · C`` units to replenish.

The card formula is Toyota's (Y. Monden, *Toyota Production System: An Integrated Approach to Just-in-Time*,
4th ed., CRC Press 2012); W. J. Hopp and M. L. Spearman, *Factory Physics*, 3rd ed., Waveland 2008, discuss the
card count of a kanban loop as the stock that covers demand over the replenishment time plus a safety allowance.
Units: quantities in the item's unit, time in the periods of ``g`` (weeks in an MRP plan).

Public interface: `size_kanban(gross, lead_time_periods, lot_size=1, container_qty=None, safety_factor=0.1,
min_cards=1, skus=None) -> KanbanSizing`, `KanbanSizing`, `DEFAULT_SAFETY_FACTOR`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["DEFAULT_SAFETY_FACTOR", "KanbanSizing", "size_kanban"]

DEFAULT_SAFETY_FACTOR = 0.1
#: relative tolerance when counting emptied containers (cumulative sums of floats)
_EPS = 1e-9


@dataclass(frozen=True)
class KanbanSizing:
    """One kanban loop per item (rows follow the inputs)."""

    demand_per_period: np.ndarray  #: D, units per period
    lead_time_periods: np.ndarray  #: L, periods
    container_qty: np.ndarray  #: C, units per container
    container_defaulted: np.ndarray  #: True where C is one period of demand rounded up to the lot size
    cards: np.ndarray  #: N, cards (containers) in the loop
    signals: np.ndarray  #: items × periods: containers emptied (cards sent back) in each period
    safety_factor: float

    @property
    def loop_qty(self) -> np.ndarray:
        """Units the loop holds when every container is full: N · C."""
        result: np.ndarray = self.cards * self.container_qty
        return result

    @property
    def signal_qty(self) -> np.ndarray:
        """Units to replenish per period: s · C."""
        result: np.ndarray = self.signals * self.container_qty[:, None]
        return result


def _label(skus: Sequence[str] | None, i: int) -> str:
    return f"item {skus[i]!r}" if skus is not None else f"item {i}"


def _per_item(name: str, value: Any, n: int) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return np.full(n, float(array))
    if array.shape != (n,):
        raise ValueError(f"{name} must be a number or one value per item ({n}); got shape {array.shape}")
    return array


def _check(
    gross: np.ndarray, lead: np.ndarray, lot: np.ndarray, container: np.ndarray, skus: Sequence[str] | None
) -> None:
    checks = (
        ("gross requirements", ~np.isfinite(gross).all(axis=1) | (gross < 0).any(axis=1), "finite and >= 0"),
        ("lead_time_periods", ~np.isfinite(lead) | (lead < 0), "finite and >= 0"),
        ("lot_size", ~(lot > 0) | ~np.isfinite(lot), "> 0"),
        ("container_qty", ~np.isnan(container) & ~((container > 0) & np.isfinite(container)), "> 0 or empty"),
    )
    for name, bad, allowed in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{_label(skus, i)}: {name} must be {allowed} (and {int(bad.sum())} item(s) in all)")


def size_kanban(
    gross: Any,
    lead_time_periods: Any,
    lot_size: Any = 1.0,
    container_qty: Any = None,
    safety_factor: float = DEFAULT_SAFETY_FACTOR,
    min_cards: int = 1,
    skus: Sequence[str] | None = None,
) -> KanbanSizing:
    """Cards and per-period signals of each item's kanban loop (formulas in the module docstring).

    `gross`: items × periods requirements (≥ 0); `lead_time_periods`, `lot_size`, `container_qty` (NaN or None:
    one period of demand rounded up to the lot size): a number or one per item; `safety_factor` α ≥ 0;
    `min_cards` ≥ 1: the fewest cards of a loop with demand; `skus` names the items in error messages.
    """
    g = np.asarray(gross, dtype=float)
    if g.ndim != 2:
        raise ValueError(f"gross requirements must be items × periods (2-D); got {g.ndim}-D")
    n, periods = g.shape
    if skus is not None and len(skus) != n:
        raise ValueError(f"skus names {len(skus)} items; gross requirements have {n}")
    if not np.isfinite(safety_factor) or safety_factor < 0:
        raise ValueError(f"safety_factor must be >= 0; got {safety_factor}")
    if int(min_cards) < 1:
        raise ValueError(f"min_cards must be >= 1; got {min_cards}")
    lead = _per_item("lead_time_periods", lead_time_periods, n)
    lot = _per_item("lot_size", lot_size, n)
    given = _per_item("container_qty", np.nan if container_qty is None else container_qty, n)
    _check(g, lead, lot, given, skus)

    rate = g.mean(axis=1) if periods else np.zeros(n)
    defaulted = np.isnan(given)
    week_in_lots = np.maximum(lot, np.ceil(rate / lot - _EPS) * lot)
    container = np.where(defaulted, week_in_lots, given)

    needed = np.ceil(rate * lead * (1.0 + safety_factor) / container - _EPS)
    cards = np.where(rate > 0, np.maximum(needed, int(min_cards)), 0).astype(np.int64)

    emptied = np.floor(np.cumsum(g, axis=1) / container[:, None] + _EPS)
    signals = np.diff(emptied, axis=1, prepend=0.0).astype(np.int64)
    return KanbanSizing(rate, lead, container, defaulted, cards, signals, float(safety_factor))
