"""`leanplan bench api`: the forecast endpoints under load (wrk) against a bare FastAPI reference, and CSV export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated

import typer

from service.cli.apps import bench_app, fail


@bench_app.command("api")
def bench_api(
    database_url: Annotated[
        list[str],
        typer.Option(
            help="Database to test (repeatable): sqlite:///… (a fresh file under --workdir is used) or "
            "postgresql://… (a fresh schema, dropped afterwards)."
        ),
    ],
    skus: Annotated[int, typer.Option(min=1, help="SKUs in the published forecast set.")] = 5_000,
    periods: Annotated[int, typer.Option(min=1, help="Forecast periods per SKU.")] = 12,
    duration: Annotated[float, typer.Option(min=1, help="Seconds of load per server.")] = 10.0,
    connections: Annotated[int, typer.Option(min=1, help="Concurrent connections of wrk.")] = 16,
    warmup: Annotated[float, typer.Option(min=0, help="Seconds of load before each measurement (0: none).")] = 2.0,
    rounds: Annotated[
        int, typer.Option(min=1, help="Measure each server this many times, alternating; the best run counts.")
    ] = 1,
    workdir: Annotated[Path, typer.Option(help="Where the SQLite files and server home go.")] = Path("var/bench"),
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
) -> None:
    """Serve a fresh database with the API and with a bare reference app, one after the other; drive both with wrk
    (single-SKU fetch) and time the full CSV export of the API (table + JSON)."""
    from service.cli.bench_loader import load

    bench = load("api.run")
    INSTALL_HINT = load("api.wrk").INSTALL_HINT

    if shutil.which("wrk") is None:
        fail(f"error: {INSTALL_HINT}")
    try:
        report = bench.run(database_url, workdir, skus, periods, duration, connections, warmup, rounds)
    except (RuntimeError, ValueError) as err:
        fail(f"error: {err}")
    typer.echo(bench.format_report(report))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=2))
        typer.echo(f"wrote {json_out}")
