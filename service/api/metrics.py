"""Prometheus metrics: request latency per route (an ASGI middleware, cheap enough for the hot path), and, read
from the database at scrape time so they cover every process, job durations and counts and the forecast's age.

Public interface: `Metrics` (one registry per app), `MetricsMiddleware`, `render(metrics, engine)`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from service.db.tables import ForecastSet, Job

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)
RECENT_JOBS = 1_000


class _DatabaseCollector(Collector):
    """Job and forecast figures read from the database when Prometheus scrapes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterable[Any]:
        try:
            with self.engine.connect() as conn:
                counts = conn.execute(select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)).all()
                finished = conn.execute(
                    select(Job.kind, Job.status, Job.started_at, Job.finished_at)
                    .where(Job.finished_at.is_not(None), Job.started_at.is_not(None))
                    .order_by(Job.finished_at.desc())
                    .limit(RECENT_JOBS)
                ).all()
                published = conn.execute(
                    select(ForecastSet.published_at).where(ForecastSet.status == "published")
                ).scalar()
        except Exception as err:
            log.warning("metrics: database unavailable: %s", err)
            return
        jobs = GaugeMetricFamily(
            "leanplan_jobs", "Jobs in the job table by kind and status.", labels=["kind", "status"]
        )
        for kind, status, n in counts:
            jobs.add_metric([kind, status], n)
        yield jobs
        durations: dict[tuple[str, str], list[float]] = {}
        for kind, status, started, ended in finished:
            durations.setdefault((kind, status), []).append((_aware(ended) - _aware(started)).total_seconds())
        hist = HistogramMetricFamily(
            "leanplan_job_duration_seconds",
            f"Durations of the latest {RECENT_JOBS} finished jobs by kind and final status.",
            labels=["kind", "status"],
        )
        for (kind, status), values in durations.items():
            buckets = [(str(float(b)), sum(v <= b for v in values)) for b in JOB_BUCKETS]
            buckets.append(("+Inf", len(values)))
            hist.add_metric([kind, status], buckets, sum(values))
        yield hist
        age = GaugeMetricFamily(
            "leanplan_forecast_age_seconds", "Seconds since the current forecast set was published (absent if none)."
        )
        if published is not None:
            age.add_metric([], (dt.datetime.now(dt.UTC) - _aware(published)).total_seconds())
        yield age


def _aware(value: dt.datetime | None) -> dt.datetime:
    assert value is not None  # the query selects finished jobs with both times
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class Metrics:
    """One Prometheus registry per app: the request histogram plus the database collector."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "leanplan_http_request_duration_seconds",
            "HTTP request latency by method, route template and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_DatabaseCollector(engine))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Time every HTTP request and label it with its route template (not the raw path: bounded cardinality)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], template, str(status)).observe(time.perf_counter() - started)
