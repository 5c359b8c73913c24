"""Multi-sourcing: split each SKU's order across its suppliers by reliability-adjusted landed cost (OR-Tools CP-SAT).

Per offer o (supplier × SKU) the cost of one *ordered* unit is

    adjusted_o = unit_price_o / qty_fill_o + holding_rate × unit_cost × (LT_mean_o + 2·LT_std_o) / 365

— the price of what actually arrives (short deliveries make every delivered unit dearer) plus the carrying cost of
the stock that the offer's lead time and its spread (days, from `optimizer.suppliers`) make us hold. The model, one
CP-SAT model for the whole batch (SKUs are independent, CP-SAT's presolve splits them):

- variables: lots_o ≥ 0 (integer), used_o ∈ {0,1}, short_i ≥ 0 (units of SKU i not sourced, heavily penalized);
- qty_o = lots_o × lot_multiple_o; used_o ⇒ qty_o ≥ moq_o; qty_o ≤ capacity_o × used_o (no capacity = unbounded);
- Σ_o qty_o × qty_fill_o + short_i ≥ required_i (expected delivered units cover the need);
- minimize Σ adjusted_o × qty_o + order_cost_i × used_o + penalty × short_i.

Costs and fill factors are scaled to integers by `SCALE`. Each split carries a one-line explanation.

Before the solver, a vectorized presolve (`single_source`) settles every SKU whose best single offer provably beats
any split; only the rest go to CP-SAT.

Public interface: `SCALE`, `SPLIT_COLUMNS`, `SourcingModel`, `SourcingResult`, `adjusted_unit_cost`, `priced_offers`,
`single_source`, `build_model`, `solve`, `extract`, `split_orders`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

log = logging.getLogger(__name__)

#: integer scaling of costs (currency) and fill factors in the CP-SAT model
SCALE = 1000
#: penalty per unit of unsourced demand, as a multiple of the SKU's highest adjusted cost
SHORT_PENALTY = 100
_MAX_LOTS = 10_000_000

OFFER_COLUMNS = (
    "sku",
    "supplier_id",
    "unit_price",
    "moq",
    "lot_multiple",
    "capacity",
    "qty_fill",
    "lead_time_mean_days",
    "lead_time_std_days",
    "on_time_rate",
)


def adjusted_unit_cost(offers: pd.DataFrame, unit_cost: pd.Series, holding_rate: float | pd.Series) -> pd.Series:
    """Reliability-adjusted landed cost per ordered unit of each offer (see the module docstring)."""
    cost = unit_cost.reindex(offers["sku"]).to_numpy(dtype=float)
    rate = (
        holding_rate.reindex(offers["sku"]).to_numpy(dtype=float)
        if isinstance(holding_rate, pd.Series)
        else holding_rate
    )
    cover_days = offers["lead_time_mean_days"].to_numpy(dtype=float) + 2.0 * offers["lead_time_std_days"].to_numpy(
        dtype=float
    )
    landed = offers["unit_price"].to_numpy(dtype=float) / offers["qty_fill"].to_numpy(dtype=float).clip(1e-3, 1.0)
    return pd.Series(landed + rate * cost * cover_days / 365.0, index=offers.index)


def priced_offers(
    offers: pd.DataFrame,
    reliability_offers: pd.DataFrame,
    unit_cost: pd.Series,
    holding_rate: float,
    demand_per_period: pd.Series,
) -> pd.DataFrame:
    """All offers with their reliability (`optimizer.suppliers`: lead-time points, fill) and adjusted cost; `primary`
    marks each SKU's cheapest adjusted offer among those whose capacity covers the demand per period (any offer when
    none does): its lead time and terms set a bought item's policy and its MRP lead time."""
    rel = reliability_offers.drop(columns=["nominal_lead_time_days"], errors="ignore")
    merged = offers.merge(rel, on=["supplier_id", "sku"], how="left")
    merged["capacity"] = merged.get("capacity_per_period", pd.Series(np.nan, index=merged.index))
    merged["qty_fill"] = merged["qty_fill_rate"].fillna(1.0)
    merged["adjusted"] = adjusted_unit_cost(merged, unit_cost, holding_rate)
    short = merged["capacity"].notna() & (merged["capacity"] < demand_per_period.reindex(merged["sku"]).to_numpy())
    merged["_short"] = short
    merged = merged.sort_values(["sku", "_short", "adjusted", "supplier_id"], kind="stable")
    merged["primary"] = ~merged.duplicated("sku")
    return merged.drop(columns="_short").reset_index(drop=True)


@dataclass
class SourcingModel:
    """A built CP-SAT model and its variables, by offer row (positions of the `offers` frame)."""

    model: cp_model.CpModel
    lots: list[cp_model.IntVar]
    used: list[cp_model.IntVar]
    short: dict[str, cp_model.IntVar]
    offers: pd.DataFrame
    requests: pd.DataFrame


@dataclass
class SourcingResult:
    """Solver outcome: status name, objective and bound (currency), relative gap, wall time (s)."""

    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    solver: cp_model.CpSolver | None = None


def build_model(requests: pd.DataFrame, offers: pd.DataFrame) -> SourcingModel:
    """Build the split model.

    requests: sku, required (units to be delivered), order_cost (per supplier used).
    offers: `OFFER_COLUMNS` + adjusted (cost per ordered unit); capacity NaN = unbounded.
    """
    missing = ({"sku", "required", "order_cost"} - set(requests.columns)) | (
        {*OFFER_COLUMNS, "adjusted"} - set(offers.columns)
    )
    if missing:
        raise ValueError(f"sourcing input lacks column(s) {sorted(missing)}")
    offers = offers[offers["sku"].isin(requests["sku"])].reset_index(drop=True)
    required_of = dict(zip(requests["sku"], requests["required"].astype(float), strict=True))
    sku = offers["sku"].to_numpy(dtype=object)
    supplier = offers["supplier_id"].to_numpy(dtype=object)
    lot = offers["lot_multiple"].to_numpy(dtype=float)
    moq = offers["moq"].to_numpy(dtype=float)
    fill = offers["qty_fill"].to_numpy(dtype=float).clip(1e-3, 1.0)
    cap = offers["capacity"].to_numpy(dtype=float)
    adjusted = offers["adjusted"].to_numpy(dtype=float)
    model = cp_model.CpModel()
    lots: list[cp_model.IntVar] = []
    used: list[cp_model.IntVar] = []
    # Phase 1: per offer, lots and the used flag, MOQ and capacity. No offer needs more lots than would cover the
    # whole requirement alone (plus its MOQ), which keeps the domains small.
    for o in range(len(offers)):
        alone = np.ceil(required_of[sku[o]] / (lot[o] * fill[o]) - 1e-9) + np.ceil(moq[o] / lot[o])
        by_cap = np.floor(cap[o] / lot[o] + 1e-9) if np.isfinite(cap[o]) else np.inf
        max_lots = int(min(_MAX_LOTS, alone, by_cap))
        n = model.new_int_var(0, max(max_lots, 0), f"lots_{supplier[o]}_{sku[o]}")
        y = model.new_bool_var(f"used_{supplier[o]}_{sku[o]}")
        model.add(n == 0).only_enforce_if(~y)
        model.add(n >= int(np.ceil(max(moq[o], lot[o]) / lot[o] - 1e-9))).only_enforce_if(y)
        lots.append(n)
        used.append(y)
    # Phase 2: per SKU, expected delivered units cover the requirement (shortfall allowed, penalized)
    short: dict[str, cp_model.IntVar] = {}
    objective = []
    by_sku = offers.groupby("sku").indices
    for req_sku, req_qty, order_cost in zip(requests["sku"], requests["required"], requests["order_cost"], strict=True):
        required = int(np.ceil(float(req_qty) * SCALE - 1e-6))
        s = model.new_int_var(0, max(required, 0), f"short_{req_sku}")
        short[str(req_sku)] = s
        rows = by_sku.get(req_sku, np.array([], dtype=int))
        model.add(sum(lots[o] * round(lot[o] * fill[o] * SCALE) for o in rows) + s >= required)
        worst = max((float(adjusted[o]) for o in rows), default=1.0)
        objective.append(s * round(SHORT_PENALTY * max(worst, 1.0)))
        for o in rows:
            objective.append(lots[o] * round(adjusted[o] * lot[o] * SCALE))
            objective.append(used[o] * round(float(order_cost) * SCALE))
    # Phase 3: objective (currency × SCALE)
    model.minimize(sum(objective))
    return SourcingModel(model, lots, used, short, offers, requests.reset_index(drop=True))


def solve(built: SourcingModel, time_limit: float = 10.0, workers: int = 2, seed: int = 0) -> SourcingResult:
    """Solve with CP-SAT; status, objective, bound and gap in currency."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    started = time.perf_counter()
    status = solver.solve(built.model)
    seconds = time.perf_counter() - started
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return SourcingResult(name, None, None, None, seconds, solver)
    obj = solver.objective_value / SCALE
    bound = solver.best_objective_bound / SCALE
    gap = abs(obj - bound) / max(abs(obj), 1e-9)
    return SourcingResult(name, obj, bound, gap, seconds, solver)


def _explain(row: pd.Series, cheapest: float, n_used: int, capacity_bound: bool) -> str:
    lt = f"lead time {row.lead_time_mean_days:.0f}±{row.lead_time_std_days:.0f} d"
    why = "lowest reliability-adjusted cost" if row.adjusted <= cheapest + 1e-9 else "next-best adjusted cost"
    if capacity_bound:
        why += f"; capacity {row.capacity:g} reached"
    if n_used > 1 and row.adjusted <= cheapest + 1e-9 and not capacity_bound:
        why += "; MOQ/lot rounding leaves the rest to another offer"
    return (
        f"{row.supplier_id}: {row.qty:g} units ({row.lots:g} × lot {row.lot_multiple:g}) at {row.unit_price:.4g}, "
        f"adjusted {row.adjusted:.4g}/unit (qty fill {row.qty_fill:.0%}, on time {row.on_time_rate:.0%}, {lt}) — {why}"
    )


def extract(built: SourcingModel, result: SourcingResult) -> pd.DataFrame:
    """One row per used offer: sku, supplier_id, lots, qty, unit_price, adjusted, expected_delivered, explanation;
    plus a row with supplier_id None for any unsourced shortfall."""
    columns = SPLIT_COLUMNS
    if result.solver is None or result.objective is None:
        return pd.DataFrame(columns=columns)
    solver = result.solver
    offers = built.offers.copy()
    offers["lots"] = [solver.value(v) for v in built.lots]
    offers["qty"] = offers["lots"] * offers["lot_multiple"]
    offers["expected_delivered"] = offers["qty"] * offers["qty_fill"]
    cheapest = offers.groupby("sku")["adjusted"].transform("min")
    chosen = offers[offers["lots"] > 0].copy()
    n_used = chosen.groupby("sku")["sku"].transform("size")
    cap_bound = chosen["capacity"].notna() & (chosen["qty"] >= chosen["capacity"] - chosen["lot_multiple"] + 1e-9)
    chosen["explanation"] = [
        _explain(r, c, int(k), bool(b))
        for (_, r), c, k, b in zip(chosen.iterrows(), cheapest[chosen.index], n_used, cap_bound, strict=True)
    ]
    rows = [chosen[columns]]
    shortfall = [
        {
            "sku": sku,
            "supplier_id": None,
            "lots": 0,
            "qty": 0.0,
            "unit_price": np.nan,
            "adjusted": np.nan,
            "expected_delivered": 0.0,
            "explanation": f"{solver.value(v) / SCALE:g} units cannot be sourced within MOQ/capacity limits",
        }
        for sku, v in built.short.items()
        if solver.value(v) > 0
    ]
    if shortfall:
        rows.append(pd.DataFrame(shortfall))
    return pd.concat(rows, ignore_index=True) if len(rows) > 1 else rows[0].reset_index(drop=True)


SPLIT_COLUMNS = ["sku", "supplier_id", "lots", "qty", "unit_price", "adjusted", "expected_delivered", "explanation"]


def single_source(requests: pd.DataFrame, offers: pd.DataFrame) -> pd.DataFrame:
    """SKUs whose best single offer is provably optimal, with that offer (a presolve, vectorized).

    Any split over two or more offers costs at least min_o(adjusted_o / qty_fill_o) × required + 2 × order_cost;
    when the cheapest feasible single offer (whole lots, MOQ, capacity) costs no more, it is optimal.
    """
    o = offers.merge(requests[["sku", "required", "order_cost"]], on="sku")
    if o.empty:
        return pd.DataFrame(columns=SPLIT_COLUMNS)
    lot = o["lot_multiple"].to_numpy(dtype=float)
    fill = o["qty_fill"].to_numpy(dtype=float).clip(1e-3, 1.0)
    lots = np.maximum(
        np.ceil(o["required"].to_numpy(dtype=float) / (lot * fill) - 1e-9), np.ceil(o["moq"] / lot - 1e-9)
    )
    lots = np.maximum(lots, 1.0)
    qty = lots * lot
    feasible = o["capacity"].isna().to_numpy() | (qty <= o["capacity"].fillna(np.inf).to_numpy() + 1e-9)
    o = o.assign(lots=lots, qty=qty, cost=np.where(feasible, o["adjusted"] * qty + o["order_cost"], np.inf))
    o["per_delivered"] = o["adjusted"] / fill
    bound = (
        o.groupby("sku")["per_delivered"].min() * requests.set_index("sku")["required"]
        + 2 * requests.set_index("sku")["order_cost"]
    )
    best = o.sort_values(["sku", "cost", "supplier_id"], kind="stable").drop_duplicates("sku")
    best = best[np.isfinite(best["cost"]) & (best["cost"] <= bound.reindex(best["sku"]).to_numpy() + 1e-9)].copy()
    best["expected_delivered"] = best["qty"] * best["qty_fill"]
    best["explanation"] = [
        f"{r.supplier_id}: {r.qty:g} units ({r.lots:g} × lot {r.lot_multiple:g}) at {r.unit_price:.4g}, adjusted "
        f"{r.adjusted:.4g}/unit (qty fill {r.qty_fill:.0%}, on time {r.on_time_rate:.0%}, lead time "
        f"{r.lead_time_mean_days:.0f}±{r.lead_time_std_days:.0f} d) — single-sourced: no split can cost less"
        for r in best.itertuples(index=False)
    ]
    return best[SPLIT_COLUMNS].reset_index(drop=True)


def split_orders(
    requests: pd.DataFrame, offers: pd.DataFrame, time_limit: float = 10.0, workers: int = 2
) -> tuple[pd.DataFrame, SourcingResult]:
    """Presolve (`single_source`), then build, solve and extract the rest (see `build_model` for the inputs)."""
    if requests.empty:
        return pd.DataFrame(columns=SPLIT_COLUMNS), SourcingResult("EMPTY", 0.0, 0.0, 0.0, 0.0)
    single = single_source(requests, offers)
    rest = requests[~requests["sku"].isin(single["sku"])]
    if rest.empty:
        return single, SourcingResult("OPTIMAL", None, None, 0.0, 0.0)
    built = build_model(rest, offers)
    result = solve(built, time_limit=time_limit, workers=workers)
    log.info(
        "sourcing: %d SKUs single-sourced by presolve, %d solved: %s, objective %s, gap %s, %.2f s",
        len(single), len(rest), result.status, result.objective, result.gap, result.seconds,
    )  # fmt: skip
    solved = extract(built, result)
    parts = [f for f in (single, solved) if not f.empty]
    return (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=SPLIT_COLUMNS)), result
