"""`leanplan meio` (stock placement on a network in files) and `leanplan bench placement`.

`meio` reads a network in the Willems (2008) format (stages.csv, arcs.csv; `--chain` picks one chain of a file that
holds several), places safety stock with the Guaranteed Service Model (`optimizer.placement`) and writes
``stages.csv`` (one row per stage) and ``summary.json`` (totals, both baselines, solver status, seconds) to
``--out``. Bad input prints one line naming the stage and exits 2; nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from service.cli.apps import app, bench_app, fail

__all__ = ["MEIO_STAGE_COLUMNS", "MEIO_SUMMARY_KEYS", "bench_placement", "meio"]

#: Columns of stages.csv, in order.
MEIO_STAGE_COLUMNS = (
    "stage",
    "inbound_service_time",
    "outbound_service_time",
    "net_replenishment_time",
    "demand_std",
    "safety_factor",
    "unit_value",
    "safety_stock",
    "safety_stock_cost",
    "base_stock_level",
    "decoupling_point",
)
#: Keys of summary.json that every run writes first (more follow: savings, bound, gap, method, …).
MEIO_SUMMARY_KEYS = (
    "total_safety_stock_cost",
    "baseline_every_stage_cost",
    "baseline_end_items_cost",
    "proven_optimal",
    "seconds",
)


@app.command("meio")
def meio(
    stages: Annotated[Path, typer.Option(help="stages.csv (Willems 2008 format: chain, stage_name, stage_time, …).")],
    arcs: Annotated[Path, typer.Option(help="arcs.csv (chain, source_stage, destination_stage, quantity).")],
    out: Annotated[Path, typer.Option(help="Directory to write stages.csv and summary.json to.")],
    chain: Annotated[str | None, typer.Option(help="Chain id, e.g. 01 (needed when the files hold several).")] = None,
    service_level: Annotated[
        float, typer.Option(help="Service level of stages that give none (internal stages).")
    ] = 0.95,
    correlation: Annotated[
        str, typer.Option(help="Demand of different end items: independent (pooled) or correlated.")
    ] = "independent",
    time_limit: Annotated[float, typer.Option(help="Solver time limit in seconds (general networks).")] = 60.0,
) -> None:
    """Place safety stock in a network (Guaranteed Service Model) and write per-stage results and a summary."""
    from optimizer.placement.files import read_willems
    from optimizer.placement.network import NetworkError, build_network
    from optimizer.placement.solve import place_safety_stock

    if time_limit <= 0:
        fail(f"--time-limit must be > 0 seconds, got {time_limit}")
    try:
        stage_frame, arc_frame = read_willems(stages, arcs, chain)
        network = build_network(stage_frame, arc_frame, service_level=service_level)
        result = place_safety_stock(network, correlation=correlation, time_limit=time_limit)
    except NetworkError as err:
        fail(str(err))
    out.mkdir(parents=True, exist_ok=True)
    result.stages.loc[:, list(MEIO_STAGE_COLUMNS)].to_csv(out / "stages.csv", index=False)
    summary = {key: result.summary[key] for key in MEIO_SUMMARY_KEYS}
    summary.update({k: v for k, v in result.summary.items() if k not in summary})
    if chain is not None:
        summary["chain"] = chain
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    s = result.summary
    status = "proven optimal" if s["proven_optimal"] else f"gap {100 * s['gap']:.3f}%"
    typer.echo(
        f"{s['stages']} stages, {s['decoupling_points']} hold stock; "
        f"safety stock cost {s['total_safety_stock_cost']:,.2f} "
        f"(every stage {s['baseline_every_stage_cost']:,.2f}, end items only {s['baseline_end_items_cost']:,.2f}); "
        f"{status} in {s['seconds']:.2f} s; written to {out}"
    )


@bench_app.command("placement")
def bench_placement(
    data: Annotated[
        Path | None, typer.Option(help="Directory of the Willems (2008) files (default: ../shared/data/…).")
    ] = None,
    chains: Annotated[str | None, typer.Option(help="Comma-separated chain ids (default: all 38).")] = None,
    time_limit: Annotated[float, typer.Option(help="Solver seconds per chain.")] = 60.0,
    trees: Annotated[str, typer.Option(help="Random tree sizes compared with stockpyl, comma-separated.")] = (
        "10,50,100,200,500"
    ),
    seed: Annotated[int, typer.Option(help="Seed of the random trees.")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here.")] = None,
) -> None:
    """All 38 Willems chains (time, optimality, cost vs baselines and published figures) and random trees vs
    stockpyl's gsm_tree (same cost, speed ratio)."""
    from service.cli.bench_loader import load

    try:
        bench = load("placement")
    except ModuleNotFoundError as err:
        fail(str(err))
    try:
        sizes = [int(x) for x in trees.split(",") if x.strip()]
    except ValueError:
        fail(f"--trees must be comma-separated integers, got {trees!r}")
    report = bench.run(
        data_dir=data,
        chains=chains.split(",") if chains else None,
        time_limit=time_limit,
        tree_sizes=sizes,
        seed=seed,
        echo=typer.echo,
    )
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=2, default=str))
