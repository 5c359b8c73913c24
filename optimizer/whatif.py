"""What-if: the replenishment policy of some SKUs under a changed service target, lead time or MOQ, next to the
same computation without the change (so the deltas compare like with like). Frames only; nothing is stored.

Both sides run `optimizer.replenishment.plan_replenishment` on the same inputs with a fill-rate target met by each
SKU on its own (`ServiceTargets(allocation="uniform")`):

- **baseline**: each SKU's own target (`baseline_targets`, e.g. the stored plan's), the plan's parameters;
- **scenario**: `service_target` for every SKU (else its baseline target); `lead_time_days` sets the mean lead time
  (the lead-time points are scaled to it, keeping their relative spread) or `lead_time_factor` multiplies it; `moq`
  replaces the minimum order quantity of every offer of the SKU (and of a make item).

Per SKU and side: safety stock, reorder point, order-up-to level, order quantity (the policy's lot S − s: the EOQ
rule, at least the MOQ), the order to place now (0 when the position is above the reorder point), expected fill
rate, capital (expected inventory value under the policy: (safety stock + Q/2)⁺ × unit cost) and days of supply
(that expected inventory in days of demand).

Public interface: `Change`, `METRICS`, `what_if`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from optimizer.classify import ServiceTargets
from optimizer.history import days_per_period
from optimizer.replenishment import ReplenishmentConfig, ReplenishmentInputs, plan_replenishment
from optimizer.suppliers import supplier_reliability

#: the figures compared per side, in output order
METRICS = [
    "safety_stock",
    "reorder_point",
    "order_up_to",
    "order_qty",
    "order_now",
    "expected_fill_rate",
    "capital",
    "days_of_supply",
]
DEFAULT_TARGET = 0.95
_RECEIPT_COLUMNS = ["po_id", "supplier_id", "sku", "qty_ordered", "order_date", "promised_date", "received_date",
                    "qty_received"]  # fmt: skip


class Change(BaseModel):
    """The change to evaluate; None leaves a figure as it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service_target: float | None = Field(default=None, gt=0, lt=1, description="fill-rate target for every SKU")
    lead_time_days: float | None = Field(default=None, ge=0, description="mean lead time (days)")
    lead_time_factor: float | None = Field(default=None, gt=0, description="multiplies the lead time")
    moq: float | None = Field(default=None, ge=0, description="minimum order quantity (units)")

    @model_validator(mode="after")
    def _one_lead_time(self) -> Change:
        if self.lead_time_days is not None and self.lead_time_factor is not None:
            raise ValueError("give lead_time_days (a new mean lead time) or lead_time_factor (a scale), not both")
        return self


def _with_moq(inputs: ReplenishmentInputs, moq: float) -> ReplenishmentInputs:
    items = inputs.items.assign(moq=np.where(inputs.items.get("make_or_buy") == "make", moq, inputs.items["moq"]))
    suppliers = inputs.suppliers.assign(moq=moq) if inputs.suppliers is not None else None
    return replace(inputs, items=items, suppliers=suppliers)


def _side(inputs: ReplenishmentInputs, config: ReplenishmentConfig, targets: pd.Series) -> pd.DataFrame:
    """The policy figures of every SKU of `inputs`, each at its own fill-rate target (one plan per distinct
    target)."""
    parts = []
    for value, skus in targets.groupby(targets).groups.items():
        target = float(value)  # type: ignore[arg-type]
        goal = ServiceTargets(targets={}, default=target, allocation="uniform")
        subset = inputs if len(skus) == len(targets) else _only(inputs, list(skus))
        plan = plan_replenishment(subset, config.model_copy(update={"targets": goal}), provenance=False)
        lines = plan.lines.set_index("sku")
        dpp = days_per_period(str(plan.params["frequency"]))
        unit_cost = subset.items.drop_duplicates("sku").set_index("sku")["unit_cost"].astype(float)
        per_day = lines["demand_per_period"].astype(float).to_numpy() / dpp
        active = lines["reorder_point"].notna().to_numpy()
        s, big_s = lines["reorder_point"].astype(float).to_numpy(), lines["order_up_to"].astype(float).to_numpy()
        lot = np.where(active, big_s - s, 0.0)
        units = np.where(active & (per_day > 0), np.maximum(lines["safety_stock"].astype(float) + lot / 2, 0.0), 0.0)
        parts.append(
            pd.DataFrame(
                {
                    "service_target": target,
                    "lead_time_days": lines["lead_time_days"].astype(float),
                    "safety_stock": lines["safety_stock"].astype(float),
                    "reorder_point": s,
                    "order_up_to": big_s,
                    "order_qty": lot,
                    "order_now": lines["order_qty"].astype(float),
                    "expected_fill_rate": lines["expected_fill_rate"].astype(float),
                    "capital": np.where(active, units * unit_cost.reindex(lines.index).to_numpy(), np.nan),
                    "days_of_supply": np.divide(units, per_day, out=np.full(len(lines), np.nan), where=per_day > 0),
                },
                index=lines.index,
            )
        )
    return pd.concat(parts).reindex(targets.index)


def _with_reliability(inputs: ReplenishmentInputs, config: ReplenishmentConfig) -> ReplenishmentInputs:
    """Supplier reliability once for both sides (it depends on receipts, offers and lead-time terms, not on MOQs)."""
    if inputs.reliability is not None or inputs.suppliers is None or inputs.suppliers.empty:
        return inputs
    receipts = inputs.receipts if inputs.receipts is not None else pd.DataFrame(columns=_RECEIPT_COLUMNS)
    settings = config.reliability.model_copy(update={"points": config.lead_time_points})
    return replace(inputs, reliability=supplier_reliability(receipts, inputs.suppliers, inputs.as_of, settings))


def _only(inputs: ReplenishmentInputs, skus: list[str]) -> ReplenishmentInputs:
    keep = set(skus)

    def cut(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        return frame[frame["sku"].isin(keep)].reset_index(drop=True) if frame is not None else None

    return replace(
        inputs,
        items=inputs.items[inputs.items["sku"].isin(keep)].reset_index(drop=True),
        demand=inputs.demand[inputs.demand["sku"].isin(keep)].reset_index(drop=True),
        inventory=cut(inputs.inventory),
        open_orders=cut(inputs.open_orders),
        suppliers=cut(inputs.suppliers),
        forecast=cut(inputs.forecast),
    )  # receipts stay whole: supplier reliability is estimated over all of a supplier's receipts


def what_if(
    inputs: ReplenishmentInputs,
    change: Change,
    config: ReplenishmentConfig | None = None,
    baseline_targets: pd.Series | None = None,
) -> pd.DataFrame:
    """Baseline and scenario per SKU of `inputs.items`: columns `baseline_<m>`, `scenario_<m>`, `delta_<m>` for
    each of `METRICS`, plus both sides' `service_target` and mean `lead_time_days`; index `sku`.

    baseline_targets: fill-rate target per SKU (missing → 0.95)."""
    config = config or ReplenishmentConfig()
    inputs = _with_reliability(inputs, config)
    skus = pd.Index(inputs.items["sku"].drop_duplicates(), name="sku")
    if skus.empty:
        raise ValueError("no SKUs to evaluate")
    base_targets = pd.Series(DEFAULT_TARGET, index=skus, dtype=float)
    if baseline_targets is not None:
        given = baseline_targets.reindex(skus).astype(float)
        base_targets = given.where(given.between(0, 1, inclusive="neither"), DEFAULT_TARGET)
    baseline = _side(inputs, config.model_copy(update={"lead_time_days": None, "lead_time_factor": 1.0}), base_targets)
    scenario_targets = (
        base_targets if change.service_target is None else pd.Series(change.service_target, index=skus, dtype=float)
    )
    scenario_config = config.model_copy(
        update={"lead_time_days": change.lead_time_days, "lead_time_factor": change.lead_time_factor or 1.0}
    )
    scenario_inputs = inputs if change.moq is None else _with_moq(inputs, change.moq)
    scenario = _side(scenario_inputs, scenario_config, scenario_targets)
    out = pd.DataFrame(index=skus)
    for name in ["service_target", "lead_time_days", *METRICS]:
        out[f"baseline_{name}"] = baseline[name]
        out[f"scenario_{name}"] = scenario[name]
        if name in METRICS:
            out[f"delta_{name}"] = scenario[name] - baseline[name]
    return out


__all__ = ["METRICS", "Change", "what_if"]
