"""The `leanplan` Typer apps; command modules register their commands on these."""

from __future__ import annotations

import logging
from typing import Annotated, NoReturn

import typer

app = typer.Typer(
    name="leanplan", help="Demand forecasting, inventory optimization and production scheduling.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
plan_app = typer.Typer(help="Compute plans: replenishment and production.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks; figures go to BENCHMARKS.md.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(plan_app, name="plan")
app.add_typer(bench_app, name="bench")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `message` to stderr and exit with `code` (no traceback: the message says what to do)."""
    typer.echo(message, err=True)
    raise typer.Exit(code)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
