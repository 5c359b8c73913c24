"""Rescheduling after a breakdown or a rush order, and the large-neighbourhood search it shares with planning."""

from __future__ import annotations

import time

import numpy as np
import pytest

from optimizer.schedule.extract import with_real_setups
from optimizer.schedule.heuristic import dispatch, insert, right_shift, schedule_criteria
from optimizer.schedule.lns import LnsOptions, improve, neighbourhood
from optimizer.schedule.problem import Job, Operation, Problem, Schedule, violations
from optimizer.schedule.reschedule import Breakdown, RescheduleOptions, reschedule
from optimizer.schedule.solve import SolveOptions, solve


def shop(n_jobs: int = 16, seed: int = 7) -> Problem:
    """Two stages (machines 0-1, then 2-3), three families with setups, due dates and a night on machine 3."""
    rng = np.random.default_rng(seed)
    setup = np.array([[0, 20, 30], [25, 0, 20], [30, 15, 0]])
    jobs = tuple(
        Job(
            f"J{n}",
            (
                Operation(((0, int(rng.integers(30, 90))), (1, int(rng.integers(30, 90))))),
                Operation(((2, int(rng.integers(20, 60))), (3, int(rng.integers(20, 60))))),
            ),
            due=int(rng.integers(200, 900)),
            weight=int(rng.integers(1, 4)),
            family=int(rng.integers(3)),
        )
        for n in range(n_jobs)
    )
    return Problem(
        machines=("P1", "P2", "K1", "K2"),
        jobs=jobs,
        families=("A", "B", "C"),
        setup={m: setup for m in range(4)},
        unavailable={3: ((600, 720),)},
        horizon=5000,
    )


@pytest.fixture(scope="module")
def planned() -> tuple[Problem, Schedule]:
    problem = shop()
    result = solve(problem, SolveOptions(time_limit=3, workers=2, objective="weighted"))
    assert result.schedule is not None
    return problem, result.schedule


def test_breakdown_repair_is_feasible_and_explains_every_move(planned: tuple[Problem, Schedule]) -> None:
    problem, schedule = planned
    busy = schedule.sequences()[0]
    now = busy[1].start  # the line breaks down as its second operation starts
    event = Breakdown(machine=0, start=now, end=now + 120)
    result = reschedule(problem, schedule, now, breakdowns=[event], options=RescheduleOptions(time_limit=2))
    assert result.status in ("FEASIBLE", "OPTIMAL") and result.schedule is not None
    assert violations(result.problem, result.schedule) == []
    assert result.touched and all(key in {(m.job, m.op) for m in result.moves} for key in result.touched)
    for a in result.schedule.assignments.values():  # nothing runs on the broken line during the repair
        assert not (a.machine == 0 and a.start - a.setup < event.end and a.end > event.start)
    for key, a in schedule.assignments.items():  # what started before the breakdown stays
        if a.start - a.setup < now and key not in result.touched:
            assert result.schedule.assignments[key] == a
    assert all(m.reason for m in result.moves)
    assert 0.0 <= result.untouched_moved_share <= 1.0


def test_rush_order_gets_scheduled_after_now(planned: tuple[Problem, Schedule]) -> None:
    problem, schedule = planned
    now = 100
    rush = Job("RUSH", problem.jobs[0].operations, release=now, due=now + 300, weight=4, family=0)
    result = reschedule(problem, schedule, now, rush=[rush], options=RescheduleOptions(time_limit=2))
    j = len(problem.jobs)
    assert result.schedule is not None and violations(result.problem, result.schedule) == []
    assert result.schedule.assignments[(j, 0)].start >= now
    assert any(m.reason.startswith("rush order") for m in result.moves)


def test_no_event_means_no_change(planned: tuple[Problem, Schedule]) -> None:
    problem, schedule = planned
    result = reschedule(problem, schedule, now=0)
    assert result.status == "UNCHANGED" and result.moves == []


def test_right_shift_and_insertion_repairs_are_feasible(planned: tuple[Problem, Schedule]) -> None:
    problem, schedule = planned
    broken = Problem(**{**problem.__dict__, "unavailable": {**problem.unavailable, 0: ((0, 200),)}})
    shifted = right_shift(broken, schedule)
    assert shifted is not None and violations(broken, shifted) == []
    on_zero = {key for key, a in schedule.assignments.items() if a.machine == 0 and a.start < 200}
    inserted, failed = insert(broken, schedule, on_zero)
    assert not (set(inserted.assignments) ^ set(schedule.assignments))
    if not failed:
        assert violations(broken, with_real_setups(broken, inserted)) == []
    moved = {key for key in inserted.assignments if inserted.assignments[key] != schedule.assignments[key]}
    # besides the re-inserted operations, at most their job's next operation and the one after them on the line
    assert len(moved - on_zero) <= 2 * len(on_zero)


def test_neighbourhood_frees_a_window_and_lns_never_worsens() -> None:
    problem = shop(20, seed=3)
    start = dispatch(problem, "edd")
    assert start is not None
    hood = neighbourhood(problem, start, 100, 400, {0, 1})
    assert hood is not None
    free = [orig for orig in hood.origin.values() if orig is not None]
    assert free and all(100 <= start.assignments[o].start < 400 for o in free)
    assert any(name.endswith(("#before", "#after")) for name in (job.name for job in hood.problem.jobs))

    def score(schedule: Schedule) -> tuple[float, ...]:
        values = schedule_criteria(problem, schedule)
        return (float(100 * values["weighted_tardiness"] + 10 * values["changeover"] + values["makespan"]),)

    weights = {"weighted_tardiness": 100, "changeover": 10, "makespan": 1}
    best, stats = improve(problem, start, score, weights, LnsOptions(window=300), deadline=time.perf_counter() + 3)
    assert violations(problem, best) == [] and score(best) <= score(start) and stats.tried > 0
