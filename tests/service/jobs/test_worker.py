"""The worker runs queued jobs in order and records failures as clean messages without stopping."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update

from service.db.tables import Job
from service.jobs import queue
from service.jobs.context import JobContext
from service.jobs.runners import Runner, get_runner
from service.jobs.worker import Worker
from service.settings import Settings
from tests.service.api.conftest import settings_for


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    return settings_for(engine, tmp_path / "home", worker_poll_seconds=0.05)


def _runners(kind: str) -> Runner:
    def echo(ctx: JobContext) -> dict[str, Any]:
        ctx.progress(0.5, "half way")
        return {"echo": ctx.params, "job": ctx.job_id}

    def invalid(_: JobContext) -> dict[str, Any]:
        raise ValueError("horizon must be positive; fix the experiment")

    def crash(_: JobContext) -> dict[str, Any]:
        return {"ratio": 1 / 0}

    def unserializable(_: JobContext) -> dict[str, Any]:
        return {"value": float("nan")}

    fakes = {"echo": echo, "invalid": invalid, "crash": crash, "nan": unserializable}
    return fakes[kind] if kind in fakes else get_runner(kind)


def test_worker_runs_every_queued_job_and_survives_failures(engine: Engine, settings: Settings) -> None:
    ids = {kind: queue.enqueue(engine, kind, {"n": 1}) for kind in ("invalid", "crash", "echo", "nan", "mystery")}
    worker = Worker(engine, settings, runners=_runners)
    assert worker.run(once=True) == 5
    jobs = {kind: queue.get_job(engine, job_id) for kind, job_id in ids.items()}
    assert all(job is not None and job["attempts"] == 1 for job in jobs.values())
    echo = jobs["echo"]
    assert echo is not None and echo["status"] == "succeeded" and echo["progress"] == 1.0
    assert echo["result"] == {"echo": {"n": 1}, "job": ids["echo"]}
    errors = {kind: (job["status"], job["error"]) for kind, job in jobs.items() if job and kind != "echo"}
    assert errors == {
        "invalid": ("failed", "horizon must be positive; fix the experiment"),
        "crash": ("failed", "ZeroDivisionError: division by zero (the worker log has the traceback)"),
        "nan": (
            "failed",
            "TypeError: the nan runner returned a result that is not JSON: Out of range float values are not JSON "
            "compliant (the worker log has the traceback)",
        ),
        "mystery": ("failed", "unknown job kind 'mystery'; known kinds: train, plan"),
    }


def test_progress_is_recorded_while_running(engine: Engine, settings: Settings) -> None:
    seen: list[tuple[str, float, str | None]] = []

    def runner(kind: str) -> Runner:
        def run(ctx: JobContext) -> dict[str, Any]:
            ctx.progress(0.25, "a quarter")
            job = queue.get_job(ctx.engine, ctx.job_id)
            assert job is not None
            seen.append((job["status"], job["progress"], job["message"]))
            return {}

        return run

    queue.enqueue(engine, "anything", {})
    Worker(engine, settings, runners=runner).run(once=True)
    assert seen == [("running", 0.25, "a quarter")]


def test_train_job_with_an_unknown_experiment_fails_with_the_choices(engine: Engine, settings: Settings) -> None:
    job_id = queue.enqueue(engine, "train", {"config": "no-such-experiment"})
    Worker(engine, settings).run(once=True)
    job = queue.get_job(engine, job_id)
    assert job is not None and job["status"] == "failed"
    assert job["error"].startswith("unknown experiment config 'no-such-experiment'; choose one of: ")
    assert "quick" in job["error"]


def test_train_job_without_demand_says_how_to_load_some(engine: Engine, settings: Settings) -> None:
    job_id = queue.enqueue(engine, "train", {"config": "quick"})
    Worker(engine, settings).run(once=True)
    job = queue.get_job(engine, job_id)
    assert job is not None and (job["status"], job["error"]) == (
        "failed",
        "the database holds no demand for SKUs matching '^RAF-'; upload some with POST /v1/data/demand",
    )


def test_worker_recovers_dead_jobs_before_claiming(engine: Engine, settings: Settings) -> None:
    job_id = queue.enqueue(engine, "echo", {})
    queue.claim(engine, "gone-host:1")
    stale = queue.now() - dt.timedelta(seconds=settings.job_lease_seconds + 1)
    with engine.begin() as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=stale))
    Worker(engine, settings, runners=_runners).run(once=True)
    job = queue.get_job(engine, job_id)
    assert job is not None and (job["status"], job["attempts"]) == ("succeeded", 2)
