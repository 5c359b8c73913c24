"""Invariants every MRP plan must satisfy, counted per rule (0 everywhere = the plan is consistent).

Public interface
- `invariant_violations(result) -> dict[str, int]`: number of violations of each invariant:
  - `balance`: projected on hand = on hand + Σ(scheduled + planned − gross) in every period;
  - `explosion`: gross requirements = independent demand + Σ parents' releases × qty_per / (1 − scrap);
  - `safety_stock`: with each expedited order arriving only when it can (plan date + lead time), projected on hand
    is below safety stock only in periods where the item has an expedite exception due at or before that period;
  - `lot_for_lot`: a lot-for-lot item's planned receipts equal its net requirements;
  - `release_before_plan_date`: planned orders whose release would precede the plan date without an expedite
    exception;
  - `pegging_sum`: planned orders whose pegged quantities do not sum to their quantity (skipped without pegging).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from optimizer.mrp.lot_sizing import LFL

if TYPE_CHECKING:
    from optimizer.mrp.engine import MrpResult

__all__ = ["invariant_violations"]

RTOL = 1e-6


def _close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a - b) <= RTOL * np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))


def invariant_violations(result: MrpResult) -> dict[str, int]:
    """Count the violations of each invariant of the module docstring."""
    inputs = result.inputs
    n, t_count = inputs.n_items, inputs.n_periods
    balance = inputs.on_hand[:, None] + np.cumsum(result.scheduled + result.planned_receipts - result.gross, axis=1)
    gross = np.zeros((n, t_count))
    np.add.at(gross, (inputs.demand_item, inputs.demand_period), inputs.demand_qty)
    periods = np.arange(t_count)
    valid = (periods >= inputs.bom_first[:, None]) & (periods <= inputs.bom_last[:, None])
    np.add.at(
        gross, inputs.bom_component, result.planned_releases[inputs.bom_parent] * inputs.bom_factor[:, None] * valid
    )
    # safety stock with expedited orders arriving at their earliest possible period
    exc = result.exceptions()
    expedite = exc[exc["kind"] == "expedite"]
    flagged = set(zip(expedite["sku"], expedite["date"], strict=True))
    late = result.order_expedite > 0
    moved = result.planned_receipts.copy()
    item, due = result.order_item[late], result.order_period[late]
    moved[item, due] = 0.0
    arrival = np.minimum(inputs.lead_time[item], t_count - 1)
    np.add.at(moved, (item, arrival), result.order_qty[late])
    feasible = inputs.on_hand[:, None] + np.cumsum(result.scheduled + moved - result.gross, axis=1)
    below = feasible < inputs.safety_stock[:, None] - RTOL * np.maximum(1.0, np.abs(feasible))
    first_expedite = np.full(n, t_count)
    np.minimum.at(first_expedite, item, due)
    unexplained = below & (periods[None, :] < first_expedite[:, None])
    lfl = inputs.lot_rule == LFL
    missing = sum((sku, date) not in flagged for sku, date in zip(inputs.skus[item], inputs.periods[due], strict=True))
    counts = {
        "balance": int((~_close(balance, result.projected)).sum()),
        "explosion": int((~_close(gross, result.gross)).sum()),
        "safety_stock": int(unexplained.sum()),
        "lot_for_lot": int((~_close(result.planned_receipts[lfl], result.net[lfl])).sum()),
        "release_before_plan_date": int(missing),
        "pegging_sum": 0,
    }
    pegging = result.pegging
    if pegging is not None:
        sums = np.asarray(pegging.planned.sum(axis=1)).ravel()
        qty = result.order_qty[pegging.order_rows]
        counts["pegging_sum"] = int((~_close(sums, qty)).sum())
        if pegging.order_rows.size == len(result.order_qty):
            counts["pegging_sum"] += int(len(np.unique(pegging.order_rows)) != len(result.order_qty))
    return counts
