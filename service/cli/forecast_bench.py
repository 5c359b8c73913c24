"""`leanplan bench forecast`: leanplan's forecasts against peer libraries on held-out demand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipelines.ingest import DataValidationError
from service.cli.apps import bench_app, fail


@bench_app.command("forecast")
def bench_forecast(
    demand: Annotated[Path, typer.Option(help="Demand file (CSV, Parquet, XLSX or JSON; long sku,date,qty or wide).")],
    horizon: Annotated[int, typer.Option(help="Periods held out at the end of every series and forecast.")],
    season: Annotated[
        int | None, typer.Option(help="Season length in periods (default: 12 monthly, 52 weekly, 7 daily).")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
    prophet_sample: Annotated[
        int, typer.Option(help="Run Prophet on a seeded sample of this many SKUs when the panel has more.")
    ] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the Prophet sample and of the models.")] = 0,
    methods: Annotated[
        str | None, typer.Option(help="Comma-separated subset of methods (default: leanplan and every peer).")
    ] = None,
    kind: Annotated[
        str, typer.Option(help="Targets to check: smooth, intermittent or auto (by the share of intermittent SKUs).")
    ] = "auto",
) -> None:
    """Hold out the last HORIZON periods of every series; score leanplan and the peers on them (table + JSON)."""
    from service.cli.bench_loader import load

    bench = load("forecast")
    from pipelines.ingest import read_table

    chosen = bench.METHODS if methods is None else tuple(m.strip() for m in methods.split(",") if m.strip())
    if horizon < 1:
        fail(f"--horizon must be at least 1 period, got {horizon}")
    if not demand.is_file():
        fail(f"demand file {demand} not found")
    try:
        _, frame = read_table(demand, table="demand")
        report = bench.run(
            frame,
            horizon,
            season=season,
            methods=chosen,
            prophet_sample=prophet_sample,
            seed=seed,
            kind=kind,
            source=str(demand),
        )
    except DataValidationError as err:
        fail(str(err))
    except ValueError as err:
        fail(f"error: {err}")
    typer.echo(bench.format_report(report))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=2))
        typer.echo(f"wrote {json_out}")
