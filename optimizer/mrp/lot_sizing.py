"""Gross-to-net and lot sizing for many items at once (rows = items, columns = periods), numpy only.

Public interface
- `net_and_size(gross, scheduled, on_hand, safety_stock, rule, lot_size, moq, poq_periods, order_cost,
  holding_cost) -> (planned_receipts, projected_on_hand)`: planned receipts per item and period under each item's
  lot rule so that projected on hand never falls below safety stock (receipts assumed on time).
- `lot_for_lot(available, safety_stock)`: the closed form of lot-for-lot netting.
- `wagner_whitin(net, order_cost, holding_cost)`: the optimal uncapacitated lot sizes, vectorized over items.

Projected on hand at the end of period t is on_hand + Σ_{τ≤t}(scheduled + planned − gross). Lot rules (LOT_RULES):
lot-for-lot orders exactly the shortfall; fixed orders whole multiples of `lot_size`; moq orders at least `moq`,
rounded up to a multiple of `lot_size` (`optimizer.policy.round_to_lot`); poq orders the shortfall of the next
`poq_periods` periods; ww solves Wagner & Whitin (1958) on the lot-for-lot net requirements.
"""

from __future__ import annotations

import numpy as np

from optimizer.policy import round_to_lot

__all__ = ["lot_for_lot", "net_and_size", "wagner_whitin"]

EPS = 1e-9
WW_CHUNK = 1024  # items per Wagner–Whitin block (1024 × 104² segment costs = 89 MB)
LFL, FIXED, MOQ, POQ, WW = range(5)


def lot_for_lot(available: np.ndarray, safety_stock: np.ndarray) -> np.ndarray:
    """Lot-for-lot planned receipts from `available` (on hand + cumulative scheduled − gross, without planned
    receipts; items × periods) and `safety_stock` (per item): the cumulative receipts needed by period t are the
    largest shortfall below safety stock seen so far, max_{τ≤t}(SS − available_τ)⁺, so receipts are its increments.
    Reference: Orlicky (1975), *Material Requirements Planning*, gross-to-net logic."""
    shortfall = np.maximum(safety_stock[:, None] - available, 0.0)
    cumulative = np.maximum.accumulate(shortfall, axis=1)
    receipts = np.diff(cumulative, axis=1, prepend=0.0)
    receipts[receipts < EPS] = 0.0
    return receipts


def wagner_whitin(net: np.ndarray, order_cost: np.ndarray, holding_cost: np.ndarray) -> np.ndarray:
    """Optimal lot sizes for net requirements `net` (items × periods), setup cost `order_cost` per order and
    `holding_cost` per unit and period (per item). Dynamic program F(j) = min_{i≤j} F(i−1) + K·[Σ_{i..j} N > 0]
    + h·Σ_{t=i..j}(t−i)·N_t, vectorized over items and i; O(T²) array work. Reference: Wagner & Whitin (1958),
    "Dynamic version of the economic lot size model", Management Science 5(1):89–96."""
    m, t_count = net.shape
    if m > WW_CHUNK:  # bound the items × T × T segment costs held at once
        return np.concatenate(
            [
                wagner_whitin(net[k : k + WW_CHUNK], order_cost[k : k + WW_CHUNK], holding_cost[k : k + WW_CHUNK])
                for k in range(0, m, WW_CHUNK)
            ]
        )
    if m == 0:
        return np.zeros_like(net)
    periods = np.arange(t_count, dtype=float)
    cum_n = np.concatenate([np.zeros((m, 1)), np.cumsum(net, axis=1)], axis=1)  # cum_n[:, k] = Σ_{t<k} N
    cum_tn = np.concatenate([np.zeros((m, 1)), np.cumsum(net * periods, axis=1)], axis=1)
    # segment[:, j, i]: cost of one order in period i covering periods i..j (i ≤ j)
    covered = cum_n[:, 1:, None] - cum_n[:, None, :t_count]
    holding = (cum_tn[:, 1:, None] - cum_tn[:, None, :t_count]) - periods[None, None, :] * covered
    segment = order_cost[:, None, None] * (covered > EPS) + holding_cost[:, None, None] * holding
    del covered, holding
    best = np.zeros((m, t_count + 1))  # best[:, k] = cost of covering periods < k
    choice = np.zeros((m, t_count), dtype=np.int64)
    rows = np.arange(m)
    for j in range(t_count):
        cost = best[:, : j + 1] + segment[:, j, : j + 1]
        pick = np.argmin(cost, axis=1)
        choice[:, j] = pick
        best[:, j + 1] = cost[rows, pick]
    receipts = np.zeros_like(net)
    end = np.full(m, t_count - 1)
    while (active := end >= 0).any():
        r, last = rows[active], end[active]
        first = choice[r, last]
        receipts[r, first] = cum_n[r, last + 1] - cum_n[r, first]
        end[active] = first - 1
    receipts[receipts < EPS] = 0.0
    return receipts


def _sequential(
    available: np.ndarray,
    safety_stock: np.ndarray,
    rule: np.ndarray,
    lot_size: np.ndarray,
    moq: np.ndarray,
    poq_periods: np.ndarray,
) -> np.ndarray:
    """Fixed, MOQ + multiple and POQ: one vectorized step per period over all their items."""
    m, t_count = available.shape
    shortfall = safety_stock[:, None] - available
    window_need = shortfall.copy()  # POQ: largest shortfall over the next poq_periods periods
    for k in range(1, int(poq_periods.max(initial=1))):
        ahead = np.full_like(shortfall, -np.inf)
        ahead[:, : t_count - k] = shortfall[:, k:]
        window_need = np.where((k < poq_periods)[:, None], np.maximum(window_need, ahead), window_need)
    receipts = np.zeros_like(available)
    cumulative = np.zeros(m)
    fixed, moq_rule, poq = rule == FIXED, rule == MOQ, rule == POQ
    for t in range(t_count):
        need = shortfall[:, t] - cumulative
        short = need > EPS
        if not short.any():
            continue
        qty = np.where(
            fixed,
            np.ceil(need / lot_size - EPS) * lot_size,
            np.where(moq_rule, round_to_lot(need, moq, lot_size, integer=False), window_need[:, t] - cumulative),
        )
        qty = np.where(short, np.where(poq, np.maximum(qty, need), qty), 0.0)
        receipts[:, t] = qty
        cumulative += qty
    return receipts


def net_and_size(
    gross: np.ndarray,
    scheduled: np.ndarray,
    on_hand: np.ndarray,
    safety_stock: np.ndarray,
    rule: np.ndarray,
    lot_size: np.ndarray,
    moq: np.ndarray,
    poq_periods: np.ndarray,
    order_cost: np.ndarray,
    holding_cost: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Planned receipts and projected on hand (items × periods) for items with their own lot rules."""
    available = on_hand[:, None] + np.cumsum(scheduled - gross, axis=1)
    receipts = lot_for_lot(available, safety_stock)
    seq = (rule == FIXED) | (rule == MOQ) | (rule == POQ)
    if seq.any():
        receipts[seq] = _sequential(
            available[seq], safety_stock[seq], rule[seq], lot_size[seq], moq[seq], poq_periods[seq]
        )
    ww = rule == WW
    if ww.any():
        receipts[ww] = wagner_whitin(receipts[ww], order_cost[ww], holding_cost[ww])
    return receipts, available + np.cumsum(receipts, axis=1)
