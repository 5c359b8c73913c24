"""Rescheduling after a line breakdown (inserted downtime) or a rush order, changing as little as possible.

Given the previous schedule, the time `now` and the events:

1. Operations that started (their changeover included) before `now` are frozen (`Fixed`), except one running on
   a line when it breaks down: it is interrupted and restarts after the repair (the run so far is treated as
   lost, like a batch that must be cleared).
2. *Touched* operations are those that can no longer stay: on the broken line and overlapping the downtime
   (changeover included), plus the rush order's operations.
3. Two repairs give a feasible start: re-insert the touched operations into idle gaps of their eligible lines
   without moving anything else (`heuristic.insert`: few moves, maybe late), or keep every line's order and
   shift what follows to the right (`heuristic.right_shift`: on time more often, many moves). The better one by
   the stability-weighted score below is kept.
4. Large-neighbourhood search (`optimizer.schedule.lns`) around the touched and moved operations then
   minimizes weighted tardiness + changeover minutes + `stability_weight` × operations moved (an untouched
   operation on another line or at another start; by default one move weighs as much as one day of lateness
   of a weight-1 order); a rush order's weight is multiplied by `rush_weight_factor`, so others make room for
   it. Everything outside the neighbourhoods keeps its line and start.
5. Report every operation that moved (line or start) and why.

Public interface: `Breakdown`, `RescheduleOptions`, `Move`, `RescheduleResult`, `reschedule(...)`,
`touched_operations`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from optimizer.schedule.extract import with_real_setups
from optimizer.schedule.heuristic import insert, right_shift, schedule_criteria
from optimizer.schedule.lns import LnsOptions, improve
from optimizer.schedule.problem import Assignment, Fixed, Job, Problem, Schedule, violations
from optimizer.schedule.solve import SolveOptions, solve

log = logging.getLogger(__name__)

Key = tuple[int, int]


@dataclass(frozen=True)
class Breakdown:
    """Machine `machine` cannot work in [start, end) (time units of the problem)."""

    machine: int
    start: int
    end: int
    reason: str = "breakdown"


@dataclass(frozen=True)
class RescheduleOptions:
    """Time limit (s), workers, first window (time units), stability penalty per moved operation."""

    time_limit: float = 10.0
    workers: int = 2
    window: int = 3 * 1440
    stability_weight: int = 1440
    changeover_weight: int = 1
    tardiness_weight: int = 1
    #: a rush order's tardiness weight is its job weight times this
    rush_weight_factor: int = 10
    #: stop improving after this many neighbourhoods in a row without progress
    stall_limit: int = 80
    #: free operations per neighbourhood, and CP-SAT seconds per neighbourhood
    neighbourhood: int = 60
    sub_time_limit: float = 1.5


@dataclass(frozen=True)
class Move:
    """One operation whose line or start changed, with the reason a planner reads."""

    job: int
    op: int
    from_machine: int | None
    to_machine: int
    from_start: int | None
    to_start: int
    touched: bool
    reason: str


@dataclass
class RescheduleResult:
    """The repaired schedule of `problem` (which includes the events; None if no repair was found) and what
    moved."""

    problem: Problem
    schedule: Schedule | None
    moves: list[Move]
    touched: set[Key]
    untouched_moved_share: float
    status: str
    seconds: float
    window: int
    criteria: dict[str, int] = field(default_factory=dict)


def touched_operations(problem: Problem, schedule: Schedule, breakdowns: Sequence[Breakdown]) -> set[Key]:
    """Operations whose machine time (setup included) overlaps a breakdown on their machine."""
    out: set[Key] = set()
    for key, a in schedule.assignments.items():
        if key in problem.fixed:
            continue
        for b in breakdowns:
            if a.machine == b.machine and a.start - a.setup < b.end and b.start < a.end:
                out.add(key)
    return out


def _with_events(
    problem: Problem, schedule: Schedule, now: int, breakdowns: Sequence[Breakdown], rush: Sequence[Job]
) -> tuple[Problem, Schedule, set[Key]]:
    """The problem with downtime, rush jobs, frozen started operations and `now`; a (possibly infeasible) hint."""
    unavailable = {m: list(spans) for m, spans in problem.unavailable.items()}
    for b in breakdowns:
        unavailable.setdefault(b.machine, []).append((b.start, b.end))
    merged = {m: tuple(_merge(spans)) for m, spans in unavailable.items()}
    interrupted = {
        key
        for key, a in schedule.assignments.items()
        if a.start - a.setup < now
        and any(a.machine == b.machine and a.end > b.start and a.start - a.setup < b.end for b in breakdowns)
    }
    fixed = dict(problem.fixed)
    for key, a in schedule.assignments.items():  # started (its changeover included) before now: frozen
        if a.start - a.setup < now and key not in interrupted and key not in fixed:
            fixed[key] = Fixed(a.machine, a.start, setup=a.setup)
    jobs = (*problem.jobs, *rush)
    events = replace(problem, jobs=jobs, unavailable=merged, fixed=fixed, now=max(problem.now, now))
    assignments = dict(schedule.assignments)
    for key in interrupted:  # restarts: place it at `now` in the hint
        a = assignments[key]
        assignments[key] = replace(a, start=now, end=now + (a.end - a.start))
    for n, job in enumerate(rush):
        j = len(problem.jobs) + n
        t = max(now, job.release)
        for k, op in enumerate(job.operations):
            machine, duration = op.modes[0]
            assignments[(j, k)] = Assignment(j, k, machine, t, t + duration, 0)
            t += duration
    touched = touched_operations(events, Schedule(assignments), breakdowns) | interrupted
    touched |= {(len(problem.jobs) + n, k) for n, job in enumerate(rush) for k in range(len(job.operations))}
    return events, Schedule(assignments), touched


def _moved(schedule: Schedule, reference: dict[Key, tuple[int, int]]) -> set[Key]:
    return {
        key
        for key, (machine, begin) in reference.items()
        if (schedule.assignments[key].machine, schedule.assignments[key].start) != (machine, begin)
    }


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _reason(
    problem: Problem,
    before: Assignment | None,
    after: Assignment,
    touched: bool,
    why_touched: str,
    label: Callable[[int], str],
    previous_end: int | None = None,
) -> str:
    """Why an operation moved, in a planner's words (times through `label`); `previous_end` is the new end of
    the order's previous operation."""
    machines = problem.machines
    if before is None:
        return f"rush order: scheduled on {machines[after.machine]} at {label(after.start)}"
    where = f"{machines[before.machine]} {label(before.start)} -> {machines[after.machine]} {label(after.start)}"
    if touched:
        return f"hit by {why_touched}: {where}"
    if previous_end is not None and before.start < previous_end:
        return f"follows the order's previous operation, which now ends {label(previous_end)}: {where}"
    if before.machine != after.machine:
        return f"moved to another line to make room: {where}"
    shift = after.start - before.start
    verb = "delayed" if shift > 0 else "brought forward"
    return f"{verb} by {abs(shift)} min on {machines[after.machine]} (line re-sequenced): {where}"


def reschedule(
    problem: Problem,
    schedule: Schedule,
    now: int,
    breakdowns: Sequence[Breakdown] = (),
    rush: Sequence[Job] = (),
    options: RescheduleOptions | None = None,
    label: Callable[[int], str] = str,
) -> RescheduleResult:
    """Repair `schedule` after `breakdowns` and/or `rush` jobs at time `now` (see the module docstring);
    `label` renders a time in the reasons (e.g. as a plant date-time)."""
    options = options or RescheduleOptions()
    started = time.perf_counter()
    deadline = started + options.time_limit
    urgent = [replace(job, weight=job.weight * options.rush_weight_factor) for job in rush]
    events, hint, touched = _with_events(problem, schedule, now, breakdowns, urgent)
    if not touched:
        return RescheduleResult(events, schedule, [], touched, 0.0, "UNCHANGED", time.perf_counter() - started, 0)
    weights = {
        "weighted_tardiness": options.tardiness_weight,
        "changeover": options.changeover_weight,
        "moves": options.stability_weight,
    }
    reference = {
        key: (a.machine, a.start)
        for key, a in schedule.assignments.items()
        if key not in touched and key not in events.fixed
    }

    def score(candidate: Schedule) -> tuple[float, ...]:
        values = schedule_criteria(events, candidate)
        moved = _moved(candidate, reference)
        return (
            float(
                sum(weights[c] * values[c] for c in ("weighted_tardiness", "changeover"))
                + weights["moves"] * len(moved)
            ),
        )

    # two repairs to start from — re-insert the touched operations into idle gaps (few moves, maybe late), or
    # shift everything after them to the right (on time more often, many moves) — and keep the better one
    candidates: list[Schedule] = []
    inserted, failed = insert(events, hint, touched)
    for repaired in (right_shift(events, inserted) if failed else inserted, right_shift(events, hint)):
        if repaired is None:
            continue
        repaired = with_real_setups(events, repaired)
        problems = violations(events, repaired)
        if problems:
            log.warning("reschedule: a repair breaks the plan (%s)", "; ".join(problems[:3]))
            continue
        candidates.append(repaired)
    log.info("reschedule: %d of %d touched operations fit into gaps", len(touched) - len(failed), len(touched))
    if candidates:
        result: Schedule | None = min(candidates, key=score)

        def focus(candidate: Schedule) -> list[Key]:
            return sorted(_moved(candidate, reference) | touched)

        def anchor(key: Key, at: Assignment) -> int:
            """Window centre: where a late touched job should run, where a moved operation was, else where it is."""
            if key in reference:
                return reference[key][1]
            job = events.jobs[key[0]]
            end = (result or hint).assignments[(key[0], len(job.operations) - 1)].end
            if job.due is not None and end > job.due:
                return max(events.now, job.due - (end - at.start))
            return at.start

        assert result is not None
        result, _ = improve(
            events,
            result,
            score,
            weights,
            LnsOptions(
                window=options.window,
                workers=options.workers,
                machine_share=0.0,
                target_free={"related": options.neighbourhood, "all": options.neighbourhood},
                sub_time_limit=options.sub_time_limit,
                stall_limit=options.stall_limit,
            ),
            deadline=deadline,
            reference=reference,
            focus=focus,
            anchor=anchor,
        )
        status = "FEASIBLE"
    else:
        log.warning("reschedule: the repairs failed; solving the whole plan")
        full = solve(
            events,
            SolveOptions(
                time_limit=max(1.0, deadline - time.perf_counter()),
                workers=options.workers,
                objective="weighted",
                priorities=("weighted_tardiness", "changeover", "moves"),
                weights=weights,
                lns="off",
            ),
            reference=reference,
            start_from=hint,
        )
        result, status = full.schedule, full.status
    if result is None:
        return RescheduleResult(events, None, [], touched, 0.0, status, time.perf_counter() - started, options.window)
    why = (
        ", ".join(f"{events.machines[b.machine]} {b.reason} {label(b.start)}-{label(b.end)}" for b in breakdowns)
        or "the rush order"
    )
    moves: list[Move] = []
    for key, after in sorted(result.assignments.items()):
        before = schedule.assignments.get(key)
        if before is not None and (before.machine, before.start) == (after.machine, after.start):
            continue
        moves.append(
            Move(
                job=key[0],
                op=key[1],
                from_machine=None if before is None else before.machine,
                to_machine=after.machine,
                from_start=None if before is None else before.start,
                to_start=after.start,
                touched=key in touched,
                reason=_reason(
                    events,
                    before,
                    after,
                    key in touched,
                    why,
                    label,
                    result.assignments[(key[0], key[1] - 1)].end if key[1] > 0 else None,
                ),
            )
        )
    untouched = [key for key in schedule.assignments if key not in touched and key not in events.fixed]
    moved_untouched = sum(1 for mv in moves if not mv.touched and (mv.job, mv.op) in schedule.assignments)
    share = moved_untouched / len(untouched) if untouched else 0.0
    return RescheduleResult(
        problem=events,
        schedule=result,
        moves=moves,
        touched=touched,
        untouched_moved_share=share,
        status=status,
        seconds=time.perf_counter() - started,
        window=options.window,
        criteria=schedule_criteria(events, result),
    )
