"""Public scheduling benchmarks through the same engine as plant schedules.

Readers:

- FJSPLIB ``.fjs`` (Brandimarte 1993 and others): header ``jobs machines [avg alternatives]``, then per job
  ``n_ops`` and for each operation ``k`` followed by k pairs ``machine duration``; **machines are 1-indexed**.
- JSPLIB / OR-Library job shop (``.txt``): ``#`` comment lines, ``jobs machines``, then per job the pairs
  ``machine duration`` in route order; **machines are 0-indexed**.

Both become a `Problem` (machine names keep the file's numbering) solved for makespan by
`optimizer.schedule.solve.solve`. `run_benchmark` solves every instance of a directory and compares with known
bounds; `solution_rows` gives a schedule as ``job, operation, machine, start, end`` numbered as in the file
(jobs and operations from 1, machines as in the file).

Public interface: `Instance`, `read_fjs`, `read_jsplib`, `read_instance`, `read_bounds`, `solution_rows`,
`BenchRow`, `run_benchmark`, `INSTANCE_SUFFIXES`.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optimizer.schedule.problem import Job, Operation, Problem, Schedule
from optimizer.schedule.solve import Result, SolveOptions, solve

log = logging.getLogger(__name__)

INSTANCE_SUFFIXES = (".fjs", ".txt")


@dataclass(frozen=True)
class Instance:
    """A benchmark instance: its `problem` and the number of the file's first machine (1 for .fjs, 0 for JSPLIB)."""

    name: str
    problem: Problem
    machine_base: int


class InstanceFormatError(ValueError):
    """A benchmark file that does not follow its format; the message says where."""


def _numbers(text: str, path: Path) -> list[int]:
    values: list[int] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        for token in line.split():
            try:
                number = float(token)
            except ValueError:
                raise InstanceFormatError(f"{path}: line {line_no}: {token!r} is not a number") from None
            if not number.is_integer() or number < 0:
                raise InstanceFormatError(f"{path}: line {line_no}: {token!r} is not a non-negative integer")
            values.append(int(number))
    return values


def _take(values: list[int], pos: int, count: int, path: Path, what: str) -> list[int]:
    if pos + count > len(values):
        raise InstanceFormatError(f"{path}: file ends while reading {what}")
    return values[pos : pos + count]


def _problem(name: str, jobs: list[list[list[tuple[int, int]]]], n_machines: int, base: int) -> Problem:
    machine_names = tuple(str(m + base) for m in range(n_machines))
    return Problem(
        machines=machine_names,
        jobs=tuple(
            Job(
                name=str(j + 1),
                operations=tuple(Operation(modes=tuple(modes), name=str(k + 1)) for k, modes in enumerate(ops)),
            )
            for j, ops in enumerate(jobs)
        ),
    )


def read_fjs(path: Path | str) -> Instance:
    """An FJSPLIB instance (machines 1-indexed in the file, 0-based machine indices in the `Problem`)."""
    path = Path(path)
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")]
    header = lines[0].split() if lines else []
    try:
        n_jobs, n_machines = int(header[0]), int(header[1])
    except (IndexError, ValueError):
        raise InstanceFormatError(f"{path}: first line must be 'jobs machines [average alternatives]'") from None
    values = _numbers("\n".join(lines[1:]), path)
    pos = 0
    jobs: list[list[list[tuple[int, int]]]] = []
    for j in range(n_jobs):
        (n_ops,) = _take(values, pos, 1, path, f"job {j + 1}")
        pos += 1
        ops: list[list[tuple[int, int]]] = []
        for k in range(n_ops):
            (n_modes,) = _take(values, pos, 1, path, f"job {j + 1} operation {k + 1}")
            pairs = _take(values, pos + 1, 2 * n_modes, path, f"job {j + 1} operation {k + 1}")
            pos += 1 + 2 * n_modes
            modes = [(pairs[2 * i] - 1, pairs[2 * i + 1]) for i in range(n_modes)]
            bad = [m + 1 for m, _ in modes if not 0 <= m < n_machines]
            if bad:
                raise InstanceFormatError(
                    f"{path}: job {j + 1} operation {k + 1}: machines {bad} outside 1..{n_machines}"
                )
            if not modes:
                raise InstanceFormatError(f"{path}: job {j + 1} operation {k + 1} has no machine")
            ops.append(modes)
        jobs.append(ops)
    if pos != len(values):
        raise InstanceFormatError(f"{path}: {len(values) - pos} numbers left after {n_jobs} jobs")
    return Instance(path.stem, _problem(path.stem, jobs, n_machines, 1), machine_base=1)


def read_jsplib(path: Path | str) -> Instance:
    """A JSPLIB job-shop instance (machines 0-indexed in the file)."""
    path = Path(path)
    values = _numbers(path.read_text(), path)
    if len(values) < 2:
        raise InstanceFormatError(f"{path}: header 'jobs machines' missing")
    n_jobs, n_machines = values[0], values[1]
    pos = 2
    jobs: list[list[list[tuple[int, int]]]] = []
    for j in range(n_jobs):
        pairs = _take(values, pos, 2 * n_machines, path, f"job {j + 1}")
        pos += 2 * n_machines
        ops = [[(pairs[2 * k], pairs[2 * k + 1])] for k in range(n_machines)]
        bad = [m for ((m, _),) in ops if not 0 <= m < n_machines]
        if bad:
            raise InstanceFormatError(f"{path}: job {j + 1}: machines {bad} outside 0..{n_machines - 1}")
        jobs.append(ops)
    if pos != len(values):
        raise InstanceFormatError(f"{path}: {len(values) - pos} numbers left after {n_jobs} jobs")
    return Instance(path.stem, _problem(path.stem, jobs, n_machines, 0), machine_base=0)


def read_instance(path: Path | str) -> Instance:
    """Read by suffix: ``.fjs`` → FJSPLIB, ``.txt`` → JSPLIB."""
    path = Path(path)
    if path.suffix == ".fjs":
        return read_fjs(path)
    if path.suffix == ".txt":
        return read_jsplib(path)
    raise InstanceFormatError(f"{path}: unknown instance format; use .fjs (FJSPLIB) or .txt (JSPLIB)")


def read_bounds(path: Path | str) -> dict[str, tuple[float | None, float]]:
    """instance -> (lower bound or None, best known upper bound) from a CSV with `instance` and `upper_bound` (and
    optionally `lower_bound`) columns — or JSPLIB's `optimal_makespan*` column; other columns are ignored."""
    path = Path(path)
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        upper = (
            "upper_bound" if "upper_bound" in columns else next((c for c in columns if c.startswith("optimal")), None)
        )
        if "instance" not in columns or upper is None:
            raise ValueError(f"{path}: needs columns instance and upper_bound (has {', '.join(columns)})")
        bounds: dict[str, tuple[float | None, float]] = {}
        for row_no, row in enumerate(reader, start=1):
            try:
                ub = float(row[upper])
                lb = float(row["lower_bound"]) if row.get("lower_bound") not in (None, "") else None
            except ValueError:
                raise ValueError(f"{path}: row {row_no}: bounds {row.get('lower_bound')!r}, {row[upper]!r}") from None
            bounds[row["instance"]] = (lb, ub)
    return bounds


def solution_rows(instance: Instance, schedule: Schedule) -> list[dict[str, int]]:
    """The schedule as rows job, operation (both from 1), machine (numbered as in the file), start, end."""
    return [
        {
            "job": j + 1,
            "operation": k + 1,
            "machine": a.machine + instance.machine_base,
            "start": a.start,
            "end": a.end,
        }
        for (j, k), a in sorted(schedule.assignments.items())
    ]


@dataclass(frozen=True)
class BenchRow:
    """One instance's benchmark figures; `gap_pct` is against the best known upper bound."""

    makespan: int | None
    lower_bound_found: float | None
    best_known: float | None
    gap_pct: float | None
    status: str
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return {
            "makespan": self.makespan,
            "lower_bound_found": self.lower_bound_found,
            "best_known": self.best_known,
            "gap_pct": None if self.gap_pct is None else round(self.gap_pct, 3),
            "status": self.status,
            "seconds": round(self.seconds, 2),
        }


def run_benchmark(
    directory: Path | str,
    bounds: dict[str, tuple[float | None, float]],
    options: SolveOptions,
    solutions_dir: Path | None = None,
    only: set[str] | None = None,
    on_result: Callable[[str, BenchRow], None] | None = None,
) -> dict[str, Any]:
    """Solve every instance file in `directory` (optionally only names in `only`) for makespan.

    Returns ``{"instances": {name: BenchRow.as_dict()}, "mean_gap_pct": …, "optimal": n, "options": {...}}``;
    writes ``<instance>.csv`` schedules to `solutions_dir` when given.
    """
    directory = Path(directory)
    files = sorted(p for p in directory.iterdir() if p.suffix in INSTANCE_SUFFIXES)
    if only:
        files = [p for p in files if p.stem in only]
    if not files:
        raise FileNotFoundError(f"{directory} holds no instance files ({', '.join(INSTANCE_SUFFIXES)})")
    rows: dict[str, BenchRow] = {}
    for path in files:
        instance = read_instance(path)
        started = time.perf_counter()
        result: Result = solve(instance.problem, options)
        seconds = time.perf_counter() - started
        best = bounds[instance.name][1] if instance.name in bounds else None
        makespan = result.criteria.get("makespan") if result.schedule is not None else None
        gap = 100.0 * (makespan - best) / best if makespan is not None and best else None
        row = BenchRow(makespan, result.best_bound, best, gap, result.status, seconds)
        rows[instance.name] = row
        if solutions_dir is not None and result.schedule is not None:
            solutions_dir.mkdir(parents=True, exist_ok=True)
            with (solutions_dir / f"{instance.name}.csv").open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=["job", "operation", "machine", "start", "end"])
                writer.writeheader()
                writer.writerows(solution_rows(instance, result.schedule))
        log.info("%s: makespan %s best known %s (%s) in %.1f s", instance.name, makespan, best, result.status, seconds)
        if on_result is not None:
            on_result(instance.name, row)
    gaps = [r.gap_pct for r in rows.values() if r.gap_pct is not None]
    return {
        "instances": {name: row.as_dict() for name, row in rows.items()},
        "mean_gap_pct": round(sum(gaps) / len(gaps), 3) if gaps else None,
        "optimal": sum(1 for r in rows.values() if r.status == "OPTIMAL"),
        "options": {"time_limit": options.time_limit, "workers": options.workers},
    }
