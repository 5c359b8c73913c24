"""The page benchmark: server time (httpx, median and p95 of several loads) and full load in headless Chromium
(navigation start → load event, `PerformanceNavigationTiming`) of every planner page, against a uvicorn server in its
own process on a database with 5,000 SKUs (`service.web.benchdata.build`).

Public interface: `PAGES`, `measure(db, ...)`, `table(result)`.
"""

from __future__ import annotations

import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TARGET_SERVER_MS = 300.0
TARGET_BROWSER_MS = 1500.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pages(sku: str, supplier: str | None, plan_pages: int) -> dict[str, str]:
    out = {
        "overview": "/app/",
        "sku": f"/app/skus/{sku}",
        "replenishment": "/app/replenishment",
        "replenishment (filtered, sorted)": "/app/replenishment?abc=A&alert=any&sort=order_value&dir=desc",
        "replenishment (last page by SKU)": f"/app/replenishment?sort=sku&dir=asc&page={plan_pages}",
        "schedule": "/app/schedule",
        "models": "/app/models",
        "what-if": f"/app/what-if?sku={sku}",
    }
    if supplier:
        out["replenishment (one supplier)"] = f"/app/replenishment?supplier={supplier}"
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _server(db: Path, home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db.resolve()}", "LEANPLAN_HOME": str(home.resolve()),
           "LEANPLAN_SESSION_SECRET": "page-benchmark"}  # fmt: skip
    env.pop("LEANPLAN_DATABASE_SCHEMA", None)
    command = [sys.executable, "-m", "uvicorn", "--factory", "service.main:create_app", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    return subprocess.Popen(command, env=env)


def _wait(url: str, process: subprocess.Popen[bytes], seconds: float = 90.0) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer on {url} within {seconds:.0f} s")


def _server_times(url: str, key: str, pages: dict[str, str], loads: int) -> dict[str, Any]:
    import httpx

    out: dict[str, Any] = {}
    with httpx.Client(base_url=url, timeout=60) as client:
        form = client.get("/app/login").text
        token = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        login = client.post("/app/login", data={"key": key, "csrf": token}, follow_redirects=False)
        if login.status_code != 303:
            raise RuntimeError(f"sign-in failed ({login.status_code})")
        for name, path in pages.items():
            for _ in range(2):  # warm-up: caches, compiled statements
                client.get(path)
            times = []
            for _ in range(loads):
                started = time.perf_counter()
                response = client.get(path)
                times.append(1000 * (time.perf_counter() - started))
                if response.status_code != 200:
                    raise RuntimeError(f"{path} answered {response.status_code}")
            out[name] = {
                "path": path,
                "median_ms": round(statistics.median(times), 1),
                "p95_ms": round(_percentile(times, 0.95), 1),
                "max_ms": round(max(times), 1),
                "bytes": len(response.content),
                "loads": loads,
            }
    return out


NAVIGATION = """() => { const n = performance.getEntriesByType('navigation')[0];
  return {load: n.loadEventEnd - n.startTime, response: n.responseEnd - n.startTime,
          dom: n.domContentLoadedEventEnd - n.startTime}; }"""


def _browser_times(url: str, key: str, pages: dict[str, str], loads: int, chromium: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        for name, path in pages.items():
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            errors: list[str] = []

            def console(message: Any, errors: list[str] = errors) -> None:
                if message.type == "error":
                    errors.append(message.text)

            page.on("console", console)
            page.goto(f"{url}/app/login")
            page.fill("#key", key)
            page.click("button[type=submit]")
            page.wait_for_load_state("load")
            runs = []
            for _ in range(loads + 1):  # the first load of each page in a fresh context has a cold cache
                page.goto(f"{url}{path}", wait_until="load")
                runs.append(page.evaluate(NAVIGATION))
            cold, warm = runs[0], runs[1:]
            out[name] = {
                "cold_load_ms": round(cold["load"], 1),
                "median_load_ms": round(statistics.median(r["load"] for r in warm), 1),
                "p95_load_ms": round(_percentile([r["load"] for r in warm], 0.95), 1),
                "median_dom_ms": round(statistics.median(r["dom"] for r in warm), 1),
                "loads": loads,
                "console_errors": errors,
            }
            context.close()
        browser.close()
    return out


def measure(
    db: Path,
    home: Path,
    loads: int = 20,
    browser_loads: int = 5,
    chromium: Path = Path("/usr/bin/chromium"),
) -> dict[str, Any]:
    """Serve `db` with `home` as LEANPLAN_HOME (bench/policy_raf.json, mlflow.db) and time every page."""
    from sqlalchemy import func, select

    from service.auth import create_key
    from service.db.engine import make_engine
    from service.db.tables import Alert, Item, PlanLine
    from service.web.lines import PAGE_SIZE
    from service.web.plans import replenishment_plan

    engine = make_engine(f"sqlite:///{db.resolve()}")
    with engine.connect() as conn:
        plan = replenishment_plan(conn)
        if plan is None:
            raise LookupError(f"{db} holds no replenishment plan; build it with --rebuild")
        skus = int(conn.execute(select(func.count()).select_from(Item)).scalar() or 0)
        lines = int(conn.execute(select(func.count()).where(PlanLine.plan_id == plan.id)).scalar() or 0)
        top = select(Alert.sku).where(Alert.plan_id == plan.id, Alert.sku.is_not(None))
        sku = (
            conn.execute(top.order_by(Alert.value_at_risk.desc())).scalar()
            or conn.execute(select(PlanLine.sku).where(PlanLine.plan_id == plan.id)).scalar()
        )
        supplier = conn.execute(
            select(PlanLine.supplier_id).where(PlanLine.plan_id == plan.id, PlanLine.supplier_id.is_not(None))
            .group_by(PlanLine.supplier_id).order_by(func.count().desc()).limit(1)
        ).scalar()  # fmt: skip
    _, key = create_key(engine, "planner", "page benchmark")
    engine.dispose()
    pages = _pages(str(sku), supplier, max(1, -(-lines // PAGE_SIZE)))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = _server(db, home, port)
    try:
        _wait(url, process)
        server = _server_times(url, key, pages, loads)
        browser = _browser_times(url, key, pages, browser_loads, chromium)
    finally:
        process.terminate()
        process.wait(timeout=30)
    config = {"database": str(db), "home": str(home), "items": skus, "plan_id": plan.id, "plan_lines": lines,
              "loads": loads, "browser_loads": browser_loads, "chromium": str(chromium)}  # fmt: skip
    return {
        "config": config,
        "targets": {"server_ms": TARGET_SERVER_MS, "browser_load_ms": TARGET_BROWSER_MS},
        "server": server,
        "browser": browser,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_average": os.getloadavg()},
    }


def table(result: dict[str, Any]) -> str:
    """A text table of the figures, with the targets."""
    head = f"{'page':36} {'server median':>14} {'p95':>9} {'browser load':>13} {'cold load':>10}  ok"
    rows = [head, "-" * len(head)]
    for name, s in result["server"].items():
        b = result["browser"].get(name, {})
        ok = s["p95_ms"] <= TARGET_SERVER_MS and b.get("median_load_ms", 0) <= TARGET_BROWSER_MS
        load, cold = b.get("median_load_ms", float("nan")), b.get("cold_load_ms", float("nan"))
        rows.append(
            f"{name:36} {s['median_ms']:>11.1f} ms {s['p95_ms']:>6.1f} ms {load:>10.0f} ms {cold:>7.0f} ms"
            f"  {'yes' if ok else 'NO'}"
        )
    rows.append(f"targets: server p95 <= {TARGET_SERVER_MS:.0f} ms, browser load <= {TARGET_BROWSER_MS:.0f} ms")
    return "\n".join(rows)


__all__ = ["TARGET_BROWSER_MS", "TARGET_SERVER_MS", "measure", "table"]
