"""Replay: run inventory policies over a past period of actual demand, in one engine, and compare them.

The engine is a periodic review with backorders, vectorized over SKUs (one loop over periods). Each period t of the
replayed window, in this order:

1. orders due at t arrive and first clear backorders;
2. the policy's parameters are recomputed from the demand known before t (`history.until(t)`), the inventory
   position (on hand + on order − backorders) is compared with the reorder point s and, when below it, an order
   brings it up to S = s + Q (at least the MOQ, in lot multiples); its lead time is drawn per SKU and period from a
   gamma with the item's mean and std (seeded, the same draws for every policy), rounded to whole periods
   (mean-preserving); a zero lead time arrives at once;
3. the period's demand is served from stock; what is missing is backordered.

Every policy protects the same interval, lead time + one review period, and uses the same order quantity Q (EOQ
from the same demand estimate, rounded to MOQ and lot), so only the reorder point differs: like with like.

- `leanplan`: `optimizer.policy.compute_policy` on the fallback distribution (`optimizer.empirical`) mixed over the
  lead-time distribution, fill-rate targets per ABC class with value allocation; knob = `shortage_scale`.
- `minmax`: the ERP rule, min s = k × average demand × (lead time + review), max = min + Q; knob = k.
- `normal`: the textbook s = μ·(L+R) + z·σ·√(L+R) (lead-time variability ignored, as the textbook rule does);
  knob = z.

Each run starts at its policy's expected steady state: inventory position s + Q/2, of which the mean demand over the
lead time is on order (arriving evenly) and the rest on hand. Metrics over the replayed periods: fill rate (units
served from stock / units demanded), cycle service (share of SKU-periods with demand served completely), average
inventory value (time-average of on hand at unit cost: the mean of each period's start and end), days of inventory,
turnover, stockout periods, orders placed.

Public interface: `ReplayData` (`from_frames`, `read_csv`), `Replay` (a set-up with seeded lead times and caches;
`run(policy, knob)`), `Policy`, `LeanplanPolicy`, `MinMaxPolicy`, `NormalPolicy`, `ReplayResult`, `replay`, `tune`
(→ `Tuning`), `frontier`, `inventory_at_fill`, `saved_at_equal_fill`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.classify import ServiceTargets, classify
from optimizer.empirical import DemandStats, component_quantiles, demand_stats
from optimizer.history import DemandHistory, days_per_period, history_matrix, periods_per_year
from optimizer.lead_time_demand import from_component_quantiles, lead_time_points
from optimizer.policy import OrderTerms, compute_policy, order_quantity, round_to_lot

log = logging.getLogger(__name__)
Array = np.ndarray

DEFAULT_ORDER_COST = 50.0
DEFAULT_HOLDING_RATE = 0.25


@dataclass(frozen=True)
class ReplayData:
    """Demand history and item terms for a replay; lead times in periods of the history's frequency."""

    history: DemandHistory
    terms: OrderTerms
    lead_time: Array
    lead_time_std: Array

    @property
    def n(self) -> int:
        return len(self.history.skus)

    @property
    def integer(self) -> bool:
        """Whole units: every demand quantity is an integer."""
        return bool(np.all(np.mod(self.history.qty, 1.0) == 0))

    @classmethod
    def from_frames(cls, demand: pd.DataFrame, items: pd.DataFrame) -> ReplayData:
        """demand: long sku, date, qty; items: sku, unit_cost, lead_time_periods and optionally
        lead_time_std_periods (0), moq (0), lot_multiple (1), order_cost (50), holding_rate (0.25, annual)."""
        required = {"sku", "unit_cost", "lead_time_periods"}
        missing = required - set(items.columns)
        if missing:
            raise ValueError(f"items lack column(s) {sorted(missing)}; required: sku, unit_cost, lead_time_periods")
        if items["sku"].duplicated().any():
            raise ValueError(f"items list SKU {items.loc[items['sku'].duplicated(), 'sku'].iloc[0]!r} twice")
        unknown = set(demand["sku"]) - set(items["sku"])
        if unknown:
            raise ValueError(f"demand names SKU(s) missing from items, e.g. {sorted(unknown)[:3]}; add them to items")
        items = items.set_index("sku")
        history = history_matrix(demand, skus=items.index)
        if history.n_periods < 6:
            raise ValueError(f"a replay needs at least 6 periods of demand; got {history.n_periods}")

        def col(name: str, default: float) -> Array:
            if name not in items.columns:
                return np.full(len(items), default)
            values = pd.to_numeric(items[name], errors="coerce")
            if values.isna().any() and name in required:
                raise ValueError(f"items column {name!r} has a missing or non-numeric value")
            return values.fillna(default).to_numpy(dtype=float)

        lead_time = col("lead_time_periods", np.nan)
        lead_std = col("lead_time_std_periods", 0.0)
        if (lead_time < 0).any() or (lead_std < 0).any():
            raise ValueError("lead_time_periods and lead_time_std_periods must be >= 0")
        terms = OrderTerms.of(
            len(items),
            unit_cost=col("unit_cost", np.nan),
            holding_rate=col("holding_rate", DEFAULT_HOLDING_RATE),
            order_cost=col("order_cost", DEFAULT_ORDER_COST),
            moq=col("moq", 0.0),
            lot_multiple=col("lot_multiple", 1.0),
        )
        return cls(history=history, terms=terms, lead_time=lead_time, lead_time_std=lead_std)

    @classmethod
    def read_csv(cls, demand_path: Path | str, items_path: Path | str) -> ReplayData:
        """Read the long demand CSV (sku, date, qty) and the items CSV."""
        demand = pd.read_csv(demand_path, dtype={"sku": str})
        items = pd.read_csv(items_path, dtype={"sku": str})
        return cls.from_frames(demand, items)


@dataclass
class PeriodContext:
    """What every policy knows at review period t: demand estimates, order quantity, classes."""

    t: int
    stats: DemandStats
    order_qty: Array
    abc: Array
    xyz: Array


class Policy:
    """A replayable policy: one knob, monotone in the achieved fill rate."""

    name = "policy"
    knob_name = "knob"
    knob_bounds: tuple[float, float] = (0.0, 1.0)
    log_scale = False
    fill_increases = True  # does a larger knob raise the fill rate?

    def prepare(self, data: ReplayData, ctx: PeriodContext) -> Any:
        """Knob-independent work for period t (cached across knob values)."""
        return None

    def reorder_points(self, data: ReplayData, ctx: PeriodContext, prepared: Any, knob: float) -> Array:
        raise NotImplementedError


class MinMaxPolicy(Policy):
    """ERP min/max: min = k × average demand × (lead time + review period), max = min + Q."""

    name = "minmax"
    knob_name = "k"
    knob_bounds = (0.05, 200.0)
    log_scale = True

    def reorder_points(self, data: ReplayData, ctx: PeriodContext, prepared: Any, knob: float) -> Array:
        return knob * ctx.stats.mean * (data.lead_time + 1.0)


class NormalPolicy(Policy):
    """Textbook normal: s = μ·(L+R) + z·σ·√(L+R)."""

    name = "normal"
    knob_name = "z"
    knob_bounds = (-3.0, 30.0)

    def reorder_points(self, data: ReplayData, ctx: PeriodContext, prepared: Any, knob: float) -> Array:
        span = data.lead_time + 1.0
        return ctx.stats.mean * span + knob * np.sqrt(ctx.stats.var * span)


@dataclass
class LeanplanPolicy(Policy):
    """leanplan's policy: demand over lead time + review mixed over the lead-time distribution, fill-rate targets per
    class with value allocation; knob = shortage scale (1 = the targets as configured)."""

    targets: ServiceTargets = field(default_factory=ServiceTargets)
    lead_time_points: int = 5

    name = "leanplan"
    knob_name = "shortage_scale"
    knob_bounds = (1e-6, 19.0)
    log_scale = True
    fill_increases = False

    def prepare(self, data: ReplayData, ctx: PeriodContext) -> Any:
        points = lead_time_points(data.lead_time, data.lead_time_std, self.lead_time_points)
        horizons = points + 1.0
        mean = ctx.stats.mean * horizons.mean(axis=1)
        return from_component_quantiles(component_quantiles(ctx.stats, horizons, integer=data.integer), mean=mean)

    def reorder_points(self, data: ReplayData, ctx: PeriodContext, prepared: Any, knob: float) -> Array:
        result = compute_policy(
            prepared,
            ctx.stats.mean,
            data.terms,
            self.targets,
            ctx.abc,
            ctx.xyz,
            periods_per_year(data.history.freq),
            integer=data.integer,
            shortage_scale=knob,
            order_qty=ctx.order_qty,
        )
        return result.reorder_point


@dataclass
class ReplayResult:
    """Outcome of one replay of one policy at one knob value."""

    policy: str
    knob: float
    fill_rate: float
    cycle_service: float
    avg_inventory_value: float
    days_of_inventory: float
    turnover: float
    stockout_periods: int
    orders: int
    seconds: float
    fill_by_class: dict[str, float]
    periods: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "knob": self.knob,
            "fill_rate": self.fill_rate,
            "cycle_service": self.cycle_service,
            "avg_inventory_value": self.avg_inventory_value,
            "days_of_inventory": self.days_of_inventory,
            "turnover": self.turnover,
            "stockout_periods": self.stockout_periods,
            "orders": self.orders,
            "seconds": self.seconds,
            "fill_by_class": self.fill_by_class,
            "periods": self.periods,
        }


class Replay:
    """A replay set-up: data, replayed window, seeded lead-time draws, and per-period caches shared by policies."""

    def __init__(self, data: ReplayData, start: int | None = None, seed: int = 0, min_history: int = 6) -> None:
        t_total = data.history.n_periods
        self.start = t_total - t_total // 3 if start is None else start
        if not 2 <= self.start < t_total:
            raise ValueError(f"replay start must leave history before it and periods after it; got {self.start}")
        self.data = data
        self.seed = seed
        self.min_history = min_history
        self.periods = list(range(self.start, t_total))
        rng = np.random.default_rng(seed)
        self.lead_draws = self._draw_lead_times(rng, len(self.periods))
        self._contexts: dict[int, PeriodContext] = {}
        self._prepared: dict[tuple[str, int], Any] = {}
        initial = classify(data.history.until(self.start), data.terms.unit_cost)
        self.report_class = initial["abc"].to_numpy()

    def _draw_lead_times(self, rng: np.random.Generator, periods: int) -> Array:
        mean, std = self.data.lead_time, self.data.lead_time_std
        n = self.data.n
        draws = np.repeat(mean[:, None], periods, axis=1)
        varying = (std > 0) & (mean > 0)
        if varying.any():
            shape = (mean[varying] / std[varying]) ** 2
            scale = std[varying] ** 2 / mean[varying]
            draws[varying] = rng.gamma(shape[:, None], scale[:, None], (int(varying.sum()), periods))
        floor = np.floor(draws)
        bump = rng.random((n, periods)) < (draws - floor)
        return (floor + bump).astype(int)

    def context(self, t: int) -> PeriodContext:
        if t not in self._contexts:
            known = self.data.history.until(t)
            stats = demand_stats(known, min_history=self.min_history)
            ppy = periods_per_year(known.freq)
            _, q, _ = order_quantity(stats.mean, self.data.terms, ppy, integer=self.data.integer)
            classes = classify(known, self.data.terms.unit_cost)
            self._contexts[t] = PeriodContext(t, stats, q, classes["abc"].to_numpy(), classes["xyz"].to_numpy())
        return self._contexts[t]

    def prepared(self, policy: Policy, t: int) -> Any:
        key = (policy.name, t)
        if key not in self._prepared:
            self._prepared[key] = policy.prepare(self.data, self.context(t))
        return self._prepared[key]

    def run(self, policy: Policy, knob: float) -> ReplayResult:
        """Replay `policy` at `knob` over the window."""
        started = time.perf_counter()
        data = self.data
        n = data.n
        demand = data.history.qty
        cost = data.terms.unit_cost
        horizon = self.periods[-1] + int(self.lead_draws.max(initial=0)) + int(data.lead_time.max(initial=0)) + 3
        arrivals = np.zeros((n, horizon + 1))
        on_hand = np.zeros(n)
        backorders = np.zeros(n)
        on_order = np.zeros(n)
        rows = np.arange(n)
        integer = data.integer
        inventory_value = 0.0
        demanded = np.zeros(n)
        served_total = np.zeros(n)
        stockout_periods = 0
        demand_periods = 0
        complete_periods = 0
        orders = 0
        for step, t in enumerate(self.periods):
            ctx = self.context(t)
            s = policy.reorder_points(data, ctx, self.prepared(policy, t), knob)
            q = ctx.order_qty
            if step == 0:
                on_hand, on_order = self._steady_state(ctx, s, q, arrivals, t)
            arrived = arrivals[:, t]
            on_hand += arrived
            on_order -= arrived
            cleared = np.minimum(on_hand, backorders)
            on_hand -= cleared
            backorders -= cleared
            position = on_hand + on_order - backorders
            need = (position < s - 1e-9) & (q > 0)
            qty = np.where(need, round_to_lot(s + q - position, data.terms.moq, data.terms.lot_multiple, integer), 0.0)
            lead = self.lead_draws[:, step]
            now = need & (lead == 0)
            later = need & ~now
            np.add.at(arrivals, (rows[later], t + lead[later]), qty[later])
            on_order += np.where(later, qty, 0.0)
            on_hand += np.where(now, qty, 0.0)
            cleared = np.minimum(on_hand, backorders)
            on_hand -= cleared
            backorders -= cleared
            orders += int(need.sum())
            start_value = float(on_hand @ cost)
            d = demand[:, t]
            served = np.minimum(on_hand, d)
            on_hand -= served
            backorders += d - served
            inventory_value += 0.5 * (start_value + float(on_hand @ cost))
            demanded += d
            served_total += served
            short = served < d - 1e-9
            stockout_periods += int(short.sum())
            demand_periods += int((d > 0).sum())
            complete_periods += int(((d > 0) & ~short).sum())
        periods = len(self.periods)
        avg_value = inventory_value / periods
        demand_value = float(demanded @ cost)
        days = periods * days_per_period(data.history.freq)
        years = periods / periods_per_year(data.history.freq)
        fill_by_class: dict[str, float] = {}
        for cls in ("A", "B", "C"):
            mask = self.report_class == cls
            total = demanded[mask].sum()
            if total > 0:
                fill_by_class[cls] = float(served_total[mask].sum() / total)
        return ReplayResult(
            policy=policy.name,
            knob=float(knob),
            fill_rate=float(served_total.sum() / demanded.sum()) if demanded.sum() > 0 else 1.0,
            cycle_service=complete_periods / demand_periods if demand_periods else 1.0,
            avg_inventory_value=avg_value,
            days_of_inventory=avg_value / (demand_value / days) if demand_value > 0 else float("inf"),
            turnover=(demand_value / years) / avg_value if avg_value > 0 else float("inf"),
            stockout_periods=stockout_periods,
            orders=orders,
            seconds=time.perf_counter() - started,
            fill_by_class=fill_by_class,
            periods=periods,
        )

    def _steady_state(self, ctx: PeriodContext, s: Array, q: Array, arrivals: Array, t: int) -> tuple[Array, Array]:
        """Start at the expected steady state: position s + Q/2; mean lead-time demand on order, arriving evenly."""
        data = self.data
        mu = ctx.stats.mean
        lead = np.ceil(data.lead_time).astype(int)
        pipeline_total = np.round(mu * data.lead_time)
        for lag in range(1, int(lead.max(initial=0)) + 1):  # a loop over lead-time lags, not SKUs
            share = np.where(
                lead >= lag,
                np.round(mu * np.minimum(lag, data.lead_time)) - np.round(mu * np.minimum(lag - 1, data.lead_time)),
                0.0,
            )
            arrivals[:, t + lag] += share
        on_order = pipeline_total.copy()
        on_hand = np.maximum(np.round(s + q / 2.0) - pipeline_total, 0.0)
        return on_hand, on_order


def replay(data: ReplayData, policy: Policy, knob: float, start: int | None = None, seed: int = 0) -> ReplayResult:
    """One replay of `policy` at `knob` (a fresh `Replay`; reuse a `Replay` to share caches across runs)."""
    return Replay(data, start=start, seed=seed).run(policy, knob)


@dataclass
class Tuning:
    """Result of tuning one policy's knob to a target fill rate: the run at the chosen knob and every evaluation."""

    result: ReplayResult
    evaluations: list[ReplayResult]
    seconds: float
    converged: bool


def tune(setup: Replay, policy: Policy, target: float, tol: float = 5e-4, max_evals: int = 40) -> Tuning:
    """Bisection on the policy's knob until the portfolio fill rate is within `tol` of `target`.

    Returns the evaluation closest to the target among those at or above it (or the closest overall when the target
    is out of reach).
    """
    if not 0 < target < 1:
        raise ValueError(f"target fill rate must be strictly between 0 and 1; got {target}")
    started = time.perf_counter()
    lo, hi = policy.knob_bounds
    evaluations: list[ReplayResult] = []

    def midpoint(a: float, b: float) -> float:
        return float(np.sqrt(a * b)) if policy.log_scale else 0.5 * (a + b)

    converged = False
    for _ in range(max_evals):
        knob = midpoint(lo, hi)
        result = setup.run(policy, knob)
        evaluations.append(result)
        log.info(
            "%s %s=%.6g fill=%.4f inventory=%.0f",
            policy.name,
            policy.knob_name,
            knob,
            result.fill_rate,
            result.avg_inventory_value,
        )
        if abs(result.fill_rate - target) <= tol:
            converged = True
            break
        too_low = result.fill_rate < target
        if too_low == policy.fill_increases:
            lo = knob
        else:
            hi = knob
    if converged:
        best = evaluations[-1]
    else:
        above = [e for e in evaluations if e.fill_rate >= target]
        pool = above or evaluations
        best = min(pool, key=lambda e: abs(e.fill_rate - target))
    return Tuning(result=best, evaluations=evaluations, seconds=time.perf_counter() - started, converged=converged)


def frontier(setup: Replay, policy: Policy, knobs: list[float]) -> list[ReplayResult]:
    """The inventory-vs-fill-rate frontier: one replay per knob value, sorted by fill rate."""
    return sorted((setup.run(policy, k) for k in knobs), key=lambda r: r.fill_rate)


def inventory_at_fill(points: list[ReplayResult], fill: float) -> float | None:
    """Average inventory value at a fill rate, interpolated linearly on a frontier (None outside its range)."""
    xs = np.array([p.fill_rate for p in points])
    ys = np.array([p.avg_inventory_value for p in points])
    order = np.argsort(xs)
    xs, ys = xs[order], ys[order]
    if xs.size == 0 or fill < xs[0] or fill > xs[-1]:
        return None
    return float(np.interp(fill, xs, ys))


def saved_at_equal_fill(ours: float, theirs: float) -> float:
    """Share of the peer's inventory value that `ours` does without: 1 − ours/theirs."""
    return 1.0 - ours / theirs if theirs > 0 else 0.0
