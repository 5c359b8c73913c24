"""`leanplan bench upload`: time a demand CSV upload through the real HTTP API on loopback
(`experiments/bench/upload.py`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from service.cli.apps import bench_app, fail


@bench_app.command("upload")
def bench_upload(
    rows: Annotated[int, typer.Option(min=1, help="Demand rows to upload.")] = 1_000_000,
    database_url: Annotated[
        list[str] | None, typer.Option("--database-url", help="Databases to measure (repeatable).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here.")] = None,
) -> None:
    """Time a demand CSV upload through the HTTP API (fresh tables, then the same file again)."""
    from service.cli.bench_loader import load
    from service.settings import get_settings

    urls = database_url or [get_settings().database_url]
    try:
        results = load("upload").run(urls, rows)
    except (RuntimeError, ValueError, OSError) as err:
        fail(f"error: {err}")
    for r in results["results"]:
        typer.echo(
            f"{r['database']:<10} {r['rows']:,} rows ({r['csv_mb']} MB CSV): upload {r['upload_s']:.2f} s "
            f"({r['upload_rows_per_s']:,} rows/s, server {r['upload_server_s']:.2f} s), "
            f"same file again {r['upload_again_s']:.2f} s ({r['again_unchanged']:,} unchanged)"
        )
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2))
        typer.echo(f"wrote {out}")
