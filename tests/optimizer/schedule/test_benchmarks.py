"""Benchmark readers (FJSPLIB 1-indexed machines, JSPLIB 0-indexed) feed the same engine; solutions are checkable."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from optimizer.schedule.benchmarks import (
    InstanceFormatError,
    read_bounds,
    read_fjs,
    read_instance,
    read_jsplib,
    run_benchmark,
    solution_rows,
)
from optimizer.schedule.problem import violations
from optimizer.schedule.solve import SolveOptions, solve

INSTANCES = Path(__file__).parent / "instances"


def test_fjs_reader_keeps_the_file_numbering() -> None:
    instance = read_fjs(INSTANCES / "mk01.fjs")
    problem = instance.problem
    assert (len(problem.jobs), len(problem.machines), problem.n_operations) == (10, 6, 55)
    assert problem.machines == ("1", "2", "3", "4", "5", "6") and instance.machine_base == 1
    # job 1 operation 1 in the file: "2  1 5  3 4" -> machines 1 and 3 (indices 0 and 2), durations 5 and 4
    assert problem.jobs[0].operations[0].modes == ((0, 5), (2, 4))


def test_jsplib_reader_is_zero_indexed() -> None:
    instance = read_jsplib(INSTANCES / "ft06.txt")
    problem = instance.problem
    assert (len(problem.jobs), len(problem.machines)) == (6, 6) and instance.machine_base == 0
    # first job line of ft06: "2 1  0 3  1 6 ..." -> machine 2 for 1, machine 0 for 3
    assert [op.modes for op in problem.jobs[0].operations[:2]] == [((2, 1),), ((0, 3),)]


@pytest.mark.parametrize(("name", "optimum"), [("mk01.fjs", 40), ("ft06.txt", 55)])
def test_public_instances_solve_to_their_optimum(name: str, optimum: int) -> None:
    instance = read_instance(INSTANCES / name)
    result = solve(instance.problem, SolveOptions(time_limit=20, workers=2))
    assert result.status == "OPTIMAL" and result.criteria["makespan"] == optimum
    assert result.schedule is not None and violations(instance.problem, result.schedule) == []


def test_solution_rows_are_numbered_as_in_the_file() -> None:
    instance = read_fjs(INSTANCES / "mk01.fjs")
    result = solve(instance.problem, SolveOptions(time_limit=5, workers=2))
    assert result.schedule is not None
    rows = solution_rows(instance, result.schedule)
    assert len(rows) == 55 and min(r["job"] for r in rows) == 1 and min(r["operation"] for r in rows) == 1
    assert {r["machine"] for r in rows} <= set(range(1, 7))
    for r in rows:  # each row uses an eligible machine (file numbering) with its duration
        modes = dict(instance.problem.jobs[r["job"] - 1].operations[r["operation"] - 1].modes)
        assert modes[r["machine"] - 1] == r["end"] - r["start"]


def test_run_benchmark_writes_the_report_and_solutions(tmp_path: Path) -> None:
    bounds = read_bounds(INSTANCES / "bounds.csv")
    report = run_benchmark(
        INSTANCES, bounds, SolveOptions(time_limit=10, workers=2), solutions_dir=tmp_path, only={"ft06", "la01"}
    )
    assert set(report["instances"]) == {"ft06", "la01"}
    ft06 = report["instances"]["ft06"]
    assert ft06["makespan"] == 55 and ft06["best_known"] == 55 and ft06["gap_pct"] == 0.0
    assert set(ft06) == {"makespan", "lower_bound_found", "best_known", "gap_pct", "status", "seconds"}
    assert isinstance(report["mean_gap_pct"], float)
    with (tmp_path / "ft06.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["job", "operation", "machine", "start", "end"] and len(rows) == 36
    assert min(int(r["machine"]) for r in rows) == 0  # JSPLIB machines stay 0-indexed
    assert max(int(r["end"]) for r in rows) == 55
    json.dumps(report)


def test_bounds_csv_needs_instance_and_upper_bound(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text("name,ub\nmk01,40\n")
    with pytest.raises(ValueError, match="needs columns instance and upper_bound"):
        read_bounds(tmp_path / "b.csv")
    (tmp_path / "ok.csv").write_text("instance,file,lower_bound,upper_bound,status\nmk10,mk10.fjs,189,193,open\n")
    assert read_bounds(tmp_path / "ok.csv") == {"mk10": (189.0, 193.0)}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2 2 1\n1 1 1 5\n", "file ends while reading job 2"),
        ("1 2 1\n1 1 3 5\n", "machines [3] outside 1..2"),
        ("1 2\n1 1 1 x\n", "'x' is not a number"),
        ("one two\n", "first line must be"),
    ],
)
def test_malformed_fjs_files_say_where(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.fjs"
    path.write_text(text)
    with pytest.raises(InstanceFormatError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        read_fjs(path)
