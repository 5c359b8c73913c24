"""`/v1/models`: versions of the demand model (MLflow registry), promotion and rollback of the champion.

Moving the champion also publishes that version's forecast set when the database holds it completely, so the
forecasts served follow the champion. MLflow calls block: the handlers are plain functions (run in a threadpool).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pandas as pd
from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, Field
from sqlalchemy import Engine, select

from service.api.deps import EngineDep, PlannerKey, ScientistKey, SettingsDep
from service.db.forecasts import current_version
from service.db.tables import ForecastSet
from service.settings import Settings
from service.training import publish_if_stored

router = APIRouter(prefix="/v1/models", tags=["models"])

_mlflow_lock = threading.Lock()


class ModelVersion(BaseModel):
    version: str
    aliases: list[str]
    run_id: str | None = None
    experiment: str | None = None
    created_at: dt.datetime | None = None
    metrics: dict[str, float] = Field(default_factory=dict, description="Backtest metrics of the version.")
    data: dict[str, str] = Field(default_factory=dict, description="Fingerprint and shape of the training data.")
    forecast_set: str | None = Field(
        default=None, description="Status of its forecast set in the database (published, ready, superseded …)."
    )


class ChampionChange(BaseModel):
    champion: str
    previous: str | None = None
    forecasts_published: bool
    current_forecast_version: str | None
    message: str


def _registry(settings: Settings) -> Any:
    """`pipelines.registry`, talking to the configured tracking server."""
    import mlflow

    from pipelines import registry

    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    return registry


def _forecast_sets(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {v: s for v, s in conn.execute(select(ForecastSet.model_version, ForecastSet.status))}


def _tags(row: dict[str, Any], prefix: str) -> list[tuple[str, str]]:
    """Version tags with `prefix` (versions lacking a tag have NaN in the table)."""
    return [(k, v) for k, v in row.items() if k.startswith(prefix) and isinstance(v, str)]


def _version(row: dict[str, Any], sets: dict[str, str]) -> ModelVersion:
    version = str(row["version"])
    created = row.get("created")
    return ModelVersion(
        version=version,
        aliases=[a for a in str(row.get("aliases") or "").split(",") if a],
        run_id=row.get("run_id"),
        experiment=row.get("experiment") if isinstance(row.get("experiment"), str) else None,
        created_at=created.to_pydatetime().replace(tzinfo=dt.UTC) if isinstance(created, pd.Timestamp) else None,
        metrics={k.removeprefix("metric."): float(v) for k, v in _tags(row, "metric.")},
        data={k.removeprefix("data_"): v for k, v in _tags(row, "data_")},
        forecast_set=sets.get(version),
    )


@router.get("", response_model=list[ModelVersion], summary="Versions of the demand model, newest first")
def index(engine: EngineDep, settings: SettingsDep, _: PlannerKey) -> list[ModelVersion]:
    from mlflow.exceptions import MlflowException

    with _mlflow_lock:
        registry = _registry(settings)
        try:
            table = registry.list_versions()
        except (LookupError, MlflowException):
            return []  # nothing registered yet
    sets = _forecast_sets(engine)
    rows = table.sort_values("version", ascending=False).to_dict("records")
    return [_version(row, sets) for row in rows]


def _change(engine: Engine, champion: str, previous: str | None) -> ChampionChange:
    published = publish_if_stored(engine, champion)
    message = (
        f"v{champion} is the champion; its forecasts are published"
        if published
        else f"v{champion} is the champion; no complete forecast set for v{champion} is stored, so the published "
        "forecasts are unchanged (train again to score it)"
    )
    return ChampionChange(
        champion=champion,
        previous=previous or None,
        forecasts_published=published,
        current_forecast_version=current_version(engine),
        message=message,
    )


@router.post("/rollback", response_model=ChampionChange, summary="Give the champion alias back to the previous one")
def rollback(engine: EngineDep, settings: SettingsDep, _: ScientistKey) -> ChampionChange:
    from mlflow.exceptions import MlflowException

    with _mlflow_lock:
        registry = _registry(settings)
        try:
            previous = registry.rollback()
        except (LookupError, MlflowException):
            raise HTTPException(
                status_code=409,
                detail=f"{registry.MODEL_NAME} has no earlier champion to roll back to; "
                "promote a version with POST /v1/models/{version}/promote",
            ) from None
    return _change(engine, previous, None)


@router.post("/{version}/promote", response_model=ChampionChange, summary="Make a version the champion")
def promote(
    engine: EngineDep,
    settings: SettingsDep,
    _: ScientistKey,
    version: str = Path(pattern=r"^[1-9][0-9]{0,8}$", description="Model version, e.g. 3."),
) -> ChampionChange:
    with _mlflow_lock:
        registry = _registry(settings)
        try:
            previous = registry.promote(version)
        except LookupError:
            raise HTTPException(
                status_code=404,
                detail=f"model version {version} not found; list versions with GET /v1/models",
            ) from None
    return _change(engine, version, previous)
