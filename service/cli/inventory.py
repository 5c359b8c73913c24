"""`leanplan plan replenishment`, `leanplan bench policy`, `bench policy-speed` and `bench raf-inputs`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from service.cli.apps import bench_app, fail, plan_app


def _write_json(payload: dict[str, Any], out: Path | None) -> str:
    text = json.dumps(payload, indent=2, default=str)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return text


@plan_app.command("replenishment")
def plan_replenishment(
    as_of: Annotated[
        dt.datetime | None,
        typer.Option("--as-of", formats=["%Y-%m-%d"], help="Plan date (default: the latest inventory snapshot)."),
    ] = None,
    skus: Annotated[str | None, typer.Option(help="Only SKUs matching this glob, e.g. 'RAF-*'.")] = None,
    targets: Annotated[
        Path | None, typer.Option(help="YAML with service targets (top level or a `service_targets:` section).")
    ] = None,
    fill_rate: Annotated[float | None, typer.Option(help="One fill-rate target for every class.")] = None,
    shortage_scale: Annotated[
        float,
        typer.Option(help="Multiply every target's allowed shortage (calibration; see `leanplan bench policy`)."),
    ] = 1.0,
    out: Annotated[Path | None, typer.Option(help="Directory for the CSV and XLSX (default: var/plans).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Compute replenishment: reorder points, orders now and alerts; store the plan, write CSV and XLSX."""
    from pydantic import ValidationError

    from optimizer.classify import ServiceTargets
    from optimizer.replenishment import ReplenishmentConfig
    from service.db import migrate
    from service.db.engine import get_engine
    from service.replenishment import run

    try:
        service_targets = ServiceTargets.from_yaml(targets) if targets else ServiceTargets()
        if fill_rate is not None:
            service_targets = ServiceTargets(
                measure="fill_rate", targets={c: fill_rate for c in "ABC"}, default=fill_rate
            )
        config = ReplenishmentConfig(targets=service_targets, shortage_scale=shortage_scale)
    except (ValidationError, OSError, ValueError) as err:
        fail(f"error: invalid service targets: {err}")
    engine = get_engine()
    migrate.upgrade(engine)
    try:
        result = run(engine, as_of=as_of.date() if as_of else None, skus=skus, config=config, out_dir=out)
    except (LookupError, ValueError) as err:
        fail(f"error: {err}")
    summary = result.plan.summary
    if as_json:
        typer.echo(_write_json({"plan_id": result.plan_id, "csv": str(result.csv), "xlsx": str(result.xlsx),
                                **summary}, None))  # fmt: skip
        return
    forecast = result.plan.params["forecast"]
    source = (
        f"forecast set {forecast['model_version']}" if forecast.get("model_version") else "demand history (no forecast)"
    )
    typer.echo(f"plan {result.plan_id} as of {result.as_of.date()} from {source}")
    typer.echo(
        f"  {summary['skus']:,} SKUs, {summary['planned']:,} planned, {summary['skipped']:,} skipped; "
        f"{summary['orders']:,} orders now worth {summary['order_value']:,.2f}"
    )
    typer.echo(
        f"  capital on hand {summary['capital_now']:,.2f}; expected under the policy {summary['capital_expected']:,.2f}"
    )
    for group, info in sorted(summary["groups"].items()):
        fill = info.get("expected_fill")
        typer.echo(
            f"  class {group}: {info['skus']:,} SKUs, target {info['target']:.1%}, "
            f"expected fill {'n/a' if fill is None else format(fill, '.1%')}"
        )
    by_type = ", ".join(f"{k} {v}" for k, v in summary["alerts_by_type"].items()) or "none"
    typer.echo(f"  {summary['alerts']} alerts ({by_type}); value at risk {summary['value_at_risk']:,.2f}")
    typer.echo(f"  wrote {result.csv} and {result.xlsx}")


@bench_app.command("policy")
def bench_policy(
    demand: Annotated[Path, typer.Option(help="Long CSV sku,date,qty.")],
    items: Annotated[
        Path,
        typer.Option(
            help="CSV sku,unit_cost,lead_time_periods[,lead_time_std_periods,moq,lot_multiple,order_cost,holding_rate]."
        ),
    ],
    fill_rate: Annotated[float, typer.Option(help="Portfolio fill rate every policy is tuned to.")] = 0.95,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the lead-time draws.")] = 0,
    frontier: Annotated[bool, typer.Option(help="Also sweep each knob for the inventory-vs-fill frontier.")] = True,
) -> None:
    """Replay the last third of the demand with leanplan, ERP min/max and the normal policy at equal fill rate."""
    from service.cli.bench_loader import load

    policy_bench = load("policy").policy_bench
    from optimizer.simulate import ReplayData

    if not 0 < fill_rate < 1:
        fail(f"error: --fill-rate must be strictly between 0 and 1; got {fill_rate}")
    try:
        data = ReplayData.read_csv(demand, items)
    except (OSError, ValueError, KeyError) as err:
        fail(f"error: {err}")
    result = policy_bench(data, target=fill_rate, seed=seed, with_frontier=frontier)
    typer.echo(_write_json(result, json_out))


@bench_app.command("policy-speed")
def bench_policy_speed(
    skus: Annotated[list[int] | None, typer.Option("--skus", help="Portfolio sizes (repeatable).")] = None,
    stockpyl_skus: Annotated[int, typer.Option(help="SKUs the per-SKU stockpyl loop is timed on.")] = 1000,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic forecasts.")] = 0,
) -> None:
    """Time the policy computation for 10,000 and 100,000 SKUs against a per-SKU stockpyl loop."""
    from service.cli.bench_loader import load

    policy_speed = load("policy").policy_speed

    sizes = skus or [10_000, 100_000]
    if any(n < 1 for n in sizes) or stockpyl_skus < 1:
        fail("error: --skus and --stockpyl-skus must be >= 1")
    typer.echo(_write_json(policy_speed(sizes, stockpyl_skus=stockpyl_skus, seed=seed), json_out))


@bench_app.command("raf-inputs")
def bench_raf_inputs(
    raf_dir: Annotated[Path, typer.Option(help="RAF spare-parts files.")] = Path("data/real/raf_spare_parts"),
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("var/bench"),
    receipts: Annotated[
        Path | None, typer.Option(help="Receipts CSV for lead-time variability (e.g. data/sample/receipts.csv).")
    ] = None,
    suppliers: Annotated[Path | None, typer.Option(help="Supplier offers CSV matching --receipts.")] = None,
    order_cost: Annotated[float, typer.Option(help="Fixed cost per order (GBP).")] = 50.0,
    holding_rate: Annotated[float, typer.Option(help="Annual holding cost, fraction of unit cost.")] = 0.25,
) -> None:
    """Write the RAF bench inputs (long demand and items CSV) for `leanplan bench policy`."""
    from service.cli.bench_loader import load

    raf_bench_inputs = load("policy").raf_bench_inputs

    if (receipts is None) != (suppliers is None):
        fail("error: give both --receipts and --suppliers, or neither")
    try:
        demand_path, items_path = raf_bench_inputs(
            raf_dir, out, order_cost=order_cost, holding_rate=holding_rate, receipts=receipts, suppliers=suppliers
        )
    except (OSError, ValueError, KeyError) as err:
        fail(f"error: {err}")
    typer.echo(f"wrote {demand_path} and {items_path}")
