"""Materials in the schedule: no operation starts before the components it consumes are there.

A `Material` is one component (a bought material or a made intermediate such as a bulk) seen over time:

- `supplies`: fixed events — stock on hand at the plan start, scheduled receipts (open purchase and production
  orders) at their due time; a negative quantity is a fixed consumption (e.g. of an operation that stays where it
  is in a large-neighbourhood move);
- `uses`: operation (job, op) consumes `qty` at its start;
- `outputs`: job j makes `qty` at the end of its last operation (an order of the component in the same plan).

The level at time t is the sum of every event at or before t; it must never be below zero. In CP-SAT this is one
reservoir constraint per material (`add_reservoirs`, level in [0, Σ inflows]). Quantities are integers in the
problem's unit; plant problems count thousandths of the item's unit (`QTY_SCALE`), needs rounded up and supplies
rounded down, so a schedule feasible in integers is feasible in the real quantities.

A material is left out of the model (`binding`) when its fixed supply covers, at every time t, every use that
could have started by t (each operation's earliest start from its job's release and the shortest operations
before it): then no schedule can run short of it, whatever the timing. Outputs are not counted there, so the test
is exact in the safe direction.

Checks and reports, independent of the model:

- `material_reasons(problem)`: input errors (unknown operations, a material the plan can never have enough of);
- `shortfalls(problem, schedule)`: every operation that starts while its material stands below what it takes;
- `MaterialTracker`: event timelines for the dispatching heuristic and the repairs (earliest start at which a
  use fits without starving any use already placed);
- `holds(problem, schedule)`: operations held back by material — the component, the quantity missing at the
  operation's otherwise earliest start and the event (receipt, producing order) that brings it.

Public interface: `QTY_SCALE`, `Supply`, `Use`, `Output`, `Material`, `Hold`, `binding`, `earliest_starts`,
`material_reasons`, `shortfalls`, `MaterialTracker`, `holds`, `add_reservoirs`, `restrict`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ortools.sat.python import cp_model

if TYPE_CHECKING:
    from optimizer.schedule.problem import Assignment, Problem, Schedule

#: Plant quantities are counted in thousandths of the item's unit inside the problem.
QTY_SCALE = 1000

Key = tuple[int, int]


@dataclass(frozen=True)
class Supply:
    """A fixed event: `qty` (signed) at time `time`; `source` names it (e.g. 'on hand', a receipt id)."""

    time: int
    qty: int
    source: str = ""


@dataclass(frozen=True)
class Use:
    """Operation `op` of job `job` consumes `qty` at its start."""

    job: int
    op: int
    qty: int


@dataclass(frozen=True)
class Output:
    """Job `job` makes `qty` at the end of its last operation."""

    job: int
    qty: int


@dataclass(frozen=True)
class Material:
    """One component over time (see the module docstring); `name` is its id (e.g. the SKU)."""

    name: str
    supplies: tuple[Supply, ...] = ()
    uses: tuple[Use, ...] = ()
    outputs: tuple[Output, ...] = ()

    def inflow(self) -> int:
        """Every quantity that can ever come in (positive supplies and outputs): the reservoir's upper level."""
        return sum(s.qty for s in self.supplies if s.qty > 0) + sum(o.qty for o in self.outputs)


@dataclass(frozen=True)
class Hold:
    """Operation (job, op) waited for `material`: at its otherwise earliest start `ready`, `missing` was short;
    enough is there from `arrives`, brought by `source` (a receipt id, 'on hand' or the producing job's name)."""

    job: int
    op: int
    material: str
    missing: int
    ready: int
    arrives: int
    source: str


# --- static analysis ---------------------------------------------------------------------------------------------


def earliest_starts(problem: Problem) -> dict[Key, int]:
    """Each operation's earliest start: fixed start, else its job's release (or `now`) plus the shortest durations
    of the operations before it."""
    out: dict[Key, int] = {}
    for j, job in enumerate(problem.jobs):
        t = max(job.release, problem.now)
        for k, op in enumerate(job.operations):
            fix = problem.fixed.get((j, k))
            if fix is not None:
                t = fix.start
            out[(j, k)] = t
            t += min((d for _, d in op.modes), default=0) if fix is None else (op.duration_on(fix.machine) or 0)
    return out


def binding(problem: Problem, material: Material, earliest: Mapping[Key, int] | None = None) -> bool:
    """False when no schedule can run short of `material` (see the module docstring), so it needs no constraint."""
    if not material.uses:
        return False
    earliest = earliest if earliest is not None else earliest_starts(problem)
    events = [(s.time, s.qty) for s in material.supplies] + [(earliest[(u.job, u.op)], -u.qty) for u in material.uses]
    level = 0
    for _, delta in _grouped(events):
        level += delta
        if level < 0:
            return True
    return False


def _grouped(events: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """(time, summed delta) per distinct time, in time order."""
    summed: dict[int, int] = {}
    for t, delta in events:
        summed[t] = summed.get(t, 0) + delta
    return sorted(summed.items())


def material_reasons(problem: Problem) -> list[str]:
    """Why the problem's materials cannot be satisfied as given (empty when they can): unknown operations or jobs,
    quantities <= 0, and materials whose every inflow until the horizon is less than what the operations take."""
    reasons: list[str] = []
    horizon = problem.effective_horizon()
    for material in problem.materials:
        where = f"material {material.name!r}"
        for use in material.uses:
            if not (0 <= use.job < len(problem.jobs) and 0 <= use.op < len(problem.jobs[use.job].operations)):
                reasons.append(f"{where}: used by operation ({use.job}, {use.op}), which does not exist")
            elif use.qty <= 0:
                reasons.append(f"{where}: use by {problem.jobs[use.job].name!r} must be > 0, got {use.qty}")
        for out in material.outputs:
            if not 0 <= out.job < len(problem.jobs):
                reasons.append(f"{where}: made by job {out.job}, which does not exist")
            elif out.qty <= 0:
                reasons.append(f"{where}: output of {problem.jobs[out.job].name!r} must be > 0, got {out.qty}")
        if reasons:
            continue
        need = sum(u.qty for u in material.uses) - sum(s.qty for s in material.supplies if s.qty < 0)
        have = sum(s.qty for s in material.supplies if s.qty > 0 and s.time <= horizon)
        have += sum(o.qty for o in material.outputs)
        if need > have:
            users = sorted({problem.jobs[u.job].name for u in material.uses})
            shown = ", ".join(users[:5]) + (f" and {len(users) - 5} more" if len(users) > 5 else "")
            reasons.append(
                f"{where}: the operations need {need} but stock, receipts by the horizon {horizon} and the plan's own "
                f"orders give only {have} ({need - have} short) — orders {shown} cannot all run; add a receipt or "
                "take orders out of the plan"
            )
    return reasons


# --- schedules -----------------------------------------------------------------------------------------------------


def _events(problem: Problem, material: Material, assignments: Mapping[Key, Assignment]) -> list[tuple[int, int]]:
    events = [(s.time, s.qty) for s in material.supplies]
    events += [(assignments[(u.job, u.op)].start, -u.qty) for u in material.uses if (u.job, u.op) in assignments]
    for out in material.outputs:
        last = (out.job, len(problem.jobs[out.job].operations) - 1)
        if last in assignments:
            events.append((assignments[last].end, out.qty))
    return events


def shortfalls(problem: Problem, schedule: Schedule) -> list[str]:
    """Every operation of `schedule` that starts while its material stands below zero after the events of that
    time (level = every supply, use and output at or before it)."""
    problems: list[str] = []
    for material in problem.materials:
        if not material.uses:
            continue
        level_at: dict[int, int] = {}
        level = 0
        for t, delta in _grouped(_events(problem, material, schedule.assignments)):
            level += delta
            level_at[t] = level
        for use in material.uses:
            a = schedule.assignments.get((use.job, use.op))
            if a is not None and level_at[a.start] < 0:
                problems.append(
                    f"{problem.jobs[use.job].name}/{use.op + 1} starts at {a.start} without its material "
                    f"{material.name!r}: the level falls to {level_at[a.start]} (takes {use.qty})"
                )
    return problems


class _Timeline:
    """One material's events (time, delta, source), kept sorted, for earliest-availability queries."""

    def __init__(self, events: Iterable[tuple[int, int, str]]) -> None:
        self.events = sorted(events)

    def add(self, time: int, delta: int, source: str) -> None:
        bisect.insort(self.events, (time, delta, source))

    def remove(self, time: int, delta: int, source: str) -> None:
        self.events.remove((time, delta, source))

    def profile(self) -> list[tuple[int, int, str]]:
        """(time, level after the events of that time, source of its largest inflow) per distinct time."""
        out: list[tuple[int, int, str]] = []
        level = 0
        for t, delta, source in self.events:
            level += delta
            if out and out[-1][0] == t:
                best = out[-1][2] if delta <= 0 else source
                out[-1] = (t, level, best or out[-1][2])
            else:
                out.append((t, level, source if delta > 0 else ""))
        return out

    def available(self, qty: int, ready: int) -> tuple[int, int, str] | None:
        """(earliest t >= ready with level(τ) >= qty for every τ >= t, shortfall at `ready`, source of the event
        at that t); None when the level never stays at `qty`."""
        profile = self.profile()
        last_bad = -1  # index of the last segment whose level is below qty (-1: before the first event, level 0)
        below_start = qty > 0
        for i, (_, level, _) in enumerate(profile):
            if level < qty:
                last_bad = i
        if profile and last_bad == len(profile) - 1:
            return None
        if not profile:
            return None if below_start else (ready, 0, "")
        if last_bad == -1 and not below_start:
            return ready, 0, ""
        t_ok, _, source = profile[last_bad + 1]
        # shortfall at `ready`: qty minus the lowest level from `ready` on
        times = [p[0] for p in profile]
        i = bisect.bisect_right(times, ready) - 1
        lowest = min([p[1] for p in profile[max(i, 0) :]] + ([0] if i < 0 else []))
        return max(ready, t_ok), max(0, qty - lowest), source


class MaterialTracker:
    """The binding materials' timelines for a schedule being built: `earliest(j, k, ready)` for an operation's
    material, `place(assignment)` once it is placed. Operations already in `assignments` are placed at the start."""

    def __init__(self, problem: Problem, assignments: Mapping[Key, Assignment] | None = None) -> None:
        self.problem = problem
        earliest = earliest_starts(problem) if problem.materials else {}
        self.materials = [m for m in problem.materials if binding(problem, m, earliest)]
        self.timelines = [_Timeline((s.time, s.qty, s.source) for s in m.supplies) for m in self.materials]
        self.uses: dict[Key, list[tuple[int, int]]] = {}
        self.outputs: dict[int, list[tuple[int, int]]] = {}
        for n, material in enumerate(self.materials):
            for use in material.uses:
                self.uses.setdefault((use.job, use.op), []).append((n, use.qty))
            for out in material.outputs:
                self.outputs.setdefault(out.job, []).append((n, out.qty))
        for a in (assignments or {}).values():
            self.place(a)

    def __bool__(self) -> bool:
        return bool(self.materials)

    def touches(self, j: int, k: int) -> set[int]:
        """Indices of the materials operation (j, k) consumes or (as its job's last operation) makes."""
        out = {n for n, _ in self.uses.get((j, k), ())}
        if k == len(self.problem.jobs[j].operations) - 1:
            out |= {n for n, _ in self.outputs.get(j, ())}
        return out

    def consumes(self, j: int, k: int) -> set[int]:
        return {n for n, _ in self.uses.get((j, k), ())}

    def earliest(self, j: int, k: int, ready: int) -> int | None:
        """Earliest start >= ready at which every material of (j, k) is there and stays enough for the uses
        already placed; None when some material never is (with what is placed so far)."""
        t = ready
        for n, qty in self.uses.get((j, k), ()):
            found = self.timelines[n].available(qty, ready)
            if found is None:
                return None
            t = max(t, found[0])
        return t

    def place(self, a: Assignment) -> None:
        """Record the events of an assignment (its use at the start, its job's output at the end)."""
        for n, qty in self.uses.get((a.job, a.op), ()):
            self.timelines[n].add(a.start, -qty, self.problem.jobs[a.job].name)
        if a.op == len(self.problem.jobs[a.job].operations) - 1:
            for n, qty in self.outputs.get(a.job, ()):
                self.timelines[n].add(a.end, qty, self.problem.jobs[a.job].name)

    def unplace(self, a: Assignment) -> None:
        """Forget the events `place(a)` recorded."""
        for n, qty in self.uses.get((a.job, a.op), ()):
            self.timelines[n].remove(a.start, -qty, self.problem.jobs[a.job].name)
        if a.op == len(self.problem.jobs[a.job].operations) - 1:
            for n, qty in self.outputs.get(a.job, ()):
                self.timelines[n].remove(a.end, qty, self.problem.jobs[a.job].name)


def holds(problem: Problem, schedule: Schedule) -> list[Hold]:
    """Operations held back by material in `schedule` (see `Hold`): for each use of a binding material, with
    every other event where the schedule puts it, the earliest time its material is there to stay; held when that
    is after the operation's otherwise earliest start (its job's release or `now`, or the end of its previous
    operation)."""
    if not problem.materials:
        return []
    tracker = MaterialTracker(problem, schedule.assignments)
    out: list[Hold] = []
    for (j, k), needs in sorted(tracker.uses.items()):
        a = schedule.assignments.get((j, k))
        if a is None or (j, k) in problem.fixed:
            continue
        ready = max(problem.jobs[j].release, problem.now)
        if k > 0:
            ready = max(ready, schedule.assignments[(j, k - 1)].end)
        for n, qty in needs:
            timeline = tracker.timelines[n]
            event = (a.start, -qty, problem.jobs[j].name)
            timeline.remove(*event)
            found = timeline.available(qty, ready)
            timeline.add(*event)
            if found is None or found[0] <= ready:
                continue
            out.append(Hold(j, k, tracker.materials[n].name, found[1], ready, found[0], found[2]))
    return out


# --- model -----------------------------------------------------------------------------------------------------------


def add_reservoirs(
    model: cp_model.CpModel,
    problem: Problem,
    index: Mapping[Key, int],
    start: list[cp_model.IntVar],
    end: list[cp_model.IntVar],
) -> list[str]:
    """One reservoir constraint (level >= 0) per binding material; returns the names of the materials modelled."""
    earliest = earliest_starts(problem)
    modelled: list[str] = []
    for material in problem.materials:
        if not binding(problem, material, earliest):
            continue
        times: list[cp_model.LinearExprT] = [s.time for s in material.supplies]
        changes: list[int] = [s.qty for s in material.supplies]
        for use in material.uses:
            times.append(start[index[(use.job, use.op)]])
            changes.append(-use.qty)
        for out in material.outputs:
            times.append(end[index[(out.job, len(problem.jobs[out.job].operations) - 1)]])
            changes.append(out.qty)
        model.add_reservoir_constraint(times, changes, 0, max(0, material.inflow()))
        modelled.append(material.name)
    return modelled


def restrict(
    problem: Problem, schedule: Schedule, mapping: Mapping[Key, Key], job_map: Mapping[int, int]
) -> tuple[Material, ...]:
    """The materials of a sub-problem whose free operations are `mapping` (original (job, op) → sub (job, op));
    `job_map` maps an original job whose last operation is free to its sub job. Events of operations that are not
    free become fixed supplies at their time in `schedule`; materials without a free event are left out."""
    earliest = earliest_starts(problem)
    out: list[Material] = []
    for material in problem.materials:
        free_uses = [u for u in material.uses if (u.job, u.op) in mapping]
        free_outputs = [o for o in material.outputs if o.job in job_map]
        if not (free_uses or free_outputs) or not binding(problem, material, earliest):
            continue
        supplies = list(material.supplies)
        for use in material.uses:
            if (use.job, use.op) not in mapping:
                supplies.append(Supply(schedule.assignments[(use.job, use.op)].start, -use.qty, "fixed use"))
        for o in material.outputs:
            if o.job not in job_map:
                last = schedule.assignments[(o.job, len(problem.jobs[o.job].operations) - 1)]
                supplies.append(Supply(last.end, o.qty, problem.jobs[o.job].name))
        uses = tuple(Use(mapping[(u.job, u.op)][0], mapping[(u.job, u.op)][1], u.qty) for u in free_uses)
        outputs = tuple(Output(job_map[o.job], o.qty) for o in free_outputs)
        out.append(Material(material.name, tuple(supplies), uses, outputs))
    return tuple(out)


__all__ = [
    "QTY_SCALE",
    "Hold",
    "Material",
    "MaterialTracker",
    "Output",
    "Supply",
    "Use",
    "add_reservoirs",
    "binding",
    "earliest_starts",
    "holds",
    "material_reasons",
    "restrict",
    "shortfalls",
]
