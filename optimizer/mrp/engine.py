"""Multi-level MRP: gross-to-net, lot sizing, lead-time offsetting and explosion, one low-level code at a time.

Public interface
- `plan(inputs, options=None) -> MrpResult`: the plan for `MrpInputs`.
- `MrpOptions`: `pegging` (True: peg every planned order to end demands; False: skip; or a list of SKUs: only those
  and their ancestors — bounds the work on very large BOMs).
- `MrpResult`: the planners' grid as items × periods arrays (`gross`, `scheduled`, `projected`, `net`,
  `planned_receipts`, `planned_releases`), the planned orders (`order_item`, `order_period`, `order_release`,
  `order_qty`, `order_expedite`), `record(sku)` (one item's time-phased record as a DataFrame), `planned_orders()`,
  `where_used(sku)`, `components(sku)`, `pegging` and `exceptions()`.

Items are planned in increasing low-level code; within a code every item is netted and lot-sized at once (numpy
over items × periods), then its releases are exploded to the components with one sparse product. A planned
receipt due in period t is released in t − lead time; a release that would fall before the plan date (period 0) is
released at the plan date and flagged for expediting (its dependent demand falls in period 0).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from optimizer.mrp.explode import BomLevels
from optimizer.mrp.inputs import MrpInputs
from optimizer.mrp.lot_sizing import net_and_size
from optimizer.mrp.pegging import Pegging, peg

__all__ = ["RECORD_ROWS", "MrpOptions", "MrpResult", "plan"]

log = logging.getLogger(__name__)

RECORD_ROWS = (
    "gross_requirements",
    "scheduled_receipts",
    "projected_on_hand",
    "net_requirements",
    "planned_receipts",
    "planned_releases",
)


@dataclass(frozen=True)
class MrpOptions:
    """`pegging`: True (all planned orders), False (none) or SKUs whose orders (and their ancestors') are pegged;
    `max_pegging_entries`: bound on the (order, end demand) pairs pegging may hold (`PeggingTooLarge` beyond)."""

    pegging: bool | Sequence[str] = True
    max_pegging_entries: int | None = 50_000_000


@dataclass
class MrpResult:
    """The plan: items × periods arrays (rows follow `inputs.skus`, columns `inputs.periods`) and planned orders."""

    inputs: MrpInputs
    options: MrpOptions
    gross: np.ndarray
    scheduled: np.ndarray
    projected: np.ndarray
    net: np.ndarray
    planned_receipts: np.ndarray
    planned_releases: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)

    # --- planned orders (one per item and due period with a planned receipt) ---------------------------------
    @cached_property
    def _orders(self) -> tuple[np.ndarray, np.ndarray]:
        item, period = np.nonzero(self.planned_receipts)
        return item.astype(np.int64), period.astype(np.int64)

    @property
    def order_item(self) -> np.ndarray:
        return self._orders[0]

    @property
    def order_period(self) -> np.ndarray:
        return self._orders[1]

    @cached_property
    def order_qty(self) -> np.ndarray:
        return self.planned_receipts[self.order_item, self.order_period]

    @cached_property
    def order_release(self) -> np.ndarray:
        return np.maximum(self.order_period - self.inputs.lead_time[self.order_item], 0)

    @cached_property
    def order_expedite(self) -> np.ndarray:
        """Periods by which each planned order would have had to be released before the plan date (0 = on time)."""
        return np.maximum(self.inputs.lead_time[self.order_item] - self.order_period, 0)

    def planned_orders(self) -> pd.DataFrame:
        """sku, make_or_buy, release_date, due_date, qty (+ expedite_periods), by sku and due date."""
        inputs, item = self.inputs, self.order_item
        return pd.DataFrame(
            {
                "sku": inputs.skus[item],
                "make_or_buy": np.where(inputs.make[item], "make", "buy"),
                "release_date": inputs.periods[self.order_release],
                "due_date": inputs.periods[self.order_period],
                "qty": self.order_qty,
                "expedite_periods": self.order_expedite,
            }
        )

    # --- lookups ------------------------------------------------------------------------------------------------
    @cached_property
    def _index(self) -> pd.Index:
        return pd.Index(self.inputs.skus)

    def item_index(self, sku: str) -> int:
        """Row of `sku`; KeyError naming it when unknown."""
        pos = self._index.get_indexer(pd.Index([sku]))[0]
        if pos < 0:
            raise KeyError(f"SKU {sku!r} is not in the plan's items")
        return int(pos)

    def record(self, sku: str) -> pd.DataFrame:
        """The item's time-phased MRP record: one row per RECORD_ROWS entry, one column per period."""
        i = self.item_index(sku)
        arrays = (self.gross, self.scheduled, self.projected, self.net, self.planned_receipts, self.planned_releases)
        return pd.DataFrame(
            np.vstack([a[i] for a in arrays]), index=pd.Index(RECORD_ROWS, name=sku), columns=self.inputs.periods
        )

    def _bom_lines(self, mask: np.ndarray) -> pd.DataFrame:
        inputs = self.inputs
        return pd.DataFrame(
            {
                "parent_sku": inputs.skus[inputs.bom_parent[mask]],
                "component_sku": inputs.skus[inputs.bom_component[mask]],
                "qty_per_with_scrap": inputs.bom_factor[mask],
                "valid_from": inputs.periods[np.clip(inputs.bom_first[mask], 0, inputs.n_periods - 1)],
                "valid_to": inputs.periods[np.clip(inputs.bom_last[mask], 0, inputs.n_periods - 1)],
            }
        )

    def where_used(self, sku: str) -> pd.DataFrame:
        """The BOM lines that use `sku` (its parents)."""
        return self._bom_lines(self.inputs.bom_component == self.item_index(sku))

    def components(self, sku: str) -> pd.DataFrame:
        """The BOM lines of `sku` (its components)."""
        return self._bom_lines(self.inputs.bom_parent == self.item_index(sku))

    # --- pegging and exceptions ---------------------------------------------------------------------------------
    @cached_property
    def pegging(self) -> Pegging | None:
        """End-demand pegging per `options.pegging` (None when switched off)."""
        choice = self.options.pegging
        if choice is False:
            return None
        items = None if choice is True else np.array([self.item_index(s) for s in choice], dtype=np.int64)
        return peg(self.inputs, self, items, self.options.max_pegging_entries)

    def exceptions(self) -> pd.DataFrame:
        """Exception messages ranked by money at stake (see `optimizer.mrp.exceptions`)."""
        from optimizer.mrp.exceptions import exception_messages

        return exception_messages(self)


def plan(inputs: MrpInputs, options: MrpOptions | None = None) -> MrpResult:
    """Plan every item level by level; see the module docstring."""
    options = options or MrpOptions()
    n, t_count = inputs.n_items, inputs.n_periods
    gross = np.zeros((n, t_count))
    np.add.at(gross, (inputs.demand_item, inputs.demand_period), inputs.demand_qty)
    scheduled = np.zeros((n, t_count))
    in_horizon = inputs.open_period < t_count
    np.add.at(
        scheduled,
        (inputs.open_item[in_horizon], np.maximum(inputs.open_period[in_horizon], 0)),
        inputs.open_qty[in_horizon],
    )
    receipts = np.zeros((n, t_count))
    releases = np.zeros((n, t_count))
    projected = np.zeros((n, t_count))
    bom = BomLevels.build(inputs)
    order = np.argsort(inputs.level, kind="stable")
    bounds = np.searchsorted(inputs.level[order], np.arange(int(inputs.level.max(initial=0)) + 2))
    for level in range(len(bounds) - 1):
        rows = order[bounds[level] : bounds[level + 1]]
        if rows.size == 0:
            continue
        p, poh = net_and_size(
            gross[rows],
            scheduled[rows],
            inputs.on_hand[rows],
            inputs.safety_stock[rows],
            inputs.lot_rule[rows],
            inputs.lot_size[rows],
            inputs.moq[rows],
            inputs.poq_periods[rows],
            inputs.order_cost[rows],
            inputs.holding_cost[rows],
        )
        receipts[rows], projected[rows] = p, poh
        item, due = np.nonzero(p)
        release = np.maximum(due - inputs.lead_time[rows][item], 0)
        releases[rows] = np.bincount(item * t_count + release, p[item, due], minlength=len(rows) * t_count).reshape(
            len(rows), t_count
        )
        bom.explode(level, releases, gross)
    available = projected - receipts
    net = np.maximum(inputs.safety_stock[:, None] - available, 0.0)
    net[net < 1e-9] = 0.0
    log.info("MRP planned %d items over %d periods, %d levels", n, t_count, len(bounds) - 1)
    return MrpResult(inputs, options, gross, scheduled, projected, net, receipts, releases)
