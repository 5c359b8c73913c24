"""The replenishment plan: canonical tables (+ a forecast frame, when one is published) → plan lines, supplier
splits, alerts and provenance. Works on frames only; `service.replenishment` loads them from the database and stores
the result.

Steps: demand history → classes (ABC/XYZ/pattern) → supplier reliability → each SKU's primary offer (lowest
reliability-adjusted cost) and its lead-time points → demand over lead time + review (from the forecast's cumulative
quantiles, or the fallback below) → policy (`optimizer.policy`) → inventory position and the order now, split across
suppliers (`optimizer.sourcing`) → projected stockout, days of supply, capital → alerts (`optimizer.alerts`).

**Without a forecast** (or for SKUs the forecast lacks) demand over the protection interval comes from the
fallback `optimizer.empirical`: gamma-shaped cumulative demand with the mean and variance of each SKU's history
since its first demand — the same fallback the replay (`leanplan bench policy`) warms up with.

Edge cases, each with a defined answer and a reason on its line:

- no demand history and no forecast: no stock planned, no order (reorder point 0); an order follows first demand;
- zero lead time: protection is one review period;
- zero unit cost: holding costs nothing, so the policy serves it at the highest level and the order quantity is
  capped at `max_cover_periods` of demand;
- a `buy` SKU without a supplier offer: no policy, no order; an alert-free line says to add an offer;
- a `make` SKU: planned with `production_lead_time_days` (deterministic), lot size and MOQ from the item; its
  order is a production requirement for the schedule, not a purchase.

Public interface: `ReplenishmentConfig`, `ReplenishmentInputs`, `ReplenishmentPlan`, `plan_replenishment`,
`forecast_arrays`, `LINE_COLUMNS`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from models.schema import quantile_columns, quantile_of
from optimizer import empirical
from optimizer.alerts import AlertConfig, build_alerts, tracking_signal
from optimizer.classify import ServiceTargets, classify
from optimizer.empirical import DemandStats, demand_stats, gamma_quantiles
from optimizer.history import days_per_period, history_matrix, periods_per_year
from optimizer.lead_time_demand import (
    DemandDistribution,
    add_undershoot,
    component_quantiles_from_cumulative,
    from_component_quantiles,
    undershoot_moments,
)
from optimizer.policy import OrderTerms, PolicyResult, compute_policy, round_to_lot
from optimizer.provenance import code_version, combine_hashes, inputs_fingerprint, jsonable, row_hashes
from optimizer.sourcing import OFFER_COLUMNS, SPLIT_COLUMNS, SourcingResult, priced_offers, split_orders
from optimizer.suppliers import Reliability, ReliabilityConfig, supplier_reliability

log = logging.getLogger(__name__)
Array = np.ndarray

#: plan-line columns (as the `plan_lines` table stores them) in output order
LINE_COLUMNS = [
    "sku",
    "supplier_id",
    "abc",
    "xyz",
    "pattern",
    "service_target",
    "on_hand",
    "open_qty",
    "backorders",
    "inventory_position",
    "demand_per_period",
    "lead_time_days",
    "safety_stock",
    "reorder_point",
    "order_up_to",
    "eoq",
    "order_qty",
    "order_by",
    "expected_arrival",
    "stockout_date",
    "days_of_supply",
    "capital",
    "expected_fill_rate",
    "reason",
    "details",
]

FALLBACK_SOURCE = "fallback:empirical-gamma"
_OFFER_COLUMNS = ["supplier_id", "sku", "unit_price", "moq", "lot_multiple", "nominal_lead_time_days",
                  "capacity_per_period"]  # fmt: skip
_RECEIPT_COLUMNS = ["po_id", "supplier_id", "sku", "qty_ordered", "order_date", "promised_date", "received_date",
                    "qty_received"]  # fmt: skip
_OPEN_ORDER_COLUMNS = ["id", "sku", "qty", "due_date", "kind", "supplier_id"]


class ReplenishmentConfig(BaseModel):
    """Policy parameters and service targets of a replenishment plan (recorded with every plan)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    targets: ServiceTargets = Field(default_factory=ServiceTargets)
    holding_rate: float = Field(default=0.25, ge=0, description="annual holding cost, fraction of unit cost")
    order_cost: float = Field(default=50.0, ge=0, description="fixed cost per order (currency)")
    review_periods: float = Field(default=1.0, gt=0)
    lead_time_points: int = Field(default=5, ge=1, le=25)
    lead_time_days: float | None = Field(
        default=None, ge=0, description="what-if: every SKU's mean lead time (days), its points scaled to it"
    )
    lead_time_factor: float = Field(default=1.0, gt=0, description="what-if: multiplies every lead-time point")
    production_lead_time_days: float = Field(default=14.0, ge=0)
    history_window: int | None = Field(default=None, ge=2)
    min_history: int = Field(default=6, ge=1)
    max_cover_periods: float | None = Field(default=None, gt=0)
    integer_quantities: bool | None = None
    horizon_periods: int = Field(default=24, ge=1)
    shortage_scale: float = Field(default=1.0, gt=0)
    sourcing_time_limit: float = Field(default=10.0, gt=0)
    alerts: AlertConfig = Field(default_factory=AlertConfig)
    reliability: ReliabilityConfig = Field(default_factory=ReliabilityConfig)


@dataclass
class ReplenishmentInputs:
    """Canonical tables as parsed frames (see `pipelines.contracts`), the plan date and optionally a forecast frame
    (`models.schema` convention) with its provenance (`model_version`, `mlflow_run_id`, …)."""

    as_of: pd.Timestamp
    items: pd.DataFrame
    demand: pd.DataFrame
    inventory: pd.DataFrame | None = None
    open_orders: pd.DataFrame | None = None
    receipts: pd.DataFrame | None = None
    suppliers: pd.DataFrame | None = None
    forecast: pd.DataFrame | None = None
    forecast_meta: dict[str, Any] = field(default_factory=dict)
    reliability: Reliability | None = None  # precomputed from these receipts and offers (computed when None)


@dataclass
class ReplenishmentPlan:
    """Plan lines (`LINE_COLUMNS`, `details` a dict per line), supplier splits, alerts, summary, provenance and the
    supplier reliability the plan used (one row per supplier)."""

    lines: pd.DataFrame
    splits: pd.DataFrame
    alerts: pd.DataFrame
    summary: dict[str, Any]
    params: dict[str, Any]
    suppliers: pd.DataFrame = field(default_factory=pd.DataFrame)


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def forecast_arrays(frame: pd.DataFrame, skus: pd.Index) -> tuple[Array, Array, Array, Array]:
    """Arrays of a forecast frame for the SKUs it covers: (rows into `skus`, cumulative quantiles (n, H, P), their
    levels (P,), cumulative means (n, H)).

    Every covered SKU must have horizons 1..H (H = the frame's horizon). Without `cq…` columns, cumulative
    quantiles are built from the per-period means and the spread of the per-period quantiles (variance of a normal
    with that spread, summed over steps, gamma-shaped): an approximation that assumes independent periods.
    """
    need = {"sku", "horizon", "mean"}
    if need - set(frame.columns):
        raise ValueError(f"forecast frame lacks column(s) {sorted(need - set(frame.columns))}")
    f = frame[frame["sku"].isin(skus)].sort_values(["sku", "horizon"])
    if f.empty:
        return np.zeros(0, dtype=int), np.zeros((0, 1, 1)), np.array([0.5]), np.zeros((0, 1))
    horizon = int(f["horizon"].max())
    counts = f.groupby("sku")["horizon"].agg(["count", "min", "max", "nunique"])
    bad = counts[(counts["count"] != horizon) | (counts["min"] != 1) | (counts["nunique"] != horizon)]
    if not bad.empty:
        raise ValueError(
            f"forecast for SKU {bad.index[0]!r} does not cover horizons 1..{horizon} exactly once; "
            "publish complete forecast sets"
        )
    covered = pd.Index(counts.index)
    rows = skus.get_indexer(covered)
    n = covered.size
    mean = f["mean"].to_numpy(dtype=float).reshape(n, horizon)
    cum_mean = np.cumsum(mean, axis=1)
    cq_cols = quantile_columns(f, cumulative=True)
    if cq_cols:
        levels = np.array([quantile_of(c) for c in cq_cols], dtype=float)
        cq = f[cq_cols].to_numpy(dtype=float).reshape(n, horizon, len(cq_cols))
    else:
        q_cols = quantile_columns(f)
        levels = np.array([quantile_of(c) for c in q_cols], dtype=float) if q_cols else np.array([0.5])
        if len(q_cols) >= 2:
            from scipy.special import ndtri

            q = f[q_cols].to_numpy(dtype=float).reshape(n, horizon, len(q_cols))
            z = ndtri(levels)
            sd = (q[..., -1] - q[..., 0]) / (z[-1] - z[0])
            cum_var = np.cumsum(sd**2, axis=1)
        else:
            cum_var = np.cumsum(mean, axis=1)  # Poisson-like variance when no spread is given
        cq = gamma_quantiles(cum_mean, cum_var, tuple(levels))
    cq = np.maximum.accumulate(np.maximum(cq, 0.0), axis=2)
    return rows, cq, levels, cum_mean


def _latest_inventory(inventory: pd.DataFrame | None, skus: pd.Index, as_of: pd.Timestamp) -> tuple[Array, Array]:
    on_hand = np.zeros(len(skus))
    back = np.zeros(len(skus))
    if inventory is None or inventory.empty:
        return on_hand, back
    inv = inventory.assign(as_of=pd.to_datetime(inventory["as_of"]))
    inv = inv[inv["as_of"] <= as_of].sort_values("as_of").groupby("sku").tail(1)
    idx = skus.get_indexer(pd.Index(inv["sku"]))
    ok = idx >= 0
    on_hand[idx[ok]] = inv["on_hand"].to_numpy(dtype=float)[ok]
    if "backorders" in inv.columns:
        back[idx[ok]] = inv["backorders"].fillna(0.0).to_numpy(dtype=float)[ok]
    return on_hand, back


@dataclass
class _Supply:
    """Supplier side of the plan, per SKU: primary offer and its lead-time points (days)."""

    reliability: Reliability
    offers: pd.DataFrame
    primary: pd.DataFrame
    has_offer: Array
    lead_days: Array


@dataclass
class _Demand:
    """Demand side of the plan, per SKU: the protection distribution, demand per period, its source and the
    cumulative mean over the projection horizon."""

    dist: DemandDistribution
    mean: Array
    source: Array
    cum_mean: Array


@dataclass
class _Position:
    """Stock position per SKU and the projection of on hand + open receipts against expected demand."""

    on_hand: Array
    backorders: Array
    open_qty: Array
    position: Array
    open_orders: pd.DataFrame
    days_to_stockout: Array
    days_to_cover: Array
    short_until_cover: Array


def _supply(inputs: ReplenishmentInputs, skus: pd.Index, stats: DemandStats, make: Array, unit_cost: pd.Series,
            config: ReplenishmentConfig) -> _Supply:  # fmt: skip
    offers_in = inputs.suppliers if inputs.suppliers is not None else _empty(_OFFER_COLUMNS)
    receipts = inputs.receipts if inputs.receipts is not None else _empty(_RECEIPT_COLUMNS)
    k = config.lead_time_points
    reliability = inputs.reliability
    if reliability is None or reliability.points != k:
        reliability = supplier_reliability(
            receipts, offers_in, inputs.as_of, config.reliability.model_copy(update={"points": k})
        )
    offers = priced_offers(
        offers_in, reliability.offers, unit_cost, config.holding_rate, pd.Series(stats.mean, index=skus)
    )
    primary = offers[offers["primary"]].set_index("sku").reindex(skus)
    has_offer = primary["supplier_id"].notna().to_numpy()
    lead_days = np.zeros((len(skus), k))
    lead_days[has_offer] = primary.loc[has_offer, reliability.point_columns].to_numpy(dtype=float)
    lead_days[make] = config.production_lead_time_days
    lead_days = _lead_time_change(lead_days, config)
    return _Supply(reliability, offers, primary, has_offer, lead_days)


def _lead_time_change(lead_days: Array, config: ReplenishmentConfig) -> Array:
    """Lead-time points under a what-if: scaled so their mean is `lead_time_days` (all equal to it when the mean
    is 0; the relative spread is kept), then multiplied by `lead_time_factor`."""
    if config.lead_time_days is not None:
        mean = lead_days.mean(axis=1, keepdims=True)
        scale = np.divide(config.lead_time_days, mean, out=np.zeros_like(mean), where=mean > 0)
        lead_days = np.where(mean > 0, lead_days * scale, config.lead_time_days)
    return lead_days * config.lead_time_factor


def _demand(
    inputs: ReplenishmentInputs,
    skus: pd.Index,
    stats: DemandStats,
    horizons: Array,
    integer: bool,
    config: ReplenishmentConfig,
) -> _Demand:
    """The fallback for every SKU, replaced by the forecast for the SKUs it covers."""
    steps = np.arange(1, config.horizon_periods + 1)
    mean = stats.mean.copy()
    source = np.full(len(skus), FALLBACK_SOURCE, dtype=object)
    cum_mean = stats.mean[:, None] * steps[None, :]
    comp = empirical.component_quantiles(stats, horizons, integer=integer)
    dist_mean = stats.mean * horizons.mean(axis=1)
    if inputs.forecast is not None and not inputs.forecast.empty:
        rows, cq, levels, cum = forecast_arrays(inputs.forecast, skus)
        if rows.size:
            big_h = cum.shape[1]
            mean[rows] = cum[:, -1] / big_h
            inside = np.minimum(steps, big_h) - 1
            cum_mean[rows] = cum[:, inside] + np.maximum(steps - big_h, 0)[None, :] * mean[rows][:, None]
            h = horizons[rows]
            at = _cumulative_at(cum, h)
            dist_mean[rows] = at.mean(axis=1)
            u_mean, u_var = undershoot_moments(stats.mean[rows], stats.var[rows], integer)
            comp[rows] = add_undershoot(component_quantiles_from_cumulative(cq, levels, cum, h), at, u_mean, u_var)
            source[rows] = f"forecast:{inputs.forecast_meta.get('model_version') or 'unversioned'}"
    return _Demand(from_component_quantiles(comp, mean=dist_mean), mean, source, cum_mean)


def _cumulative_at(cum_mean: Array, horizons: Array) -> Array:
    """Cumulative mean (n, H) read at fractional horizons (n, K), linear beyond H."""
    n, big_h = cum_mean.shape
    padded = np.concatenate([np.zeros((n, 1)), cum_mean], axis=1)
    lo = np.clip(np.floor(horizons).astype(int), 0, big_h)
    hi = np.clip(lo + 1, 0, big_h)
    frac = horizons - np.floor(horizons)
    rows = np.arange(n)[:, None]
    at = padded[rows, lo] * (1 - frac) + padded[rows, hi] * frac
    return np.where(horizons > big_h, cum_mean[:, -1][:, None] * horizons / big_h, at)


def _column(frame: pd.DataFrame, name: str, default: float) -> Array:
    """A numeric column as floats, missing values (or a missing column) as `default`."""
    if name not in frame.columns:
        return np.full(len(frame), default)
    return pd.to_numeric(frame[name], errors="coerce").fillna(default).to_numpy(dtype=float)


def _terms(items: pd.DataFrame, supply: _Supply, make: Array, dpp: float, config: ReplenishmentConfig) -> OrderTerms:
    """Ordering terms: the primary offer's MOQ, lot and delivered share for buy items, the item's for make items."""
    n = len(items)
    has_offer, primary = supply.has_offer, supply.primary
    moq = np.where(make, _column(items, "moq", 0.0), 0.0)
    lot = np.where(make, _column(items, "lot_size", 1.0), 1.0)
    moq[has_offer] = primary.loc[has_offer, "moq"].fillna(0.0).to_numpy(dtype=float)
    lot[has_offer] = primary.loc[has_offer, "lot_multiple"].fillna(1.0).to_numpy(dtype=float)
    shelf_days = _column(items, "shelf_life_days", np.nan)
    return OrderTerms.of(
        n,
        unit_cost=items["unit_cost"].to_numpy(dtype=float),
        holding_rate=config.holding_rate,
        order_cost=config.order_cost,
        moq=moq,
        lot_multiple=lot,
        shelf_life_periods=shelf_days / dpp,
        qty_fill=np.where(has_offer, primary["qty_fill"].fillna(1.0).to_numpy(dtype=float), 1.0),
    )


def _position(
    inputs: ReplenishmentInputs,
    skus: pd.Index,
    supply: _Supply,
    cum_mean: Array,
    demand_per_day: Array,
    dpp: float,
    config: ReplenishmentConfig,
) -> _Position:
    """Inventory position = on hand + expected open receipts (short deliveries counted) − backorders, and the
    projection of on hand against expected demand: days to stockout, days to the next cover, units short until."""
    n = len(skus)
    as_of = pd.Timestamp(inputs.as_of)
    on_hand, back = _latest_inventory(inputs.inventory, skus, as_of)
    open_orders = inputs.open_orders if inputs.open_orders is not None else _empty(_OPEN_ORDER_COLUMNS)
    oo = open_orders[open_orders["sku"].isin(skus)].copy()
    oo["due_date"] = pd.to_datetime(oo["due_date"])
    supplier_fill = supply.reliability.suppliers.set_index("supplier_id")["qty_fill_rate"]
    purchase = (oo["kind"] if "kind" in oo.columns else pd.Series("purchase", index=oo.index)).to_numpy() == "purchase"
    suppliers = oo["supplier_id"] if "supplier_id" in oo.columns else pd.Series(None, index=oo.index, dtype=object)
    fill = np.where(purchase, supplier_fill.reindex(suppliers).fillna(1.0).to_numpy(), 1.0)
    oo["expected"] = oo["qty"].astype(float).to_numpy() * fill
    idx = skus.get_indexer(pd.Index(oo["sku"]))
    open_qty = np.bincount(idx, weights=oo["qty"].astype(float), minlength=n)
    position = on_hand + np.bincount(idx, weights=oo["expected"], minlength=n) - back
    hp = cum_mean.shape[1]
    due = np.clip(np.floor((oo["due_date"] - as_of).dt.days.to_numpy() / dpp).astype(int), 0, hp)
    arrivals = np.zeros((n, hp + 1))
    np.add.at(arrivals, (idx, due), oo["expected"].to_numpy())
    expected_before = np.concatenate([np.zeros((n, 1)), cum_mean[:, :-1]], axis=1)
    start_level = (on_hand - back)[:, None] + np.cumsum(arrivals, axis=1)[:, :hp] - expected_before
    per_period = np.diff(np.concatenate([np.zeros((n, 1)), cum_mean], axis=1), axis=1)
    runs_out = start_level - per_period < -1e-9
    first = np.where(runs_out.any(axis=1), runs_out.argmax(axis=1), -1)
    rows = np.arange(n)
    level, use = start_level[rows, np.maximum(first, 0)], per_period[rows, np.maximum(first, 0)]
    within = np.clip(np.divide(np.maximum(level, 0.0), use, out=np.zeros(n), where=use > 0), 0.0, 1.0)
    days_to_stockout = np.where(first >= 0, (np.maximum(first, 0) + within) * dpp, np.inf)
    days_to_stockout = np.where(back > 0, 0.0, days_to_stockout)
    next_due = oo.assign(days=(oo["due_date"] - as_of).dt.days.clip(lower=0)).groupby("sku")["days"].min()
    next_receipt = np.nan_to_num(next_due.reindex(skus).to_numpy(dtype=float), nan=np.inf)
    days_to_cover = np.fmin(next_receipt, supply.lead_days.mean(axis=1) + config.review_periods * dpp)
    short = np.maximum(demand_per_day * (days_to_cover - np.minimum(days_to_stockout, days_to_cover)), 0.0)
    return _Position(on_hand, back, open_qty, position, oo, days_to_stockout, days_to_cover, short)


def _orders(
    skus: pd.Index, supply: _Supply, policy: PolicyResult, terms: OrderTerms, pos: _Position, active: Array,
    integer: bool, config: ReplenishmentConfig,
) -> tuple[Array, Array, pd.DataFrame, SourcingResult]:  # fmt: skip
    """The order now: up to S when the position is below s, placed quantity (÷ expected delivered share, whole
    lots), split across suppliers; returns (need, placed, splits, sourcing result)."""
    s, big_s, q = policy.reorder_point, policy.order_up_to, policy.order_qty
    need = active & (pos.position < s - 1e-9) & (q > 0)
    to_deliver = np.where(need, big_s - pos.position, 0.0)
    placed = np.where(need, round_to_lot(to_deliver / terms.qty_fill, terms.moq, terms.lot_multiple, integer), 0.0)
    n_offers = supply.offers.groupby("sku").size().reindex(skus).fillna(0).to_numpy()
    multi = need & supply.has_offer & (n_offers > 1)
    solved, result = _splits(supply.offers, skus, multi, to_deliver, config)
    if not solved.empty:
        total = solved.groupby("sku")["qty"].sum()
        placed[skus.get_indexer(pd.Index(total.index))] = total.to_numpy(dtype=float)
    single = _single_splits(supply.primary, skus, need & ~multi & supply.has_offer, placed)
    parts = [f for f in (solved, single) if not f.empty]
    splits = pd.concat(parts, ignore_index=True) if parts else _empty(SPLIT_COLUMNS)
    return need, placed, splits, result


def plan_replenishment(
    inputs: ReplenishmentInputs, config: ReplenishmentConfig | None = None, *, provenance: bool = True
) -> ReplenishmentPlan:
    """Compute the replenishment plan of every item as of `inputs.as_of` (see the module docstring).

    provenance=False skips the input fingerprints and per-line input hashes (for evaluations never stored)."""
    config = config or ReplenishmentConfig()
    started = time.perf_counter()
    as_of = pd.Timestamp(inputs.as_of)
    items = inputs.items.drop_duplicates("sku").set_index("sku")
    if items.empty:
        raise ValueError("no items: load the item master before planning")
    skus = pd.Index(items.index, name="sku")
    n = len(skus)
    demand = inputs.demand if not inputs.demand.empty else pd.DataFrame({"sku": [], "date": [], "qty": []})
    history = history_matrix(demand, skus=skus, as_of=as_of)
    ppy, dpp = periods_per_year(history.freq), days_per_period(history.freq)
    integer = config.integer_quantities
    if integer is None:
        integer = bool(np.all(np.mod(history.qty, 1.0) == 0))
    unit_cost = items["unit_cost"].astype(float)
    price = items["price"].astype(float) if "price" in items.columns else pd.Series(np.nan, index=skus)
    make = (items["make_or_buy"] == "make").to_numpy() if "make_or_buy" in items.columns else np.zeros(n, bool)
    classes = classify(history, unit_cost.to_numpy())
    stats = demand_stats(history, window=config.history_window, min_history=config.min_history)

    supply = _supply(inputs, skus, stats, make, unit_cost, config)
    active = supply.has_offer | make
    horizons = supply.lead_days / dpp + config.review_periods
    demand_model = _demand(inputs, skus, stats, horizons, integer, config)
    policy_mean = np.where(active, demand_model.mean, 0.0)
    terms = _terms(items, supply, make, dpp, config)
    policy = compute_policy(
        demand_model.dist,
        policy_mean,
        terms,
        config.targets,
        classes["abc"].to_numpy(),
        classes["xyz"].to_numpy(),
        ppy,
        review_periods=config.review_periods,
        integer=integer,
        shortage_scale=config.shortage_scale,
        max_cover_periods=config.max_cover_periods,
    )
    demand_per_day = policy_mean / dpp
    pos = _position(inputs, skus, supply, demand_model.cum_mean, demand_per_day, dpp, config)
    need, placed, splits, sourcing_result = _orders(skus, supply, policy, terms, pos, active, integer, config)

    s, big_s, q = policy.reorder_point, policy.order_up_to, policy.order_qty
    mean_lead_days = supply.lead_days.mean(axis=1)
    until_reorder = np.divide(pos.position - s, demand_per_day, out=np.full(n, np.inf), where=demand_per_day > 0)
    order_by_days = np.where(need, 0.0, until_reorder)
    order_by_ok = active & (policy_mean > 0) & (order_by_days <= config.horizon_periods * dpp)
    order_by = _dates(as_of, np.where(order_by_ok, order_by_days, np.nan))
    arrival = _dates(as_of, np.where(order_by_ok, order_by_days + mean_lead_days, np.nan))
    stockout = _dates(as_of, np.where(np.isfinite(pos.days_to_stockout) & active, pos.days_to_stockout, np.nan))
    days_of_supply = np.divide(pos.on_hand, demand_per_day, out=np.full(n, np.inf), where=demand_per_day > 0)
    capital = pos.on_hand * unit_cost.to_numpy()
    expected_capital = (
        np.where(policy_mean > 0, np.maximum(policy.safety_stock + q / 2.0, 0.0), 0.0) * unit_cost.to_numpy()
    )
    ts, bias, bias_t = _bias(
        history.qty, history.first, config.alerts.bias_window, config.alerts.bias_min_demand_periods
    )
    fallback = demand_model.source == FALLBACK_SOURCE

    reasons = _reasons(
        active=active,
        make=make,
        mean=policy_mean,
        n_obs=stats.n_obs,
        new=stats.new,
        lt_days=mean_lead_days,
        unit_cost=unit_cost.to_numpy(),
        need=need,
        position=pos.position,
        s=s,
        big_s=big_s,
        order_by=order_by,
        cap=policy.cap,
        config=config,
        source=demand_model.source,
    )
    supplier_col = supply.primary["supplier_id"].to_numpy(dtype=object).copy()
    supplier_col[~supply.has_offer] = None
    input_hash = (
        _line_hashes(history.qty, items, pos.on_hand, pos.backorders, pos.open_orders, supply.offers, skus)
        if provenance
        else np.full(n, None, dtype=object)
    )
    splits_by_sku: dict[str, list[dict[str, Any]]] = {}
    for sku_id, supplier_id, qty_split, why in zip(
        splits["sku"], splits["supplier_id"], splits["qty"], splits["explanation"], strict=True
    ):
        splits_by_sku.setdefault(str(sku_id), []).append(
            {"supplier_id": supplier_id, "qty": qty_split, "explanation": why}
        )
    supplier_info = supply.reliability.suppliers.set_index("supplier_id").reindex(supplier_col)
    supplier_records = supplier_info[["on_time_rate", "qty_fill_rate", "degrading", "receipts"]].to_dict("records")
    details = [
        jsonable(
            {
                "input_hash": input_hash[i],
                "demand_source": demand_model.source[i],
                "group": policy.group[i],
                "cycle_service": policy.cycle_service[i],
                "level": policy.level[i],
                "protection_mean": policy.protection_mean[i],
                "lead_time_points_days": supply.lead_days[i].round(2),
                "order_qty_placed": placed[i],
                "expected_capital": expected_capital[i],
                "days_to_stockout": pos.days_to_stockout[i],
                "price": price.iloc[i],
                "eoq_cap": policy.cap[i] or None,
                "supplier": supplier_records[i] if supplier_col[i] is not None else None,
                "splits": splits_by_sku.get(skus[i], []),
                "tracking_signal": ts[i],
            }
        )
        for i in range(n)  # JSON per line for storage; the numbers above are vectorized
    ]
    lines = pd.DataFrame(
        {
            "sku": np.asarray(skus),
            "supplier_id": supplier_col,
            "abc": classes["abc"].to_numpy(),
            "xyz": classes["xyz"].to_numpy(),
            "pattern": classes["pattern"].to_numpy(),
            "service_target": np.where(active, policy.target, np.nan),
            "on_hand": pos.on_hand,
            "open_qty": pos.open_qty,
            "backorders": pos.backorders,
            "inventory_position": pos.position,
            "demand_per_period": policy_mean,
            "lead_time_days": np.where(active, mean_lead_days, np.nan),
            "safety_stock": np.where(active, policy.safety_stock, np.nan),
            "reorder_point": np.where(active, s, np.nan),
            "order_up_to": np.where(active, big_s, np.nan),
            "eoq": np.where(active & np.isfinite(policy.eoq), policy.eoq, np.nan),
            "order_qty": placed,
            "order_by": order_by,
            "expected_arrival": arrival,
            "stockout_date": stockout,
            "days_of_supply": np.where(np.isfinite(days_of_supply), days_of_supply, np.nan),
            "capital": capital,
            "expected_fill_rate": np.where(active, policy.expected_fill, np.nan),
            "reason": reasons,
            "details": details,
        }
    )[LINE_COLUMNS]

    alert_input = pd.DataFrame(
        {
            "sku": np.asarray(skus),
            "supplier_id": supplier_col,
            "unit_cost": unit_cost.to_numpy(),
            "price": price.to_numpy(),
            "on_hand": pos.on_hand,
            "backorders": pos.backorders,
            "safety_stock": np.where(active, policy.safety_stock, np.nan),
            "order_up_to": np.where(active, big_s, np.nan),
            "demand_per_day": demand_per_day,
            "days_to_stockout": pos.days_to_stockout,
            "days_to_cover": pos.days_to_cover,
            "short_until_cover": pos.short_until_cover,
            "days_of_supply": days_of_supply,
            "periods_since_demand": _periods_since_demand(history.qty),
            "shelf_life_days": terms.shelf_life_periods * dpp,
            "tracking_signal": np.where(fallback, ts, np.nan),
            "bias_t": np.where(fallback, bias_t, np.nan),
            "bias_per_period": bias,
            "protection_periods": horizons.mean(axis=1),
            "active": active,
        }
    )
    exposure = _supplier_exposure(pos.open_orders, splits, unit_cost)
    alerts = build_alerts(alert_input, supply.reliability.suppliers, exposure, config.alerts)

    frames = {
        "items": inputs.items,
        "demand": inputs.demand,
        "inventory": inputs.inventory,
        "open_orders": inputs.open_orders,
        "receipts": inputs.receipts,
        "suppliers": inputs.suppliers,
        "forecast": inputs.forecast,
    }
    fingerprint, fingerprints = inputs_fingerprint(frames) if provenance else (None, {})
    params = jsonable(
        {
            "as_of": as_of,
            "policy": config.model_dump(mode="json"),
            "service_targets": config.targets.model_dump(mode="json"),
            "forecast": {
                "model_version": inputs.forecast_meta.get("model_version"),
                "mlflow_run_id": inputs.forecast_meta.get("mlflow_run_id"),
                **{k: v for k, v in inputs.forecast_meta.items() if k not in ("model_version", "mlflow_run_id")},
                "fallback": FALLBACK_SOURCE,
                "skus_from_forecast": int((~fallback).sum()),
                "skus_from_fallback": int(fallback.sum()),
            },
            "input_fingerprint": fingerprint,
            "input_fingerprints": fingerprints,
            "code_version": code_version(),
            "frequency": history.freq,
            "integer_quantities": integer,
        }
    )
    summary = jsonable(
        {
            "skus": n,
            "planned": int(active.sum()),
            "skipped": int((~active).sum()),
            "orders": int((placed > 0).sum()),
            "order_value": round(float((placed * unit_cost.to_numpy()).sum()), 2),
            "capital_now": round(float(capital.sum()), 2),
            "capital_expected": round(float(expected_capital.sum()), 2),
            "expected_fill_by_group": {g: v.get("expected_fill") for g, v in policy.groups.items()},
            "groups": policy.groups,
            "alerts": len(alerts),
            "alerts_by_type": alerts["type"].value_counts().to_dict() if not alerts.empty else {},
            "value_at_risk": round(float(alerts["value_at_risk"].sum()), 2) if not alerts.empty else 0.0,
            "sourcing": {
                "status": sourcing_result.status,
                "objective": sourcing_result.objective,
                "gap": sourcing_result.gap,
                "seconds": round(sourcing_result.seconds, 3),
                "split_skus": int(splits.dropna(subset=["supplier_id"]).groupby("sku").size().gt(1).sum()),
            },
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
    return ReplenishmentPlan(
        lines=lines,
        splits=splits,
        alerts=alerts,
        summary=summary,
        params=params,
        suppliers=supply.reliability.suppliers,
    )


def _dates(as_of: pd.Timestamp, days: Array) -> Array:
    """as_of + days (NaN → None), as Python dates."""
    out = np.full(days.shape, None, dtype=object)
    ok = np.isfinite(days)
    if ok.any():
        stamps = as_of + pd.to_timedelta(np.ceil(days[ok]), unit="D")
        out[ok] = [d.date() for d in stamps]
    return out


def _splits(
    offers: pd.DataFrame, skus: pd.Index, multi: Array, to_deliver: Array, config: ReplenishmentConfig
) -> tuple[pd.DataFrame, SourcingResult]:
    requests = pd.DataFrame(
        {"sku": np.asarray(skus)[multi], "required": to_deliver[multi], "order_cost": config.order_cost}
    )
    cols = [*OFFER_COLUMNS, "adjusted"]
    frame = offers[cols].copy()
    frame["moq"] = frame["moq"].fillna(0.0)
    frame["lot_multiple"] = frame["lot_multiple"].fillna(1.0)
    frame["on_time_rate"] = frame["on_time_rate"].fillna(1.0)
    return split_orders(requests, frame, time_limit=config.sourcing_time_limit)


def _single_splits(primary: pd.DataFrame, skus: pd.Index, single: Array, placed: Array) -> pd.DataFrame:
    if not single.any():
        return pd.DataFrame()
    p = primary.loc[np.asarray(skus)[single]]
    qty = placed[single]
    lot = p["lot_multiple"].fillna(1.0).to_numpy(dtype=float)
    fill = p["qty_fill"].fillna(1.0).to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "sku": p.index.to_numpy(),
            "supplier_id": p["supplier_id"].to_numpy(),
            "lots": qty / lot,
            "qty": qty,
            "unit_price": p["unit_price"].to_numpy(dtype=float),
            "adjusted": p["adjusted"].to_numpy(dtype=float),
            "expected_delivered": qty * fill,
        }
    )
    frame["explanation"] = [
        f"{r.supplier_id}: {r.qty:g} units at {r.unit_price:.4g} — the only offer for this SKU"
        for r in frame.itertuples(index=False)
    ]
    return frame


def _bias(qty: Array, first: Array, window: int, min_demand_periods: int) -> tuple[Array, Array, Array]:
    """Tracking signal, mean error and its t-statistic over the last `window` periods of the fallback's
    one-step forecasts (the mean of the history since first demand up to the period before)."""
    n, t = qty.shape
    if t < window + 2:
        return np.zeros(n), np.zeros(n), np.zeros(n)
    used = np.arange(t)[None, :] >= first[:, None]
    csum = np.cumsum(np.where(used, qty, 0.0), axis=1)
    ccount = np.cumsum(used, axis=1)
    prev_sum = csum[:, t - window - 1 : t - 1]
    prev_count = ccount[:, t - window - 1 : t - 1]
    forecast = np.divide(prev_sum, prev_count, out=np.zeros_like(prev_sum), where=prev_count > 0)
    actual = qty[:, t - window :]
    valid = (prev_count[:, 0] >= 2) & ((actual > 0).sum(axis=1) >= min_demand_periods)
    ts, bias, t_stat = tracking_signal(actual, forecast)
    return np.where(valid, ts, 0.0), np.where(valid, bias, 0.0), np.where(valid, t_stat, 0.0)


def _periods_since_demand(qty: Array) -> Array:
    t = qty.shape[1]
    positive = qty > 0
    last = np.where(positive.any(axis=1), t - 1 - np.argmax(positive[:, ::-1], axis=1), -1)
    return np.where(last >= 0, t - 1 - last, t).astype(float)


def _line_hashes(
    qty: Array, items: pd.DataFrame, on_hand: Array, back: Array, oo: pd.DataFrame, offers: pd.DataFrame, skus: pd.Index
) -> Array:
    """Per SKU, a hash of exactly the inputs its line was computed from: its demand row, item row, stock, open
    orders and supplier offers."""
    n = len(skus)
    h_demand = row_hashes(pd.DataFrame(qty)) if qty.shape[1] else np.zeros(n, dtype=np.uint64)
    h_item = row_hashes(items.reset_index())
    h_stock = row_hashes(pd.DataFrame({"on_hand": on_hand, "backorders": back}))

    def grouped(frame: pd.DataFrame, cols: list[str]) -> Array:
        out = np.zeros(n, dtype=np.uint64)
        if frame.empty:
            return out
        f = frame[cols].copy()
        for c in cols:
            f[c] = f[c].astype(str)
        f["_h"] = row_hashes(f).astype(np.uint64)
        per = f.groupby("sku")["_h"].agg(lambda s: np.bitwise_xor.reduce(s.to_numpy()))
        idx = skus.get_indexer(per.index)
        out[idx[idx >= 0]] = per.to_numpy(dtype=np.uint64)[idx >= 0]
        return out

    h_open = grouped(oo, [c for c in ("id", "sku", "qty", "due_date", "kind", "supplier_id") if c in oo.columns])
    offer_cols = [
        c
        for c in (
            "supplier_id",
            "sku",
            "unit_price",
            "moq",
            "lot_multiple",
            "nominal_lead_time_days",
            "capacity_per_period",
            "on_time_rate",
            "qty_fill",
            "lt_1",
        )
        if c in offers.columns
    ]
    h_offers = grouped(offers, offer_cols)
    return combine_hashes(h_demand, h_item, h_stock, h_open, h_offers)


def _supplier_exposure(oo: pd.DataFrame, splits: pd.DataFrame, unit_cost: pd.Series) -> pd.Series:
    """Value (at unit cost) of open and recommended purchase orders per supplier."""
    parts = []
    if not oo.empty and "supplier_id" in oo.columns:
        o = oo.dropna(subset=["supplier_id"])
        parts.append(
            pd.Series(o["qty"].to_numpy(float) * unit_cost.reindex(o["sku"]).to_numpy(), index=o["supplier_id"])
        )
    if not splits.empty:
        sp = splits.dropna(subset=["supplier_id"])
        parts.append(
            pd.Series(sp["qty"].to_numpy(float) * unit_cost.reindex(sp["sku"]).to_numpy(), index=sp["supplier_id"])
        )
    if not parts:
        return pd.Series(dtype=float)
    return pd.concat(parts).groupby(level=0).sum()


def _reasons(
    *,
    active: Array,
    make: Array,
    mean: Array,
    n_obs: Array,
    new: Array,
    lt_days: Array,
    unit_cost: Array,
    need: Array,
    position: Array,
    s: Array,
    big_s: Array,
    order_by: Array,
    cap: Array,
    config: ReplenishmentConfig,
    source: Array,
) -> list[str]:
    """One explanation per line: the case it falls under and the decision."""
    out: list[str] = []
    for i in range(len(active)):  # formatting text only; all numbers above are vectorized
        parts: list[str] = []
        if not active[i]:
            out.append(
                "buy item without a supplier offer: no policy and no order; add an offer in suppliers to plan it"
            )
            continue
        if make[i]:
            parts.append(
                f"make item: production lead time {config.production_lead_time_days:g} d "
                "(production_lead_time_days); the quantity is a production requirement for the schedule"
            )
        if mean[i] <= 0:
            parts.append("no demand history or forecast: no stock planned (reorder point 0); order on first demand")
            out.append("; ".join(parts))
            continue
        if new[i]:
            parts.append(f"new SKU ({int(n_obs[i])} periods of history): dispersion borrowed from established SKUs")
        if lt_days[i] <= 0:
            parts.append("zero lead time: protects one review period")
        if unit_cost[i] <= 0:
            parts.append("zero unit cost: holding costs nothing, served at the highest level; order quantity capped")
        if cap[i] == "shelf_life":
            parts.append("order quantity capped by shelf life")
        elif cap[i] == "moq_over_shelf_life":
            parts.append("MOQ exceeds what demand uses within the shelf life: expect expiry")
        if need[i]:
            parts.append(f"position {position[i]:g} below reorder point {s[i]:g}: order up to {big_s[i]:g}")
        elif order_by[i] is not None:
            parts.append(f"position {position[i]:g} ≥ reorder point {s[i]:g}: reorder by {order_by[i]}")
        else:
            parts.append(f"position {position[i]:g} ≥ reorder point {s[i]:g}: no order within the horizon")
        if source[i] == FALLBACK_SOURCE:
            parts.append("demand from history (no published forecast)")
        out.append("; ".join(parts))
    return out
