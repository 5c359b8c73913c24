"""The FastAPI app: `create_app(settings=None, engine=None)`; `uvicorn --factory service.main:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine

from service.api import errors
from service.api.fast_forecast import ForecastFastPath
from service.api.metrics import Metrics, MetricsMiddleware
from service.api.routes import alerts, data, forecasts, health, keys, models, mrp, plans, skus, training, whatif
from service.api.security_headers import SecurityHeaders
from service.auth import FailureThrottle, KeyVerifier
from service.settings import Settings, get_settings
from service.web import install as install_pages

ROUTERS = (health, keys, data, forecasts, skus, alerts, training, models, plans, mrp, whatif)
DESCRIPTION = """Forecasts per SKU, replenishment plans and production schedules for ERP systems, planners and data
scientists. Every `/v1` route needs an API key (`Authorization: Bearer <key>` or `X-API-Key`)."""


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The app, bound to `engine` (default: the configured database, migrated at start-up)."""
    settings = settings or get_settings()
    if engine is None:
        from service.db.engine import make_engine

        engine = make_engine(settings.database_url, schema=settings.database_schema)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(title="leanplan", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.keys = KeyVerifier(engine, ttl=settings.key_cache_seconds)
    app.state.metrics = Metrics(engine)
    app.state.auth_failures = FailureThrottle(settings.failed_auth_limit, settings.failed_auth_window_seconds)
    errors.install(app)
    for module in ROUTERS:
        app.include_router(module.router)
    install_pages(app, settings)
    app.add_middleware(ForecastFastPath, state=app.state)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(SecurityHeaders)
    return app
