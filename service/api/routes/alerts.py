"""`/v1/alerts`."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])
