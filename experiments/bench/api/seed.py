"""A fresh benchmark database: items, a published forecast set of SKUs × periods × quantiles, and an erp key."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from service.auth import create_key
from service.db.engine import make_engine
from service.db.forecasts import write_forecast_set
from service.db.importer import RawInput, import_frames
from service.db.migrate import upgrade

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
MODEL_VERSION = "bench-1"


@dataclass(frozen=True)
class BenchDatabase:
    """Where the benchmark data lives: URL and schema for the servers, the key, the SKUs."""

    url: str
    schema: str | None
    engine: Engine
    key: str
    skus: list[str]
    rows: int

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


def sku_names(n: int) -> list[str]:
    return [f"SKU-{i:05d}" for i in range(n)]


def forecast_frame(skus: list[str], periods: int, seed: int = 11) -> pd.DataFrame:
    """A forecast frame (`models.schema`) with monotone quantiles, `periods` months per SKU."""
    rng = np.random.default_rng(seed)
    n = len(skus) * periods
    dates = pd.date_range("2026-01-01", periods=periods, freq="MS")
    mean = rng.gamma(2.0, 5.0, n).round(3)
    frame = pd.DataFrame(
        {
            "sku": np.repeat(np.array(skus, dtype=object), periods),
            "date": np.tile(dates.values, len(skus)),
            "horizon": np.tile(np.arange(1, periods + 1), len(skus)),
            "mean": mean,
        }
    )
    spread = rng.uniform(0.2, 0.6, n)
    for p in QUANTILES:
        frame[f"q{p:g}"] = np.maximum(0.0, mean * (1 + spread * (p - 0.5) * 3)).round(3)
    return frame


def create(url: str, workdir: Path, skus: int, periods: int) -> BenchDatabase:
    """Migrate a fresh database (SQLite file in `workdir`, or a dedicated Postgres schema) and fill it."""
    schema = None
    if url.startswith("sqlite"):
        path = workdir / f"api-{os.getpid()}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        schema = f"bench_api_{uuid.uuid4().hex[:10]}"
    engine = make_engine(url, schema=schema)
    upgrade(engine)
    names = sku_names(skus)
    items = pd.DataFrame({"sku": names, "unit_cost": 10.0, "lot_size": 1.0, "moq": 1.0, "make_or_buy": "buy"})
    import_frames(engine, [RawInput("items", items.astype(str), "bench items")])
    rows = write_forecast_set(engine, MODEL_VERSION, forecast_frame(names, periods), publish_now=True)
    _, key = create_key(engine, "erp", "bench api")
    return BenchDatabase(engine.url.render_as_string(hide_password=False), schema, engine, key, names, rows)


def drop(db: BenchDatabase) -> None:
    """Remove the database: the SQLite file, or the Postgres schema."""
    db.engine.dispose()
    if db.dialect == "sqlite" and db.engine.url.database:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db.engine.url.database}{suffix}").unlink(missing_ok=True)
    if db.schema:
        admin = make_engine(db.url)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{db.schema}" CASCADE'))
        admin.dispose()
