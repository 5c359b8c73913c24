"""`leanplan plan mrp`: multi-level MRP over the bills of materials in the database, stored as a plan (planned orders,
pegging, time-phased records, exceptions) with its CSV files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli.apps import compute_plan_files, plan_app


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
    placement: Annotated[
        bool, typer.Option(help="Items without their own safety stock take the latest placement plan's.")
    ] = True,
    out: Annotated[Path | None, typer.Option(help="Directory for <plan>/*.csv (default: var/plans).")] = None,
) -> None:
    """Explode the bills of materials: planned make and buy orders, pegging to customer orders, exceptions."""
    from optimizer.mrp.inputs import MrpInputError
    from service.mrp import MrpRequest

    values = {
        "as_of": as_of,
        "horizon_weeks": horizon_weeks,
        "demand_source": demand_source,
        "forecast_quantile": forecast_quantile,
        "lead_time_quantile": lead_time_quantile,
        "placement": placement,
    }
    plan_id, computed, paths = compute_plan_files("mrp", MrpRequest, values, out, (MrpInputError,))
    s = computed.summary
    typer.echo(
        f"plan {plan_id} as of {computed.as_of.date()}: {s['items']:,} items over {s['periods']} weeks; "
        f"{s['planned_orders']:,} planned orders ({s['make_orders']:,} make, {s['buy_orders']:,} buy)"
    )
    kinds = ", ".join(f"{k} {v}" for k, v in s["exceptions_by_kind"].items()) or "none"
    typer.echo(f"  {s['exceptions']:,} exceptions ({kinds}); money at stake {s['money_at_stake']:,.2f}")
    typer.echo(f"  wrote {', '.join(str(p) for p in paths)}")
