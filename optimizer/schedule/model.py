"""Build the CP-SAT model of a `Problem` (no solving here, so tests can inspect it).

Formulation (the optional-interval model of the flexible job shop, as in OR-Tools'
``examples/python/flexible_job_shop_sat.py``, with a circuit per machine for sequence-dependent setups):

1. Time: each operation o has start s_o and end e_o (fixed operations are constants); a job's operations follow
   each other (s_{k+1} >= e_k); the first starts at or after the job's release.
2. Modes: one presence literal per eligible machine, exactly one true; e_o = s_o + Σ_m duration_m · presence_m.
3. Setups (machines with a non-zero setup matrix): a circuit over the operations that may run on the machine plus
   a depot node. An arc i→j means j directly follows i: then the setup u_j >= setup(family_i, family_j) and
   e_i <= s_j - u_j. The depot arc into j charges the setup from the machine's initial family (none if unknown).
   The setup occupies the machine right before its operation.
4. Machines: a no-overlap per machine over [s_o - u_o, e_o) of the operations on it and the machine's unavailable
   periods (fixed intervals): neither an operation nor its setup runs across non-working time.
5. Materials: a reservoir constraint per binding material (`optimizer.schedule.materials.add_reservoirs`): stock
   and receipts fill it at fixed times, operations empty it at their start, producing jobs fill it at their end; its
   level never falls below zero.
6. Criteria: makespan; weighted tardiness Σ w_j max(0, end_j - due_j); total setup time Σ u_o; with a reference
   schedule (rescheduling), the number of operations moved (other machine or other start).

**Sparse sequencing** (large machines): a full circuit needs n² arcs for n candidate operations — 290k arcs for
the 300-order sample plan, too many to build and presolve within seconds. For machines with more than
`full_circuit_max` candidates, only arcs between operations whose jobs' due dates (release when no due date) lie
within `sequence_window`, or within `family_window` for the same family, are created, plus the arcs of the hint
schedule. To keep every sequence possible, `breaks` *reset nodes* per machine may sit between any two operations:
passing one reserves the largest setup into the next operation's family (u_j = max over families), which is
always enough time for the real changeover. Such a model stays exact in feasibility; its changeover criterion
over-estimates only where a reset node is used; `extract` reports the real changeover times.

Redundant constraints (`ModelOptions`, each measured in BENCHMARKS.md): a cumulative over every operation with
capacity = number of machines; per-machine workload <= makespan; makespan >= each operation's end plus the
shortest remaining work of its job.

Public interface: `ModelOptions`, `ModelVars`, `CRITERIA`, `build_model(problem, options, reference, hint)`,
`add_hints(model, variables, problem, schedule)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from optimizer.schedule.materials import add_reservoirs
from optimizer.schedule.problem import Problem, Schedule, validate

Key = tuple[int, int]

CRITERIA = ("weighted_tardiness", "changeover", "makespan", "moves")


@dataclass(frozen=True)
class ModelOptions:
    """Redundant constraints (valid for every problem; they only change the search) and sparse sequencing.

    Measured on Brandimarte mk01-mk10 (2 workers, see BENCHMARKS.md): the per-machine workload bound proves mk02,
    mk05 and mk07 optimal (bounds 25 → 26, 119 → 172, 125 → 139) and lifts mk06 33 → 48 and mk10 181 → 188, with
    no measurable loss on the incumbents; the cumulative over all operations did not change the outcome within the
    run-to-run noise, so it is off by default.
    """

    redundant_cumulative: bool = False
    machine_workload: bool = True
    job_tail_bound: bool = True
    #: machines with at most this many candidate operations get a full circuit
    full_circuit_max: int = 60
    #: sparse circuits: arcs between operations whose jobs' due dates differ by at most this (time units)
    sequence_window: int = 1440
    #: … or at most this for jobs of the same family
    family_window: int = 14 * 1440
    #: sparse circuits: reset nodes per machine
    breaks: int = 6


@dataclass
class ModelVars:
    """The model's variables, named by domain ids: operation (job, op), machine index, job index."""

    keys: list[Key]
    index: dict[Key, int]
    start: list[cp_model.IntVar]
    end: list[cp_model.IntVar]
    setup: list[cp_model.IntVar]
    occupied_start: list[cp_model.IntVar]
    presence: list[dict[int, cp_model.IntVar]]
    #: per machine: (tail node, head node, literal); node 0 = depot, node a+1 = operation `nodes[m][a]`,
    #: nodes after those = reset nodes (`resets[m]`: their time variables)
    arcs: dict[int, list[tuple[int, int, cp_model.LiteralT]]]
    nodes: dict[int, list[int]]
    resets: dict[int, list[cp_model.IntVar]]
    reset_used: dict[int, list[cp_model.IntVar]]
    job_end: list[cp_model.IntVar]
    tardiness: list[cp_model.IntVar | None]
    makespan: cp_model.IntVar
    moved: dict[Key, cp_model.IntVar] = field(default_factory=dict)
    reference: dict[Key, tuple[int, int]] = field(default_factory=dict)
    criteria: dict[str, cp_model.LinearExprT] = field(default_factory=dict)


def _op_windows(problem: Problem, horizon: int) -> list[tuple[int, int]]:
    """Earliest start and latest end of each operation from releases and the shortest durations of its job."""
    windows: list[tuple[int, int]] = []
    for job in problem.jobs:
        mins = [min(d for _, d in op.modes) for op in job.operations]
        head = max(job.release, problem.now)
        latest = horizon if job.deadline is None else min(horizon, job.deadline)
        for k in range(len(mins)):
            windows.append((head, latest - sum(mins[k + 1 :])))
            head += mins[k]
    return windows


def _is_variable(model: cp_model.CpModel, var: cp_model.IntVar) -> bool:
    domain = model.proto.variables[var.index].domain
    return not (len(domain) == 2 and domain[0] == domain[1])


def build_model(
    problem: Problem,
    options: ModelOptions | None = None,
    reference: Mapping[Key, tuple[int, int]] | None = None,
    hint: Schedule | None = None,
) -> tuple[cp_model.CpModel, ModelVars]:
    """The CP-SAT model of `problem` (validated first; raises `ScheduleInputError`).

    `reference` maps (job, op) to its (machine, start) in a previous schedule: the model then has
    `moved[(job, op)]` = the operation runs on another machine or at another start. `hint`'s machine sequences
    are always representable (their arcs are added to sparse circuits).
    """
    validate(problem)
    options = options or ModelOptions()
    horizon = problem.effective_horizon()
    model = cp_model.CpModel()
    keys = [(j, k) for j, k, _ in problem.operations()]
    index = {key: i for i, key in enumerate(keys)}
    ops = [problem.jobs[j].operations[k] for j, k in keys]
    windows = _op_windows(problem, horizon)
    setup_machines = [m for m in range(len(problem.machines)) if problem.has_setups(m)]

    # --- 1. time ----------------------------------------------------------------------------------------------
    start: list[cp_model.IntVar] = []
    end: list[cp_model.IntVar] = []
    for i, (j, k) in enumerate(keys):
        fix = problem.fixed.get((j, k))
        if fix is not None:
            start.append(model.new_constant(fix.start))
            end.append(model.new_constant(fix.start + (ops[i].duration_on(fix.machine) or 0)))
            continue
        lo, hi = windows[i]
        shortest = min(d for _, d in ops[i].modes)
        start.append(model.new_int_var(lo, max(lo, hi - shortest), f"start_{j}_{k}"))
        end.append(model.new_int_var(lo + shortest, max(lo + shortest, hi), f"end_{j}_{k}"))
    for j, job in enumerate(problem.jobs):
        for k in range(1, len(job.operations)):
            model.add(start[index[(j, k)]] >= end[index[(j, k - 1)]])

    # --- 2. modes ---------------------------------------------------------------------------------------------
    presence: list[dict[int, cp_model.IntVar]] = []
    for i, (j, k) in enumerate(keys):
        fix = problem.fixed.get((j, k))
        modes = [(fix.machine, ops[i].duration_on(fix.machine) or 0)] if fix else list(ops[i].modes)
        if len(modes) == 1:
            presence.append({modes[0][0]: model.new_constant(1)})
            if fix is None:
                model.add(end[i] == start[i] + modes[0][1])
            continue
        lits = {m: model.new_bool_var(f"on_{j}_{k}_{m}") for m, _ in modes}
        model.add_exactly_one(lits.values())
        model.add(end[i] == start[i] + sum(d * lits[m] for m, d in modes))
        presence.append(lits)

    # --- 3. setups --------------------------------------------------------------------------------------------
    setup: list[cp_model.IntVar] = []
    occupied: list[cp_model.IntVar] = []
    for i, (j, k) in enumerate(keys):
        family = problem.jobs[j].family
        largest = 0
        fix = problem.fixed.get((j, k))
        if family is not None and (fix is None or fix.needs_setup):
            largest = max(
                (int(problem.setup[m][:, family].max()) for m in presence[i] if m in problem.setup), default=0
            )
        if largest == 0:
            setup.append(model.new_constant(0))
            occupied.append(start[i])
            continue
        setup.append(model.new_int_var(0, largest, f"setup_{j}_{k}"))
        occupied_start = model.new_int_var(problem.now if fix is None else -horizon, horizon, f"occupied_{j}_{k}")
        model.add(occupied_start == start[i] - setup[i])
        occupied.append(occupied_start)
        for m, lit in presence[i].items():
            if not problem.has_setups(m):
                model.add(setup[i] == 0).only_enforce_if(lit)
    arcs: dict[int, list[tuple[int, int, cp_model.LiteralT]]] = {}
    nodes: dict[int, list[int]] = {}
    resets: dict[int, list[cp_model.IntVar]] = {}
    reset_used: dict[int, list[cp_model.IntVar]] = {}
    hinted = hint.sequences() if hint is not None else {}
    for m in setup_machines:
        members = [i for i in range(len(keys)) if m in presence[i]]
        if not members:
            continue
        nodes[m] = members
        hint_pairs = {
            (index[(a.job, a.op)], index[(b.job, b.op)])
            for a, b in zip(hinted.get(m, []), hinted.get(m, [])[1:], strict=False)
        }
        arcs[m], resets[m], reset_used[m] = _circuit(
            model, problem, options, m, members, keys, start, end, setup, occupied, presence, hint_pairs, horizon
        )

    # --- 4. machines: no-overlap of [start - setup, end) and the unavailable periods --------------------------
    per_machine: dict[int, list[cp_model.IntervalVar]] = {m: [] for m in range(len(problem.machines))}
    for i, (j, k) in enumerate(keys):
        for m, lit in presence[i].items():
            duration = ops[i].duration_on(m) or 0
            name = f"on_{m}_{j}_{k}"
            fix = problem.fixed.get((j, k))
            if occupied[i] is not start[i]:
                interval = model.new_optional_interval_var(occupied[i], setup[i] + duration, end[i], lit, name)
            elif fix is not None and not fix.needs_setup and fix.setup:  # its changeover is done or under way
                interval = model.new_fixed_size_interval_var(fix.start - fix.setup, fix.setup + duration, name)
            elif len(presence[i]) == 1:
                interval = model.new_fixed_size_interval_var(start[i], duration, name)
            else:
                interval = model.new_optional_fixed_size_interval_var(start[i], duration, lit, name)
            per_machine[m].append(interval)
    for m, intervals in per_machine.items():
        blocked = [
            model.new_fixed_size_interval_var(s, e - s, f"off_{m}_{s}") for s, e in problem.unavailable.get(m, ())
        ]
        if len(intervals) + len(blocked) > 1:
            model.add_no_overlap(intervals + blocked)

    # --- 5. materials: no operation starts before its components are there -----------------------------------
    add_reservoirs(model, problem, index, start, end)

    # --- 6. criteria ------------------------------------------------------------------------------------------
    job_end = [end[index[(j, len(job.operations) - 1)]] for j, job in enumerate(problem.jobs)]
    earliest_end = max(
        (windows[i][0] + min(d for _, d in ops[i].modes) for i in range(len(keys)) if keys[i] not in problem.fixed),
        default=0,
    )
    makespan = model.new_int_var(min(earliest_end, horizon), horizon, "makespan")
    model.add_max_equality(makespan, job_end)
    tardiness: list[cp_model.IntVar | None] = []
    for j, job in enumerate(problem.jobs):
        if job.due is None or job.weight == 0:
            tardiness.append(None)
            continue
        late = model.new_int_var(0, max(0, horizon - job.due), f"tardiness_{j}")
        model.add(late >= job_end[j] - job.due)
        tardiness.append(late)
    v = ModelVars(
        keys=keys,
        index=index,
        start=start,
        end=end,
        setup=setup,
        occupied_start=occupied,
        presence=presence,
        arcs=arcs,
        nodes=nodes,
        resets=resets,
        reset_used=reset_used,
        job_end=job_end,
        tardiness=tardiness,
        makespan=makespan,
    )
    zero = cp_model.LinearExpr.constant(0)
    v.criteria = {
        "weighted_tardiness": sum(
            (job.weight * late for job, late in zip(problem.jobs, tardiness, strict=True) if late is not None),
            start=zero,
        ),
        "changeover": sum(setup, start=zero),
        "makespan": makespan,
    }
    if reference is not None:
        v.reference = dict(reference)
        v.moved = _add_moves(model, problem, v)
        v.criteria["moves"] = sum(v.moved.values(), start=zero)

    # --- 7. redundant constraints -----------------------------------------------------------------------------
    _add_redundant(model, problem, options, v)
    return model, v


def _job_key(problem: Problem, j: int) -> int:
    job = problem.jobs[j]
    return job.due if job.due is not None else job.release


def _circuit(
    model: cp_model.CpModel,
    problem: Problem,
    options: ModelOptions,
    m: int,
    members: list[int],
    keys: list[Key],
    start: list[cp_model.IntVar],
    end: list[cp_model.IntVar],
    setup: list[cp_model.IntVar],
    occupied: list[cp_model.IntVar],
    presence: list[dict[int, cp_model.IntVar]],
    hint_pairs: set[tuple[int, int]],
    horizon: int,
) -> tuple[list[tuple[int, int, cp_model.LiteralT]], list[cp_model.IntVar], list[cp_model.IntVar]]:
    """Circuit over machine m's candidate operations (sparse with reset nodes when there are many)."""
    matrix = problem.setup[m]
    n = len(members)
    families = [problem.jobs[keys[i][0]].family for i in members]
    fixed = [keys[i] in problem.fixed and not problem.fixed[keys[i]].needs_setup for i in members]
    initial = problem.initial_family.get(m)
    arcs: list[tuple[int, int, cp_model.LiteralT]] = [(0, 0, model.new_bool_var(f"idle_{m}"))]
    for a, i in enumerate(members):
        arcs.append((a + 1, a + 1, ~presence[i][m]))
        first = model.new_bool_var(f"first_{m}_{i}")
        arcs.append((0, a + 1, first))
        if not fixed[a] and initial is not None and families[a] is not None:
            model.add(setup[i] >= int(matrix[initial, families[a]])).only_enforce_if(first)
        arcs.append((a + 1, 0, model.new_bool_var(f"last_{m}_{i}")))
    sparse = n > options.full_circuit_max
    allowed = np.ones((n, n), dtype=bool)
    if sparse:
        due = np.array([_job_key(problem, keys[i][0]) for i in members])
        fam = np.array([-1 if f is None else f for f in families])
        gap = np.abs(due[:, None] - due[None, :])
        allowed = (gap <= options.sequence_window) | ((fam[:, None] == fam[None, :]) & (gap <= options.family_window))
        position = {i: a for a, i in enumerate(members)}
        for i, j in hint_pairs:
            if i in position and j in position:
                allowed[position[i], position[j]] = True
    np.fill_diagonal(allowed, False)
    for a, b in zip(*np.nonzero(allowed), strict=True):
        i, j = members[a], members[b]
        if keys[i][0] == keys[j][0] and keys[j][1] < keys[i][1]:
            continue  # a job's later operation never precedes its earlier one
        lit = model.new_bool_var(f"next_{m}_{i}_{j}")
        arcs.append((int(a) + 1, int(b) + 1, lit))
        if fixed[b]:
            model.add(end[i] <= start[j]).only_enforce_if(lit)
            continue
        time = int(matrix[families[a], families[b]]) if families[a] is not None and families[b] is not None else 0
        if time:
            model.add(setup[j] >= time).only_enforce_if(lit)
        model.add(end[i] <= occupied[j]).only_enforce_if(lit)
    resets: list[cp_model.IntVar] = []
    flags: list[cp_model.IntVar] = []
    if sparse:
        used_prev: cp_model.IntVar | None = None
        for h in range(options.breaks):
            node = n + 1 + h
            when = model.new_int_var(0, horizon, f"reset_{m}_{h}")
            used = model.new_bool_var(f"reset_used_{m}_{h}")
            arcs.append((node, node, ~used))
            if used_prev is not None:
                model.add_implication(used, used_prev)  # symmetry: use reset nodes in order
                model.add(resets[-1] <= when)
            for a, i in enumerate(members):
                into = model.new_bool_var(f"to_reset_{m}_{h}_{i}")
                arcs.append((a + 1, node, into))
                model.add(end[i] <= when).only_enforce_if(into)
                out = model.new_bool_var(f"from_reset_{m}_{h}_{i}")
                arcs.append((node, a + 1, out))
                if not fixed[a]:
                    model.add(occupied[i] >= when).only_enforce_if(out)
                    if families[a] is not None:
                        model.add(setup[i] >= int(matrix[:, families[a]].max())).only_enforce_if(out)
                else:
                    model.add(start[i] >= when).only_enforce_if(out)
            resets.append(when)
            flags.append(used)
            used_prev = used
    model.add_circuit(arcs)
    return arcs, resets, flags


def _add_moves(model: cp_model.CpModel, problem: Problem, v: ModelVars) -> dict[Key, cp_model.IntVar]:
    """moved[(j, k)] is false only if the operation keeps its reference machine and start."""
    moved: dict[Key, cp_model.IntVar] = {}
    for key, (machine, begin) in v.reference.items():
        i = v.index.get(key)
        if i is None or key in problem.fixed:
            continue
        flag = model.new_bool_var(f"moved_{key[0]}_{key[1]}")
        stay = v.presence[i].get(machine)
        if stay is None:
            model.add(flag == 1)
        else:
            model.add(v.start[i] == begin).only_enforce_if(~flag)
            model.add_implication(~flag, stay)
        moved[key] = flag
    return moved


def _add_redundant(model: cp_model.CpModel, problem: Problem, options: ModelOptions, v: ModelVars) -> None:
    if options.redundant_cumulative and len(problem.machines) > 1:
        intervals = []
        for i, (j, k) in enumerate(v.keys):
            lengths = [d for _, d in problem.jobs[j].operations[k].modes]
            size = model.new_int_var(min(lengths), max(lengths), f"size_{j}_{k}")
            intervals.append(model.new_interval_var(v.start[i], size, v.end[i], f"any_{j}_{k}"))
        model.add_cumulative(intervals, [1] * len(intervals), len(problem.machines))
    if options.machine_workload:
        for m in range(len(problem.machines)):
            terms = [
                (lits[m], problem.jobs[j].operations[k].duration_on(m) or 0)
                for (j, k), lits in zip(v.keys, v.presence, strict=True)
                if m in lits and (j, k) not in problem.fixed
            ]
            if terms:
                model.add(sum(d * lit for lit, d in terms) <= v.makespan)
    if options.job_tail_bound:
        for j, job in enumerate(problem.jobs):
            remaining = 0
            for k in range(len(job.operations) - 1, -1, -1):
                if k < len(job.operations) - 1:
                    model.add(v.makespan >= v.end[v.index[(j, k)]] + remaining)
                remaining += min(d for _, d in job.operations[k].modes)


def add_hints(model: cp_model.CpModel, v: ModelVars, problem: Problem, schedule: Schedule) -> None:
    """Hint a complete solution (from a dispatching rule or a previous schedule); replaces earlier hints.

    Consecutive operations without an arc between them go through a free reset node (if any)."""
    model.clear_hints()
    seen: set[int] = set()

    def hint(var: Any, value: int) -> None:
        if var.index >= 0 and var.index not in seen and _is_variable(model, var):
            seen.add(var.index)
            model.add_hint(var, value)

    chosen = [schedule.assignments[key] for key in v.keys]
    model_setup = [a.setup for a in chosen]
    arc_value: dict[int, dict[tuple[int, int], int]] = {}
    reset_time: dict[int, list[int]] = {}
    for m, members in v.nodes.items():
        n = len(members)
        existing = {(t, h) for t, h, _ in v.arcs[m]}
        order = [
            a + 1 for _, a in sorted((chosen[i].start, a) for a, i in enumerate(members) if chosen[i].machine == m)
        ]
        used: dict[tuple[int, int], int] = {}
        path = [0]
        free = list(range(len(v.resets.get(m, []))))
        times: list[int] = []
        for node in order:
            prev = path[-1]
            if prev != 0 and (prev, node) not in existing and free:
                reset = n + 1 + free.pop(0)
                path.append(reset)
                times.append(chosen[members[prev - 1]].end)
                family = problem.jobs[v.keys[members[node - 1]][0]].family
                if family is not None and m in problem.setup:
                    model_setup[members[node - 1]] = int(problem.setup[m][:, family].max())
            path.append(node)
        path.append(0)
        for tail, head in pairwise(path):
            used[(tail, head)] = 1
        if path == [0, 0]:
            used[(0, 0)] = 1
        arc_value[m] = used
        reset_time[m] = times
    for i, a in enumerate(chosen):
        hint(v.start[i], a.start)
        hint(v.end[i], a.end)
        hint(v.setup[i], model_setup[i])
        hint(v.occupied_start[i], a.start - model_setup[i])
        for m, on in v.presence[i].items():
            hint(on, int(m == a.machine))
    for m, arcs in v.arcs.items():
        for tail, head, lit in arcs:
            if tail == head and tail != 0:
                continue  # a negated literal (presence, reset node used): hinted through that variable
            hint(lit, arc_value[m].get((tail, head), 0))
        times = reset_time[m]
        for h, (when, flag) in enumerate(zip(v.resets.get(m, []), v.reset_used.get(m, []), strict=True)):
            hint(when, times[h] if h < len(times) else (times[-1] if times else 0))
            hint(flag, int(h < len(times)))
    for j, job in enumerate(problem.jobs):
        late = v.tardiness[j]
        if late is not None and job.due is not None:
            hint(late, max(0, chosen[v.index[(j, len(job.operations) - 1)]].end - job.due))
    hint(v.makespan, max(a.end for a in chosen))
    for key, flag in v.moved.items():
        a = schedule.assignments[key]
        machine, begin = v.reference[key]
        hint(flag, int(a.machine != machine or a.start != begin))
