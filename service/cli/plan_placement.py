"""`leanplan plan placement`: where in the bills of materials to hold safety stock (Guaranteed Service Model) on the
stored data, stored as a plan with a CSV of the items' service times and safety stocks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli.apps import compute_plan_files, plan_app


@plan_app.command("placement")
def plan_placement(
    as_of: Annotated[str | None, typer.Option(help="Plan date, YYYY-MM-DD (default: the latest stock date).")] = None,
    service_level: Annotated[float, typer.Option(help="End items' service level (safety factor Φ⁻¹).")] = 0.95,
    correlation: Annotated[
        str, typer.Option(help="Demand of shared components: independent (root-sum-square) or correlated (sum).")
    ] = "independent",
    lead_time_quantile: Annotated[float, typer.Option(help="Supplier lead-time quantile for bought items.")] = 0.9,
    time_limit: Annotated[float, typer.Option(help="Solver seconds (the gap is reported when not proven).")] = 30.0,
    out: Annotated[Path | None, typer.Option(help="Directory for <plan>.placement.csv (default: var/plans).")] = None,
) -> None:
    """Optimal safety-stock placement over the bills of materials: decoupling points and their stock."""
    from optimizer.placement import NetworkError
    from service.placement import PlacementRequest

    values = {
        "as_of": as_of,
        "service_level": service_level,
        "correlation": correlation,
        "lead_time_quantile": lead_time_quantile,
        "time_limit": time_limit,
    }
    plan_id, computed, paths = compute_plan_files("placement", PlacementRequest, values, out, (NetworkError,))
    s = computed.summary
    proven = "proven optimal" if s.get("proven_optimal") else f"gap {100 * float(s.get('gap') or 0):.2f}%"
    typer.echo(
        f"plan {plan_id} as of {computed.as_of.date()}: {s['items']:,} items, {s['decoupling_points']:,} "
        f"hold stock; safety stock {s['safety_stock_value']:,.2f} ({proven})"
    )
    typer.echo(
        f"  every item holding stock: {s['baseline_every_stage_cost']:,.2f}; only end items: "
        f"{s['baseline_end_items_cost']:,.2f}"
    )
    typer.echo(f"  wrote {', '.join(str(p) for p in paths)}")
