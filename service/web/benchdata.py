"""A realistic planner database for the page benchmark: the sample data (5,000 RAF SKUs and the plant), a synthetic
forecast set (training is slow), two replenishment plans (history-based, then forecast-based, so the overview has a
previous plan to compare with) and a production schedule.

Public interface: `synthetic_forecast(demand, horizon, levels)`, `build(path, ...)`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from models.schema import DEFAULT_QUANTILES, cum_quantile_col, quantile_col
from optimizer.empirical import gamma_quantiles

log = logging.getLogger(__name__)
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def synthetic_forecast(
    demand: pd.DataFrame, horizon: int = 12, levels: tuple[float, ...] = DEFAULT_QUANTILES, window: int = 24
) -> pd.DataFrame:
    """A forecast frame for every SKU of a monthly `demand` (sku, date, qty): mean and variance of its last `window`
    months, flat over `horizon` months, gamma-shaped per-period and cumulative quantiles."""
    wide = demand.pivot_table(index="sku", columns="date", values="qty", aggfunc="sum", fill_value=0.0)
    recent = wide.iloc[:, -window:].to_numpy(dtype=float)
    mean = recent.mean(axis=1)
    var = np.maximum(recent.var(axis=1, ddof=1) if recent.shape[1] > 1 else mean, 1e-9)
    n = len(wide)
    steps = np.arange(1, horizon + 1)
    start = pd.Timestamp(wide.columns[-1]) + pd.DateOffset(months=1)
    dates = pd.date_range(start, periods=horizon, freq="MS")
    per = gamma_quantiles(np.repeat(mean, horizon), np.repeat(var, horizon), levels)
    cum = gamma_quantiles((mean[:, None] * steps).ravel(), (var[:, None] * steps).ravel(), levels)
    frame = pd.DataFrame(
        {
            "sku": np.repeat(wide.index.to_numpy(), horizon),
            "date": np.tile(dates, n),
            "horizon": np.tile(steps, n),
            "mean": np.repeat(mean, horizon),
        }
    )
    for j, p in enumerate(levels):
        frame[quantile_col(p)] = per[:, j]
    for j, p in enumerate(levels):
        frame[cum_quantile_col(p)] = cum[:, j]
    return frame


@dataclass
class Built:
    """What `build` stored, and how long each step took (seconds)."""

    engine: Engine
    skus: int
    replenishment_plan: str
    previous_plan: str
    production_plan: str | None
    seconds: dict[str, float] = field(default_factory=dict)


def build(path: Path, sample: Path = SAMPLE, skus: str = "RAF-*", schedule_seconds: float = 20.0) -> Built:
    """A fresh SQLite database at `path` holding the sample data, a published synthetic forecast set for `skus`,
    a history-based plan, a forecast-based plan and a production schedule."""
    from service import production
    from service.db.engine import make_engine
    from service.db.forecasts import load_demand, write_forecast_set
    from service.db.importer import import_path
    from service.db.migrate import upgrade
    from service.replenishment import run

    seconds: dict[str, float] = {}

    def lap(name: str, started: float) -> float:
        seconds[name] = round(time.perf_counter() - started, 2)
        log.info("%s: %.1f s", name, seconds[name])
        return time.perf_counter()

    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    t = time.perf_counter()
    upgrade(engine)
    import_path(engine, sample)
    t = lap("import", t)
    previous = run(engine, skus=skus, out_dir=path.parent / "plans")
    t = lap("plan_history", t)
    demand = load_demand(engine, sku_pattern=skus.replace("*", ".*"))
    frame = synthetic_forecast(demand)
    write_forecast_set(
        engine, "bench-1", frame, publish_now=True, info={"experiment": "synthetic", "note": "page benchmark"}
    )
    t = lap("forecast", t)
    current = run(engine, skus=skus, out_dir=path.parent / "plans")
    t = lap("plan_forecast", t)
    schedule: str | None
    try:
        schedule, _ = production.run(engine, production.ProductionOptions(time_limit=schedule_seconds))
    except production.ProductionError as err:
        log.warning("no production schedule: %s", err)
        schedule = None
    lap("schedule", t)
    return Built(engine, int(frame["sku"].nunique()), current.plan_id, previous.plan_id, schedule, seconds)


__all__ = ["Built", "build", "synthetic_forecast"]
