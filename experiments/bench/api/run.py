"""`leanplan bench api`: per database, seed a fresh copy, then serve it with the API (`leanplan serve`, one
uvicorn worker, no access log) and with the bare reference app, one at a time (the machine's cores are shared with
the load generator), drive both with wrk at the same connections over the same SKUs, and time the full CSV export.

The export is `GET /v1/forecasts?format=csv&limit=50000` followed along its `Link: rel="next"` headers (5,000 SKUs ×
12 periods = 60,000 rows are two pages), timed end to end with httpx including the transfer, best of 3.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from experiments.bench.api import bare, seed, wrk
from service.db.engine import normalize_url

ROTATION = 1_000  # SKUs the load rotates over
EXPORT_LIMIT = 50_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _server(command: list[str], env: dict[str, str], probe: str, headers: dict[str, str]) -> Iterator[None]:
    """Run `command` until the block ends; wait until `probe` answers 200 first."""
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                err = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise RuntimeError(f"server exited with {process.returncode}: {err.strip()[-1500:]}")
            try:
                if httpx.get(probe, headers=headers, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not answer {probe} within 60 s")
            time.sleep(0.2)
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _env(db: seed.BenchDatabase, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEANPLAN_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=db.url, LEANPLAN_HOME=str(home))
    checkout = str(Path(__file__).resolve().parents[3])  # the bare app is imported from the checkout
    env["PYTHONPATH"] = os.pathsep.join(p for p in (checkout, os.environ.get("PYTHONPATH", "")) if p)
    if db.schema:
        env["LEANPLAN_DATABASE_SCHEMA"] = db.schema
    return env


def time_export(base_url: str, headers: dict[str, str], expected_rows: int, repeats: int = 3) -> dict[str, Any]:
    """Seconds to download every forecast row as CSV (following `Link` pages), best of `repeats`."""
    times, pages, rows = [], 0, 0
    with httpx.Client(headers=headers, timeout=120) as client:
        for _ in range(repeats):
            started = time.perf_counter()
            url: str | None = f"{base_url}/v1/forecasts?format=csv&limit={EXPORT_LIMIT}"
            pages, rows, header = 0, 0, b""
            while url:
                response = client.get(url)
                response.raise_for_status()
                body = response.content
                first_line, _, rest = body.partition(b"\n")
                header = header or first_line
                rows += rest.count(b"\n")
                pages += 1
                url = response.links.get("next", {}).get("url")
            times.append(time.perf_counter() - started)
    if rows != expected_rows:
        raise RuntimeError(f"the CSV export returned {rows} rows, expected {expected_rows}")
    return {
        "seconds": round(min(times), 3),
        "all_seconds": [round(t, 3) for t in times],
        "rows": rows,
        "pages": pages,
        "limit": EXPORT_LIMIT,
        "columns": header.decode().split(","),
    }


def _rows(url: str, headers: dict[str, str]) -> int:
    """Rows one SKU's answer holds (API: `{"rows": [...]}`, reference: a list)."""
    response = httpx.get(url, headers=headers, timeout=10)
    response.raise_for_status()
    body = response.json()
    return len(body["rows"] if isinstance(body, dict) else body)


def measure(
    url: str, workdir: Path, skus: int, periods: int, duration: float, connections: int, warmup: float, rounds: int
) -> dict[str, Any]:
    """Every figure for one database."""
    db = seed.create(url, workdir, skus, periods)
    try:
        home = workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        env = _env(db, home)
        rotation = [quote(s, safe="") for s in db.skus[:ROTATION]]
        key_header = {"X-API-Key": db.key}
        ours_port, bare_port = _free_port(), _free_port()
        ours_url, bare_url = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{bare_port}"
        ours_cmd = [sys.executable, "-m", "service.cli", "serve", "--port", str(ours_port)]
        bare_cmd = [
            sys.executable, "-m", "uvicorn", "--factory", "experiments.bench.api.bare:create_app",
            "--host", "127.0.0.1", "--port", str(bare_port), "--workers", "1", "--no-access-log",
            "--log-level", "warning",
        ]  # fmt: skip
        servers = {
            "api": (ours_cmd, ours_url, key_header, {"api": "/v1/forecasts/"}),
            "bare": (bare_cmd, bare_url, {}, bare.ROUTES),
        }
        runs: dict[str, list[dict[str, Any]]] = {"api": [], **{name: [] for name in bare.ROUTES}}
        export: dict[str, Any] = {}
        counts: dict[str, int] = {}
        for _ in range(rounds):
            for server, (command, base, headers, routes) in servers.items():
                with _server(command, env, f"{base}{next(iter(routes.values()))}{rotation[0]}", headers):
                    for name, prefix in routes.items():
                        counts[name] = _rows(f"{base}{prefix}{rotation[0]}", headers)
                        if warmup > 0:
                            wrk.run(base, prefix, rotation, headers, warmup, connections)
                        load = os.getloadavg()[0]
                        measured = wrk.run(base, prefix, rotation, headers, duration, connections)
                        # other processes competing for the cores show here (ours add about 2)
                        measured["load_1m"] = [round(load, 2), round(os.getloadavg()[0], 2)]
                        runs[name].append(measured)
                    if server == "api" and not export:
                        export = time_export(base, headers, db.rows)
        if len(set(counts.values())) != 1 or not counts["api"]:  # a load test of wrong answers proves nothing
            raise RuntimeError(f"rows answered for one SKU differ: {counts}")
        best = {name: max(measured, key=lambda r: r["rps"]) for name, measured in runs.items()}
        api = best["api"]
        ref_name = max(bare.ROUTES, key=lambda n: best[n]["rps"])
        ref = best[ref_name]
        return {
            "database": db.dialect,
            "skus": skus,
            "periods": periods,
            "quantiles": len(seed.QUANTILES),
            "forecast_rows": db.rows,
            "rows_per_request": counts["api"],
            "api": api,
            "bare": ref,
            "bare_route": ref_name,
            "bare_sync": best["bare_sync"],
            "bare_async": best["bare_async"],
            "bare_raw": best["bare_raw"],
            "ratio": round(api["rps"] / ref["rps"], 3) if ref["rps"] else None,
            "p99_ms": api["p99_ms"],
            "errors": sum(r["errors"] for measured in runs.values() for r in measured),
            "export": export,
            "runs": runs,
        }
    finally:
        seed.drop(db)


def run(
    urls: list[str],
    workdir: Path,
    skus: int = 5_000,
    periods: int = 12,
    duration: float = 10.0,
    connections: int = 16,
    warmup: float = 2.0,
    rounds: int = 1,
) -> dict[str, Any]:
    """Measure every database URL in `urls`."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    return {
        "benchmark": "forecast API: single-SKU fetch vs a bare FastAPI reference, and full CSV export",
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}",
        "load": f"wrk -t1 -c{connections} -d{max(1, round(duration))}s --latency, rotating over {ROTATION} SKUs",
        "results": [
            measure(normalize_url(u), workdir, skus, periods, duration, connections, warmup, rounds) for u in urls
        ],
    }


def format_report(report: dict[str, Any]) -> str:
    """The results as a table."""
    out = io.StringIO()
    out.write(f"{report['benchmark']}\n{report['machine']}\n{report['load']}\n\n")
    head = f"{'database':<10} {'api rps':>8} {'bare rps':>8} {'(route)':>10} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} "
    out.write(head + f"{'bare p99':>8} {'errors':>6} {'export s':>9} {'rows':>7}\n")
    for r in report["results"]:
        api, ref, export = r["api"], r["bare"], r["export"]
        out.write(
            f"{r['database']:<10} {api['rps']:>8.0f} {ref['rps']:>8.0f} {r['bare_route']:>10} {r['ratio']:>6.2f} "
            f"{api['p50_ms']:>7.2f} {api['p99_ms']:>7.2f} {ref['p99_ms']:>8.2f} {r['errors']:>6} "
            f"{export['seconds']:>9.2f} {export['rows']:>7}\n"
        )
    out.write("\nbare reference routes (requests/s, p99 ms): ")
    out.write(
        "; ".join(
            f"{r['database']} sync {r['bare_sync']['rps']:.0f} ({r['bare_sync']['p99_ms']:.1f}), "
            f"async {r['bare_async']['rps']:.0f} ({r['bare_async']['p99_ms']:.1f}), "
            f"raw driver {r['bare_raw']['rps']:.0f} ({r['bare_raw']['p99_ms']:.1f})"
            for r in report["results"]
        )
        + "\n"
    )

    return out.getvalue()
