"""Benchmarks: measurements for BENCHMARKS.md, run by `make bench` / `leanplan bench …`.

They live outside the installed packages: product code never imports them. Each module takes its inputs as arguments
and returns a JSON-ready dict; the `leanplan bench` commands load them with `service.cli.bench_loader.load`.
"""
