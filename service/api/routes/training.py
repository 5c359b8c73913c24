"""`/v1/training-runs`: queue a training job (run by `leanplan worker`), follow its progress, read its outcome."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field

from service.api.deps import EngineDep, ScientistKey, SettingsDep
from service.jobs import queue
from service.jobs.train_job import lock_key
from service.training import ConfigError, resolve_config

router = APIRouter(prefix="/v1/training-runs", tags=["training"])

KIND = "train"


class TrainingRequest(BaseModel):
    config: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]{1,100}$",
        description="Experiment name (experiments/<name>.yaml); default: the configured training experiment.",
        examples=["quick"],
    )
    sku_pattern: str | None = Field(
        default=None, max_length=500, description="Regular expression selecting SKUs (overrides the experiment's)."
    )


class TrainingRun(BaseModel):
    id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    experiment: str | None = None
    config: str | None = None
    sku_pattern: str | None = None
    progress: float = Field(description="Fraction done, 0 to 1.")
    message: str | None = Field(default=None, description="What the job is doing (or did last).")
    attempts: int
    created_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    mlflow_run_id: str | None = None
    model_version: str | None = None
    alias: str | None = Field(default=None, description="champion or challenger: the gate's decision.")
    metrics: dict[str, float | None] | None = Field(default=None, description="Backtest metrics of the champions.")
    result: dict[str, Any] | None = None
    error: str | None = None
    links: dict[str, str]


def _run(job: dict[str, Any]) -> TrainingRun:
    params, result = job["params"] or {}, job["result"] or {}
    return TrainingRun(
        **{k: job[k] for k in ("id", "status", "progress", "message", "attempts", "error")},
        **{k: job[k] for k in ("created_at", "started_at", "finished_at")},
        experiment=params.get("experiment"),
        config=params.get("config"),
        sku_pattern=params.get("sku_pattern"),
        mlflow_run_id=result.get("mlflow_run_id"),
        model_version=result.get("model_version"),
        alias=result.get("alias"),
        metrics=result.get("metrics"),
        result=job["result"],
        links={"self": f"/v1/training-runs/{job['id']}", "models": "/v1/models"},
    )


@router.post(
    "",
    status_code=202,
    response_model=TrainingRun,
    summary="Queue a training run",
    responses={429: {"description": "This API key has too many jobs queued; retry after `Retry-After` seconds."}},
)
def create(
    body: TrainingRequest, response: Response, engine: EngineDep, settings: SettingsDep, key: ScientistKey
) -> TrainingRun:
    """Queue a training job for `leanplan worker`; one training run per experiment at a time (409 otherwise), at
    most `LEANPLAN_MAX_QUEUED_JOBS_PER_KEY` jobs queued per key (429 with `Retry-After` otherwise)."""
    try:
        config, path = resolve_config(body.config, settings, body.sku_pattern)
    except ConfigError as err:
        raise HTTPException(status_code=422, detail=str(err)) from None
    params = {"config": body.config or str(path), "experiment": config.name, "sku_pattern": body.sku_pattern}
    try:
        job_id = queue.enqueue(
            engine,
            KIND,
            params,
            lock_key=lock_key(config.name),
            key_id=key.id,
            max_queued=settings.max_queued_jobs_per_key,
        )
    except queue.QueueFull as err:
        raise HTTPException(status_code=429, detail=str(err), headers={"Retry-After": str(err.retry_after)}) from None
    except queue.JobConflict as err:
        raise HTTPException(
            status_code=409,
            detail=f"a training run of experiment {config.name!r} is already queued or running ({err.job_id}); "
            f"follow it at GET /v1/training-runs/{err.job_id}",
            headers={"Location": f"/v1/training-runs/{err.job_id}"},
        ) from None
    job = queue.get_job(engine, job_id)
    assert job is not None
    response.headers["Location"] = f"/v1/training-runs/{job_id}"
    return _run(job)


@router.get("", response_model=list[TrainingRun], summary="Recent training runs, newest first")
def index(
    engine: EngineDep,
    _: ScientistKey,
    status: Literal["queued", "running", "succeeded", "failed"] | None = None,
    limit: int = Query(default=20, ge=1, le=200),
) -> list[TrainingRun]:
    return [_run(job) for job in queue.list_jobs(engine, kind=KIND, status=status, limit=limit)]


@router.get("/{run_id}", response_model=TrainingRun, summary="A training run: status, progress, outcome")
def show(run_id: str, engine: EngineDep, _: ScientistKey) -> TrainingRun:
    job = queue.get_job(engine, run_id)
    if job is None or job["kind"] != KIND:
        raise HTTPException(
            status_code=404, detail=f"no training run {run_id!r}; list training runs with GET /v1/training-runs"
        )
    return _run(job)
