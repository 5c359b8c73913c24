"""`leanplan bench mrp-value`: the one-year replay of the sample factory, components planned by MRP versus forecast
and ordered on their own, at the same fill of the end items' customer orders (`experiments/bench/mrp_value.py`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from service.cli.apps import bench_app, fail

__all__ = ["bench_mrp_value"]


def _row(r: dict[str, Any]) -> str:
    return (
        f"  knob {r['knob']:<7.4g} line fill {r['line_fill']:.4f} unit fill {r['unit_fill']:.4f}  components "
        f"{r['component_value'] / 1e6:8.2f} M  intermediates {r['intermediate_value'] / 1e6:6.2f} M  end items "
        f"{r['end_item_value'] / 1e6:7.2f} M  late {r['late_lines']:>5,}  blocked by material {r['blocked_lines']:>5,}"
        f"  orders delayed {r['delayed_orders']:>5,}  POs {r['purchase_orders']:>5,}"
    )


@bench_app.command("mrp-value")
def bench_mrp_value(
    data_dir: Annotated[Path | None, typer.Option(help="Sample data directory (default data/sample).")] = None,
    target: Annotated[float, typer.Option(help="Line fill of customer orders both arms are tuned to.")] = 0.975,
    weeks: Annotated[int, typer.Option(min=4, help="Weeks measured.")] = 52,
    warmup: Annotated[int, typer.Option(min=0, help="Weeks simulated before the measured ones.")] = 26,
    fg_safety_weeks: Annotated[float, typer.Option(min=0, help="End items' safety stock, weeks of forecast.")] = 2.0,
    lead_time_quantile: Annotated[
        float, typer.Option(help="Quantile of the supplier lead time MRP plans with (as `leanplan plan mrp`).")
    ] = 0.9,
    seed: Annotated[int, typer.Option(help="Seed of the lead-time draws.")] = 20081,
    out: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here.")] = None,
) -> None:
    """Replay a year of the sample factory: MRP-planned versus independently ordered components at equal fill."""
    from service.cli.bench_loader import load

    if not 0 < target < 1 or not 0 < lead_time_quantile < 1:
        fail(f"--target and --lead-time-quantile must be strictly between 0 and 1; got {target}, {lead_time_quantile}")
    bench = load("mrp_value")
    config = bench.ReplayConfig(weeks=weeks, warmup_weeks=warmup, fg_safety_weeks=fg_safety_weeks)
    results = bench.run(
        data_dir or bench.SAMPLE_DIR, target=target, config=config, lead_time_quantile=lead_time_quantile, seed=seed
    )
    replay = results["replay"]
    typer.echo(
        f"replay {replay['first_week']} … {replay['last_week']} after {warmup} warm-up weeks: {replay['end_items']} "
        f"end items, {replay['made_intermediates']} made intermediates, {replay['bought_items']} bought components"
    )
    for arm, knob in results["knobs"].items():
        typer.echo(f"{arm} (knob {knob}):")
        for r in results["curves"][arm]:
            typer.echo(_row(r))
    typer.echo(f"tuned to line fill {target}:")
    for arm, r in results["tuned"].items():
        typer.echo(f"{arm:<12}" + _row(r) + ("" if r["converged"] else "  (not within tolerance)"))
    comparison = results["comparison"]
    saved = comparison["component_value_saved"]
    typer.echo(
        f"component inventory saved by MRP: {comparison['component_value_difference'] / 1e6:.2f} M"
        + (f" ({100 * saved:.1f} %)" if saved is not None else "")
        + f"; lines blocked by material: MRP {comparison['blocked_lines']['mrp']}, "
        f"independent {comparison['blocked_lines']['independent']}"
    )
    for row in comparison["at_fill"]:
        if row["saved"] is not None:
            typer.echo(
                f"  at line fill {row['line_fill']:.3f}: MRP {row['mrp_component_value'] / 1e6:.2f} M, independent "
                f"{row['independent_component_value'] / 1e6:.2f} M, saved {100 * row['saved']:.1f} %"
            )
    typer.echo(f"{results['seconds']['total']:.0f} s")
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, default=str))
        typer.echo(f"wrote {out}")
