"""`/v1/skus`."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/skus", tags=["skus"])
