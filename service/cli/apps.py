"""The `leanplan` Typer apps; command modules register their commands on these."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, NoReturn

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


def compute_plan_files(
    kind: str, request_model: Any, values: dict[str, Any], out: Path | None, errors: tuple[type[Exception], ...] = ()
) -> tuple[str, Any, list[Path]]:
    """Validate `values` with the kind's request model (an option error names the option), compute and store the plan
    through the lifecycle, write its files (default directory: var/plans); returns (plan id, computed plan, paths).
    User errors (LookupError, ValueError and `errors`) end the command with one line and status 2."""
    from pydantic import ValidationError

    from service.db import migrate
    from service.db.engine import get_engine
    from service.planning.lifecycle import compute_now
    from service.settings import get_settings

    try:
        request = request_model.model_validate(values)
    except ValidationError as err:
        first = err.errors()[0]
        fail(f"error: --{str(first['loc'][0]).replace('_', '-')}: {first['msg']}")
    engine = get_engine()
    migrate.upgrade(engine)
    user_errors: tuple[type[Exception], ...] = (LookupError, ValueError, *errors)
    try:
        outcome = compute_now(engine, kind, request.model_dump(mode="json"))
    except user_errors as err:
        fail(f"error: {err}")
    computed = outcome.computed
    assert computed is not None and computed.write_files is not None
    return outcome.plan_id, computed, computed.write_files(outcome.plan_id, out or get_settings().home / "plans")
