"""A stock-placement network from leanplan's canonical tables: items are stages, bill-of-materials lines are arcs.

Choices, stated once:

- **Stages:** every item that appears in the ``bom`` (as parent or component) or has demand variability given.
- **Arcs:** component → parent with quantity ``qty_per / (1 − scrap_rate)`` (scrap inflates what a parent draws).
- **Stage time (periods):** a bought item's is its supplier lead time — ``lead_times`` (sku, lead_time_days), e.g.
  the offers' lead time at the planned reliability quantile (`lead_times_at_quantile`), else the shortest nominal
  lead time among its ``suppliers`` offers. A made item's is its routing time plus ``queue_days``: per operation the
  hours one lot (``lot_size``, default 1) takes on its fastest eligible line, summed over the operations and divided
  by ``hours_per_day``. Days are divided by ``period_days`` so times are in the periods the demand is measured in.
- **Unit value:** ``cost_basis="standard"`` (default) reads ``unit_cost`` as the item's full standard cost, which
  already contains its components, so the unit value is ``unit_cost`` and the stage cost (value added) is
  ``unit_cost − Σ qty × component unit_cost`` (never below 0); ``cost_basis="added"`` reads ``unit_cost`` as the
  value added at the item and rolls the unit value up through the bill of materials.
- **Demand:** ``demand`` (sku, demand_std[, demand_mean]) per period — for end items typically the standard deviation
  of the forecast errors per period from the backtest residuals. Components get theirs by propagation.

Public interface: `COST_BASES`, `network_from_tables(...)`, `lead_times_at_quantile(offers, point_columns, q)`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.placement.network import Network, NetworkError, build_network

__all__ = ["COST_BASES", "lead_times_at_quantile", "network_from_tables"]

COST_BASES = ("standard", "added")


def lead_times_at_quantile(offers: pd.DataFrame, point_columns: list[str], quantile: float) -> pd.DataFrame:
    """(sku, lead_time_days): per SKU the shortest, over its offers, of the lead time at `quantile` of the offer's
    equally likely lead-time points (`optimizer.suppliers.Reliability.offers` and its `point_columns`)."""
    if not 0.0 <= quantile <= 1.0:
        raise NetworkError(f"lead-time quantile must lie in [0, 1], got {quantile}")
    values = np.quantile(offers[point_columns].to_numpy(dtype=float), quantile, axis=1)
    frame = pd.DataFrame({"sku": offers["sku"].astype(str).to_numpy(), "lead_time_days": values})
    return frame.groupby("sku")["lead_time_days"].min().reset_index()


def _routing_days(routings: pd.DataFrame, lot_size: pd.Series, hours_per_day: float) -> pd.Series:
    r = routings.assign(sku=routings["sku"].astype(str))
    fastest = r.groupby(["sku", "op"])["rate_per_hour"].max().reset_index()
    fastest["hours"] = fastest["sku"].map(lot_size).fillna(1.0) / fastest["rate_per_hour"]
    return fastest.groupby("sku")["hours"].sum() / hours_per_day


def network_from_tables(
    items: pd.DataFrame,
    bom: pd.DataFrame,
    demand: pd.DataFrame,
    *,
    suppliers: pd.DataFrame | None = None,
    lead_times: pd.DataFrame | None = None,
    routings: pd.DataFrame | None = None,
    hours_per_day: float = 24.0,
    period_days: float = 1.0,
    cost_basis: str = "standard",
    service_level: float = 0.95,
    max_service_time: float = 0.0,
) -> Network:
    """The network of the items in `bom` and `demand` (see the module docstring for every choice).

    `max_service_time` (periods) is what end items may quote customers unless `demand` has a ``max_service_time``
    column; `service_level` applies to items without a ``service_level`` column value in `demand`.
    Raises `NetworkError` naming the SKU: unknown in items, a bought item without lead time, a made item without
    routing, a BOM cycle, negative values.
    """
    if cost_basis not in COST_BASES:
        raise NetworkError(f"cost_basis must be one of {COST_BASES}, got {cost_basis!r}")
    if hours_per_day <= 0 or period_days <= 0:
        raise NetworkError(f"hours_per_day and period_days must be > 0, got {hours_per_day} and {period_days}")
    item = items.assign(sku=items["sku"].astype(str)).set_index("sku")
    lines = bom.assign(parent_sku=bom["parent_sku"].astype(str), component_sku=bom["component_sku"].astype(str))
    dem = demand.assign(sku=demand["sku"].astype(str)).drop_duplicates("sku", keep="last").set_index("sku")
    skus = list(dict.fromkeys([*lines["parent_sku"], *lines["component_sku"], *dem.index]))
    unknown = [s for s in skus if s not in item.index]
    if unknown:
        raise NetworkError(f"SKU {unknown[0]!r} is in the bom or demand but not in items ({len(unknown)} such SKUs)")
    item = item.loc[skus]
    make = item.get("make_or_buy", pd.Series("buy", index=item.index)).fillna("buy").astype(str).eq("make")
    queue = pd.to_numeric(item.get("queue_days", pd.Series(0.0, index=item.index)), errors="coerce").fillna(0.0)
    lot = pd.to_numeric(item.get("lot_size", pd.Series(1.0, index=item.index)), errors="coerce").fillna(1.0)

    days = pd.Series(np.nan, index=item.index)
    if lead_times is not None:
        given = lead_times.assign(sku=lead_times["sku"].astype(str)).groupby("sku")["lead_time_days"].min()
        days.loc[~make] = given.reindex(days.index[~make]).to_numpy()
    if suppliers is not None:
        nominal = suppliers.assign(sku=suppliers["sku"].astype(str)).groupby("sku")["nominal_lead_time_days"].min()
        days.loc[~make] = days.loc[~make].fillna(nominal.reindex(days.index[~make]))
    missing = days.index[~make & days.isna()]
    if len(missing):
        raise NetworkError(
            f"bought item {missing[0]!r} has no lead time; give it a suppliers offer or a lead_times row "
            f"({len(missing)} bought items lack one)"
        )
    if make.any():
        routing = _routing_days(routings, lot, hours_per_day) if routings is not None else pd.Series(dtype=float)
        made = days.index[make]
        no_route = [s for s in made if s not in routing.index]
        if no_route:
            raise NetworkError(
                f"made item {no_route[0]!r} has no routing; add its routings rows ({len(no_route)} lack one)"
            )
        days.loc[made] = routing.reindex(made).to_numpy() + queue.loc[made].to_numpy()

    scrap = pd.to_numeric(lines.get("scrap_rate", pd.Series(0.0, index=lines.index)), errors="coerce").fillna(0.0)
    if ((scrap < 0) | (scrap >= 1)).any():
        k = int(np.flatnonzero((scrap < 0) | (scrap >= 1))[0])
        raise NetworkError(f"bom line {lines['parent_sku'].iloc[k]!r} <- {lines['component_sku'].iloc[k]!r}: "
                           f"scrap_rate must lie in [0, 1), got {scrap.iloc[k]}")  # fmt: skip
    arcs = (
        pd.DataFrame(
            {
                "source": lines["component_sku"].to_numpy(),
                "destination": lines["parent_sku"].to_numpy(),
                "qty": (pd.to_numeric(lines["qty_per"]) / (1.0 - scrap)).to_numpy(),
            }
        )
        .groupby(["source", "destination"])["qty"]
        .sum()
        .reset_index()
    )

    cost = pd.to_numeric(item["unit_cost"], errors="coerce")
    stages = pd.DataFrame({"stage": skus, "stage_time": (days / period_days).to_numpy()})
    if cost_basis == "standard":
        drawn = (arcs["qty"] * arcs["source"].map(cost)).groupby(arcs["destination"]).sum()
        stages["stage_cost"] = (cost - drawn.reindex(cost.index).fillna(0.0)).clip(lower=0.0).to_numpy()
        stages["unit_value"] = cost.to_numpy()
    else:
        stages["stage_cost"] = cost.to_numpy()
    for col in ("demand_mean", "demand_std", "service_level", "max_service_time"):
        if col in dem.columns:
            stages[col] = pd.to_numeric(dem[col], errors="coerce").reindex(skus).to_numpy()
    ends = ~stages["stage"].isin(arcs["source"])
    if "max_service_time" not in stages.columns:
        stages["max_service_time"] = np.where(ends, max_service_time, np.nan)
    return build_network(stages, arcs, service_level=service_level)
