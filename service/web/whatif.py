"""What-if for one SKU, as the page's fetch asks for it (`service.whatif.evaluate`: baseline = the newest
replenishment plan's date, policy parameters and the SKU's target; scenario = the change); nothing is stored.

Public interface: `evaluate(engine, sku, change)`, `default_sku(engine)`, `WhatIfRequest`.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, select

from optimizer.whatif import Change
from service import whatif
from service.db.tables import Alert, Item, PlanLine, SupplierOffer
from service.web.plans import replenishment_plan


class WhatIfRequest(BaseModel):
    """The page's request: one SKU and the change."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=200)
    service_target: float | None = Field(default=None, gt=0, lt=1)
    lead_time_days: float | None = Field(default=None, ge=0, le=3650)
    moq: float | None = Field(default=None, ge=0)

    def change(self) -> Change:
        return Change(service_target=self.service_target, lead_time_days=self.lead_time_days, moq=self.moq)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def evaluate(engine: Engine, sku: str, change: Change) -> dict[str, Any]:
    """Baseline, scenario and delta of `sku` (raises `service.whatif.UnknownSkus` for an unknown SKU)."""
    return whatif.evaluate(engine, [sku], change)


def current(engine: Engine, sku: str) -> dict[str, Any] | None:
    """The SKU's figures the form starts from: target, mean lead time (plan), MOQ (primary offer, else item);
    None for an unknown SKU."""
    with engine.connect() as conn:
        item = conn.execute(select(Item.sku, Item.name, Item.moq, Item.make_or_buy).where(Item.sku == sku)).first()
        if item is None:
            return None
        plan = replenishment_plan(conn)
        line = None
        if plan is not None:
            line = conn.execute(
                select(
                    PlanLine.service_target, PlanLine.expected_fill_rate, PlanLine.lead_time_days, PlanLine.supplier_id
                ).where(PlanLine.plan_id == plan.id, PlanLine.sku == sku)
            ).first()
        moq = item.moq
        if line is not None and line.supplier_id:
            offer = conn.execute(
                select(SupplierOffer.moq).where(SupplierOffer.sku == sku, SupplierOffer.supplier_id == line.supplier_id)
            ).scalar()
            moq = offer if offer is not None else moq
    return {
        "sku": item.sku,
        "name": item.name,
        # the fill rate the plan gave this SKU (its share of the class target), which the baseline reproduces
        "service_target": _number(line.expected_fill_rate or line.service_target) if line is not None else None,
        "lead_time_days": _number(line.lead_time_days) if line is not None else None,
        "moq": _number(moq),
    }


def default_sku(engine: Engine) -> str | None:
    """A SKU worth a look: the one with the most value at risk in the newest plan, else the first item."""
    with engine.connect() as conn:
        plan = replenishment_plan(conn)
        if plan is not None:
            sku = conn.execute(
                select(Alert.sku)
                .where(Alert.plan_id == plan.id, Alert.sku.is_not(None))
                .order_by(Alert.value_at_risk.desc())
                .limit(1)
            ).scalar()
            if sku:
                return str(sku)
            sku = conn.execute(select(PlanLine.sku).where(PlanLine.plan_id == plan.id).limit(1)).scalar()
            if sku:
                return str(sku)
        first = conn.execute(select(Item.sku).order_by(Item.sku).limit(1)).scalar()
    return str(first) if first else None


__all__ = ["WhatIfRequest", "current", "default_sku", "evaluate"]
