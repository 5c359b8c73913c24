"""Large-neighbourhood search around a schedule: re-solve a time window exactly, keep the rest, repeat.

The full model of a plant plan (hundreds of orders, circuits for changeovers) is too big for CP-SAT's own LNS to
move quickly on two cores: each of its neighbourhoods re-presolves the whole model. Here a neighbourhood is a
*small* `Problem` built from scratch (Shaw 1998; Pisinger & Ropke 2010 for the adaptive size):

1. Pick a time window [t0, t1) (t0 at a random operation's start) and a set of machines (all, or a random half).
2. Free every operation on those machines starting in the window. On each such machine, the last operation
   before the window and the first one after it stay as fixed *sentinels* (the one after still needs its
   changeover from whatever runs before it), and everything else is blocked, so the free operations can only
   be re-ordered and re-assigned among the chosen machines inside the gap.
3. A free operation's job neighbours outside the window become its release date (the end of the operation
   before) and deadline (the start of the one after); due date and weight count only if the job's last
   operation is free.
   Materials of free operations (`materials.restrict`): the events of every operation that stays become fixed
   supplies at their current times, so the sub-problem's reservoirs keep the whole schedule's material feasible.
4. Solve the small problem with the same model (`build_model`), hinted with the current schedule, under a short
   time limit; put the result back and keep it if the whole schedule scores better.

The window grows after neighbourhoods solved to optimality and shrinks after time-outs.

Public interface: `LnsOptions`, `LnsStats`, `neighbourhood(problem, schedule, t0, t1, machines)`,
`improve(problem, schedule, score, weights, options, deadline)`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from optimizer.schedule.extract import extract, with_real_setups
from optimizer.schedule.materials import restrict
from optimizer.schedule.model import ModelOptions, add_hints, build_model
from optimizer.schedule.problem import Assignment, Fixed, Job, Operation, Problem, Schedule

log = logging.getLogger(__name__)

Key = tuple[int, int]


@dataclass(frozen=True)
class LnsOptions:
    """Neighbourhood size (time units, adapted during the search), per-neighbourhood solver limit and workers."""

    window: int = 2 * 1440
    min_window: int = 240
    max_window: int = 14 * 1440
    sub_time_limit: float = 0.5
    #: free operations per neighbourhood the window size is steered to, per kind
    target_free: Mapping[str, int] = field(default_factory=lambda: {"related": 20, "all": 40})
    workers: int = 2
    #: probability of a neighbourhood over every machine (else: the seed operation's eligible machines)
    machine_share: float = 0.2
    #: stop after this many neighbourhoods in a row without improvement (None: run to the deadline)
    stall_limit: int | None = None
    seed: int = 0


@dataclass
class LnsStats:
    """What the search did: neighbourhoods tried, improvements kept, seconds."""

    tried: int = 0
    improved: int = 0
    optimal: int = 0
    seconds: float = 0.0
    history: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Neighbourhood:
    """A sub-problem and how its operations map back: sub (job, op) -> original (job, op); None for sentinels."""

    problem: Problem
    origin: dict[Key, Key | None]
    hint: Schedule


def _merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def neighbourhood(problem: Problem, schedule: Schedule, t0: int, t1: int, machines: set[int]) -> Neighbourhood | None:
    """The sub-problem freeing operations on `machines` that start in [t0, t1); None if nothing is free."""
    sequences = schedule.sequences()
    free: set[Key] = set()
    for m in machines:
        for a in sequences.get(m, []):
            if t0 <= a.start < t1 and (a.job, a.op) not in problem.fixed:
                free.add((a.job, a.op))
    if not free:
        return None
    horizon = problem.effective_horizon()
    jobs: list[Job] = []
    origin: dict[Key, Key | None] = {}
    free_to_sub: dict[Key, Key] = {}
    last_to_sub: dict[int, int] = {}
    hint: dict[Key, Assignment] = {}
    fixed: dict[Key, Fixed] = {}
    unavailable: dict[int, list[tuple[int, int]]] = {}
    # sentinels and blocks on each chosen machine: free operations stay between the last operation starting
    # before the window and the first one starting after it
    for m in machines:
        seq = sequences.get(m, [])
        before = [a for a in seq if a.start < t0]
        after = [a for a in seq if a.start >= t1]
        spans = list(problem.unavailable.get(m, ()))
        lo, hi = 0, horizon
        for edge, role in ((before[-1] if before else None, "before"), (after[0] if after else None, "after")):
            if edge is None:
                continue
            job = problem.jobs[edge.job]
            sub = (len(jobs), 0)
            jobs.append(
                Job(f"{job.name}#{role}", (Operation(((m, edge.end - edge.start),)),), weight=0, family=job.family)
            )
            keeps = (edge.job, edge.op) in problem.fixed or role == "before"
            fixed[sub] = Fixed(m, edge.start, needs_setup=not keeps, setup=edge.setup if keeps else 0)
            origin[sub] = None
            hint[sub] = Assignment(sub[0], 0, m, edge.start, edge.end, edge.setup)
            if role == "before":
                lo = edge.start
            else:
                hi = edge.end
        for a in seq:
            if t0 <= a.start < t1 and (a.job, a.op) in problem.fixed:  # started: stays, as a fixed node
                sub = (len(jobs), 0)
                jobs.append(
                    Job(
                        f"{problem.jobs[a.job].name}#fixed",
                        (Operation(((m, a.end - a.start),)),),
                        weight=0,
                        family=problem.jobs[a.job].family,
                    )
                )
                fixed[sub] = Fixed(m, a.start, setup=a.setup)
                origin[sub] = None
                hint[sub] = Assignment(sub[0], 0, m, a.start, a.end, a.setup)
        if lo > 0:
            spans.append((0, lo))
        if hi < horizon:
            spans.append((hi, horizon))
        unavailable[m] = _merge_spans(spans)
    # free operations, grouped in runs of consecutive operations of the same job
    for j in sorted({j for j, _ in free}):
        job = problem.jobs[j]
        k = 0
        while k < len(job.operations):
            if (j, k) not in free:
                k += 1
                continue
            run = []
            while k < len(job.operations) and (j, k) in free:
                run.append(k)
                k += 1
            previous = schedule.assignments.get((j, run[0] - 1)) if run[0] > 0 else None
            following = schedule.assignments.get((j, run[-1] + 1)) if run[-1] + 1 < len(job.operations) else None
            is_last = run[-1] == len(job.operations) - 1
            sub_j = len(jobs)
            if is_last:
                last_to_sub[j] = sub_j
            operations = []
            for n, kk in enumerate(run):
                modes = tuple((m, d) for m, d in job.operations[kk].modes if m in machines)
                operations.append(Operation(modes, job.operations[kk].name))
                origin[(sub_j, n)] = (j, kk)
                free_to_sub[(j, kk)] = (sub_j, n)
                now_at = schedule.assignments[(j, kk)]
                hint[(sub_j, n)] = Assignment(sub_j, n, now_at.machine, now_at.start, now_at.end, now_at.setup)
            jobs.append(
                Job(
                    name=job.name,
                    operations=tuple(operations),
                    release=max(job.release, previous.end if previous else 0),
                    due=job.due if is_last else None,
                    weight=job.weight if is_last else 0,
                    family=job.family,
                    deadline=following.start if following else job.deadline,
                )
            )
    sub_problem = Problem(
        now=problem.now,
        machines=problem.machines,
        jobs=tuple(jobs),
        families=problem.families,
        setup=problem.setup,
        initial_family={},
        unavailable={m: tuple(spans) for m, spans in unavailable.items() if spans},
        fixed=fixed,
        horizon=horizon,
        materials=restrict(problem, schedule, free_to_sub, last_to_sub) if problem.materials else (),
    )
    return Neighbourhood(sub_problem, origin, Schedule(hint))


def _merge(schedule: Schedule, hood: Neighbourhood, solved: Schedule) -> Schedule:
    assignments = dict(schedule.assignments)
    for key, a in solved.assignments.items():
        target = hood.origin.get(key)
        if target is not None:
            assignments[target] = Assignment(target[0], target[1], a.machine, a.start, a.end, a.setup)
    return Schedule(assignments)


def improve(
    problem: Problem,
    schedule: Schedule,
    score: Callable[[Schedule], tuple[float, ...]],
    weights: Mapping[str, int],
    options: LnsOptions,
    deadline: float,
    model_options: ModelOptions | None = None,
    reference: Mapping[Key, tuple[int, int]] | None = None,
    focus: Callable[[Schedule], list[Key]] | None = None,
    anchor: Callable[[Key, Assignment], int] | None = None,
) -> tuple[Schedule, LnsStats]:
    """Improve `schedule` (lower `score` is better) until `deadline` (a `time.perf_counter()` value).

    Each neighbourhood minimizes Σ weights[c] × criterion c of its sub-problem; with a `reference` (machine,
    start per operation) the criterion "moves" counts free operations that leave it. `focus` picks the seed
    operations (default: any operation that is not fixed); `anchor` centres the window (default: the seed's
    start)."""
    rng = np.random.default_rng(options.seed)
    stats = LnsStats()
    started = time.perf_counter()
    best, best_score = schedule, score(schedule)
    # two neighbourhood kinds, each with its own adaptive window: the seed operation's eligible machines over a
    # longer window (re-sequencing and campaigns), or every machine over a short one (moves across stages)
    windows = {"related": options.window, "all": max(options.min_window, options.window // 4)}
    sub_options = model_options or ModelOptions(machine_workload=False, job_tail_bound=False)
    all_machines = set(range(len(problem.machines)))
    movable = [key for key in best.assignments if key not in problem.fixed]
    stalled = 0
    while movable and time.perf_counter() < deadline - 0.05:
        if options.stall_limit is not None and stalled >= options.stall_limit:
            break
        kind = "all" if rng.random() < options.machine_share else "related"
        seeds = (focus(best) or movable) if focus is not None else movable
        j, k = seeds[int(rng.integers(len(seeds)))]
        seed = best.assignments[(j, k)]
        machines = {m for m, _ in problem.jobs[j].operations[k].modes} if kind == "related" else all_machines
        window = windows[kind]
        t0 = (anchor((j, k), seed) if anchor is not None else seed.start) - window // 2
        hood = neighbourhood(problem, best, t0, t0 + window, machines)
        if hood is None:
            windows[kind] = min(options.max_window, window * 2)
            continue
        # steer the window towards the target number of free operations
        n_free = sum(1 for target in hood.origin.values() if target is not None)
        ratio = min(2.0, max(0.5, options.target_free[kind] / max(1, n_free)))
        windows[kind] = int(min(options.max_window, max(options.min_window, window * ratio**0.5)))
        stats.tried += 1
        stalled += 1
        sub_reference = None
        if reference is not None:
            sub_reference = {
                sub: reference[orig] for sub, orig in hood.origin.items() if orig is not None and orig in reference
            }
        model, v = build_model(hood.problem, sub_options, reference=sub_reference, hint=hood.hint)
        add_hints(model, v, hood.problem, hood.hint)
        model.minimize(
            sum(
                (w * v.criteria[c] for c, w in weights.items() if c in v.criteria),
                start=cp_model.LinearExpr.constant(0),
            )
        )
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.05, min(options.sub_time_limit, deadline - time.perf_counter()))
        solver.parameters.num_workers = options.workers
        solver.parameters.random_seed = int(rng.integers(1 << 30))
        code = solver.solve(model)
        stats.optimal += int(code == cp_model.OPTIMAL)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            continue
        candidate = with_real_setups(problem, _merge(best, hood, extract(solver.value, v, hood.problem)))
        candidate_score = score(candidate)
        if candidate_score < best_score:
            best, best_score = candidate, candidate_score
            stats.improved += 1
            stalled = 0
            stats.history.append((time.perf_counter() - started, float(candidate_score[0])))
    stats.seconds = time.perf_counter() - started
    log.info(
        "lns: %d neighbourhoods, %d improving, %d solved to optimality, final windows %s, %.1f s",
        stats.tried,
        stats.improved,
        stats.optimal,
        windows,
        stats.seconds,
    )
    return best, stats
