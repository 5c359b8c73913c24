"""`leanplan bench pages`: server time and browser load of every planner page with 5,000 SKUs loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from service.cli.apps import bench_app, fail

CHROMIUM = Path("/usr/bin/chromium")


@bench_app.command("pages")
def bench_pages(
    db: Annotated[Path, typer.Option(help="SQLite database to serve (built when missing or with --rebuild).")] = Path(
        "var/bench/pages.db"
    ),
    home: Annotated[Path, typer.Option(help="LEANPLAN_HOME of the server (bench/policy_raf.json, mlflow.db).")] = Path(
        "var"
    ),
    rebuild: Annotated[bool, typer.Option(help="Rebuild the database from data/sample first.")] = False,
    loads: Annotated[int, typer.Option(min=3, help="Timed server loads per page.")] = 20,
    browser_loads: Annotated[int, typer.Option(min=1, help="Timed browser loads per page (after a cold one).")] = 5,
    chromium: Annotated[Path, typer.Option(help="Chromium binary (Debian: `make browser`).")] = CHROMIUM,
    schedule_seconds: Annotated[float, typer.Option(help="Solver time limit of the schedule when building.")] = 20.0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here.")] = None,
) -> None:
    """Import the sample data (5,000 RAF SKUs and the plant), write a synthetic forecast set, compute two
    replenishment plans and a schedule, then time each planner page on the server (httpx) and in Chromium."""
    from service.web.benchdata import build
    from service.web.pagebench import measure, table

    if not chromium.exists():
        fail(f"error: no Chromium at {chromium}; install it with `make browser`")
    if rebuild or not db.exists():
        built = build(db, schedule_seconds=schedule_seconds)
        plans = f"plans {built.previous_plan} → {built.replenishment_plan}, schedule {built.production_plan}"
        typer.echo(f"built {db}: {built.skus:,} SKUs with forecasts, {plans}; seconds {built.seconds}")
        built.engine.dispose()
    try:
        result = measure(db, home, loads=loads, browser_loads=browser_loads, chromium=chromium)
    except (LookupError, RuntimeError) as err:
        fail(f"error: {err}")
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2, default=str))
    typer.echo(table(result))
