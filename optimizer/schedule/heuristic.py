"""Dispatching rules: fast feasible schedules used as the solver's starting point (CP-SAT solution hint).

A serial schedule-generation scheme (Kolisch 1996, adapted to the flexible job shop): repeatedly take one of the
ready operations (the next unscheduled operation of each job), chosen by a priority rule, and append it to the
eligible machine where it ends earliest — after that machine's last appended operation, its setup from the family
run before it included, and outside the machine's unavailable periods and fixed operations. Appending keeps each
machine's order equal to its time order, which is what the model's setup circuit needs. An operation that consumes
material starts no earlier than its material is there to stay (`materials.MaterialTracker`, over the supplies and
the operations placed so far); one whose material is not there yet waits until a producing job is placed.

Rules (`RULES`):

- ``"ect"``: earliest completion time first, ties by most work remaining (MWKR) — good for makespan;
- ``"edd"``: earliest due date first (jobs without due date last), ties by weight then completion time;
- ``"atcs"``: apparent tardiness cost with setups (Lee, Bhaskaran & Pinedo 1997): weight / processing time ×
  exp(-slack⁺ / (k1·p̄)) × exp(-setup / (k2·s̄)) — due dates and setups together.

Randomized variants (`seed`) break near-ties at random; `best_dispatch` keeps the best of several runs.

Public interface: `RULES`, `dispatch(problem, rule, seed) -> Schedule | None`, `best_dispatch(problem, ...)`,
`schedule_criteria(problem, schedule) -> dict`.
"""

from __future__ import annotations

import bisect
import logging
import math
import time
from collections.abc import Sequence

import numpy as np

from optimizer.schedule.materials import MaterialTracker
from optimizer.schedule.problem import Assignment, Problem, Schedule

log = logging.getLogger(__name__)

RULES = ("ect", "edd", "atcs")


class _Timeline:
    """A machine's blocked periods (unavailable time and fixed operations), sorted, for earliest-fit queries."""

    def __init__(self, spans: Sequence[tuple[int, int]]) -> None:
        merged: list[list[int]] = []
        for s, e in sorted(spans):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        self.starts = [s for s, _ in merged]
        self.ends = [e for _, e in merged]

    def earliest(self, ready: int, setup_ready: int, setup: int, duration: int, horizon: int) -> int | None:
        """Earliest start t >= ready with t - setup >= setup_ready and [t - setup, t + duration) free."""
        t = max(ready, setup_ready + setup)
        i = bisect.bisect_right(self.ends, t - setup)
        while True:
            if i >= len(self.starts) or (t + duration <= self.starts[i] and (duration > 0 or t < self.starts[i])):
                return t if t + duration <= horizon else None
            t = max(t, self.ends[i] + setup)
            i += 1


def schedule_criteria(problem: Problem, schedule: Schedule) -> dict[str, int]:
    """Weighted tardiness, total setup (changeover) time and makespan of a schedule."""
    tardiness = 0
    for j, job in enumerate(problem.jobs):
        if job.due is not None:
            tardiness += job.weight * max(0, schedule.assignments[(j, len(job.operations) - 1)].end - job.due)
    return {
        "weighted_tardiness": tardiness,
        "changeover": sum(a.setup for a in schedule.assignments.values()),
        "makespan": schedule.makespan(),
    }


def dispatch(problem: Problem, rule: str = "ect", seed: int | None = None, noise: float = 0.1) -> Schedule | None:
    """One schedule by `rule` (see module docstring); None if some operation fits nowhere before the horizon.

    With a `seed`, priorities get multiplicative noise of ±`noise` (randomized dispatching).
    """
    if rule not in RULES:
        raise ValueError(f"unknown dispatching rule {rule!r}; use one of {', '.join(RULES)}")
    rng = np.random.default_rng(seed) if seed is not None else None
    horizon = problem.effective_horizon()
    n_machines = len(problem.machines)
    blocked: list[list[tuple[int, int]]] = [list(problem.unavailable.get(m, ())) for m in range(n_machines)]
    assignments: dict[tuple[int, int], Assignment] = {}
    # fixed operations are placed first and block their machine
    fixed_after: list[list[tuple[int, int | None]]] = [[] for _ in range(n_machines)]
    for (j, k), fix in problem.fixed.items():
        duration = problem.jobs[j].operations[k].duration_on(fix.machine) or 0
        assignments[(j, k)] = Assignment(j, k, fix.machine, fix.start, fix.start + duration, fix.setup)
        blocked[fix.machine].append((fix.start - fix.setup, fix.start + duration))
        fixed_after[fix.machine].append((fix.start + duration, problem.jobs[j].family))
    timelines = [_Timeline(spans) for spans in blocked]
    tracker = MaterialTracker(problem, assignments)
    waiting: set[int] = set()  # jobs whose next operation's material is not there yet
    machine_ready = [problem.now] * n_machines
    machine_family: list[int | None] = [problem.initial_family.get(m) for m in range(n_machines)]
    # the family in place on a machine at time t: the last fixed operation ending before t, else the running state
    for m in range(n_machines):
        fixed_after[m].sort(key=lambda item: item[0])

    def family_before(m: int, t: int) -> int | None:
        family = machine_family[m]
        for end, fam in fixed_after[m]:
            if end <= t and end > machine_ready[m]:
                family = fam
        return family

    min_work = [[min(d for _, d in op.modes) for op in job.operations] for job in problem.jobs]
    remaining = [sum(w) for w in min_work]
    next_op = [0] * len(problem.jobs)
    job_ready = [max(job.release, problem.now) for job in problem.jobs]
    for j, job in enumerate(problem.jobs):
        while next_op[j] < len(job.operations) and (j, next_op[j]) in problem.fixed:
            a = assignments[(j, next_op[j])]
            job_ready[j] = max(job_ready[j], a.end)
            remaining[j] -= min_work[j][next_op[j]]
            next_op[j] += 1
    mean_p = float(np.mean([d for _, _, op in problem.operations() for _, d in op.modes])) if problem.jobs else 1.0
    setups = [int(m.mean()) for m in problem.setup.values() if m.size]
    mean_s = max(1.0, float(np.mean(setups))) if setups else 1.0

    def best_mode(j: int) -> tuple[int, int, int, int] | None:
        """(end, machine, start, setup) of the earliest-ending placement of job j's next operation."""
        op = problem.jobs[j].operations[next_op[j]]
        family = problem.jobs[j].family
        floor = job_ready[j]
        if tracker:
            material_ready = tracker.earliest(j, next_op[j], job_ready[j])
            if material_ready is None:
                waiting.add(j)
                return None
            waiting.discard(j)
            floor = material_ready
        best: tuple[int, int, int, int] | None = None
        for m, duration in op.modes:
            setup = problem.setup_time(m, family_before(m, floor), family)
            t = timelines[m].earliest(floor, machine_ready[m], setup, duration, horizon)
            if t is None:
                continue
            setup = problem.setup_time(m, family_before(m, t), family)
            t2 = timelines[m].earliest(t, machine_ready[m], setup, duration, horizon)
            if t2 is None:
                continue
            candidate = (t2 + duration, m, t2, setup)
            if best is None or candidate < best:
                best = candidate
        return best

    cache: dict[int, tuple[int, int, int, int] | None] = {}
    ready = {j for j in range(len(problem.jobs)) if next_op[j] < len(problem.jobs[j].operations)}
    while ready:
        for j in ready:
            if j not in cache:
                cache[j] = best_mode(j)
        if any(cache[j] is None and j not in waiting for j in ready):
            return None
        candidates = {j for j in ready if cache[j] is not None}
        if not candidates:
            return None  # every job left waits for material that nothing placed can bring
        chosen = _choose(problem, rule, candidates, cache, remaining, rng, noise, mean_p, mean_s)
        end, m, start, setup = cache[chosen] or (0, 0, 0, 0)
        k = next_op[chosen]
        assignments[(chosen, k)] = Assignment(chosen, k, m, start, end, setup)
        if tracker:
            changed = tracker.touches(chosen, k)
            tracker.place(assignments[(chosen, k)])
            for j in ready:
                if j != chosen and changed & tracker.consumes(j, next_op[j]):
                    cache.pop(j, None)
        machine_ready[m] = end
        machine_family[m] = (
            problem.jobs[chosen].family if problem.jobs[chosen].family is not None else machine_family[m]
        )
        timelines[m].starts, timelines[m].ends = _drop_before(timelines[m], end)
        remaining[chosen] -= min_work[chosen][k]
        job_ready[chosen] = end
        next_op[chosen] += 1
        while next_op[chosen] < len(problem.jobs[chosen].operations) and (chosen, next_op[chosen]) in problem.fixed:
            job_ready[chosen] = max(job_ready[chosen], assignments[(chosen, next_op[chosen])].end)
            next_op[chosen] += 1
        cache.pop(chosen, None)
        if next_op[chosen] >= len(problem.jobs[chosen].operations):
            ready.discard(chosen)
        for j in ready:
            entry = cache.get(j)
            if entry is not None and any(mm == m for mm, _ in problem.jobs[j].operations[next_op[j]].modes):
                cache.pop(j)
    return Schedule(assignments)


def _drop_before(timeline: _Timeline, t: int) -> tuple[list[int], list[int]]:
    """Forget blocked periods that end before t (never looked at again: appending only moves forward)."""
    i = bisect.bisect_right(timeline.ends, t)
    return timeline.starts[i:], timeline.ends[i:]


def _choose(
    problem: Problem,
    rule: str,
    ready: set[int],
    cache: dict[int, tuple[int, int, int, int] | None],
    remaining: list[int],
    rng: np.random.Generator | None,
    noise: float,
    mean_p: float,
    mean_s: float,
) -> int:
    """Giffler-Thompson choice: among the ready operations that can start before the earliest possible completion
    (the conflict set), the one the rule ranks first."""
    placements = {j: cache[j] or (0, 0, 0, 0) for j in ready}
    earliest_end = min(p[0] for p in placements.values())
    conflict = sorted(j for j, p in placements.items() if p[2] - p[3] < earliest_end or p[0] == earliest_end)

    def jitter() -> float:
        return 1.0 + (rng.uniform(-noise, noise) if rng is not None else 0.0)

    best_key: tuple[float, ...] | None = None
    chosen = conflict[0]
    for j in conflict:
        end, _, start, setup = placements[j]
        job = problem.jobs[j]
        if rule == "ect":
            key: tuple[float, ...] = (-remaining[j] * jitter(), end)
        elif rule == "edd":
            due = job.due if job.due is not None else math.inf
            key = (due + mean_p * (jitter() - 1.0) * 10 if due != math.inf else due, -job.weight, end)
        else:
            slack = max(0.0, job.due - end) if job.due is not None else 10 * mean_p
            p = max(1, end - start)
            index = job.weight / p * math.exp(-slack / (2.0 * mean_p)) * math.exp(-setup / (0.5 * mean_s))
            key = (-index * jitter(), end)
        if best_key is None or key < best_key:
            best_key, chosen = key, j
    return chosen


def _lexicographic(criteria: dict[str, int], priorities: Sequence[str]) -> tuple[int, ...]:
    return tuple(criteria.get(c, 0) for c in priorities)


def best_dispatch(
    problem: Problem,
    priorities: Sequence[str] = ("weighted_tardiness", "changeover", "makespan"),
    rules: Sequence[str] = RULES,
    tries: int = 1,
    time_budget: float = 2.0,
) -> Schedule | None:
    """The best schedule (lexicographically by `priorities`) over `rules`, each deterministic then randomized
    (`tries` - 1 more runs), within about `time_budget` seconds."""
    started = time.perf_counter()
    best: tuple[tuple[int, ...], Schedule] | None = None
    for attempt in range(max(1, tries)):
        for rule in rules:
            if attempt and time.perf_counter() - started > time_budget:
                break
            schedule = dispatch(problem, rule, seed=attempt if attempt else None)
            if schedule is None:
                continue
            score = _lexicographic(schedule_criteria(problem, schedule), priorities)
            if best is None or score < best[0]:
                best = (score, schedule)
    if best is not None:
        log.info("dispatching: best %s = %s in %.2f s", tuple(priorities), best[0], time.perf_counter() - started)
    return best[1] if best else None


def right_shift(problem: Problem, schedule: Schedule) -> Schedule | None:
    """Repair `schedule` for `problem` keeping every operation's machine and each machine's order: operations
    are re-timed in their old start order, each at the earliest time not before its old start that respects its
    job, its machine (with the setup from the family before it) and the machine's unavailable periods — the
    classic right-shift repair (Sabuncuoglu & Bayiz 2000). Operations missing from `schedule` (e.g. a rush
    order) are placed on the eligible machine where they end first when their turn comes (at `problem.now`).
    None if something no longer fits before the horizon."""
    horizon = problem.effective_horizon()
    n_machines = len(problem.machines)
    blocked: list[list[tuple[int, int]]] = [list(problem.unavailable.get(m, ())) for m in range(n_machines)]
    placed: dict[tuple[int, int], Assignment] = {}
    for (j, k), fix in problem.fixed.items():
        duration = problem.jobs[j].operations[k].duration_on(fix.machine) or 0
        old = schedule.assignments.get((j, k))
        placed[(j, k)] = Assignment(j, k, fix.machine, fix.start, fix.start + duration, fix.setup)
        blocked[fix.machine].append((fix.start - fix.setup, fix.start + duration))
    timelines = [_Timeline(spans) for spans in blocked]
    tracker = MaterialTracker(problem, placed)
    machine_ready = [problem.now] * n_machines
    machine_family: list[int | None] = [problem.initial_family.get(m) for m in range(n_machines)]
    for a in sorted(placed.values(), key=lambda a: a.end):  # started operations: the line is busy until they end
        family = problem.jobs[a.job].family
        if a.start - a.setup < problem.now:
            machine_family[a.machine] = family if family is not None else machine_family[a.machine]
            machine_ready[a.machine] = max(machine_ready[a.machine], a.end)
    pending = []
    for j, k, _ in problem.operations():
        if (j, k) in placed:
            continue
        old = schedule.assignments.get((j, k))
        pending.append((old.start if old else problem.now, 0 if old else 1, j, k))
    for when, _, j, k in sorted(pending):
        job = problem.jobs[j]
        op = job.operations[k]
        ready = max(job.release, problem.now, when)
        if k > 0:
            ready = max(ready, placed[(j, k - 1)].end)
        if tracker:
            material_ready = tracker.earliest(j, k, ready)
            if material_ready is None:
                return None
            ready = material_ready
        old = schedule.assignments.get((j, k))
        machines = (
            [old.machine] if old is not None and op.duration_on(old.machine) is not None else [m for m, _ in op.modes]
        )
        best: Assignment | None = None
        for m in machines:
            duration = op.duration_on(m) or 0
            setup = problem.setup_time(m, machine_family[m], job.family)
            t = timelines[m].earliest(ready, machine_ready[m], setup, duration, horizon)
            if t is not None and (best is None or t + duration < best.end):
                best = Assignment(j, k, m, t, t + duration, setup)
        if best is None:
            return None
        placed[(j, k)] = best
        tracker.place(best)
        machine_ready[best.machine] = best.end
        machine_family[best.machine] = job.family if job.family is not None else machine_family[best.machine]
    return Schedule(placed)


def _overlaps_blocked(timeline: _Timeline, start: int, end: int) -> bool:
    i = bisect.bisect_right(timeline.ends, start)
    return i < len(timeline.starts) and timeline.starts[i] < end


def insert(problem: Problem, schedule: Schedule, keys: set[tuple[int, int]]) -> tuple[Schedule, set[tuple[int, int]]]:
    """Re-insert the operations `keys` into idle gaps of `schedule`, moving as few others as possible: each goes
    where it ends first among its eligible machines' gaps that hold it with both changeovers (from the operation
    before, into the one after), after its job's previous operation and before its next one. If only the job's
    next operation is in the way, that one is re-inserted too (after it). The operation that followed a removed
    one on its machine needs a new changeover: it stays where it was if that still fits, else it is re-inserted.
    Returns the schedule and the operations that fit nowhere (left where they were)."""
    horizon = problem.effective_horizon()
    timelines = [_Timeline(problem.unavailable.get(m, ())) for m in range(len(problem.machines))]
    sequences = schedule.sequences()
    followers: set[tuple[int, int]] = set()
    for key in keys:
        a = schedule.assignments[key]
        later = [b for b in sequences.get(a.machine, []) if b.start > a.start and (b.job, b.op) not in keys]
        if later and (later[0].job, later[0].op) not in problem.fixed:
            followers.add((later[0].job, later[0].op))
    moving = set(keys) | followers
    current = {k: a for k, a in schedule.assignments.items() if k not in moving}
    tracker = MaterialTracker(problem, current)
    failed: set[tuple[int, int]] = set()
    queue = sorted(moving, key=lambda key: (schedule.assignments[key].start, key))
    while queue:
        j, k = queue.pop(0)
        job = problem.jobs[j]
        if k > 0 and (j, k - 1) not in current:
            failed.add((j, k))
            continue
        lo = max(job.release, problem.now, current[(j, k - 1)].end if k > 0 else 0)
        material_ready = tracker.earliest(j, k, lo) if tracker else lo
        if material_ready is None:
            failed.add((j, k))
            continue
        lo = material_ready
        limit = horizon if job.deadline is None or k < len(job.operations) - 1 else min(horizon, job.deadline)
        successor = current.get((j, k + 1))
        prefer = schedule.assignments[(j, k)] if (j, k) in followers else None
        hi = min(limit, successor.start) if successor else limit
        best = _best_gap(problem, timelines, current, j, k, lo, hi, prefer)
        if best is None and successor is not None and (j, k + 1) not in problem.fixed:
            best = _best_gap(problem, timelines, current, j, k, lo, limit, prefer)
            if best is not None:  # the job's next operation must follow: re-insert it too
                tracker.unplace(current.pop((j, k + 1)))
                queue.insert(0, (j, k + 1))
        if best is None:
            failed.add((j, k))
            continue
        current[(j, k)] = best
        tracker.place(best)
    for key in failed:
        current[key] = schedule.assignments[key]
    return Schedule(current), failed


def _best_gap(
    problem: Problem,
    timelines: list[_Timeline],
    current: dict[tuple[int, int], Assignment],
    j: int,
    k: int,
    lo: int,
    hi: int,
    prefer: Assignment | None = None,
) -> Assignment | None:
    """The earliest-ending placement of operation (j, k) in [lo, hi] between the operations of `current`;
    `prefer` (machine and start) wins when it still fits there."""
    horizon = problem.effective_horizon()
    job = problem.jobs[j]
    sequences = Schedule(current).sequences()
    if prefer is not None:
        kept = _fits_at(problem, timelines, sequences.get(prefer.machine, []), j, k, prefer.machine, prefer.start)
        if kept is not None and kept.start >= lo and kept.end <= hi:
            return kept
    best: Assignment | None = None
    for m, duration in job.operations[k].modes:
        seq = sequences.get(m, [])
        for n in range(len(seq) + 1):
            before = seq[n - 1] if n > 0 else None
            after = seq[n] if n < len(seq) else None
            if after is not None and after.end <= lo:
                continue
            family_before = problem.jobs[before.job].family if before else problem.initial_family.get(m)
            setup = problem.setup_time(m, family_before, job.family)
            free_from = max(before.end, problem.now) if before else problem.now
            t = timelines[m].earliest(max(lo, free_from), free_from, setup, duration, horizon)
            if t is None or t + duration > hi:
                break  # later gaps on this machine end later still
            if after is not None:
                after_fixed = problem.fixed.get((after.job, after.op))
                after_setup = (
                    after_fixed.setup
                    if after_fixed is not None and not after_fixed.needs_setup
                    else problem.setup_time(m, job.family, problem.jobs[after.job].family)
                )
                if t + duration > after.start - after_setup or _overlaps_blocked(
                    timelines[m], after.start - after_setup, after.start
                ):
                    continue
            if best is None or t + duration < best.end:
                best = Assignment(j, k, m, t, t + duration, setup)
            break
    return best


def _fits_at(
    problem: Problem, timelines: list[_Timeline], seq: list[Assignment], j: int, k: int, m: int, start: int
) -> Assignment | None:
    """Operation (j, k) on machine m at `start` between the operations `seq` (sorted), or None if it clashes."""
    duration = problem.jobs[j].operations[k].duration_on(m)
    if duration is None:
        return None
    family = problem.jobs[j].family
    before = [a for a in seq if a.start < start]
    after = [a for a in seq if a.start >= start]
    previous = before[-1] if before else None
    setup = problem.setup_time(
        m, problem.jobs[previous.job].family if previous else problem.initial_family.get(m), family
    )
    if start - setup < (previous.end if previous else problem.now):
        return None
    if _overlaps_blocked(timelines[m], start - setup, start + duration):
        return None
    if after:
        nxt = after[0]
        fix = problem.fixed.get((nxt.job, nxt.op))
        nxt_setup = (
            fix.setup
            if fix is not None and not fix.needs_setup
            else problem.setup_time(m, family, problem.jobs[nxt.job].family)
        )
        if start + duration > nxt.start - nxt_setup or _overlaps_blocked(
            timelines[m], nxt.start - nxt_setup, nxt.start
        ):
            return None
    return Assignment(j, k, m, start, start + duration, setup)
