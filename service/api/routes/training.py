"""`/v1/training-runs`."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/training-runs", tags=["training"])
