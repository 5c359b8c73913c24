"""`leanplan plan mrp`: multi-level MRP over the bills of materials in the database, stored as a plan (planned orders,
pegging, time-phased records, exceptions) with its CSV files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli.apps import fail, plan_app


@plan_app.command("mrp")
def plan_mrp(
    as_of: Annotated[str | None, typer.Option(help="Plan date, YYYY-MM-DD (default: the latest stock date).")] = None,
    horizon_weeks: Annotated[int, typer.Option(help="Weeks planned.")] = 26,
    demand_source: Annotated[
        str, typer.Option(help="Independent demand: both (orders + unconsumed forecast), forecast or orders.")
    ] = "both",
    forecast_quantile: Annotated[
        float | None, typer.Option(help="Plan on this forecast quantile instead of the mean (e.g. 0.9).")
    ] = None,
    lead_time_quantile: Annotated[float, typer.Option(help="Supplier lead-time quantile for bought items.")] = 0.9,
    out: Annotated[Path | None, typer.Option(help="Directory for <plan>/*.csv (default: var/plans).")] = None,
) -> None:
    """Explode the bills of materials: planned make and buy orders, pegging to customer orders, exceptions."""
    from pydantic import ValidationError

    from optimizer.mrp.inputs import MrpInputError
    from service.db import migrate
    from service.db.engine import get_engine
    from service.mrp import MrpRequest
    from service.planning.lifecycle import compute_now
    from service.settings import get_settings

    try:
        request = MrpRequest(
            as_of=as_of,
            horizon_weeks=horizon_weeks,
            demand_source=demand_source,
            forecast_quantile=forecast_quantile,
            lead_time_quantile=lead_time_quantile,
        )
    except ValidationError as err:
        first = err.errors()[0]
        fail(f"error: --{str(first['loc'][0]).replace('_', '-')}: {first['msg']}")
    engine = get_engine()
    migrate.upgrade(engine)
    try:
        outcome = compute_now(engine, "mrp", request.model_dump(mode="json"))
    except (LookupError, MrpInputError, ValueError) as err:
        fail(f"error: {err}")
    computed = outcome.computed
    assert computed is not None and computed.write_files is not None
    paths = computed.write_files(outcome.plan_id, out or get_settings().home / "plans")
    s = computed.summary
    typer.echo(
        f"plan {outcome.plan_id} as of {computed.as_of.date()}: {s['items']:,} items over {s['periods']} weeks; "
        f"{s['planned_orders']:,} planned orders ({s['make_orders']:,} make, {s['buy_orders']:,} buy)"
    )
    kinds = ", ".join(f"{k} {v}" for k, v in s["exceptions_by_kind"].items()) or "none"
    typer.echo(f"  {s['exceptions']:,} exceptions ({kinds}); money at stake {s['money_at_stake']:,.2f}")
    typer.echo(f"  wrote {', '.join(str(p) for p in paths)}")
