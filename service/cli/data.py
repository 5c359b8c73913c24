"""`leanplan import`, `db`, `sample-data` and `bench load`: getting data in and the storage benchmark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipelines.ingest import DataValidationError
from service.cli.apps import app, bench_app, db_app, fail
from service.db import migrate
from service.db.engine import get_engine
from service.db.importer import ImportRejected, import_path
from service.settings import get_settings


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Create or migrate the tables of DATABASE_URL."""
    engine = get_engine()
    applied = migrate.upgrade(engine, revision)
    typer.echo(f"{engine.url.render_as_string(hide_password=True)} at revision {applied}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision and the latest one."""
    engine = get_engine()
    typer.echo(f"current: {migrate.current_revision(engine)}  head: {migrate.head_revision(engine)}")


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="A table file (CSV, Parquet, XLSX, JSON) or a directory of them.")],
    table: Annotated[str | None, typer.Option(help="Table of a single file (default: named by the file).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV field delimiter: , ; tab or | (default: sniffed from the header).")
    ] = None,
    decimal: Annotated[
        str | None, typer.Option(help="CSV decimal mark: . or , (default: , after a ; delimiter, else .).")
    ] = None,
) -> None:
    """Validate and load canonical tables; all or nothing, and loading the same data twice changes nothing."""
    engine = get_engine()
    migrate.upgrade(engine)
    try:
        report = import_path(engine, path, table, delimiter="\t" if delimiter == "tab" else delimiter, decimal=decimal)
    except (ImportRejected, DataValidationError) as err:
        fail(str(err))
    except (FileNotFoundError, KeyError, ValueError) as err:
        fail(f"error: {err.args[0] if err.args else err}")
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    typer.echo(f"{'table':<16}{'rows':>10}{'inserted':>10}{'updated':>10}{'unchanged':>11}  source")
    for source, result in report.results:
        figures = f"{result.rows:>10,}{result.inserted:>10,}{result.updated:>10,}{result.unchanged:>11,}"
        typer.echo(f"{result.table:<16}{figures}  {source}")
    for source, why in report.skipped:
        typer.echo(f"skipped {source}: {why}")
    typer.echo(f"loaded into {engine.url.render_as_string(hide_password=True)} in {report.seconds:.1f} s")


@app.command("sample-data")
def sample_data(
    out: Annotated[Path | None, typer.Option(help="Output directory (default: data/sample).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the generated master data.")] = 20081,
) -> None:
    """Regenerate the sample data set from the real public data in data/real."""
    from pipelines import sample_data as generator

    written = generator.run(out_dir=out or get_settings().sample_data_dir, seed=seed)
    typer.echo(f"wrote {len(written)} files to {written[0].parent if written else out}")


@bench_app.command("load")
def bench_load(
    rows: Annotated[int, typer.Option(help="Demand rows to load.")] = 1_000_000,
    database_url: Annotated[
        list[str] | None, typer.Option("--database-url", help="Databases to measure (repeatable).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the figures as JSON here.")] = None,
) -> None:
    """Time a bulk load of demand rows (fresh insert, then an idempotent reload) against pandas.to_sql."""
    from service.cli.bench_loader import load

    run_load_bench = load("load").run

    urls = database_url or [get_settings().database_url]
    results = run_load_bench(urls, rows)
    text = json.dumps(results, indent=2)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    typer.echo(text)
