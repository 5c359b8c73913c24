"""MRP exception messages with the ids involved and the money at stake (qty × unit_cost of the item).

Public interface
- `exception_messages(result) -> DataFrame[kind, sku, ref, date, new_date, qty, money, end_sku, end_ids, message]`,
  ranked by money at stake (largest first).
- `KINDS`: the message kinds.

Kinds
- `expedite`: a planned order is needed before it can arrive: its release would fall before the plan date.
- `past_due`: an open order was due before the plan date and is still open.
- `reschedule_in` / `reschedule_out`: an open order arrives later / earlier than the period it is first needed in
  (FIFO of on hand and open orders against safety stock and gross requirements).
- `cancel`: an open order serves no requirement in the horizon.
- `blocked_order`: a customer order (a demand row whose id is not `forecast`) is pegged to supply of this item
  that can only arrive after it is needed (`ref` is the order id, `end_sku` the ordered item).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.mrp.inputs import DEFAULT_DEMAND_ID

if TYPE_CHECKING:
    from optimizer.mrp.engine import MrpResult

__all__ = ["COLUMNS", "KINDS", "exception_messages"]

KINDS = ("expedite", "past_due", "reschedule_in", "reschedule_out", "cancel", "blocked_order")
COLUMNS = ["kind", "sku", "ref", "date", "new_date", "qty", "money", "end_sku", "end_ids", "message"]


def _fmt(date: pd.Timestamp) -> str:
    return f"{date:%Y-%m-%d}"


def _expedite(result: MrpResult) -> pd.DataFrame:
    late = result.order_expedite > 0
    inputs = result.inputs
    item, due = result.order_item[late], result.order_period[late]
    qty, periods_late = result.order_qty[late], result.order_expedite[late]
    labels = pd.Series(inputs.periods.strftime("%Y-%m-%d"), dtype=object).to_numpy()
    due_label = pd.Series(labels[due], dtype=object)
    lead = pd.Series(inputs.lead_time[item]).astype(str).astype(object)
    # messages are built column-wise (hundreds of thousands of expedited orders on large plans)
    message = (
        "needed " + due_label + " but lead time " + lead + " periods puts the release "
        + pd.Series(periods_late).astype(str).astype(object) + " period(s) before the plan date"
    )  # fmt: skip
    return pd.DataFrame(
        {
            "kind": "expedite",
            "sku": inputs.skus[item],
            "ref": ("planned " + due_label).to_numpy(),
            "date": inputs.periods[due],
            "new_date": inputs.periods[np.minimum(inputs.lead_time[item], inputs.n_periods - 1)],
            "qty": qty,
            "money": qty * inputs.unit_cost[item],
            "message": message.to_numpy(),
        }
    )


def _need_periods(result: MrpResult) -> np.ndarray:
    """First period each open order (in the horizon) is needed in, −1 when it serves nothing (cancel).

    FIFO of on hand and the open orders (by due period, then file order) against safety stock and gross
    requirements: order k is first needed where cumulative requirements SS + Σ_{τ≤t} gross exceed the supply ahead
    of it (on hand + earlier open orders)."""
    inputs = result.inputs
    t_count = inputs.n_periods
    need_periods = np.full(len(inputs.open_id), -1)
    rows = np.flatnonzero(inputs.open_period < t_count)
    if rows.size == 0:
        return need_periods
    rows = rows[np.lexsort((rows, np.maximum(inputs.open_period[rows], 0), inputs.open_item[rows]))]
    item, qty = inputs.open_item[rows], inputs.open_qty[rows]
    before = pd.Series(qty).groupby(item, sort=False).cumsum().to_numpy() - qty  # earlier open orders of the item
    ahead = inputs.on_hand[item] + before
    required = inputs.safety_stock[item, None] + np.cumsum(result.gross[item], axis=1)
    first = (required <= ahead[:, None] + 1e-9 * np.maximum(1.0, ahead[:, None])).sum(axis=1)
    need_periods[rows] = np.where(first >= t_count, -1, first)
    return need_periods


def _open_orders(result: MrpResult) -> pd.DataFrame:
    inputs = result.inputs
    if len(inputs.open_id) == 0:
        return pd.DataFrame(columns=COLUMNS)
    need = _need_periods(result)
    due = inputs.open_period
    in_horizon = due < inputs.n_periods
    kinds = np.full(len(due), "", dtype=object)
    kinds[in_horizon & (need < 0)] = "cancel"
    kinds[in_horizon & (need >= 0) & (need < np.maximum(due, 0))] = "reschedule_in"
    kinds[in_horizon & (need >= 0) & (need > np.maximum(due, 0))] = "reschedule_out"
    frames = []
    money = inputs.open_qty * inputs.unit_cost[inputs.open_item]
    moved = kinds != ""
    new_date = inputs.periods[np.clip(need, 0, inputs.n_periods - 1)]
    frames.append(
        pd.DataFrame(
            {
                "kind": kinds[moved],
                "sku": inputs.skus[inputs.open_item[moved]],
                "ref": inputs.open_id[moved],
                "date": pd.DatetimeIndex(inputs.open_due[moved]),
                "new_date": pd.Series(new_date[moved]).where(kinds[moved] != "cancel"),
                "qty": inputs.open_qty[moved],
                "money": money[moved],
            }
        )
    )
    past = due < 0
    frames.append(
        pd.DataFrame(
            {
                "kind": "past_due",
                "sku": inputs.skus[inputs.open_item[past]],
                "ref": inputs.open_id[past],
                "date": pd.DatetimeIndex(inputs.open_due[past]),
                "new_date": pd.NaT,
                "qty": inputs.open_qty[past],
                "money": money[past],
            }
        )
    )
    out = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[0]
    text = {
        "cancel": "open order {ref} due {date} serves no requirement in the horizon: cancel it",
        "reschedule_in": "open order {ref} due {date} is needed {new}: bring it in",
        "reschedule_out": "open order {ref} due {date} is first needed {new}: push it out",
        "past_due": "open order {ref} was due {date}, before the plan date: confirm a new date",
    }
    out["message"] = [
        text[k].format(ref=r, date=_fmt(d), new=_fmt(nd) if pd.notna(nd) else "")
        for k, r, d, nd in zip(out["kind"], out["ref"], out["date"], out["new_date"], strict=True)
    ]
    return out


def _blocked(result: MrpResult) -> pd.DataFrame:
    pegging = result.pegging
    inputs = result.inputs
    if pegging is None or pegging.late.empty:
        return pd.DataFrame(columns=COLUMNS)
    coo = pegging.late_pegging.tocoo()
    n_d = len(inputs.demand_qty)
    customer = coo.col < n_d
    customer[customer] = inputs.demand_id[coo.col[customer]] != DEFAULT_DEMAND_ID
    if not customer.any():
        return pd.DataFrame(columns=COLUMNS)
    late = pegging.late.iloc[coo.row[customer]]
    d = coo.col[customer]
    frame = pd.DataFrame(
        {
            "item": late["item"].to_numpy(),
            "arrival": late["arrival"].to_numpy(),
            "order": inputs.demand_id[d],
            "end_item": inputs.demand_item[d],
            "end_period": inputs.demand_period[d],
            "qty": coo.data[customer],
        }
    )
    frame["needed"] = late["req_period"].to_numpy()
    grouped = frame.groupby(["item", "order", "end_item", "end_period"], as_index=False).agg(
        qty=("qty", "sum"), arrival=("arrival", "max"), needed=("needed", "min")
    )
    needed = inputs.periods[grouped["needed"].to_numpy()]
    item = grouped["item"].to_numpy()
    arrival = inputs.periods[np.minimum(grouped["arrival"].to_numpy(), inputs.n_periods - 1)]
    end_dates = inputs.periods[grouped["end_period"].to_numpy()]
    skus, end_skus = inputs.skus[item], inputs.skus[grouped["end_item"].to_numpy()]
    return pd.DataFrame(
        {
            "kind": "blocked_order",
            "sku": skus,
            "ref": grouped["order"].to_numpy(),
            "date": end_dates,
            "new_date": arrival,
            "qty": grouped["qty"].to_numpy(),
            "money": grouped["qty"].to_numpy() * inputs.unit_cost[item],
            "end_sku": end_skus,
            "end_ids": grouped["order"].to_numpy(),
            "message": [
                f"customer order {o} for {e} due {_fmt(d)} waits for {q:g} of {s}: "
                f"needed {_fmt(nd)}, earliest {_fmt(a)}"
                for o, e, d, q, s, nd, a in zip(
                    grouped["order"], end_skus, end_dates, grouped["qty"], skus, needed, arrival, strict=True
                )
            ],
        }
    )


def exception_messages(result: MrpResult) -> pd.DataFrame:
    """Every exception of the plan, ranked by money at stake then kind (see the module docstring)."""
    parts = [p for p in (_expedite(result), _open_orders(result), _blocked(result)) if len(p)]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(parts, ignore_index=True).reindex(columns=COLUMNS)
    rank = pd.Categorical(out["kind"], categories=KINDS, ordered=True)
    out = out.assign(_rank=rank).sort_values(["money", "_rank", "sku", "date"], ascending=[False, True, True, True])
    return out.drop(columns="_rank").reset_index(drop=True)
