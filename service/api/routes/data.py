"""`/v1/data`."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/data", tags=["data"])
