"""`leanplan mrp` (multi-level MRP, files in and files out) and `leanplan bench mrp`.

`leanplan mrp --items F --bom F --demand F [--inventory F] [--open-orders F] --out DIR` plans with
`optimizer.mrp` and writes planned_orders.csv, pegging.csv and exceptions.csv into DIR. Bad input: one line naming
the file, row and field, exit status 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from service.cli.apps import app, bench_app, fail

__all__ = ["bench_mrp", "mrp_command"]


@app.command("mrp")
def mrp_command(
    items: Annotated[
        Path,
        typer.Option(
            help="Items: sku, make_or_buy, lead_time_periods; optional lot_rule (lfl|fixed|moq|poq|ww), lot_size, "
            "moq, poq_periods, safety_stock, unit_cost, order_cost, holding_rate."
        ),
    ],
    bom: Annotated[
        Path, typer.Option(help="BOM: parent_sku, component_sku, qty_per; optional scrap_rate, valid_from, valid_to.")
    ],
    demand: Annotated[Path, typer.Option(help="Independent demand, long sku,date,qty[,id]; fixes the period grid.")],
    out: Annotated[Path, typer.Option(help="Directory for planned_orders.csv, pegging.csv, exceptions.csv.")],
    inventory: Annotated[Path | None, typer.Option(help="On hand: sku, on_hand[, as_of] (default 0).")] = None,
    open_orders: Annotated[Path | None, typer.Option(help="Scheduled receipts: id, sku, qty, due_date.")] = None,
    plan_date: Annotated[str | None, typer.Option(help="Plan date on the demand grid (default: first date).")] = None,
    pegging: Annotated[bool, typer.Option(help="Peg planned orders to end demands (pegging.csv).")] = True,
    peg: Annotated[
        list[str] | None, typer.Option("--peg", help="Peg only the orders of this SKU (repeatable) and above it.")
    ] = None,
    max_pegging_entries: Annotated[
        int, typer.Option(min=1, help="Refuse full pegging beyond this many (order, end demand) pairs.")
    ] = 50_000_000,
) -> None:
    """Plan material requirements over a BOM from files and write planned orders, pegging and exceptions."""
    from optimizer.mrp.engine import MrpOptions, plan
    from optimizer.mrp.files import read_inputs, write_plan
    from optimizer.mrp.inputs import MrpInputError
    from optimizer.mrp.pegging import PeggingTooLarge

    try:
        inputs = read_inputs(items, bom, demand, inventory, open_orders, plan_date)
    except MrpInputError as err:
        fail(f"error: {err}")
    unknown = sorted(set(peg or ()) - set(inputs.skus))
    if unknown:
        fail(f"error: --peg {unknown[0]!r} is not in {items}; name SKUs of the items file")
    choice: bool | list[str] = list(peg) if peg and pegging else pegging
    result = plan(inputs, MrpOptions(pegging=choice, max_pegging_entries=max_pegging_entries))
    try:
        paths = write_plan(result, out)
    except PeggingTooLarge as err:
        fail(f"error: {err}")
    n_exceptions = sum(1 for _ in paths["exceptions"].open()) - 1
    typer.echo(
        f"planned {inputs.n_items:,} items over {inputs.n_periods} periods: {len(result.order_qty):,} planned orders, "
        f"{n_exceptions:,} exceptions; wrote {', '.join(str(p) for p in paths.values())}"
    )


@bench_app.command("mrp")
def bench_mrp(
    sizes: Annotated[
        str, typer.Option(help="Item counts of the synthetic runs, comma-separated.")
    ] = "10000,30000,100000",
    chains: Annotated[bool, typer.Option(help="Also plan the 38 Willems (2008) chains and check invariants.")] = True,
    pegging: Annotated[bool, typer.Option(help="Include full pegging in the timed synthetic runs.")] = False,
    out: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here.")] = None,
) -> None:
    """Explosion speed (files to written plan) at several sizes and the invariants on the 38 real chains."""
    from service.cli.bench_loader import load

    bench = load("mrp")
    try:
        counts = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        fail(f"--sizes must be comma-separated whole numbers, got {sizes!r}")
    results = {"speed": bench.run_speed(counts, pegging=pegging)}
    for r in results["speed"]["runs"]:
        typer.echo(
            f"{r['items']:>7,} items {r['bom_lines']:>8,} lines {r['levels']} levels {r['periods']} periods: "
            f"{r['total_s']:.2f} s wall, {r['cpu_s']:.2f} s CPU (read {r['read_s']:.2f}, plan {r['plan_s']:.2f}, "
            f"peg {r['peg_s']:.2f}, write {r['write_s']:.2f}); {r['planned_orders']:,} orders, "
            f"{r['pegging_rows']:,} pegging rows"
        )
    typer.echo(f"growth exponent: {results['speed']['growth_exponent']}")
    if chains:
        results["chains"] = bench.run_chains()
        summary = results["chains"]["summary"]
        typer.echo(
            f"willems chains: {summary['chains']} planned, {summary['chains_with_all_invariants']} with every "
            f"invariant holding, {summary['total_s']:.2f} s"
        )
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, default=str))
        typer.echo(f"wrote {out}")
