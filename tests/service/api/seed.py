"""A small but complete database for API tests: the miniature canonical tables, a published forecast set for every
SKU and a stored replenishment plan (with lines and alerts)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from service.db.forecasts import write_forecast_set
from service.db.importer import RawInput, import_frames
from tests.factories import valid_tables

VERSION = "7"


def forecast_frame(skus: list[str], start: str = "2024-03-01", periods: int = 6) -> pd.DataFrame:
    """A monotone quantile forecast per SKU (the shape `write_forecast_set` stores)."""
    rows = []
    for i, sku in enumerate(skus):
        for h, date in enumerate(pd.date_range(start, periods=periods, freq="MS"), start=1):
            mean = 5.0 + i + h
            rows.append(
                {
                    "sku": sku,
                    "date": date,
                    "horizon": h,
                    "mean": mean,
                    "q0.1": 0.4 * mean,
                    "q0.5": mean,
                    "q0.9": 1.8 * mean,
                    "cq0.5": mean * h,
                    "cq0.9": 1.8 * mean * h,
                }
            )
    return pd.DataFrame(rows)


def seed(engine: Engine, plan: bool = True) -> dict[str, str]:
    """Load the data; returns {"model_version": …, "plan_id": …}."""
    import_frames(engine, [RawInput(t, f, f"{t}.csv") for t, f in valid_tables().items()])
    write_forecast_set(
        engine,
        VERSION,
        forecast_frame(["A-1", "A-2", "M-1"]),
        publish_now=True,
        info={"mlflow_run_id": "run-7", "experiment": "test"},
    )
    out = {"model_version": VERSION}
    if plan:
        from optimizer.replenishment import plan_replenishment
        from service.replenishment import load_inputs, store_plan

        inputs = load_inputs(engine)
        out["plan_id"] = store_plan(engine, plan_replenishment(inputs), inputs.as_of)
    return out
