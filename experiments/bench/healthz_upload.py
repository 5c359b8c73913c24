"""`/healthz` latency while the server parses and stores a large demand upload (the upload runs off the event loop).

Run: `.venv/bin/python -m experiments.bench.healthz_upload [rows] [database-url]` (default 1,000,000 rows, SQLite in
a temporary directory). Starts `leanplan serve` as `experiments.bench.upload` does, uploads items, then the demand
CSV in a thread while this thread asks `/healthz` every 20 ms; prints the upload time and the latency percentiles.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from experiments.bench.upload import _fresh_database, _start_server, _stop

__all__ = ["measure"]


def measure(rows: int = 1_000_000, url: str = "sqlite:///{tmp}/healthz.db") -> dict[str, Any]:
    """Upload seconds and /healthz latencies (ms) during the upload."""
    from experiments.bench.load import demand_frame
    from service.auth import create_key

    demand, items = demand_frame(rows)
    demand_csv, items_csv = demand.to_csv(index=False).encode(), items.to_csv(index=False).encode()
    with tempfile.TemporaryDirectory() as tmp:
        engine, server_url, schema = _fresh_database(url.format(tmp=tmp), Path(tmp))
        key = create_key(engine, "erp", "bench healthz")[1]
        server, base = _start_server(server_url, schema, Path(tmp), max(256.0, 2 * len(demand_csv) / 1024**2))
        latencies: list[float] = []
        try:
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "text/csv"}
            with httpx.Client(base_url=base, headers=headers, timeout=600.0) as client:
                client.post("/v1/data/items", content=items_csv).raise_for_status()
                outcome: dict[str, Any] = {}

                def upload() -> None:
                    started = time.perf_counter()
                    outcome["status"] = client.post("/v1/data/demand", content=demand_csv).status_code
                    outcome["seconds"] = time.perf_counter() - started

                thread = threading.Thread(target=upload)
                thread.start()
                with httpx.Client(base_url=base, timeout=30.0) as probe:
                    while thread.is_alive():
                        started = time.perf_counter()
                        probe.get("/healthz").raise_for_status()
                        latencies.append((time.perf_counter() - started) * 1000)
                        time.sleep(0.02)
                thread.join()
        finally:
            _stop(server)
            engine.dispose()
    lat = np.array(latencies)
    return {
        "rows": rows,
        "upload_status": outcome["status"],
        "upload_seconds": round(outcome["seconds"], 1),
        "probes": len(lat),
        "healthz_ms": {k: round(float(np.percentile(lat, q)), 1) for k, q in (("p50", 50), ("p99", 99), ("max", 100))},
    }


if __name__ == "__main__":
    args = sys.argv[1:]
    print(measure(int(args[0]) if args else 1_000_000, *(args[1:2] or [])))
