"""`/v1/what-if`: the policy of some SKUs under a changed service target, lead time or MOQ; nothing is saved."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from optimizer.whatif import Change
from service import whatif
from service.api.deps import EngineDep, PlannerKey

router = APIRouter(prefix="/v1/what-if", tags=["what-if"])

Sku = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class WhatIfRequest(BaseModel):
    """SKUs and the change to evaluate (give at least one of the changes, or none for the baseline alone)."""

    model_config = ConfigDict(extra="forbid")

    skus: list[Sku] = Field(min_length=1, max_length=500, description="SKUs to evaluate (1 to 500).")
    service_target: float | None = Field(default=None, gt=0, lt=1, description="Fill-rate target, e.g. 0.98.")
    lead_time_days: float | None = Field(default=None, ge=0, description="New mean lead time (days).")
    lead_time_factor: float | None = Field(
        default=None, gt=0, description="Scale of the lead time (e.g. 1.5); not with lead_time_days."
    )
    moq: float | None = Field(default=None, ge=0, description="Minimum order quantity (units) for every offer.")


@router.post(
    "",
    summary="Safety stock, reorder point, fill rate and capital under a change (nothing is saved)",
    responses={404: {"description": "Unknown SKU(s)."}, 422: {"description": "Invalid values."}},
)
def evaluate(body: WhatIfRequest, _: PlannerKey, engine: EngineDep) -> dict[str, Any]:
    """Per SKU: `baseline` (its current target and terms), `scenario` (with the change) and `delta`
    (scenario − baseline), computed the same way so they compare like with like, plus the stored `plan` line."""
    try:
        change = Change(**body.model_dump(exclude={"skus"}))
    except ValidationError as err:
        raise HTTPException(status_code=422, detail=err.errors()[0]["msg"].removeprefix("Value error, ")) from None
    try:
        return whatif.evaluate(engine, body.skus, change)
    except whatif.UnknownSkus as err:
        raise HTTPException(status_code=404, detail=str(err)) from None
