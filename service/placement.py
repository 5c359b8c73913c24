"""Stock placement against the database: the Guaranteed Service Model network of the items in bills of materials
(`optimizer.placement.from_tables`), solved (`optimizer.placement.place_safety_stock`), stored as the `placement`
plan kind — per item its service times, net replenishment time, safety stock, base-stock level and whether it is a
decoupling point.

Choices (recorded in the plan's params):
- **Periods** are weeks. Bought items' stage time is the supplier lead time at `lead_time_quantile` of the primary
  offer (as MRP plans use, `service.mrp.buy_terms`); made items' the routing time of one lot plus `queue_days`.
- **End-item demand** (the top-level items of the BOMs): mean and standard deviation per week of their demand
  history over the `history_weeks` before the plan date; monthly (or other) periods are scaled to weeks assuming
  independent weeks (mean × 7/d, std × √(7/d) for a period of d days). Components get theirs by propagation through
  the BOM with the `correlation` assumption (`independent`: root-sum-square; `correlated`: sum).
- **Unit value** is the item's `unit_cost` as a full standard cost (`cost_basis="standard"`).

Public interface: `PlacementRequest`, `compute_plan`, `stage_rows`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from optimizer.placement.result import PlacementResult
    from service.planning.computed import ComputedPlan, PlanRun

PERIOD_DAYS = 7.0


class PlacementRequest(BaseModel):
    """What a placement plan is computed from (every field optional)."""

    model_config = ConfigDict(extra="ignore")

    as_of: str | None = None
    service_level: float = Field(default=0.95, gt=0, lt=1)
    correlation: Literal["independent", "correlated"] = "independent"
    lead_time_quantile: float = Field(default=0.9, gt=0, lt=1)
    history_weeks: int = Field(default=52, ge=4, le=520)
    time_limit: float = Field(default=30.0, gt=0, le=600)


def end_item_demand(demand: pd.DataFrame, skus: pd.Index, as_of: pd.Timestamp, weeks: int) -> pd.DataFrame:
    """(sku, demand_mean, demand_std) per week of each end item over the `weeks` before `as_of` (zeros without
    history); each SKU's own period length (the usual gap between its dates) is scaled to weeks."""
    start = as_of - pd.Timedelta(weeks=weeks)
    window = demand[demand["sku"].isin(skus) & (demand["date"] >= start) & (demand["date"] < as_of)]
    rows = []
    for sku, group in window.sort_values("date").groupby("sku"):
        gaps = group["date"].diff().dt.days.dropna()
        days = float(gaps.median()) if len(gaps) else PERIOD_DAYS
        qty = group["qty"].to_numpy(dtype=float)
        scale = PERIOD_DAYS / max(days, 1.0)
        rows.append((sku, qty.mean() * scale, (qty.std(ddof=1) if len(qty) > 1 else 0.0) * np.sqrt(scale)))
    found = pd.DataFrame(rows, columns=["sku", "demand_mean", "demand_std"]).set_index("sku")
    return found.reindex(skus).fillna(0.0).rename_axis("sku").reset_index()


def stage_rows(result: PlacementResult, levels: dict[str, int]) -> list[dict[str, Any]]:
    """`placement_stages` rows (without plan id)."""
    out = []
    for row in result.stages.to_dict("records"):
        record = {str(k): (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
        sku = str(record.pop("stage"))
        record["decoupling_point"] = bool(record["decoupling_point"])
        out.append({"sku": sku, "level": levels.get(sku, 0), **record})
    return out


def compute_plan(run: PlanRun) -> ComputedPlan:
    """The `placement` plan kind: network from the stored tables, optimal service times and safety stocks."""
    from optimizer.mrp.graph import low_level_codes
    from optimizer.placement import network_from_tables, place_safety_stock
    from service.mrp import buy_terms, default_as_of, read_tables
    from service.planning.computed import ComputedPlan

    request = PlacementRequest.model_validate(run.request)
    run.progress(0.05, "loading bills of materials, suppliers and demand")
    frames = read_tables(run.engine)
    bom = frames["bom"]
    if bom.empty:
        raise LookupError("no bill of materials in the database; load one with `leanplan import` or POST /v1/data/bom")
    in_bom = set(bom["parent_sku"]) | set(bom["component_sku"])
    items = frames["items"]
    as_of = pd.Timestamp(request.as_of).normalize() if request.as_of else default_as_of(frames["inventory"], in_bom)
    terms = buy_terms(frames, items, as_of, request.lead_time_quantile)
    lead_times = terms.lead_days.rename("lead_time_days").rename_axis("sku").reset_index()
    top = pd.Index(sorted(set(bom["parent_sku"]) - set(bom["component_sku"])))
    demand = end_item_demand(frames["demand"], top, as_of, request.history_weeks)
    network = network_from_tables(
        items,
        bom,
        demand,
        suppliers=frames["suppliers"],
        lead_times=lead_times,
        routings=frames["routings"],
        period_days=PERIOD_DAYS,
        service_level=request.service_level,
    )
    run.progress(0.2, f"placing safety stock over {len(network.names):,} items")
    result = place_safety_stock(network, correlation=request.correlation, time_limit=request.time_limit)
    names = list(network.names)
    index = {n: i for i, n in enumerate(names)}
    parent = np.array([index[s] for s in bom["parent_sku"] if s in index])
    component = np.array([index[s] for s in bom["component_sku"] if s in index])
    codes = low_level_codes(parent, component, len(names), names=names)
    stages = result.stages
    summary = {
        **{k: v for k, v in result.summary.items() if isinstance(v, int | float | str | bool) or v is None},
        "items": len(stages),
        "decoupling_points": int(stages["decoupling_point"].sum()),
        "safety_stock_value": round(float(stages["safety_stock_cost"].sum()), 2),
    }
    params = {
        "request": request.model_dump(mode="json"),
        "as_of": as_of.date().isoformat(),
        "period_days": PERIOD_DAYS,
        "demand": f"end items' weekly demand over the {request.history_weeks} weeks before the plan date",
        "cost_basis": "standard",
        "scope": "items in bills of materials",
    }

    def files(plan_id: str, out_dir: Any) -> list[Any]:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{plan_id}.placement.csv"
        stages.to_csv(path, index=False)
        return [path]

    return ComputedPlan(
        kind="placement",
        as_of=as_of,
        model_version=None,
        params=params,
        summary=summary,
        rows={"placement_stages": stage_rows(result, {n: int(codes[i]) for i, n in enumerate(names)})},
        result=result,
        write_files=files,
    )


__all__ = ["PlacementRequest", "compute_plan", "end_item_demand", "stage_rows"]
