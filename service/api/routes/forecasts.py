"""`/v1/forecasts`."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/forecasts", tags=["forecasts"])
