"""Read a solution of the CP-SAT model back into a `Schedule`.

Public interface: `extract(value, variables, problem) -> Schedule`, where `value(var) -> int` is e.g.
`CpSolver.value` or a solution callback's `value`; `with_real_setups(problem, schedule)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ortools.sat.python import cp_model

from optimizer.schedule.model import ModelVars
from optimizer.schedule.problem import Assignment, Problem, Schedule

ValueOf = Callable[[cp_model.IntVar], int]


def extract(value: ValueOf, v: ModelVars, problem: Problem) -> Schedule:
    """Every operation's machine, start and end in the solution read through `value`, and its real setup time
    (from the family run before it on the machine; the model may reserve more, see `model`)."""
    assignments: dict[tuple[int, int], Assignment] = {}
    for i, (j, k) in enumerate(v.keys):
        machine = next(m for m, lit in v.presence[i].items() if value(lit))
        assignments[(j, k)] = Assignment(
            job=j,
            op=k,
            machine=machine,
            start=int(value(v.start[i])),
            end=int(value(v.end[i])),
        )
    return with_real_setups(problem, Schedule(assignments))


def with_real_setups(problem: Problem, schedule: Schedule) -> Schedule:
    """The schedule with each setup recomputed from the operation run before it on its machine (fixed operations
    keep theirs: they are already set up)."""
    out: dict[tuple[int, int], Assignment] = dict(schedule.assignments)
    for m, sequence in schedule.sequences().items():
        family = problem.initial_family.get(m)
        for a in sequence:
            this = problem.jobs[a.job].family
            fix = problem.fixed.get((a.job, a.op))
            if fix is None or fix.needs_setup:
                out[(a.job, a.op)] = replace(a, setup=problem.setup_time(m, family, this))
            family = this if this is not None else family
    return Schedule(out)
