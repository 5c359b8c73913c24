"""`/v1/what-if`."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/what-if", tags=["what-if"])
