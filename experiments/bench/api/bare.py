"""The bare reference app: a GET route reading a SKU's rows of the published forecast set from the same database,
written the plain way (SQLAlchemy, dicts returned to FastAPI): no auth, no query parameters, no schema layer, no
metrics. Its requests/s is the yardstick of the API's own overhead. It comes in three styles: a sync route (FastAPI
runs it in its thread pool) at `/forecasts/{sku}`, an async route querying on the event loop at
`/forecasts-async/{sku}`, and the fastest plain form, `/forecasts-raw/{sku}`: the driver's cursor on one open
connection, rows dumped with orjson. The benchmark drives all three and compares the API with the fastest.

It uses `make_engine` (the same engine set-up as the API) so the comparison is about the HTTP layer, not the
connection pool. Start: `DATABASE_URL=… uvicorn --factory experiments.bench.api.bare:create_app`.
"""

from __future__ import annotations

import os
from typing import Any

import orjson
from fastapi import FastAPI, Response
from sqlalchemy import bindparam, select

from service.db.engine import make_engine
from service.db.tables import Forecast, ForecastSet

PATH = "/forecasts/"
ASYNC_PATH = "/forecasts-async/"
RAW_PATH = "/forecasts-raw/"
ROUTES = {"bare_sync": PATH, "bare_async": ASYNC_PATH, "bare_raw": RAW_PATH}


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

    compiled = statement.compile(dialect=engine.dialect)
    sql = compiled.string
    positional = bool(compiled.positional)
    names = [c.name for c in statement.selected_columns]
    raw = engine.raw_connection()  # one driver connection, used on the event loop

    @app.get(RAW_PATH + "{sku}", response_model=None)
    async def forecast_raw(sku: str) -> Response:
        values = compiled.construct_params({"sku": sku})
        cursor = raw.cursor()
        cursor.execute(sql, [values[n] for n in compiled.positiontup or []] if positional else values)
        rows = cursor.fetchall()
        cursor.close()
        raw.rollback()
        body = [dict(zip(names, row, strict=True)) for row in rows]
        for row in body:
            if isinstance(row["quantiles"], str):
                row["quantiles"] = orjson.loads(row["quantiles"])
        return Response(orjson.dumps(body), media_type="application/json")

    return app
