"""Pegging: which end-item demands each supply of each item serves, FIFO per item, propagated level by level.

Public interface
- `fifo_allocate(req_item, req_qty, sup_item, sup_qty) -> (req_index, sup_index, qty)`: first-in first-out
  matching of supply elements to requirement elements of the same item (both in time order within an item).
- `peg(inputs, plan, items=None) -> Pegging`: end-demand pegging of every planned order (and of on hand and open
  orders), optionally only for `items` and what they need (their ancestors in the BOM).
- `Pegging`: the sparse supply × end-demand matrix and the late allocations (shortages), with `planned_orders()`
  as a long frame.

End demands are the independent demand rows (end sku, date, id) plus, per item, its safety stock and its excess
(stock left at the horizon end, e.g. from lot sizes). A planned order's pegged quantities therefore sum to its
quantity. Each requirement of an item is one element: its safety stock (first), its independent demand rows and
one dependent element per parent planned order and BOM line (qty = parent quantity × qty_per / (1 − scrap), at the
parent's release), the latter inheriting the parent order's pegging per unit. Supplies are on hand, open orders
(past due counts as period 0) and planned orders, matched FIFO. The matrices are scipy.sparse; their size grows
with how widely components are shared, which `items=` bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

if TYPE_CHECKING:
    from optimizer.mrp.engine import MrpResult
    from optimizer.mrp.inputs import MrpInputs

__all__ = ["Pegging", "PeggingTooLarge", "fifo_allocate", "peg"]

TOL = 1e-7  # quantities below this are no supply or requirement
SEGMENT_RTOL = 1e-11  # overlaps shorter than this share of the cumulative quantity are rounding noise
SAFETY_STOCK, EXCESS = "safety stock", "excess"


class PeggingTooLarge(ValueError):
    """Full end-demand pegging would hold more entries than allowed (widely shared components)."""


def _group_cumsum(item: np.ndarray, qty: np.ndarray) -> np.ndarray:
    return pd.Series(qty).groupby(item, sort=False).cumsum().to_numpy()


def fifo_allocate(
    req_item: np.ndarray, req_qty: np.ndarray, sup_item: np.ndarray, sup_qty: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FIFO match per item: elements are grouped by item (contiguous, any item order, same order in both lists)
    and in time order within an item; each item's supply and requirement totals must be equal. Returns the
    requirement index, supply index and quantity of every overlap of [cum_before, cum_after) intervals."""
    n_req, n_sup = len(req_qty), len(sup_qty)
    items = np.concatenate([req_item, sup_item, np.unique(np.concatenate([req_item, sup_item]))])
    values = np.concatenate(
        [_group_cumsum(req_item, req_qty), _group_cumsum(sup_item, sup_qty), np.zeros(len(items) - n_req - n_sup)]
    )
    is_req = np.zeros(len(items), dtype=np.int64)
    is_req[:n_req] = 1
    is_sup = np.zeros(len(items), dtype=np.int64)
    is_sup[n_req : n_req + n_sup] = 1
    rank = np.zeros(len(items), dtype=np.int64)
    rank[n_req + n_sup :] = -1  # each item's start event sorts before its zero-length elements
    order = np.lexsort((rank, values, items))
    items, values = items[order], values[order]
    req_at = np.cumsum(is_req[order])  # requirement elements ended up to and including this event
    sup_at = np.cumsum(is_sup[order])
    # the item's first requirement/supply element index is the count ended before the item's start event
    length = np.diff(values)
    same = items[1:] == items[:-1]
    keep = same & (length > SEGMENT_RTOL * np.maximum(1.0, np.abs(values[1:])))
    r, s = req_at[:-1][keep], sup_at[:-1][keep]
    keep2 = (r < n_req) & (s < n_sup)
    return r[keep2], s[keep2], length[keep][keep2]


@dataclass(frozen=True)
class Pegging:
    """End-demand pegging. `columns` describes the end-demand columns (end_sku, end_date, end_id) of `planned`
    (planned orders × columns, in the plan's planned-order order, quantities in the supplying item's units);
    `order_rows` maps each computed row to the plan's planned-order index. `late` lists allocations where the
    supply can arrive only after the requirement (item, req_period, sup_period, qty, column-weighted sparse rows in
    `late_pegging`)."""

    columns: pd.DataFrame
    planned: sp.csr_matrix
    order_rows: np.ndarray
    late: pd.DataFrame
    late_pegging: sp.csr_matrix

    def planned_orders(self, plan: MrpResult) -> pd.DataFrame:
        """Long pegging of planned orders: sku, due_date, qty, end_sku, end_date, end_id."""
        coo = self.planned.tocoo()
        order = self.order_rows[coo.row]
        cols = self.columns.iloc[coo.col]
        frame = pd.DataFrame(
            {
                "sku": plan.inputs.skus[plan.order_item[order]],
                "due_date": plan.inputs.periods[plan.order_period[order]],
                "qty": coo.data,
                "end_sku": cols["end_sku"].to_numpy(),
                "end_date": cols["end_date"].to_numpy(),
                "end_id": cols["end_id"].to_numpy(),
            }
        )
        return frame.sort_values(["sku", "due_date", "end_date", "end_sku"], kind="stable").reset_index(drop=True)


def _ancestors(inputs: MrpInputs, items: np.ndarray) -> np.ndarray:
    """Boolean mask of `items` and every item above them in the BOM (their parents, recursively)."""
    mask = np.zeros(inputs.n_items, dtype=bool)
    mask[items] = True
    frontier = mask.copy()
    while frontier.any():
        lines = frontier[inputs.bom_component]
        parents = inputs.bom_parent[lines]
        new = np.zeros_like(mask)
        new[parents] = True
        frontier = new & ~mask
        mask |= new
    return mask


def _end_columns(inputs: MrpInputs) -> pd.DataFrame:
    n, periods = inputs.n_items, inputs.periods
    skus = inputs.skus
    return pd.DataFrame(
        {
            "end_sku": np.concatenate([skus[inputs.demand_item], skus, skus]),
            "end_date": pd.DatetimeIndex(
                np.concatenate(
                    [periods[inputs.demand_period].to_numpy(), np.full(2 * n, np.datetime64("NaT"), "datetime64[ns]")]
                )
            ),
            "end_id": np.concatenate([inputs.demand_id, np.full(n, SAFETY_STOCK), np.full(n, EXCESS)]).astype(object),
        }
    )


def peg(inputs: MrpInputs, plan: MrpResult, items: np.ndarray | None = None, max_entries: int | None = None) -> Pegging:
    """Peg every planned order of the plan (or of `items` only: item indices) to end demands, level by level.

    `max_entries` bounds the (order, end demand) entries held, pending dependent rows included: beyond it
    `PeggingTooLarge` is raised (peg fewer items instead)."""
    n, n_d = inputs.n_items, len(inputs.demand_qty)
    n_cols = n_d + 2 * n
    scope = np.ones(n, dtype=bool) if items is None else _ancestors(inputs, np.asarray(items, dtype=np.int64))
    lines_by_parent = np.argsort(inputs.bom_parent, kind="stable")
    line_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(inputs.bom_parent, minlength=n), out=line_ptr[1:])
    arrival = np.maximum(plan.order_period, inputs.lead_time[plan.order_item])  # earliest achievable receipt
    pending: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray, sp.csr_matrix]]] = {}
    blocks, block_rows, late_frames, late_rows = [], [], [], []
    open_ok = inputs.open_period < inputs.n_periods
    for level in range(int(inputs.level.max(initial=0)) + 1):
        in_level = scope & (inputs.level == level)
        if not in_level.any():
            continue
        # requirement elements: safety stock, independent demand, dependent parts (item, period, qty, U rows)
        ss_items = np.flatnonzero(in_level & (inputs.safety_stock > 0))
        d_rows = np.flatnonzero(in_level[inputs.demand_item] & (inputs.demand_qty > 0))
        parts = pending.pop(level, [])
        req_item = [ss_items, inputs.demand_item[d_rows], *(p[0] for p in parts)]
        req_period = [np.full(len(ss_items), -1), inputs.demand_period[d_rows], *(p[1] for p in parts)]
        req_qty = [inputs.safety_stock[ss_items], inputs.demand_qty[d_rows], *(p[2] for p in parts)]
        unit_rows = [
            sp.csr_matrix(
                (np.ones(len(ss_items)), (np.arange(len(ss_items)), n_d + ss_items)), shape=(len(ss_items), n_cols)
            ),
            sp.csr_matrix((np.ones(len(d_rows)), (np.arange(len(d_rows)), d_rows)), shape=(len(d_rows), n_cols)),
            *(p[3] for p in parts),
        ]
        # supply elements: on hand, open orders, planned orders (with the period each can really arrive)
        oh_items = np.flatnonzero(in_level & (inputs.on_hand > 0))
        o_rows = np.flatnonzero(open_ok & in_level[inputs.open_item])
        p_rows = np.flatnonzero(in_level[plan.order_item])
        sup_item = np.concatenate([oh_items, inputs.open_item[o_rows], plan.order_item[p_rows]])
        sup_period = np.concatenate(
            [np.full(len(oh_items), -1), np.maximum(inputs.open_period[o_rows], 0), plan.order_period[p_rows]]
        )
        sup_arrival = np.concatenate([sup_period[: len(oh_items) + len(o_rows)], arrival[p_rows]])
        sup_qty = np.concatenate([inputs.on_hand[oh_items], inputs.open_qty[o_rows], plan.order_qty[p_rows]])
        sup_kind = np.repeat([0, 1, 2], [len(oh_items), len(o_rows), len(p_rows)])
        r_item, r_period, r_qty = np.concatenate(req_item), np.concatenate(req_period), np.concatenate(req_qty)
        unit = sp.vstack(unit_rows, format="csr")
        # pad each item so both sides have equal totals: excess stock on the requirement side
        tot_sup = np.bincount(sup_item, sup_qty, minlength=n)
        tot_req = np.bincount(r_item, r_qty, minlength=n)
        pad_items = np.flatnonzero(in_level & (tot_sup - tot_req > TOL))
        pad_short = np.flatnonzero(in_level & (tot_req - tot_sup > TOL))
        r_item = np.concatenate([r_item, pad_items])
        r_period = np.concatenate([r_period, np.full(len(pad_items), inputs.n_periods)])
        r_qty = np.concatenate([r_qty, (tot_sup - tot_req)[pad_items]])
        unit = sp.vstack(
            [
                unit,
                sp.csr_matrix(
                    (np.ones(len(pad_items)), (np.arange(len(pad_items)), n_d + n + pad_items)),
                    shape=(len(pad_items), n_cols),
                ),
            ],
            format="csr",
        )
        sup_item = np.concatenate([sup_item, pad_short])
        sup_period = np.concatenate([sup_period, np.full(len(pad_short), inputs.n_periods)])
        sup_arrival = np.concatenate([sup_arrival, np.full(len(pad_short), inputs.n_periods)])
        sup_qty = np.concatenate([sup_qty, (tot_req - tot_sup)[pad_short]])
        sup_kind = np.concatenate([sup_kind, np.full(len(pad_short), 3)])
        r_order = np.lexsort((r_period, r_item))
        s_order = np.lexsort((sup_kind, sup_period, sup_item))
        ri, si, qty = fifo_allocate(r_item[r_order], r_qty[r_order], sup_item[s_order], sup_qty[s_order])
        ri, si = r_order[ri], s_order[si]
        alloc = sp.csr_matrix((qty, (si, ri)), shape=(len(sup_qty), len(r_qty)))
        pegged = (alloc @ unit).tocsr()
        mine = sup_kind == 2
        order_pegging = pegged[np.flatnonzero(mine)]
        blocks.append(order_pegging)
        block_rows.append(p_rows)
        late = (sup_arrival[si] > r_period[ri]) & (r_period[ri] >= 0) & (r_period[ri] < inputs.n_periods)
        if late.any():
            lr, ls, lq = ri[late], si[late], qty[late]
            late_frames.append(
                pd.DataFrame(
                    {
                        "item": sup_item[ls],
                        "req_period": r_period[lr],
                        "arrival": sup_arrival[ls],
                        "qty": lq,
                        "supply_kind": sup_kind[ls],
                    }
                )
            )
            late_rows.append(sp.diags(lq) @ unit[lr])
        _explode_pegging(inputs, plan, p_rows, order_pegging, lines_by_parent, line_ptr, scope, pending, n_cols)
        held = sum(b.nnz for b in blocks) + sum(p[3].nnz for parts_ in pending.values() for p in parts_)
        if max_entries is not None and held > max_entries:
            raise PeggingTooLarge(
                f"pegging every planned order to its end demands needs more than {max_entries:,} entries by BOM "
                f"level {level} ({held:,}): components are shared by many end items; peg the orders of chosen SKUs "
                "instead (MrpOptions(pegging=[...]), `leanplan mrp --peg SKU`) or switch pegging off"
            )
    planned = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, n_cols))
    late_df = (
        pd.concat(late_frames, ignore_index=True)
        if late_frames
        else pd.DataFrame(columns=["item", "req_period", "arrival", "qty", "supply_kind"])
    )
    late_peg = sp.vstack(late_rows, format="csr") if late_rows else sp.csr_matrix((0, n_cols))
    return Pegging(
        columns=_end_columns(inputs),
        planned=planned,
        order_rows=np.concatenate(block_rows) if block_rows else np.empty(0, dtype=np.int64),
        late=late_df,
        late_pegging=late_peg,
    )


def _explode_pegging(
    inputs: MrpInputs,
    plan: MrpResult,
    p_rows: np.ndarray,
    order_pegging: sp.csr_matrix,
    lines_by_parent: np.ndarray,
    line_ptr: np.ndarray,
    scope: np.ndarray,
    pending: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray, sp.csr_matrix]]],
    n_cols: int,
) -> None:
    """Dependent requirement elements of the components of these planned orders, queued at each component's level
    with the parent order's pegging per unit."""
    o_item = plan.order_item[p_rows]
    counts = line_ptr[o_item + 1] - line_ptr[o_item]
    if counts.sum() == 0:
        return
    local = np.repeat(np.arange(len(p_rows)), counts)
    starts = np.repeat(line_ptr[o_item] - np.cumsum(counts) + counts, counts)
    lines = lines_by_parent[starts + np.arange(len(local))]
    release = plan.order_release[p_rows][local]
    valid = (
        (release >= inputs.bom_first[lines]) & (release <= inputs.bom_last[lines]) & scope[inputs.bom_component[lines]]
    )
    local, lines, release = local[valid], lines[valid], release[valid]
    component = inputs.bom_component[lines]
    qty = plan.order_qty[p_rows][local] * inputs.bom_factor[lines]
    per_unit = sp.diags(1.0 / plan.order_qty[p_rows]) @ order_pegging
    rows = per_unit[local]
    comp_level = inputs.level[component]
    for level in np.unique(comp_level):
        sel = np.flatnonzero(comp_level == level)
        pending.setdefault(int(level), []).append((component[sel], release[sel], qty[sel], rows[sel]))
