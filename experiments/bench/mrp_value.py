"""The value of the connected plan: a rolling-horizon replay of the sample factory in which purchased components are
either planned by MRP or forecast and ordered on their own by the replenishment policy, compared at the same fill of
the end items' customer orders.

Public interface
- `Factory`: the static replay data (item arrays, BOM, weekly end-item demand, lead-time draws);
  `Factory.build(items, bom, demand, start, lead_draws)` from frames, `sample_factory(data_dir, ...)` from
  `data/sample`.
- `ReplayConfig`: weeks, warm-up, MRP horizon, forecast and history windows, finished-goods safety stock.
- `simulate(factory, arm, knob, config) -> ArmResult`: one replay of one arm (`"mrp"` or `"independent"`) at one knob
  value; `ArmResult.ledger` holds the weekly stock accounting.
- `ARMS` (`ArmSpec`): each arm's knob name and bounds; `curve(factory, arm, knobs, config)`;
  `tune(factory, arm, target, config)` → `Tuning`; `value_at_fill(runs, fill)`;
  `run(data_dir, ...)`: the benchmark (curves of both arms, both tuned to the target fill, the comparison).
- `weekly_demand(monthly, skus, first, weeks)`, `lead_time_draws(receipts, primary, weeks, rng)`: the sample's
  weekly end-item demand and supplier lead-time draws.

Each simulated week s, in this order:
1. purchase and production orders due this week arrive;
2. MRP (`optimizer.mrp.engine.plan`, the same engine as `leanplan plan mrp`) is re-run over `horizon_weeks` from
   the current state: end-item demand is the forecast (trailing `forecast_weeks` mean of the actual weekly demand,
   the fallback of `leanplan plan mrp` without a published forecast) in every period, the week's customer orders
   when they exceed it, plus the backlog; stock on hand; open purchase orders at their promised week and production
   orders at their due week as scheduled receipts; the unissued components of waiting production orders as
   allocations (demand of period 0). End items keep `fg_safety_weeks` of forecast as safety stock;
3. made items (end items, bulks, coats) release their planned orders of period 0 — the same rule in both arms.
   Released orders start in due-date order when every component is on hand (all components are issued at once);
   otherwise the order waits, blocked by the short component, and is retried every week. An order takes the made
   item's routing lead time (whole weeks, at least one): its output is usable from the week it is due;
4. purchased components are ordered — arm `mrp`: the planned buy orders released in period 0 of this week's plan,
   plus `knob` weeks of the component's exploded forecast demand as MRP safety stock; arm `independent`: each
   component's own (R, s, S) policy (`optimizer.simulate.LeanplanPolicy`, the replay form of the replenishment
   policy) from its own weekly consumption (the component quantities of the production orders released, whether
   issued or not), with every ABC class's fill-rate target set to `knob`; inventory position = on hand + on order −
   components owed to waiting production orders. Orders are rounded to the supplier's MOQ and lot multiple in both
   arms. An order placed in week s for component c arrives in week s + `lead_draws[c, s]` in both arms;
5. end items ship to their customer orders from stock, oldest first; a week's order line is on time when it is
   shipped in full in its week. A late line is *blocked by material* when a production order of its end item is
   waiting for material that week; the blocking component is followed down the BOM (a bulk waiting for an active
   ingredient names the ingredient).

Metrics cover the `weeks` after the `warmup_weeks` (both arms start from the same stock, no orders in the pipeline):
line fill (share of order lines on time), unit fill, late lines and lines blocked by material (with the components),
production orders delayed by material, average inventory value (time-average of the start and end of each week, at
unit cost) of purchased components, of made intermediates and of end items, purchase orders placed.

Assumptions: capacity is ignored (lines never limit production); supplier deliveries are complete (no short
deliveries); demand not shipped is backordered, never lost; the supplier lead-time model (MRP's planned lead time,
the policy's lead-time distribution) and the lead-time draws use the same receipt history, so suppliers behave as
they did.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from optimizer.classify import ServiceTargets, classify
from optimizer.empirical import demand_stats
from optimizer.history import DemandHistory, periods_per_year
from optimizer.mrp.engine import MrpOptions, plan
from optimizer.mrp.inputs import MrpInputs
from optimizer.policy import OrderTerms, order_quantity, round_to_lot
from optimizer.simulate import LeanplanPolicy, PeriodContext, ReplayData

__all__ = [
    "ARMS",
    "REPLAY_START",
    "SAMPLE_DIR",
    "ArmResult",
    "ArmSpec",
    "Factory",
    "Ledger",
    "ReplayConfig",
    "Tuning",
    "curve",
    "lead_time_draws",
    "run",
    "sample_factory",
    "simulate",
    "tune",
    "value_at_fill",
    "weekly_demand",
]

log = logging.getLogger(__name__)
Array = np.ndarray
Arm = Literal["mrp", "independent"]

EPS = 1e-6
WEEK_DAYS = 7
HOLDING_RATE = 0.25
SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"
#: first week of the replayed year (a Monday): the year before the sample factory's plan date 2008-07-01
REPLAY_START = pd.Timestamp("2007-07-02")


@dataclass(frozen=True)
class ArmSpec:
    """An arm's knob: name, bounds, whether a larger knob raises fill, and whether to bisect on a log scale of
    (1 − knob)."""

    knob_name: str
    bounds: tuple[float, float]
    log_complement: bool


ARMS: dict[str, ArmSpec] = {
    "mrp": ArmSpec("component_safety_weeks", (0.0, 8.0), False),
    "independent": ArmSpec("fill_rate_target", (0.5, 0.9995), True),
}


@dataclass(frozen=True)
class ReplayConfig:
    """What every run shares: `weeks` measured after `warmup_weeks`, the MRP horizon, the end-item forecast window,
    the consumption window of the independent policy, and the end items' safety stock in weeks of forecast."""

    weeks: int = 52
    warmup_weeks: int = 26
    horizon_weeks: int = 26
    forecast_weeks: int = 52
    history_weeks: int = 52
    fg_safety_weeks: float = 2.0

    @property
    def total_weeks(self) -> int:
        return self.warmup_weeks + self.weeks


@dataclass(frozen=True)
class Factory:
    """Static replay data. Items follow `inputs.skus` (the encoded MRP inputs, `horizon` weekly periods);
    `end` are the end items (rows of `demand`), `buy` the purchased items (rows of `lead_draws`, `buy_*`).

    demand: actual weekly demand of the end items, columns `weeks`; the simulation starts at column `start` (the
    columns before it are history). lead_draws: whole weeks (≥ 1) until an order placed in simulated week s arrives.
    buy_lead_mean / buy_lead_std: the policy's lead-time model (weeks). explode: units of each item needed per unit
    of each end item (n_end × n, through every level, scrap included). comp_ptr / comp_item / comp_factor: the
    direct components of each item (CSR)."""

    inputs: MrpInputs
    end: Array
    buy: Array
    demand: Array
    weeks: pd.DatetimeIndex
    start: int
    lead_draws: Array
    buy_lead_mean: Array
    buy_lead_std: Array
    buy_moq: Array
    buy_lot: Array
    explode: Array
    comp_ptr: Array
    comp_item: Array
    comp_factor: Array

    @property
    def n(self) -> int:
        return self.inputs.n_items

    @property
    def skus(self) -> Array:
        return self.inputs.skus

    @classmethod
    def build(
        cls,
        items: pd.DataFrame,
        bom: pd.DataFrame,
        demand: pd.DataFrame,
        start: int,
        lead_draws: Array,
        horizon: int = 26,
    ) -> Factory:
        """items: sku, make_or_buy, lead_time_periods (MRP's planned lead time, weeks), unit_cost and the optional
        MRP columns (lot_rule, lot_size, moq, poq_periods, order_cost); bought items also lead_time_mean and
        lead_time_std (weeks; default the planned lead time and 0), supplier_moq (0) and lot_multiple (1).
        bom: parent_sku, component_sku, qty_per[, scrap_rate]. demand: end items' weekly demand, one row per end
        item (index = sku), one column per week (7 days apart); `start` is the first simulated column.
        lead_draws: (bought items in items order, simulated weeks) whole weeks ≥ 1."""
        weeks = pd.DatetimeIndex(demand.columns)
        if len(weeks) < 2 or (np.diff(weeks) != pd.Timedelta(days=WEEK_DAYS)).any():
            raise ValueError("demand columns must be consecutive weeks (7 days apart)")
        if not 0 < start < len(weeks):
            raise ValueError(f"start must leave history before it and weeks after it; got {start} of {len(weeks)}")
        table = items.copy()
        made = table["make_or_buy"].astype(str).str.strip().str.lower() == "make"
        # a made item takes at least one week: its output is usable from the next week
        table["lead_time_periods"] = np.where(
            made, np.maximum(table["lead_time_periods"], 1), table["lead_time_periods"]
        )
        grid = pd.DataFrame(
            {
                "sku": table["sku"].iloc[0],
                "date": weeks[start] + pd.to_timedelta(7 * np.arange(horizon), "D"),
                "qty": 0.0,
            }
        )
        inputs = MrpInputs.from_frames(table, bom, grid, plan_date=weeks[start])
        index = pd.Index(inputs.skus)
        end = index.get_indexer(pd.Index(demand.index))
        if (end < 0).any():
            raise ValueError(f"demand row {demand.index[int(np.flatnonzero(end < 0)[0])]!r} is not in items")
        top = sorted(set(range(inputs.n_items)) - set(inputs.bom_component.tolist()))
        if sorted(end.tolist()) != top:
            raise ValueError("demand must have one row per end item (items that are no other item's component)")
        buy = np.flatnonzero(~inputs.make)
        draws = np.asarray(lead_draws, dtype=np.int64)
        if draws.shape[0] != len(buy) or draws.shape[1] < len(weeks) - start or (draws < 1).any():
            raise ValueError(
                f"lead_draws must be (bought items = {len(buy)}, simulated weeks ≥ {len(weeks) - start}) whole "
                f"weeks ≥ 1; got shape {draws.shape}"
            )
        bought = table.set_index("sku").reindex(inputs.skus[buy])

        def column(name: str, default: Array | float) -> Array:
            if name not in bought.columns:
                return np.broadcast_to(np.asarray(default, dtype=float), (len(buy),)).copy()
            values = pd.to_numeric(bought[name], errors="coerce").to_numpy(dtype=float)
            return np.where(np.isnan(values), default, values)

        planned = inputs.lead_time[buy].astype(float)
        ptr, comp, factor = _components(inputs)
        return cls(
            inputs=inputs,
            end=end.astype(np.int64),
            buy=buy,
            demand=demand.to_numpy(dtype=float),
            weeks=weeks,
            start=start,
            lead_draws=draws,
            buy_lead_mean=column("lead_time_mean", planned),
            buy_lead_std=column("lead_time_std", 0.0),
            buy_moq=column("supplier_moq", 0.0),
            buy_lot=column("lot_multiple", 1.0),
            explode=_explosion(inputs, end),
            comp_ptr=ptr,
            comp_item=comp,
            comp_factor=factor,
        )


def _components(inputs: MrpInputs) -> tuple[Array, Array, Array]:
    """Direct components of every item as CSR (a component listed twice for one parent is summed)."""
    n = inputs.n_items
    key = inputs.bom_parent * n + inputs.bom_component
    unique, inverse = np.unique(key, return_inverse=True)
    factor = np.bincount(inverse, inputs.bom_factor, minlength=len(unique))
    parent, comp = unique // n, unique % n
    ptr = np.searchsorted(parent, np.arange(n + 1))
    return ptr.astype(np.int64), comp.astype(np.int64), factor


def _explosion(inputs: MrpInputs, end: Array) -> Array:
    """(n_end × n) units of every item per unit of each end item, level by level (scrap included)."""
    n = inputs.n_items
    direct = np.zeros((n, n))
    np.add.at(direct, (inputs.bom_parent, inputs.bom_component), inputs.bom_factor)
    total = np.zeros((len(end), n))
    layer = np.zeros((len(end), n))
    layer[np.arange(len(end)), end] = 1.0
    for _ in range(int(inputs.level.max(initial=0)) + 1):
        total += layer
        layer = layer @ direct
    return total


@dataclass
class Ledger:
    """Weekly stock accounting per item (n × simulated weeks): `start` on hand at the start of the week (before
    arrivals), `arrived` (purchase receipts and finished production), `issued` to production, `shipped` to customers,
    `end` on hand at the end of the week. `demand` and `shipped_to_date` are the end items' weekly demand and
    cumulative shipments (n_end × weeks)."""

    start: Array
    arrived: Array
    issued: Array
    shipped: Array
    end: Array
    demand: Array
    shipped_to_date: Array


@dataclass
class ArmResult:
    """One replay of one arm at one knob value; figures over the measured weeks (see the module docstring)."""

    arm: str
    knob: float
    line_fill: float
    unit_fill: float
    lines: int
    late_lines: int
    blocked_lines: int
    blocked_by: dict[str, int]
    production_orders: int
    delayed_orders: int
    purchase_orders: int
    component_value: float
    intermediate_value: float
    end_item_value: float
    open_lines_at_end: int
    seconds: float
    ledger: Ledger = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in dataclasses.asdict(self).items() if k != "ledger"}
        out["blocked_by"] = dict(sorted(self.blocked_by.items(), key=lambda kv: -kv[1])[:10])
        return out


@dataclass
class _Orders:
    """Open orders as parallel lists: item, qty, the week MRP expects them (due) and the week they arrive (None for
    a production order still waiting for material)."""

    item: list[int] = field(default_factory=list)
    qty: list[float] = field(default_factory=list)
    due: list[int] = field(default_factory=list)
    arrive: list[int | None] = field(default_factory=list)

    def add(self, item: int, qty: float, due: int, arrive: int | None) -> None:
        self.item.append(item)
        self.qty.append(qty)
        self.due.append(due)
        self.arrive.append(arrive)

    def keep(self, mask: list[bool]) -> None:
        for name in ("item", "qty", "due", "arrive"):
            setattr(self, name, [v for v, k in zip(getattr(self, name), mask, strict=True) if k])


class _Run:
    """The state of one replay; `week(s)` advances it by one simulated week."""

    def __init__(self, factory: Factory, arm: Arm, knob: float, config: ReplayConfig) -> None:
        if arm not in ARMS:
            raise ValueError(f"arm must be one of {', '.join(ARMS)}; got {arm!r}")
        self.f, self.arm, self.knob, self.config = factory, arm, knob, config
        weeks = config.total_weeks
        if factory.start + weeks > factory.demand.shape[1] or factory.lead_draws.shape[1] < weeks:
            raise ValueError(f"the factory holds fewer than the {weeks} simulated weeks the config asks for")
        if factory.start < max(config.forecast_weeks, config.history_weeks):
            raise ValueError("the factory's demand history is shorter than the forecast or consumption window")
        n, n_end = factory.n, len(factory.end)
        self.ledger = Ledger(
            start=np.zeros((n, weeks)),
            arrived=np.zeros((n, weeks)),
            issued=np.zeros((n, weeks)),
            shipped=np.zeros((n, weeks)),
            end=np.zeros((n, weeks)),
            demand=np.zeros((n_end, weeks)),
            shipped_to_date=np.zeros((n_end, weeks)),
        )
        self.arrivals = np.zeros((n, weeks + int(factory.lead_draws.max()) + int(factory.inputs.lead_time.max()) + 2))
        self.purchases = _Orders()
        self.in_progress = _Orders()
        self.waiting = _Orders()
        self.waiting_delayed: list[bool] = []
        self.blocker = np.full(n, -1, dtype=np.int64)
        self.blocked_lines: dict[int, int] = {}
        self.late_blocked = np.zeros((n_end, weeks), dtype=bool)
        self.delayed_orders = 0
        self.production_orders = 0
        self.purchase_orders = 0
        self.make_seq = 0
        self.cum_demand = np.zeros(n_end)
        self.cum_shipped = np.zeros(n_end)
        buy = factory.buy
        history = factory.demand[:, factory.start - config.history_weeks : factory.start].T @ factory.explode[:, buy]
        self.consumption = np.concatenate([history.T, np.zeros((len(buy), weeks))], axis=1)
        self.buy_row = np.full(n, -1, dtype=np.int64)
        self.buy_row[buy] = np.arange(len(buy))
        self.on_order = np.zeros(n)
        self.on_hand = self._initial_stock()
        inputs = factory.inputs
        self.unit_cost = inputs.unit_cost
        self.base_safety = np.zeros(n)
        self.policy = LeanplanPolicy(targets=_flat_targets(knob)) if arm == "independent" else None
        self.terms = OrderTerms.of(
            len(buy),
            unit_cost=inputs.unit_cost[buy],
            holding_rate=np.full(len(buy), HOLDING_RATE),
            order_cost=inputs.order_cost[buy],
            moq=factory.buy_moq,
            lot_multiple=factory.buy_lot,
        )

    # --- set-up -------------------------------------------------------------------------------------------------
    def forecast(self, s: int) -> Array:
        """End items' weekly forecast at simulated week s: the trailing mean of the actual demand."""
        c = self.f.start + s
        return self.f.demand[:, c - self.config.forecast_weeks : c].mean(axis=1)

    def rate(self, s: int) -> Array:
        """Every item's weekly need exploded from the end items' forecast."""
        return self.forecast(s) @ self.f.explode

    def _initial_stock(self) -> Array:
        """Common start: end items hold safety stock + one week, made intermediates one week, purchased items their
        planned lead time + one week of exploded need; nothing on order."""
        f, rate = self.f, self.rate(0)
        weeks = f.inputs.lead_time.astype(float) + 1.0
        stock = rate * np.where(f.inputs.make, 1.0, weeks)
        stock[f.end] = rate[f.end] * (self.config.fg_safety_weeks + 1.0)
        return stock

    # --- one week -----------------------------------------------------------------------------------------------
    def week(self, s: int) -> None:
        led = self.ledger
        led.start[:, s] = self.on_hand
        arrived = self.arrivals[:, s]
        self.on_hand = self.on_hand + arrived
        led.arrived[:, s] = arrived
        bought = arrived[self.f.buy]
        self.on_order[self.f.buy] -= bought
        self._drop_arrived(s)
        result = plan(self._mrp_inputs(s), MrpOptions(pegging=False))
        self._release(s, result.planned_releases[:, 0])
        self._start_waiting(s)
        if self.arm == "mrp":
            self._order_mrp(s, result.planned_releases[self.f.buy, 0])
        else:
            self._order_independent(s)
        self._ship(s)
        led.end[:, s] = self.on_hand

    def _drop_arrived(self, s: int) -> None:
        for orders in (self.purchases, self.in_progress):
            orders.keep([a is not None and a > s for a in orders.arrive])

    def _allocations(self) -> Array:
        """Components owed to the production orders waiting for material."""
        f, owed = self.f, np.zeros(self.f.n)
        for item, qty in zip(self.waiting.item, self.waiting.qty, strict=True):
            sl = slice(f.comp_ptr[item], f.comp_ptr[item + 1])
            owed[f.comp_item[sl]] += f.comp_factor[sl] * qty
        return owed

    def _mrp_inputs(self, s: int) -> MrpInputs:
        f, cfg, inputs = self.f, self.config, self.f.inputs
        horizon, fc = inputs.n_periods, self.forecast(s)
        n_end = len(f.end)
        qty = np.repeat(fc[:, None], horizon, axis=1)
        actual = f.demand[:, f.start + s]
        qty[:, 0] = np.maximum(actual, fc) + (self.cum_demand - self.cum_shipped)
        owed = self._allocations()
        owing = np.flatnonzero(owed > EPS)
        demand_item = np.concatenate([np.repeat(f.end, horizon), owing])
        demand_period = np.concatenate([np.tile(np.arange(horizon), n_end), np.zeros(len(owing), dtype=np.int64)])
        demand_qty = np.concatenate([qty.ravel(), owed[owing]])
        open_item = np.array(self.purchases.item + self.in_progress.item + self.waiting.item, dtype=np.int64)
        open_qty = np.array(self.purchases.qty + self.in_progress.qty + self.waiting.qty, dtype=float)
        due = np.array(self.purchases.due + self.in_progress.due + self.waiting.due, dtype=np.int64) - s
        safety = self.base_safety.copy()
        safety[f.end] = cfg.fg_safety_weeks * fc
        if self.arm == "mrp":
            safety[f.buy] = self.knob * self.rate(s)[f.buy]
        return dataclasses.replace(
            inputs,
            on_hand=self.on_hand.copy(),
            safety_stock=safety,
            demand_item=demand_item,
            demand_period=demand_period,
            demand_qty=demand_qty,
            demand_id=np.full(len(demand_item), "forecast", dtype=object),
            open_id=np.arange(len(open_item)).astype(str).astype(object),
            open_item=open_item,
            open_period=due,
            open_qty=open_qty,
            open_due=np.full(len(open_item), np.datetime64("NaT"), dtype="datetime64[ns]"),
        )

    def _release(self, s: int, releases: Array) -> None:
        """Made items release their planned orders of period 0; their components count as consumption."""
        f = self.f
        made = np.flatnonzero((releases > EPS) & f.inputs.make)
        for item in made.tolist():
            qty = float(releases[item])
            self.waiting.add(item, qty, s + int(f.inputs.lead_time[item]), None)
            self.waiting_delayed.append(False)
            sl = slice(f.comp_ptr[item], f.comp_ptr[item + 1])
            rows = self.buy_row[f.comp_item[sl]]
            bought = rows >= 0
            self.consumption[rows[bought], self.config.history_weeks + s] += f.comp_factor[sl][bought] * qty
        if s >= self.config.warmup_weeks:
            self.production_orders += len(made)

    def _start_waiting(self, s: int) -> None:
        """Start waiting orders in due-date order when all their components are on hand; the rest stay blocked."""
        f, led = self.f, self.ledger
        order = sorted(range(len(self.waiting.item)), key=lambda k: (self.waiting.due[k], k))
        keep = [True] * len(order)
        self.blocker[:] = -1
        for k in order:
            item, qty = self.waiting.item[k], self.waiting.qty[k]
            sl = slice(f.comp_ptr[item], f.comp_ptr[item + 1])
            comps, need = f.comp_item[sl], f.comp_factor[sl] * qty
            have = self.on_hand[comps]
            if (have >= need - EPS).all():
                self.on_hand[comps] = np.maximum(have - need, 0.0)
                led.issued[comps, s] += need
                done = s + int(f.inputs.lead_time[item])
                self.arrivals[item, done] += qty
                self.in_progress.add(item, qty, done, done)
                keep[k] = False
                continue
            if self.blocker[item] < 0:
                self.blocker[item] = comps[int(np.argmax((need - have) / np.maximum(need, EPS)))]
            if not self.waiting_delayed[k] and s >= self.config.warmup_weeks:
                self.delayed_orders += 1
            self.waiting_delayed[k] = True
        self.waiting.keep(keep)
        self.waiting_delayed = [d for d, k in zip(self.waiting_delayed, keep, strict=True) if k]

    def _place(self, s: int, qty: Array) -> None:
        """Purchase orders of the bought items (`qty` per bought item), rounded to the supplier's MOQ and lot."""
        f = self.f
        placed = np.flatnonzero(qty > EPS)
        rounded = round_to_lot(qty[placed], f.buy_moq[placed], f.buy_lot[placed], integer=False)
        for row, q in zip(placed.tolist(), rounded.tolist(), strict=True):
            item = int(f.buy[row])
            arrive = s + int(f.lead_draws[row, s])
            self.arrivals[item, arrive] += q
            self.on_order[item] += q
            self.purchases.add(item, q, s + int(f.inputs.lead_time[item]), arrive)
        if s >= self.config.warmup_weeks:
            self.purchase_orders += len(placed)

    def _order_mrp(self, s: int, releases: Array) -> None:
        self._place(s, releases)

    def _order_independent(self, s: int) -> None:
        f, cfg = self.f, self.config
        assert self.policy is not None
        t = cfg.history_weeks + s
        history = DemandHistory(
            pd.Index(f.skus[f.buy]), pd.date_range(end=f.weeks[f.start + s - 1], periods=t, freq="7D"),
            self.consumption[:, :t], "W",
        )  # fmt: skip
        window = DemandHistory(
            history.skus, history.periods[-cfg.history_weeks :], history.qty[:, -cfg.history_weeks :], "W"
        )
        data = ReplayData(history=window, terms=self.terms, lead_time=f.buy_lead_mean, lead_time_std=f.buy_lead_std)
        stats = demand_stats(window)
        ppy = periods_per_year("W")
        _, q, _ = order_quantity(stats.mean, self.terms, ppy, integer=False)
        classes = classify(window, self.terms.unit_cost)
        ctx = PeriodContext(t, stats, q, classes["abc"].to_numpy(), classes["xyz"].to_numpy())
        reorder = self.policy.reorder_points(data, ctx, self.policy.prepare(data, ctx), 1.0)
        position = self.on_hand[f.buy] + self.on_order[f.buy] - self._allocations()[f.buy]
        need = (position < reorder - EPS) & (q > 0)
        self._place(s, np.where(need, reorder + q - position, 0.0))

    def _ship(self, s: int) -> None:
        f, led = self.f, self.ledger
        demand = f.demand[:, f.start + s]
        self.cum_demand = self.cum_demand + demand
        ship = np.minimum(self.on_hand[f.end], np.maximum(self.cum_demand - self.cum_shipped, 0.0))
        self.on_hand[f.end] -= ship
        self.cum_shipped = self.cum_shipped + ship
        led.shipped[f.end, s] = ship
        led.demand[:, s] = demand
        led.shipped_to_date[:, s] = self.cum_shipped
        late = (demand > EPS) & (self.cum_shipped < self.cum_demand - EPS * np.maximum(1.0, self.cum_demand))
        for row in np.flatnonzero(late).tolist():
            cause = self._root_blocker(int(f.end[row]))
            if cause >= 0:
                self.late_blocked[row, s] = True
                if s >= self.config.warmup_weeks:
                    self.blocked_lines[cause] = self.blocked_lines.get(cause, 0) + 1

    def _root_blocker(self, item: int) -> int:
        """The component blocking the item's oldest waiting order, followed down through blocked made components."""
        cause = int(self.blocker[item])
        while cause >= 0 and self.f.inputs.make[cause] and self.blocker[cause] >= 0:
            cause = int(self.blocker[cause])
        return cause

    # --- figures ------------------------------------------------------------------------------------------------
    def result(self, seconds: float) -> ArmResult:
        f, cfg, led = self.f, self.config, self.ledger
        measured = slice(cfg.warmup_weeks, cfg.total_weeks)
        demand = led.demand[:, measured]
        cum_demand = np.cumsum(led.demand, axis=1)[:, measured]
        shipped = led.shipped_to_date[:, measured]
        tol = EPS * np.maximum(1.0, cum_demand)
        lines = demand > EPS
        on_time = lines & (shipped >= cum_demand - tol)
        before = np.concatenate([led.shipped_to_date[:, :1] * 0.0, led.shipped_to_date], axis=1)[:, measured]
        prior = cum_demand - demand
        # units of each week's demand shipped in that week (FIFO: what shipments cover beyond the earlier demand)
        units_on_time = np.clip(shipped - np.maximum(prior, before), 0.0, demand)
        # the mean of the week's start (after arrivals) and end (after issues and shipments)
        value = 0.5 * (led.start + led.arrived + led.end)[:, measured] * self.unit_cost[:, None]
        average = value.mean(axis=1)
        all_demand = np.cumsum(led.demand, axis=1)
        tol_all = EPS * np.maximum(1.0, all_demand)
        made_not_end = f.inputs.make.copy()
        made_not_end[f.end] = False
        return ArmResult(
            arm=self.arm,
            knob=float(self.knob),
            line_fill=float(on_time.sum() / lines.sum()) if lines.any() else 1.0,
            unit_fill=float(units_on_time.sum() / demand.sum()) if demand.sum() > 0 else 1.0,
            lines=int(lines.sum()),
            late_lines=int((lines & ~on_time).sum()),
            blocked_lines=int(self.late_blocked[:, measured].sum()),
            blocked_by={str(f.skus[c]): n for c, n in self.blocked_lines.items()},
            production_orders=self.production_orders,
            delayed_orders=self.delayed_orders,
            purchase_orders=self.purchase_orders,
            component_value=float(average[f.buy].sum()),
            intermediate_value=float(average[made_not_end].sum()),
            end_item_value=float(average[f.end].sum()),
            open_lines_at_end=int(((led.demand > EPS) & (all_demand > led.shipped_to_date[:, -1:] + tol_all)).sum()),
            seconds=seconds,
            ledger=led,
        )


def _flat_targets(fill: float) -> ServiceTargets:
    """The same fill-rate target for every ABC class, met by every component on its own (`uniform`): production
    needs all of an order's components, so a class's fill cannot be bought with cheap items counted in pieces (the
    `value` allocation leaves the expensive active ingredients without stock)."""
    return ServiceTargets(targets={"A": fill, "B": fill, "C": fill}, default=fill, allocation="uniform")


def simulate(factory: Factory, arm: Arm, knob: float, config: ReplayConfig | None = None) -> ArmResult:
    """Replay `arm` at `knob` over the config's weeks (see the module docstring)."""
    config = config or ReplayConfig()
    started = time.perf_counter()
    state = _Run(factory, arm, knob, config)
    for s in range(config.total_weeks):
        state.week(s)
    return state.result(time.perf_counter() - started)


# --- the sample factory ---------------------------------------------------------------------------------------------
def _read_sample(data_dir: Path) -> dict[str, pd.DataFrame]:
    from pipelines.ingest import read_table

    frames = {}
    for name in ("items", "bom", "demand.pbs", "receipts", "suppliers", "routings"):
        _, frames[name.split(".")[0]] = read_table(data_dir / f"{name}.csv")
    return frames


def weekly_demand(monthly: pd.DataFrame, skus: pd.Index, first: pd.Timestamp, weeks: int) -> pd.DataFrame:
    """Weekly demand (skus × `weeks` weeks from `first`) from monthly sku, date, qty: each month's quantity spread
    evenly over its days; months missing from the data are zero."""
    months = pd.date_range(first.to_period("M").to_timestamp(), first + pd.Timedelta(days=7 * weeks), freq="MS")
    matrix = (
        monthly[monthly["sku"].isin(skus)]
        .pivot_table(index="sku", columns="date", values="qty", aggfunc="sum")
        .reindex(index=skus, columns=months)
        .fillna(0.0)
        .to_numpy(dtype=float)
    )
    days = np.asarray(months.days_in_month)
    daily = np.repeat(matrix / days, days, axis=1)
    offset = (first - months[0]).days
    dates = first + pd.to_timedelta(WEEK_DAYS * np.arange(weeks), "D")
    block = daily[:, offset : offset + WEEK_DAYS * weeks].reshape(len(skus), weeks, WEEK_DAYS).sum(axis=2)
    return pd.DataFrame(block, index=skus, columns=dates)


def lead_time_draws(receipts: pd.DataFrame, primary: pd.DataFrame, weeks: int, rng: np.random.Generator) -> np.ndarray:
    """(rows of `primary`, weeks) actual lead times in whole weeks (≥ 1): the primary offer's nominal lead time plus
    a lateness (received − promised, days) drawn from its supplier's received purchase orders (the offer's own
    when it has 10 or more); an order arriving on a day of week w is usable from week w + 1."""
    received = receipts[receipts["received_date"].notna()]
    lateness = (received["received_date"] - received["promised_date"]).dt.days.to_numpy(dtype=float)
    by_offer = pd.Series(lateness).groupby([received["supplier_id"].to_numpy(), received["sku"].to_numpy()])
    by_supplier = pd.Series(lateness).groupby(received["supplier_id"].to_numpy())
    offer_pool = {key: g.to_numpy() for key, g in by_offer}
    supplier_pool = {key: g.to_numpy() for key, g in by_supplier}
    draws = np.empty((len(primary), weeks), dtype=np.int64)
    for row, (supplier, sku, nominal) in enumerate(
        zip(primary["supplier_id"], primary["sku"], primary["nominal_lead_time_days"], strict=True)
    ):
        pool = offer_pool.get((supplier, sku), np.empty(0))
        if len(pool) < 10:
            pool = supplier_pool.get(supplier, np.zeros(1))
        days = np.maximum(float(nominal) + rng.choice(pool, weeks), 0.0)
        draws[row] = np.maximum(np.ceil(days / WEEK_DAYS - 1e-9), 1).astype(np.int64)
    return draws


def sample_factory(
    data_dir: Path = SAMPLE_DIR,
    config: ReplayConfig | None = None,
    lead_time_quantile: float = 0.9,
    seed: int = 20081,
) -> Factory:
    """The sample factory's items in bills of materials with the planning choices of `leanplan plan mrp`
    (`service.mrp`: lot rules, order costs, bought lead times at `lead_time_quantile` of the primary offer's
    reliability-weighted lead time, made lead times from routings and queue days), the PBS demand as weekly end-item
    demand, and seeded lead-time draws. The replayed year starts on `REPLAY_START`."""
    from service.mrp import LOT_RULES, NOMINAL_BUY_DAYS, PERIOD_DAYS, buy_terms, make_lead_days

    config = config or ReplayConfig()
    frames = _read_sample(Path(data_dir))
    bom = frames["bom"]
    in_bom = set(bom["parent_sku"]) | set(bom["component_sku"])
    items = frames["items"][frames["items"]["sku"].isin(in_bom)].reset_index(drop=True)
    terms = buy_terms(frames, items, pd.Timestamp("2008-07-01"), lead_time_quantile)
    buy = pd.Index(items.loc[items["make_or_buy"] == "buy", "sku"])
    days = pd.concat([terms.lead_days.reindex(buy).fillna(NOMINAL_BUY_DAYS), make_lead_days(items, frames["routings"])])
    primary = terms.offers[terms.offers["primary"]].set_index("sku").reindex(buy)
    if primary["supplier_id"].isna().any():
        raise ValueError(f"bought item {primary.index[primary['supplier_id'].isna()][0]!r} has no supplier offer")
    table = pd.DataFrame(
        {
            "sku": items["sku"],
            "make_or_buy": items["make_or_buy"],
            "lead_time_periods": np.ceil(days.reindex(items["sku"]).to_numpy() / PERIOD_DAYS - 1e-9).astype(int),
            "lot_rule": items["lot_rule"].map(LOT_RULES).fillna("lfl"),
            "lot_size": items["lot_size"].fillna(1.0),
            "moq": items["moq"].fillna(0.0),
            "poq_periods": pd.to_numeric(items["poq_periods"]).fillna(2).astype(int),
            "unit_cost": items["unit_cost"].fillna(0.0),
            "order_cost": items["order_cost"].fillna(50.0),
        }
    )
    by_sku = primary.reindex(table["sku"])
    table["lead_time_mean"] = by_sku["lead_time_mean_days"].to_numpy() / WEEK_DAYS
    table["lead_time_std"] = by_sku["lead_time_std_days"].to_numpy() / WEEK_DAYS
    table["supplier_moq"] = by_sku["moq"].to_numpy()
    table["lot_multiple"] = by_sku["lot_multiple"].to_numpy()
    ends = pd.Index(sorted(set(bom["parent_sku"]) - set(bom["component_sku"])))
    history = max(config.forecast_weeks, config.history_weeks)
    first = REPLAY_START - pd.Timedelta(days=WEEK_DAYS * (config.warmup_weeks + history))
    demand = weekly_demand(frames["demand"], ends, first, history + config.total_weeks)
    receipts = frames["receipts"][frames["receipts"]["sku"].isin(buy)]
    draws = lead_time_draws(receipts, primary.reset_index(), config.total_weeks, np.random.default_rng(seed))
    return Factory.build(
        table,
        bom[["parent_sku", "component_sku", "qty_per", "scrap_rate"]],
        demand,
        history,
        draws,
        config.horizon_weeks,
    )


# --- tuning and the benchmark ---------------------------------------------------------------------------------------
@dataclass
class Tuning:
    """An arm tuned to a target line fill: the chosen run (the closest at or above the target, else the closest) and
    every evaluation."""

    arm: str
    target: float
    result: ArmResult
    evaluations: list[ArmResult]
    converged: bool


def _x(spec: ArmSpec, knob: float) -> float:
    """The knob on the scale the search steps on (increasing in fill): −log(1 − target) for fill-rate targets."""
    return -math.log(1.0 - knob) if spec.log_complement else knob


def _knob(spec: ArmSpec, x: float) -> float:
    return 1.0 - math.exp(-x) if spec.log_complement else x


def curve(factory: Factory, arm: Arm, knobs: list[float], config: ReplayConfig | None = None) -> list[ArmResult]:
    """One replay per knob value: the arm's fill-versus-component-inventory curve."""
    return [simulate(factory, arm, k, config) for k in knobs]


def tune(
    factory: Factory,
    arm: Arm,
    target: float,
    config: ReplayConfig | None = None,
    tol: float = 0.002,
    max_evals: int = 6,
    known: list[ArmResult] | None = None,
) -> Tuning:
    """Search the arm's knob for line fill within `tol` of `target`: regula falsi between the closest runs below and
    above the target (`known` runs count), the knob's bounds when the target is not yet bracketed."""
    if not 0 < target < 1:
        raise ValueError(f"target line fill must be strictly between 0 and 1; got {target}")
    spec = ARMS[arm]
    low, high = (_x(spec, b) for b in spec.bounds)
    runs = list(known or [])
    for _ in range(max_evals):
        if any(abs(r.line_fill - target) <= tol for r in runs):
            break
        x = _next_knob(spec, runs, target, low, high)
        if x is None:
            break
        runs.append(simulate(factory, arm, _knob(spec, x), config))
        log.info("%s %s=%.4g line fill %.4f", arm, spec.knob_name, runs[-1].knob, runs[-1].line_fill)
    close = [r for r in runs if abs(r.line_fill - target) <= tol]
    above = [r for r in runs if r.line_fill >= target]
    best = min(close or above or runs, key=lambda r: abs(r.line_fill - target))
    return Tuning(arm, target, best, runs, bool(close))


def _next_knob(spec: ArmSpec, runs: list[ArmResult], target: float, low: float, high: float) -> float | None:
    """The next knob (search scale) to try, or None when the target is out of the knob's range."""
    tried = {round(_x(spec, r.knob), 9) for r in runs}
    below = [r for r in runs if r.line_fill < target]
    above = [r for r in runs if r.line_fill >= target]
    if not above:  # every run falls short: try the knob's top, then give up
        return None if round(high, 9) in tried else high
    if not below:  # every run overshoots: try the knob's bottom, then give up
        return None if round(low, 9) in tried else low
    lo = max(below, key=lambda r: _x(spec, r.knob))
    hi = min(above, key=lambda r: _x(spec, r.knob))
    x_lo, x_hi = _x(spec, lo.knob), _x(spec, hi.knob)
    if x_hi <= x_lo:  # noise made the curve non-monotone here: bisect
        return 0.5 * (x_lo + x_hi)
    share = (target - lo.line_fill) / (hi.line_fill - lo.line_fill)
    return x_lo + min(max(share, 0.15), 0.85) * (x_hi - x_lo)


def value_at_fill(runs: list[ArmResult], fill: float) -> float | None:
    """Component inventory value at a line fill, interpolated on the runs sorted by fill (None outside them)."""
    ordered = sorted(runs, key=lambda r: r.line_fill)
    fills = np.array([r.line_fill for r in ordered])
    if not len(fills) or fill < fills[0] or fill > fills[-1]:
        return None
    return float(np.interp(fill, fills, [r.component_value for r in ordered]))


def run(
    data_dir: Path = SAMPLE_DIR,
    target: float = 0.975,
    config: ReplayConfig | None = None,
    lead_time_quantile: float = 0.9,
    seed: int = 20081,
    mrp_knobs: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 4.0),
    independent_knobs: tuple[float, ...] = (0.8, 0.9, 0.95, 0.98, 0.995),
    tol: float = 0.002,
    max_evals: int = 4,
) -> dict[str, Any]:
    """The benchmark: both arms' curves, both tuned to `target` line fill, and the comparison at equal fill."""
    config = config or ReplayConfig()
    started = time.perf_counter()
    factory = sample_factory(data_dir, config, lead_time_quantile, seed)
    built = time.perf_counter() - started
    curves: dict[str, list[ArmResult]] = {}
    tuned: dict[str, Tuning] = {}
    arms: tuple[Arm, Arm] = ("mrp", "independent")
    for arm, knobs in zip(arms, (mrp_knobs, independent_knobs), strict=True):
        curves[arm] = curve(factory, arm, list(knobs), config)
        tuned[arm] = tune(factory, arm, target, config, tol, max_evals, known=curves[arm])
    mrp, independent = tuned["mrp"].result, tuned["independent"].result
    fills = sorted({round(f, 3) for f in (0.95, 0.96, 0.97, target, 0.98, 0.985, 0.99)})
    at_fill = []
    for fill in fills:
        values = {arm: value_at_fill(tuned[arm].evaluations, fill) for arm in arms}
        saved = None
        if values["mrp"] is not None and values["independent"]:
            saved = 1.0 - values["mrp"] / values["independent"]
        at_fill.append({"line_fill": fill, **{f"{arm}_component_value": values[arm] for arm in arms}, "saved": saved})
    return {
        "config": dataclasses.asdict(config),
        "target_line_fill": target,
        "lead_time_quantile": lead_time_quantile,
        "seed": seed,
        "replay": {
            "first_week": str(REPLAY_START.date()),
            "last_week": str((REPLAY_START + pd.Timedelta(days=WEEK_DAYS * (config.weeks - 1))).date()),
            "items": factory.n,
            "end_items": len(factory.end),
            "bought_items": len(factory.buy),
            "made_intermediates": int(factory.inputs.make.sum()) - len(factory.end),
            "bom_lines": len(factory.inputs.bom_parent),
        },
        "knobs": {arm: ARMS[arm].knob_name for arm in arms},
        "curves": {arm: [r.as_dict() for r in sorted(tuned[arm].evaluations, key=lambda r: r.knob)] for arm in arms},
        "tuned": {arm: {**tuned[arm].result.as_dict(), "converged": tuned[arm].converged} for arm in arms},
        "comparison": {
            "component_value_saved": 1.0 - mrp.component_value / independent.component_value
            if independent.component_value > 0
            else None,
            "component_value_difference": independent.component_value - mrp.component_value,
            "blocked_lines": {"mrp": mrp.blocked_lines, "independent": independent.blocked_lines},
            "at_fill": at_fill,
        },
        "seconds": {"build": round(built, 1), "total": round(time.perf_counter() - started, 1)},
    }
