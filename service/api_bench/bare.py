"""The bare reference app: a GET route reading a SKU's rows of the published forecast set from the same database,
written the plain way (SQLAlchemy, dicts returned to FastAPI): no auth, no query parameters, no schema layer, no
metrics. Its requests/s is the yardstick of the API's own overhead. It comes in the two usual styles, a sync route
(FastAPI runs it in its thread pool) at `/forecasts/{sku}` and an async route querying on the event loop at
`/forecasts-async/{sku}`; the benchmark drives both and compares the API with the faster.

It uses `make_engine` (the same engine set-up as the API) so the comparison is about the HTTP layer, not the
connection pool. Start: `DATABASE_URL=… uvicorn --factory service.api_bench.bare:create_app`.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from sqlalchemy import bindparam, select

from service.db.engine import make_engine
from service.db.tables import Forecast, ForecastSet

PATH = "/forecasts/"
ASYNC_PATH = "/forecasts-async/"


def create_app() -> FastAPI:
    """The reference app on `DATABASE_URL` (and `LEANPLAN_DATABASE_SCHEMA` for Postgres)."""
    engine = make_engine(os.environ["DATABASE_URL"], schema=os.environ.get("LEANPLAN_DATABASE_SCHEMA") or None)
    statement = (
        select(Forecast.sku, Forecast.date, Forecast.horizon, Forecast.mean, Forecast.quantiles, Forecast.model_version)
        .join(ForecastSet, ForecastSet.model_version == Forecast.model_version)
        .where(ForecastSet.status == "published", Forecast.sku == bindparam("sku"))
        .order_by(Forecast.date)
    )
    app = FastAPI()

    @app.get(PATH + "{sku}", response_model=None)
    def forecast(sku: str) -> Any:
        with engine.connect() as conn:
            return [dict(row) for row in conn.execute(statement, {"sku": sku}).mappings()]

    @app.get(ASYNC_PATH + "{sku}", response_model=None)
    async def forecast_async(sku: str) -> Any:
        with engine.connect() as conn:
            return [dict(row) for row in conn.execute(statement, {"sku": sku}).mappings()]

    return app
