"""The scheduling problem the CP-SAT engine solves, independent of where it came from.

A `Problem` is a flexible job shop: jobs made of operations in sequence; each operation runs on exactly one of its
eligible machines (its *modes*: machine and duration); machines may have sequence-dependent setup times between
product families, periods when they cannot work (shift gaps, downtime) and an initial family; jobs may have release
and due dates and a tardiness weight; operations may be fixed (already started, or frozen by a planner); and
operations may consume materials that stock, receipts or other jobs supply over time (`optimizer.schedule.materials`:
no operation starts before its material is there).

Times are integers in the problem's time unit: minutes from the plan start for plant schedules (see
`optimizer.schedule.plant`), the file's unit for benchmark instances (see `optimizer.schedule.benchmarks`).

Public interface: `Operation`, `Job`, `Fixed`, `Problem`, `ScheduleInputError`, `validate(problem)`,
`Assignment`, `Schedule`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from optimizer.schedule.materials import Material, material_reasons, shortfalls


class ScheduleInputError(ValueError):
    """A problem that cannot be scheduled as given; the message names each offending object and what to change."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        shown = "\n".join(f"  - {r}" for r in reasons[:20])
        more = f"\n  … and {len(reasons) - 20} more" if len(reasons) > 20 else ""
        super().__init__(f"cannot schedule: {len(reasons)} problem(s):\n{shown}{more}")


@dataclass(frozen=True)
class Operation:
    """One step of a job: processed without interruption on exactly one of `modes` = ((machine, duration), …)."""

    modes: tuple[tuple[int, int], ...]
    name: str = ""

    def duration_on(self, machine: int) -> int | None:
        """The duration on `machine`, or None when the operation cannot run there."""
        return next((d for m, d in self.modes if m == machine), None)


@dataclass(frozen=True)
class Job:
    """Operations run in the order given; the job may not start before `release`; `due` is when it should end.

    `weight` multiplies the job's tardiness (time units late) in the objective; `family` indexes
    `Problem.families` and selects the setup time before each of its operations; `deadline` (hard) is when the
    job must have ended.
    """

    name: str
    operations: tuple[Operation, ...]
    release: int = 0
    due: int | None = None
    weight: int = 1
    family: int | None = None
    deadline: int | None = None


@dataclass(frozen=True)
class Fixed:
    """An operation that must stay where it is: on `machine`, starting at `start` (e.g. already running).

    A fixed operation is already set up unless `needs_setup`: its changeover of `setup` time units (done or in
    progress) occupies the machine right before `start`. With `needs_setup`, the changeover from the family run
    before it must fit before `start`, as for any other operation.
    """

    machine: int
    start: int
    needs_setup: bool = False
    setup: int = 0


@dataclass
class Problem:
    """A flexible job shop with setups, unavailable periods, release/due dates and fixed operations.

    - `setup[m]` is an F×F integer matrix (F = len(families)): time to change machine m over from family
      `from` (row) to family `to` (column); machines without a matrix have no setups.
    - `initial_family[m]`: the family machine m last ran before time 0 (its first setup starts from it);
      machines not listed start clean (no setup before their first operation).
    - `unavailable[m]`: half-open periods [start, end) when machine m cannot work (no operation or setup may
      overlap them).
    - `fixed[(job, op)]`: operations that must keep their machine and start.
    - `horizon`: every operation ends by this time (default: a safe bound computed from the data).
    - `now`: operations that are not fixed (and their setups) start at or after this time.
    - `materials`: components consumed at operation starts, with their supply over time (none: all available).
    """

    machines: tuple[str, ...]
    jobs: tuple[Job, ...]
    families: tuple[str, ...] = ()
    setup: dict[int, np.ndarray] = field(default_factory=dict)
    initial_family: dict[int, int] = field(default_factory=dict)
    unavailable: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    fixed: dict[tuple[int, int], Fixed] = field(default_factory=dict)
    horizon: int | None = None
    now: int = 0
    materials: tuple[Material, ...] = ()

    def operations(self) -> Iterator[tuple[int, int, Operation]]:
        """(job index, operation index, operation) for every operation, jobs in order."""
        for j, job in enumerate(self.jobs):
            for k, op in enumerate(job.operations):
                yield j, k, op

    @property
    def n_operations(self) -> int:
        return sum(len(job.operations) for job in self.jobs)

    def setup_time(self, machine: int, before: int | None, after: int | None) -> int:
        """Setup time on `machine` from family `before` to family `after` (0 without a matrix or a family)."""
        matrix = self.setup.get(machine)
        if matrix is None or before is None or after is None:
            return 0
        return int(matrix[before, after])

    def has_setups(self, machine: int) -> bool:
        matrix = self.setup.get(machine)
        return matrix is not None and bool(np.any(matrix))

    def default_horizon(self) -> int:
        """A time by which some schedule surely ends: after the latest release, fixed operation and unavailable
        period, every operation's longest duration and the largest setup in a row."""
        longest = sum(max((d for _, d in op.modes), default=0) for _, _, op in self.operations())
        largest_setup = max((int(m.max()) for m in self.setup.values() if m.size), default=0)
        # after every unavailable period, all machines are free: a schedule running one operation at a time fits
        blocked = max((e for spans in self.unavailable.values() for _, e in spans), default=0)
        latest = max((job.release for job in self.jobs), default=0)
        for (j, k), fix in self.fixed.items():
            latest = max(latest, fix.start + (self.jobs[j].operations[k].duration_on(fix.machine) or 0))
        latest = max(latest, self.now, *(s.time for m in self.materials for s in m.supplies if s.qty > 0))
        return max(latest, blocked) + longest + largest_setup * self.n_operations + 1

    def effective_horizon(self) -> int:
        return self.horizon if self.horizon is not None else self.default_horizon()


@dataclass(frozen=True)
class Assignment:
    """Where and when one operation runs: setup occupies [start - setup, start), processing [start, end)."""

    job: int
    op: int
    machine: int
    start: int
    end: int
    setup: int = 0


@dataclass
class Schedule:
    """A complete assignment of every operation, keyed by (job, op)."""

    assignments: dict[tuple[int, int], Assignment]

    def makespan(self) -> int:
        return max((a.end for a in self.assignments.values()), default=0)

    def job_end(self, job: int, n_ops: int) -> int:
        return self.assignments[(job, n_ops - 1)].end

    def sequences(self) -> dict[int, list[Assignment]]:
        """Each machine's operations in start order."""
        by_machine: dict[int, list[Assignment]] = {}
        for a in self.assignments.values():
            by_machine.setdefault(a.machine, []).append(a)
        for seq in by_machine.values():
            seq.sort(key=lambda a: (a.start, a.end))
        return by_machine


def _windows_fit(duration: int, spans: tuple[tuple[int, int], ...], release: int, horizon: int) -> bool:
    """True when some gap between unavailable `spans` (within [release, horizon]) holds `duration`."""
    cursor = release
    for start, end in sorted(spans):
        if end <= cursor:
            continue
        if start - cursor >= duration:
            return True
        cursor = max(cursor, end)
    return horizon - cursor >= duration


def validate(problem: Problem) -> None:
    """Raise `ScheduleInputError` listing every reason the problem cannot be scheduled as given."""
    reasons: list[str] = []
    n_machines, n_families = len(problem.machines), len(problem.families)
    if not problem.jobs:
        reasons.append("no jobs to schedule")
    horizon = problem.effective_horizon()
    for m, matrix in problem.setup.items():
        if not 0 <= m < n_machines:
            reasons.append(f"setup matrix for unknown machine index {m}")
        elif matrix.shape != (n_families, n_families) or (matrix < 0).any():
            reasons.append(
                f"setup matrix of machine {problem.machines[m]!r} must be {n_families}×{n_families} and >= 0, "
                f"got shape {matrix.shape}"
            )
    for m, spans in problem.unavailable.items():
        for start, end in spans:
            if end <= start:
                reasons.append(f"machine {problem.machines[m]!r}: unavailable period [{start}, {end}) is empty")
    for j, job in enumerate(problem.jobs):
        if not job.operations:
            reasons.append(f"job {job.name!r} has no operations")
        if job.family is not None and not 0 <= job.family < n_families:
            reasons.append(f"job {job.name!r}: family index {job.family} not in 0..{n_families - 1}")
        if job.weight < 0:
            reasons.append(f"job {job.name!r}: weight {job.weight} must be >= 0")
        if job.release > horizon:
            reasons.append(f"job {job.name!r}: release {job.release} is after the horizon {horizon}")
        latest = horizon if job.deadline is None else min(horizon, job.deadline)
        earliest = max(job.release, problem.now)
        if job.operations and all(op.modes for op in job.operations) and (j, 0) not in problem.fixed:
            shortest = sum(min(d for _, d in op.modes) for op in job.operations)
            if earliest + shortest > latest:
                reasons.append(
                    f"job {job.name!r} needs at least {shortest} time units between its earliest start {earliest} and "
                    f"{'its deadline' if job.deadline is not None else 'the horizon'} {latest}"
                )
        for k, op in enumerate(job.operations):
            where = f"job {job.name!r} operation {op.name or k + 1}"
            if not op.modes:
                reasons.append(f"{where} has no eligible machine; add a routing for it")
                continue
            bad = [(m, d) for m, d in op.modes if not 0 <= m < n_machines or d < 0]
            if bad:
                reasons.append(f"{where}: invalid modes {bad} (machine index in 0..{n_machines - 1}, duration >= 0)")
                continue
            if (j, k) in problem.fixed:
                continue
            if not any(_windows_fit(d, problem.unavailable.get(m, ()), earliest, latest) for m, d in op.modes):
                longest = ", ".join(f"{problem.machines[m]}: {d}" for m, d in op.modes)
                reasons.append(
                    f"{where} fits in no working window of its machines ({longest} time units) before the horizon "
                    f"{horizon}; split the order into smaller lots or extend the calendar"
                )
    for (j, k), fix in problem.fixed.items():
        if not (0 <= j < len(problem.jobs) and 0 <= k < len(problem.jobs[j].operations)):
            reasons.append(f"fixed operation ({j}, {k}) does not exist")
            continue
        job = problem.jobs[j]
        if job.operations[k].duration_on(fix.machine) is None:
            reasons.append(
                f"job {job.name!r} operation {k + 1} is fixed on machine index {fix.machine}, which is not eligible"
            )
    reasons.extend(_fixed_conflicts(problem))
    reasons.extend(material_reasons(problem))
    if reasons:
        raise ScheduleInputError(reasons)


def _fixed_conflicts(problem: Problem) -> list[str]:
    """Fixed operations that overlap each other on a machine or break their job's order."""
    reasons: list[str] = []
    spans: dict[int, list[tuple[int, int, str]]] = {}
    for (j, k), fix in problem.fixed.items():
        if not (0 <= j < len(problem.jobs) and 0 <= k < len(problem.jobs[j].operations)):
            continue
        duration = problem.jobs[j].operations[k].duration_on(fix.machine)
        if duration is None:
            continue
        spans.setdefault(fix.machine, []).append(
            (fix.start - fix.setup, fix.start + duration, f"{problem.jobs[j].name}/{k + 1}")
        )
        before = problem.fixed.get((j, k - 1))
        if before is not None:
            prev_duration = problem.jobs[j].operations[k - 1].duration_on(before.machine) or 0
            if before.start + prev_duration > fix.start:
                reasons.append(
                    f"job {problem.jobs[j].name!r}: fixed operation {k + 1} starts before operation {k} ends"
                )
    for m, items in spans.items():
        items.sort()
        for (_, e1, n1), (s2, _, n2) in pairwise(items):
            if s2 < e1:
                reasons.append(f"machine {problem.machines[m]!r}: fixed operations {n1} and {n2} overlap at {s2}")
    return reasons


def violations(problem: Problem, schedule: Schedule) -> list[str]:
    """Every way `schedule` breaks `problem` (empty when feasible): missing or unknown operations, ineligible
    machines, wrong durations, job order, release and deadline, fixed operations moved, overlaps of operations
    and their setups with each other or with unavailable periods, setups shorter than the family change needs,
    operations that start before their material is there."""
    problems: list[str] = []
    horizon = problem.effective_horizon()
    for j, k, op in problem.operations():
        a = schedule.assignments.get((j, k))
        name = f"{problem.jobs[j].name}/{op.name or k + 1}"
        if a is None:
            problems.append(f"{name} is not scheduled")
            continue
        duration = op.duration_on(a.machine)
        if duration is None:
            problems.append(f"{name} runs on machine {a.machine}, which is not eligible")
        elif a.end - a.start != duration:
            problems.append(f"{name} lasts {a.end - a.start}, needs {duration}")
        fix = problem.fixed.get((j, k))
        if fix is not None and (fix.machine, fix.start) != (a.machine, a.start):
            problems.append(f"{name} is fixed at {fix.start} on machine {fix.machine} but moved")
        if fix is None and (a.start - a.setup < problem.now or a.end > horizon):
            problems.append(f"{name} runs outside [{problem.now}, {horizon}]")
        job = problem.jobs[j]
        if k == 0 and fix is None and a.start < job.release:
            problems.append(f"{name} starts at {a.start}, before its release {job.release}")
        if k > 0 and (j, k - 1) in schedule.assignments and a.start < schedule.assignments[(j, k - 1)].end:
            problems.append(f"{name} starts before the job's previous operation ends")
        if k == len(job.operations) - 1 and job.deadline is not None and a.end > job.deadline:
            problems.append(f"{name} ends at {a.end}, after the deadline {job.deadline}")
    for m, sequence in schedule.sequences().items():
        family = problem.initial_family.get(m)
        previous_end: int | None = None
        blocked = sorted(problem.unavailable.get(m, ()))
        for a in sequence:
            this = problem.jobs[a.job].family
            fix = problem.fixed.get((a.job, a.op))
            needed = 0 if fix is not None and not fix.needs_setup else problem.setup_time(m, family, this)
            name = f"{problem.jobs[a.job].name}/{a.op + 1}"
            if a.setup < needed:
                problems.append(f"{name} on machine {m}: setup {a.setup} < {needed} needed after the previous family")
            begin = a.start - (a.setup if fix is None or fix.needs_setup else fix.setup)
            if previous_end is not None and begin < previous_end:
                problems.append(f"{name} on machine {m} overlaps the operation before it")
            if any(s < a.end and begin < e for s, e in blocked):
                problems.append(f"{name} on machine {m} runs into an unavailable period")
            previous_end = a.end
            family = this if this is not None else family
    problems.extend(shortfalls(problem, schedule))
    return problems
