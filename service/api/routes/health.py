"""`/healthz` (process alive, no auth), `/readyz` (database and model registry reachable), `/metrics` (Prometheus)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from service.api.deps import EngineDep, SettingsDep
from service.db.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _check_database(engine: Any) -> dict[str, Any]:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision, head = current_revision(engine), head_revision(engine)
    except Exception as err:
        return {"ok": False, "error": str(err).splitlines()[0]}
    if revision != head:
        return {"ok": False, "error": f"schema at {revision}, code expects {head}; run `leanplan db upgrade`"}
    return {"ok": True, "revision": revision}


def _check_model(tracking_uri: str) -> dict[str, Any]:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from pipelines.registry import CHAMPION, MODEL_NAME

    try:
        version = MlflowClient(tracking_uri=tracking_uri).get_model_version_by_alias(MODEL_NAME, CHAMPION)
    except MlflowException as err:
        if "RESOURCE_DOES_NOT_EXIST" in str(err.error_code) or "not found" in str(err).lower():
            return {"ok": True, "champion": None, "note": "no model trained yet; POST /v1/training-runs"}
        return {"ok": False, "error": str(err).splitlines()[0]}
    except Exception as err:
        return {"ok": False, "error": str(err).splitlines()[0]}
    return {"ok": True, "champion": str(version.version)}


@router.get("/readyz", summary="Readiness: database migrated and reachable, model registry reachable")
async def readyz(engine: EngineDep, settings: SettingsDep) -> JSONResponse:
    database, model = await asyncio.gather(
        asyncio.to_thread(_check_database, engine), asyncio.to_thread(_check_model, settings.mlflow_tracking_uri)
    )
    ready = database["ok"] and model["ok"]
    return JSONResponse(
        status_code=200 if ready else 503,
        content={"status": "ready" if ready else "not ready", "database": database, "model": model},
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
