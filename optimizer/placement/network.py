"""A supply network for stock placement: stages (items, process steps, locations) and arcs (supply links) with a
quantity per unit, validated once so the solvers can trust it.

A stage has a stage time T (days from the moment all inputs are available until the output can serve its
customers), a stage cost (value added per unit; the unit value is rolled up through the arcs), optional external
demand (mean and standard deviation per period), a service level, an optional longest outbound service time it may
quote to its customers (`max_service_time`) and an external inbound service time (how late its outside supplier may
deliver; 0 unless given). End items are the stages without successors; each must have its demand standard deviation
given (zero is valid).

Defaults, documented once:

- the unit value of stage j is ``stage_cost_j + Σ_i qty_ij · unit_value_i`` over its suppliers i (a bill-of-materials
  roll-up: an input reached by two paths is consumed twice), unless a ``unit_value`` column gives it directly;
- a stage without a service level uses the network's `service_level` (the level an internal stage guarantees);
- an end item without `max_service_time` must serve from stock (0); other stages are unbounded.

Public interface: `NetworkError`, `Network`, `build_network(stages, arcs, service_level=0.95)`,
`STAGE_COLUMNS`, `ARC_COLUMNS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy.stats import norm

__all__ = ["ARC_COLUMNS", "STAGE_COLUMNS", "Network", "NetworkError", "build_network"]

#: Columns of the stages frame: required first, then optional ones.
STAGE_COLUMNS = (
    "stage",
    "stage_time",
    "stage_cost",
    "demand_mean",
    "demand_std",
    "service_level",
    "max_service_time",
    "inbound_service_time",
    "unit_value",
)
#: Columns of the arcs frame (``qty`` optional, default 1).
ARC_COLUMNS = ("source", "destination", "qty")


class NetworkError(ValueError):
    """The network cannot be used as given; the message names the stage or arc and says what to fix."""


@dataclass(frozen=True, eq=False)
class Network:
    """A validated acyclic network; stage arrays are indexed in topological order (suppliers first).

    Times are in periods (days), demand is per period, costs are money per unit.
    """

    names: tuple[str, ...]
    stage_time: np.ndarray
    stage_cost: np.ndarray
    unit_value: np.ndarray
    demand_mean: np.ndarray  # external demand per period, 0 where none
    demand_std: np.ndarray  # external demand std per period, 0 where none
    has_demand: np.ndarray  # bool: external demand given
    service_level: np.ndarray
    max_service_time: np.ndarray  # inf where unbounded
    inbound_service_time: np.ndarray
    arc_source: np.ndarray  # int index
    arc_destination: np.ndarray  # int index
    arc_qty: np.ndarray

    @property
    def n(self) -> int:
        """Number of stages."""
        return len(self.names)

    @cached_property
    def predecessors(self) -> tuple[tuple[int, ...], ...]:
        """Supplier stage indices of each stage."""
        preds: list[list[int]] = [[] for _ in range(self.n)]
        for i, j in zip(self.arc_source.tolist(), self.arc_destination.tolist(), strict=True):
            preds[j].append(i)
        return tuple(tuple(p) for p in preds)

    @cached_property
    def successors(self) -> tuple[tuple[int, ...], ...]:
        """Customer stage indices of each stage."""
        succs: list[list[int]] = [[] for _ in range(self.n)]
        for i, j in zip(self.arc_source.tolist(), self.arc_destination.tolist(), strict=True):
            succs[i].append(j)
        return tuple(tuple(s) for s in succs)

    @cached_property
    def end_items(self) -> np.ndarray:
        """Bool per stage: no successor."""
        return np.array([not s for s in self.successors], dtype=bool)

    @cached_property
    def safety_factor(self) -> np.ndarray:
        """z = Φ⁻¹(service level) per stage."""
        return np.asarray(norm.ppf(self.service_level), dtype=float)

    @cached_property
    def max_replenishment_time(self) -> np.ndarray:
        """M_j = T_j + max(inbound service time_j, max over suppliers M_i): the longest time stage j can wait."""
        m = np.zeros(self.n)
        for j in range(self.n):
            upstream = max((m[i] for i in self.predecessors[j]), default=0.0)
            m[j] = self.stage_time[j] + max(self.inbound_service_time[j], upstream)
        return m

    @cached_property
    def is_tree(self) -> bool:
        """True when the undirected network has no cycle (a forest: assembly and distribution trees)."""
        parent = list(range(self.n))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for i, j in zip(self.arc_source.tolist(), self.arc_destination.tolist(), strict=True):
            ri, rj = find(i), find(j)
            if ri == rj:
                return False
            parent[ri] = rj
        return True

    @cached_property
    def integral_times(self) -> bool:
        """True when stage times, inbound service times and finite maximum service times are whole periods."""
        finite = self.max_service_time[np.isfinite(self.max_service_time)]
        values = np.concatenate([self.stage_time, self.inbound_service_time, finite])
        return bool(np.all(values == np.round(values)))


def _column(frame: pd.DataFrame, name: str, default: float) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), default, dtype=float)
    column = frame[name]
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=float)
    try:
        return pd.to_numeric(column).to_numpy(dtype=float)
    except (TypeError, ValueError) as err:
        raise NetworkError(f"column {name!r} must hold numbers: {err}") from err


def _check_nonnegative(names: list[str], values: np.ndarray, what: str, *, allow_nan: bool = False) -> None:
    bad = np.isnan(values) if not allow_nan else np.zeros(len(values), dtype=bool)
    bad |= values < 0
    bad |= np.isinf(values)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise NetworkError(f"stage {names[k]!r}: {what} must be a number >= 0, got {values[k]}")


def _topological_order(names: list[str], src: np.ndarray, dst: np.ndarray) -> list[int]:
    n = len(names)
    indegree = np.bincount(dst, minlength=n)
    succs: list[list[int]] = [[] for _ in range(n)]
    for i, j in zip(src.tolist(), dst.tolist(), strict=True):
        succs[i].append(j)
    ready = [k for k in range(n) if indegree[k] == 0]
    order: list[int] = []
    while ready:
        k = ready.pop()
        order.append(k)
        for j in succs[k]:
            indegree[j] -= 1
            if indegree[j] == 0:
                ready.append(j)
    if len(order) < n:
        stuck = sorted(names[k] for k in range(n) if indegree[k] > 0)
        raise NetworkError(
            f"the arcs form a cycle through stage {stuck[0]!r} ({len(stuck)} stages on or behind cycles); "
            "a supply network must be acyclic: remove the arc that closes the loop"
        )
    return order


def build_network(stages: pd.DataFrame, arcs: pd.DataFrame, *, service_level: float = 0.95) -> Network:
    """Validate the stages and arcs frames (columns `STAGE_COLUMNS`, `ARC_COLUMNS`) into a `Network`.

    `service_level` is used by stages that give none (internal stages); it must lie in (0, 1).
    Raises `NetworkError` naming the first bad stage or arc: duplicate stage, arc to an unknown stage, a cycle,
    negative or missing times or costs, an end item with no demand standard deviation given.
    """
    if not 0.0 < service_level < 1.0:
        raise NetworkError(f"service level must lie strictly between 0 and 1, got {service_level}")
    for col in ("stage", "stage_time", "stage_cost"):
        if col not in stages.columns:
            raise NetworkError(f"stages need a {col!r} column; got columns {list(stages.columns)}")
    for col in ("source", "destination"):
        if col not in arcs.columns:
            raise NetworkError(f"arcs need a {col!r} column; got columns {list(arcs.columns)}")
    names = stages["stage"].astype(str).tolist()
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise NetworkError(f"stage {name!r} appears twice; stage names must be unique")
        seen.add(name)
    index = {name: k for k, name in enumerate(names)}
    src_names = arcs["source"].astype(str).tolist()
    dst_names = arcs["destination"].astype(str).tolist()
    for a, b in zip(src_names, dst_names, strict=True):
        for end in (a, b):
            if end not in index:
                raise NetworkError(f"arc {a!r} -> {b!r} names unknown stage {end!r}; add the stage or drop the arc")
        if a == b:
            raise NetworkError(f"arc {a!r} -> {b!r} is a loop on stage {a!r}; remove it")
    qty = _column(arcs, "qty", 1.0)
    qty = np.where(np.isnan(qty), 1.0, qty)
    if (qty <= 0).any() or np.isinf(qty).any():
        k = int(np.flatnonzero((qty <= 0) | np.isinf(qty))[0])
        raise NetworkError(f"arc {src_names[k]!r} -> {dst_names[k]!r}: qty must be > 0, got {qty[k]}")
    src = np.array([index[a] for a in src_names], dtype=np.int64)
    dst = np.array([index[b] for b in dst_names], dtype=np.int64)
    if len(set(zip(src.tolist(), dst.tolist(), strict=True))) < len(src):
        pairs = pd.Series(list(zip(src_names, dst_names, strict=True)))
        a, b = pairs[pairs.duplicated()].iloc[0]
        raise NetworkError(f"arc {a!r} -> {b!r} appears twice; give it once with the total qty")

    order = _topological_order(names, src, dst)
    position = np.empty(len(names), dtype=np.int64)
    position[order] = np.arange(len(names))
    frame = stages.iloc[order].reset_index(drop=True)
    names = [names[k] for k in order]
    src, dst = position[src], position[dst]

    stage_time = _column(frame, "stage_time", math.nan)
    stage_cost = _column(frame, "stage_cost", math.nan)
    _check_nonnegative(names, stage_time, "stage_time")
    _check_nonnegative(names, stage_cost, "stage_cost")
    inbound = _column(frame, "inbound_service_time", 0.0)
    inbound = np.where(np.isnan(inbound), 0.0, inbound)
    _check_nonnegative(names, inbound, "inbound_service_time")

    mean = _column(frame, "demand_mean", math.nan)
    std = _column(frame, "demand_std", math.nan)
    has_demand = ~np.isnan(std)
    is_end = np.ones(len(names), dtype=bool)
    is_end[src] = False
    missing = is_end & ~has_demand
    if missing.any():
        k = int(np.flatnonzero(missing)[0])
        raise NetworkError(
            f"end item {names[k]!r} has no demand standard deviation; give demand_std (0 is valid) "
            f"({int(missing.sum())} end items lack it)"
        )
    _check_nonnegative(names, std, "demand_std", allow_nan=True)
    _check_nonnegative(names, mean, "demand_mean", allow_nan=True)
    mean = np.where(np.isnan(mean), 0.0, mean)
    std = np.where(has_demand, std, 0.0)

    level = _column(frame, "service_level", math.nan)
    level = np.where(np.isnan(level), service_level, level)
    bad = (level <= 0) | (level >= 1)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise NetworkError(f"stage {names[k]!r}: service_level must lie strictly between 0 and 1, got {level[k]}")
    max_st = _column(frame, "max_service_time", math.nan)
    max_st = np.where(np.isnan(max_st), np.where(is_end, 0.0, math.inf), max_st)
    if (max_st < 0).any():
        k = int(np.flatnonzero(max_st < 0)[0])
        raise NetworkError(f"stage {names[k]!r}: max_service_time must be >= 0, got {max_st[k]}")

    given_value = _column(frame, "unit_value", math.nan)
    value = np.zeros(len(names))
    preds: list[list[int]] = [[] for _ in names]
    for arc, dest in enumerate(dst.tolist()):
        preds[dest].append(arc)
    for j in range(len(names)):
        if not np.isnan(given_value[j]):
            value[j] = given_value[j]
        else:
            value[j] = stage_cost[j] + sum(qty[a] * value[src[a]] for a in preds[j])
    _check_nonnegative(names, value, "unit_value")

    return Network(
        names=tuple(names),
        stage_time=stage_time,
        stage_cost=stage_cost,
        unit_value=value,
        demand_mean=mean,
        demand_std=std,
        has_demand=has_demand,
        service_level=level,
        max_service_time=max_st,
        inbound_service_time=inbound,
        arc_source=src,
        arc_destination=dst,
        arc_qty=qty,
    )
