"""Bulk-load benchmark: 1,000,000 demand rows through `leanplan import`, against pandas' `DataFrame.to_sql`.

Per database it measures, on fresh tables: the full import of a CSV file (read + validate + upsert), an
idempotent reload of the same file (nothing changes), a reload with 10 % of the values changed, and the peer
`pandas.DataFrame.to_sql` appending the same rows to an empty table (plain insert, no validation, no upsert).
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from service.db.engine import make_engine
from service.db.importer import import_path
from service.db.migrate import upgrade

PERIODS = 100  # demand periods per SKU


def demand_frame(rows: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`rows` demand rows over SKUs × `PERIODS` months, and the items they reference."""
    n_skus = max(1, rows // PERIODS)
    rng = np.random.default_rng(seed)
    skus = np.array([f"SKU-{i:06d}" for i in range(n_skus)], dtype=object)
    dates = pd.date_range("2015-01-01", periods=PERIODS, freq="MS")
    demand = pd.DataFrame(
        {
            "sku": np.repeat(skus, PERIODS)[:rows],
            "date": np.tile(dates.strftime("%Y-%m-%d"), n_skus)[:rows],
            "qty": rng.poisson(3.0, n_skus * PERIODS)[:rows],
        }
    )
    items = pd.DataFrame({"sku": skus, "unit_cost": rng.gamma(2.0, 10.0, n_skus).round(2)})
    return demand, items


def _fresh_engine(url: str, workdir: Path) -> tuple[Engine, str | None]:
    if url.startswith("sqlite"):
        return make_engine(f"sqlite:///{workdir / 'bench.db'}"), None
    schema = f"bench_load_{os.getpid()}"
    engine = make_engine(url, schema=schema)
    return engine, schema


def _drop(engine: Engine, url: str, schema: str | None) -> None:
    engine.dispose()
    if schema:
        with make_engine(url).begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def _timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def measure(url: str, rows: int) -> dict[str, Any]:
    """Figures for one database URL."""
    demand, items = demand_frame(rows)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        demand.to_csv(workdir / "demand.csv", index=False)
        changed = demand.copy()
        changed.loc[changed.index % 10 == 0, "qty"] += 1
        (workdir / "changed").mkdir()
        changed.to_csv(workdir / "changed" / "demand.csv", index=False)
        items.to_csv(workdir / "items.csv", index=False)

        engine, schema = _fresh_engine(url, workdir)
        try:
            upgrade(engine)
            import_path(engine, workdir / "items.csv")
            first, report = _timed(lambda: import_path(engine, workdir / "demand.csv"))
            again, report_again = _timed(lambda: import_path(engine, workdir / "demand.csv"))
            tenth, report_changed = _timed(lambda: import_path(engine, workdir / "changed" / "demand.csv"))
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM demand"))
            typed = demand.assign(date=pd.to_datetime(demand["date"]).dt.date, qty=demand["qty"].astype(float))
            peer, _ = _timed(lambda: typed.to_sql("demand", engine, if_exists="append", index=False, chunksize=50_000))
            with engine.connect() as conn:
                stored = conn.execute(text("SELECT count(*) FROM demand")).scalar()
        finally:
            _drop(engine, url, schema)

    inserted = report.results[0][1]
    return {
        "database": engine.dialect.name,
        "rows": rows,
        "import_fresh_s": round(first, 2),
        "import_fresh_rows_per_s": round(rows / first),
        "import_same_file_again_s": round(again, 2),
        "import_10pct_changed_s": round(tenth, 2),
        "inserted": inserted.inserted,
        "updated_on_same_file": report_again.results[0][1].updated,
        "updated_on_changed_file": report_changed.results[0][1].updated,
        "peer_pandas_to_sql_s": round(peer, 2),
        "peer_rows_stored": stored,
        "ratio_import_vs_to_sql": round(first / peer, 2),
    }


def run(urls: list[str], rows: int) -> dict[str, Any]:
    """Measure every database in `urls`."""
    return {
        "benchmark": "bulk load of demand rows",
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}",
        "results": [measure(url, rows) for url in urls],
    }
