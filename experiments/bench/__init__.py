"""Benchmarks: measurements for BENCHMARKS.md, run by `make bench` / `leanplan bench …`.

They live outside the installed packages: product code never imports them. Each module takes its inputs as arguments
and returns a JSON-ready dict; the `leanplan bench` commands load them with `service.cli.bench_loader.load`.
"""

from pathlib import Path

#: the project's shared public data: beside the checkout (`../shared/data`), else the workplace copy
SHARED_DATA = next(
    (p for p in (Path(__file__).resolve().parents[3] / "shared" / "data", Path("/work/shared/data")) if p.is_dir()),
    Path(__file__).resolve().parents[3] / "shared" / "data",
)
#: Willems (2008): 38 real multi-echelon supply chains (stages.csv, arcs.csv, …)
WILLEMS_DIR = SHARED_DATA / "supply_chains" / "willems2008"
