"""Upload benchmark (`leanplan bench upload`): time a demand CSV upload through the real HTTP API on loopback.

Per database: fresh tables, the API server (`leanplan serve`) in its own process with a new erp key, the items
uploaded first, then the demand CSV (timed from the first byte sent to the answer: transfer, validation and the
upsert in one transaction) and the same file again (the idempotent path: nothing changes).
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text

TARGET_SECONDS = 60.0
START_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _fresh_database(url: str, workdir: Path) -> tuple[Engine, str, str | None]:
    """An empty, migrated database for `url`: a new SQLite file, or a new schema of the Postgres database."""
    from service.db.engine import make_engine
    from service.db.migrate import upgrade

    if url.startswith("sqlite"):
        url = f"sqlite:///{workdir / 'bench.db'}"
        schema = None
    else:
        schema = f"bench_upload_{os.getpid()}"
        with make_engine(url).begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine = make_engine(url, schema=schema)
    upgrade(engine)
    return engine, url, schema


def _start_server(
    url: str, schema: str | None, workdir: Path, max_upload_mb: float
) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "LEANPLAN_DATABASE_SCHEMA"}
    env |= {
        "DATABASE_URL": url,
        "LEANPLAN_HOME": str(workdir / "home"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}",
        "LEANPLAN_MAX_UPLOAD_MB": str(max_upload_mb),
    }
    if schema:
        env["LEANPLAN_DATABASE_SCHEMA"] = schema
    log = (workdir / "server.log").open("wb")
    command = [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return server, base
        except httpx.TransportError:
            time.sleep(0.2)
    _stop(server)
    output = (workdir / "server.log").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"the API server did not start within {START_TIMEOUT:.0f} s:\n{output}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _upload(client: httpx.Client, table: str, body: bytes) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = client.post(f"/v1/data/{table}", content=body, headers={"Content-Type": "text/csv"})
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"upload of {table} answered {response.status_code}: {response.text[:500]}")
    result: dict[str, Any] = response.json()
    return seconds, result


def measure(url: str, rows: int) -> dict[str, Any]:
    """Figures for one database URL."""
    from experiments.bench.load import demand_frame
    from service.auth import create_key
    from service.db.engine import make_engine

    demand, items = demand_frame(rows)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        demand_csv = demand.to_csv(index=False).encode()
        items_csv = items.to_csv(index=False).encode()
        engine, server_url, schema = _fresh_database(url, workdir)
        server = None
        try:
            key = create_key(engine, "erp", "bench upload")[1]
            limit = max(256.0, 2 * len(demand_csv) / 1024**2)
            server, base = _start_server(server_url, schema, workdir, limit)
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=base, headers=headers, timeout=600.0) as client:
                items_s, _ = _upload(client, "items", items_csv)
                first_s, first = _upload(client, "demand", demand_csv)
                again_s, again = _upload(client, "demand", demand_csv)
            with engine.connect() as conn:
                stored = conn.execute(text("SELECT count(*) FROM demand")).scalar()
        finally:
            if server is not None:
                _stop(server)
            engine.dispose()
            if schema:
                with make_engine(url).begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    return {
        "database": engine.dialect.name,
        "rows": rows,
        "csv_mb": round(len(demand_csv) / 1024**2, 1),
        "items_upload_s": round(items_s, 2),
        "upload_s": round(first_s, 2),
        "upload_rows_per_s": round(rows / first_s),
        "upload_server_s": first["seconds"],
        "inserted": first["inserted"],
        "upload_again_s": round(again_s, 2),
        "again_inserted": again["inserted"],
        "again_updated": again["updated"],
        "again_unchanged": again["unchanged"],
        "rows_stored": stored,
        "target_s": TARGET_SECONDS,
        "meets_target": first_s <= TARGET_SECONDS and again_s <= TARGET_SECONDS,
    }


def run(urls: list[str], rows: int) -> dict[str, Any]:
    """Measure every database in `urls`."""
    load_before = os.getloadavg()
    results = [measure(url, rows) for url in urls]
    return {
        "benchmark": "upload of demand rows as CSV through POST /v1/data/demand on loopback",
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}",
        "load_average_1min": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
        "results": results,
    }
