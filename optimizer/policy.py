"""Replenishment policy per SKU, vectorized over all SKUs: order quantity, reorder point, order-up-to level.

The policy is a periodic-review (R, s, S) rule: every review period, when the inventory position (on hand + open
orders − backorders) is below the reorder point s, order up to S = s + Q. s protects the demand over the lead time
plus one review period (`optimizer.lead_time_demand`); Q is the EOQ, rounded to the MOQ and lot multiple and capped
by shelf life.

How s is chosen depends on the service target (`optimizer.classify.ServiceTargets`):

- **fill rate β** (units served from stock / units demanded), the expected shortage per replenishment cycle from
  the loss function, ES(s) = G(s) − G(s + Q) with G(y) = E[(D − y)⁺], fill = 1 − ES/Q (Snyder & Shen 2019 §5.2.5;
  not a z-table). With `allocation="value"` each class's allowed shortage is spread over its SKUs by marginal value:
  the Lagrangian of "minimize Σ h·s subject to the class's expected shortage" gives every SKU the stockout chance
  P(D > s) = h·Q / (λ·μ) — holding cost × order quantity / demand — with one multiplier λ per class found by
  bisection (Brown 1967; Silver, Pyke & Thomas 2017 §7.4; FIELD-NOTES.md). With `allocation="uniform"` each SKU
  meets β on its own.
- **cycle service level α**: s is the α-quantile of demand over the protection interval.
- **cost-optimal**: P(D > s) = h·Q / (p·μ) with p the shortage cost per unit (the (r,Q) optimum, S&S eq. 5.19).

`shortage_scale` multiplies every target's allowed shortage (1 − β, 1 − α, or 1/p): the one knob the replay
tunes to reach a portfolio fill rate.

Public interface: `OrderTerms`, `order_quantity`, `PolicyResult`, `compute_policy`, `round_to_lot`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optimizer.classify import ServiceTargets
from optimizer.lead_time_demand import MAX_LEVEL, DemandDistribution

Array = np.ndarray

_BISECTION_STEPS = 48


@dataclass(frozen=True)
class OrderTerms:
    """Per-SKU ordering terms, arrays of length n.

    unit_cost: value of one unit (currency); holding_rate: annual holding cost as a fraction of unit cost;
    order_cost: fixed cost per order (currency); moq: minimum order quantity (units); lot_multiple: orders are
    multiples of it (units); shelf_life_periods: periods a unit keeps (NaN = no limit); qty_fill: expected share of
    an ordered quantity that is delivered (1 = no short deliveries).
    """

    unit_cost: Array
    holding_rate: Array
    order_cost: Array
    moq: Array
    lot_multiple: Array
    shelf_life_periods: Array
    qty_fill: Array

    @classmethod
    def of(
        cls,
        n: int,
        unit_cost: Any,
        holding_rate: Any = 0.25,
        order_cost: Any = 50.0,
        moq: Any = 0.0,
        lot_multiple: Any = 1.0,
        shelf_life_periods: Any = np.nan,
        qty_fill: Any = 1.0,
    ) -> OrderTerms:
        """Terms for n SKUs from scalars or arrays, validated."""

        def arr(name: str, value: Any, low: float, strict: bool = False, allow_nan: bool = False) -> Array:
            out = np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()
            bad = np.isnan(out) if not allow_nan else np.zeros(n, dtype=bool)
            finite = out[~np.isnan(out)]
            if bad.any() or np.isinf(finite).any() or (finite <= low if strict else finite < low).any():
                raise ValueError(f"{name} must be {'>' if strict else '>='} {low:g} and finite for every SKU")
            return out

        return cls(
            unit_cost=arr("unit_cost", unit_cost, 0.0),
            holding_rate=arr("holding_rate", holding_rate, 0.0),
            order_cost=arr("order_cost", order_cost, 0.0),
            moq=arr("moq", moq, 0.0),
            lot_multiple=arr("lot_multiple", lot_multiple, 0.0, strict=True),
            shelf_life_periods=arr("shelf_life_periods", shelf_life_periods, 0.0, strict=True, allow_nan=True),
            qty_fill=np.clip(arr("qty_fill", qty_fill, 0.0, strict=True), 1e-3, 1.0),
        )

    def take(self, rows: Array) -> OrderTerms:
        return OrderTerms(**{k: getattr(self, k)[rows] for k in self.__dataclass_fields__})


def round_to_lot(qty: Array, moq: Array, lot_multiple: Array, integer: bool = True) -> Array:
    """Smallest orderable quantity ≥ qty: at least the MOQ, a multiple of the lot, whole units when `integer`."""
    q = np.maximum(np.asarray(qty, dtype=float), moq)
    lots = np.ceil(q / lot_multiple - 1e-9) * lot_multiple
    return np.ceil(lots - 1e-9) if integer else lots


def order_quantity(
    mean: Array,
    terms: OrderTerms,
    periods_per_year: float,
    review_periods: float = 1.0,
    max_cover_periods: float | None = None,
    integer: bool = True,
) -> tuple[Array, Array, Array]:
    """Order quantity per SKU: (eoq, qty, cap) — the raw EOQ, the quantity ordered, and what bounded it.

    EOQ = √(2·K·D / H) with D = μ·periods_per_year (units/year) and H = holding_rate × unit_cost (per unit-year),
    at least one review period of demand, capped by `max_cover_periods` of demand (default two years; it also bounds
    the EOQ of zero-cost items), rounded up to MOQ and lot multiple; then capped by shelf life — at most the whole
    lots that demand uses within μ × shelf_life_periods, unless the MOQ (or one lot) alone is more
    ("moq_over_shelf_life": expect expiry). cap ∈ {"", "shelf_life", "max_cover", "moq_over_shelf_life"}. SKUs
    without demand get qty 0.
    """
    mu = np.asarray(mean, dtype=float)
    if max_cover_periods is None:
        max_cover_periods = 2.0 * periods_per_year
    annual = mu * periods_per_year
    holding = terms.holding_rate * terms.unit_cost
    eoq = np.sqrt(np.divide(2.0 * terms.order_cost * annual, holding, out=np.full(mu.shape, np.inf), where=holding > 0))
    eoq = np.where(annual > 0, eoq, 0.0)
    q = np.maximum(eoq, mu * review_periods)
    cap = np.full(mu.shape, "", dtype=object)
    cover_cap = mu * max_cover_periods
    cap[q > cover_cap] = "max_cover"
    q = np.minimum(q, cover_cap)
    qty = round_to_lot(q, terms.moq, terms.lot_multiple, integer)
    # shelf life: never order more than demand uses before it expires (whole lots, rounded down), unless the
    # MOQ or a single lot already exceeds that
    shelf_cap = mu * terms.shelf_life_periods
    usable = np.floor(shelf_cap / terms.lot_multiple + 1e-9) * terms.lot_multiple
    if integer:
        usable = np.floor(usable + 1e-9)
    smallest = round_to_lot(np.zeros_like(mu), terms.moq, terms.lot_multiple, integer)
    limited = ~np.isnan(shelf_cap) & (qty > shelf_cap + 1e-9) & (mu > 0)
    cap[limited] = "shelf_life"
    qty = np.where(limited, np.maximum(usable, smallest), qty)
    over = limited & (smallest > shelf_cap + 1e-9)
    cap[over] = "moq_over_shelf_life"
    qty = np.where(mu > 0, qty, 0.0)
    return eoq, qty, cap


@dataclass
class PolicyResult:
    """Policy arrays per SKU (units unless noted) and, per target group, how the target was met.

    level: the cycle-service level s was read at; cycle_service: P(no stockout in a cycle) = P(D ≤ s);
    expected_fill: 1 − ES(s)/Q; safety_stock: s − E[D over the protection interval] (negative when the reorder
    point is below the mean, as for cheap-to-backorder, rarely demanded items).
    """

    order_qty: Array
    eoq: Array
    cap: Array
    reorder_point: Array
    order_up_to: Array
    safety_stock: Array
    protection_mean: Array
    level: Array
    cycle_service: Array
    expected_fill: Array
    target: Array
    group: Array
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)

    def frame(self, skus: Any) -> pd.DataFrame:
        """The per-SKU arrays as a frame indexed by `skus`."""
        columns = [
            "group",
            "target",
            "eoq",
            "order_qty",
            "cap",
            "reorder_point",
            "order_up_to",
            "safety_stock",
            "protection_mean",
            "level",
            "cycle_service",
            "expected_fill",
        ]
        return pd.DataFrame({c: getattr(self, c) for c in columns}, index=pd.Index(skus, name="sku"))


def _fill(dist: DemandDistribution, s: Array, q: Array) -> Array:
    """Expected fill rate 1 − [G(s) − G(s + Q)]/Q per SKU (1 where Q = 0)."""
    short = dist.expected_shortage(s) - dist.expected_shortage(s + q)
    return np.where(q > 0, 1.0 - np.divide(short, q, out=np.zeros_like(q), where=q > 0), 1.0)


def _value_allocation(
    dist: DemandDistribution,
    mean: Array,
    q: Array,
    ratio: Array,
    allowed_short: Array,
    codes: Array,
    n_groups: int,
) -> tuple[Array, Array, Array]:
    """Levels per SKU and λ per group so that each group's expected shortage per period Σ μ(1 − fill) equals its
    allowance Σ μ·(1 − β)·scale, with level = 1 − ratio/λ (ratio = h·Q/μ). Returns (levels, λ, reachable)."""
    active = mean > 0
    demand = np.bincount(codes[active], weights=mean[active], minlength=n_groups)
    budget = np.bincount(codes[active], weights=(mean * allowed_short)[active], minlength=n_groups)
    positive = ratio[active & (ratio > 0)]
    if positive.size == 0:
        level = np.where(active, MAX_LEVEL, 0.0)
        return level, np.full(n_groups, np.inf), np.ones(n_groups, dtype=bool)
    lo = np.full(n_groups, np.log(positive.min()) - 1.0)
    hi = np.full(n_groups, np.log(positive.max()) - np.log(1.0 - MAX_LEVEL) + 1.0)

    def levels_at(log_lam: Array) -> Array:
        lam = np.exp(log_lam[codes])
        return np.where(active, np.clip(1.0 - ratio / lam, 0.0, MAX_LEVEL), 0.0)

    def shortage_at(level: Array) -> Array:
        s = dist.quantile(level)
        short = mean * (1.0 - _fill(dist, s, q))
        return np.bincount(codes[active], weights=short[active], minlength=n_groups)

    reachable = shortage_at(levels_at(hi)) <= budget + 1e-12 * np.maximum(demand, 1.0)
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        over = shortage_at(levels_at(mid)) > budget
        lo = np.where(over, mid, lo)
        hi = np.where(over, hi, mid)
    return levels_at(hi), np.exp(hi), reachable


def _uniform_fill_levels(dist: DemandDistribution, q: Array, target: Array) -> Array:
    """Per SKU, the lowest level whose reorder point gives expected fill ≥ target (bisection on the level)."""
    lo = np.zeros(dist.n)
    hi = np.full(dist.n, MAX_LEVEL)
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        ok = _fill(dist, dist.quantile(mid), q) >= target
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    return hi


def compute_policy(
    dist: DemandDistribution,
    mean: Array,
    terms: OrderTerms,
    targets: ServiceTargets,
    abc: Array,
    xyz: Array,
    periods_per_year: float,
    review_periods: float = 1.0,
    integer: bool = True,
    shortage_scale: float = 1.0,
    max_cover_periods: float | None = None,
    order_qty: Array | None = None,
) -> PolicyResult:
    """The (R, s, S) policy of every SKU at once.

    dist: demand over lead time + review period per SKU; mean: demand per period (μ, units); abc, xyz: classes
    (select each SKU's target); order_qty: use these order quantities instead of the EOQ rule (e.g. a replay that
    compares policies at equal Q). Returns a `PolicyResult`; SKUs with μ = 0 get s = S = Q = 0.
    """
    mu = np.asarray(mean, dtype=float)
    n = mu.shape[0]
    if dist.n != n or np.asarray(abc).shape != (n,) or np.asarray(xyz).shape != (n,):
        raise ValueError(f"dist, mean, abc and xyz must describe the same {n} SKUs")
    if shortage_scale <= 0:
        raise ValueError(f"shortage_scale must be > 0; got {shortage_scale}")
    eoq, q, cap = order_quantity(mu, terms, periods_per_year, review_periods, max_cover_periods, integer)
    if order_qty is not None:
        q = np.where(mu > 0, np.asarray(order_qty, dtype=float), 0.0)
    group = targets.group_of(abc, xyz)
    target = targets.target_of(abc, xyz)
    active = mu > 0
    holding_per_period = terms.holding_rate * terms.unit_cost / periods_per_year
    # h·Q/μ in currency; for cost-optimal the unit cost cancels against p = rate × unit cost
    ratio = np.divide(holding_per_period * q, mu, out=np.zeros(n), where=active)
    groups: dict[str, dict[str, Any]] = {}
    if targets.measure == "cycle_service":
        level = np.where(active, 1.0 - (1.0 - target) * shortage_scale, 0.0)
    elif targets.measure == "cost_optimal":
        relative = np.divide(terms.holding_rate / periods_per_year * q, mu, out=np.zeros(n), where=active)
        level = np.where(active, 1.0 - relative * shortage_scale / targets.shortage_cost_rate, 0.0)
    elif targets.allocation == "uniform":
        goal = np.clip(1.0 - (1.0 - target) * shortage_scale, 0.0, 1.0)
        level = np.where(active, _uniform_fill_levels(dist, q, goal), 0.0)
    else:
        names, codes = np.unique(group, return_inverse=True)
        allowed = (1.0 - target) * shortage_scale
        level, lam, reachable = _value_allocation(dist, mu, q, ratio, allowed, codes, names.size)
        for i, name in enumerate(names):
            groups[str(name)] = {"lambda": float(lam[i]), "reachable": bool(reachable[i])}
    level = np.clip(level, 0.0, MAX_LEVEL)
    s = np.where(active, dist.quantile(level), 0.0)
    if integer:
        s = np.ceil(s - 1e-9)
    s = np.maximum(s, 0.0)
    fill = np.where(active, _fill(dist, s, q), np.nan)
    csl = np.where(active, dist.cdf(s), np.nan)
    names_all = np.unique(group)
    for name in names_all:
        rows = (group == name) & active
        entry = groups.setdefault(str(name), {})
        entry["skus"] = int((group == name).sum())
        entry["target"] = float(target[group == name][0])
        demand = mu[rows].sum()
        entry["expected_fill"] = float(1.0 - (mu[rows] * (1.0 - fill[rows])).sum() / demand) if demand > 0 else None
    return PolicyResult(
        order_qty=q,
        eoq=eoq,
        cap=cap,
        reorder_point=s,
        order_up_to=s + q,
        safety_stock=np.where(active, s - dist.mean, 0.0),
        protection_mean=dist.mean,
        level=level,
        cycle_service=csl,
        expected_fill=fill,
        target=target,
        group=group,
        groups=groups,
    )
