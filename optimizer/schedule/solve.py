"""Solve a `Problem` with CP-SAT: hint, objective stages, result with status, objective, bound, gap and wall time.

Objective (`SolveOptions.objective`):

- ``"lexicographic"`` (default): minimize each criterion of `priorities` in turn (weighted tardiness, then total
  changeover time, then makespan), each stage keeping the earlier criteria at their best value found; a stage
  gets its share of the time left (`stage_shares`) and passes its unused time on. Criteria that cannot vary
  (no due dates, no setups) are skipped.
- ``"weighted"``: one objective Σ weights[c] × criterion c.

The solver starts from a hint: the best dispatching-rule schedule (`optimizer.schedule.heuristic`) or a given
schedule (rescheduling); a feasible hint is the first feasible schedule (`Result.first_solution_seconds`).
Plant-size problems (machines with more candidate operations than `ModelOptions.full_circuit_max`) first run
large-neighbourhood search (`optimizer.schedule.lns`) for `lns_share` of the time; the full model then polishes
the result and supplies the bound (without presolve, which alone can outlast the time left on such models).

The reported gap is (objective − bound) / max(1, |objective|) of the first criterion not proven optimal
(`Result.gap_criterion`); for one criterion (benchmarks) that is the usual gap.

Public interface: `SolveOptions`, `StageResult`, `Result`, `solve(problem, options, reference, start_from)`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ortools.sat.python import cp_model

from optimizer.schedule.extract import extract
from optimizer.schedule.heuristic import best_dispatch, schedule_criteria
from optimizer.schedule.lns import LnsOptions, LnsStats, improve
from optimizer.schedule.model import CRITERIA, ModelOptions, ModelVars, add_hints, build_model
from optimizer.schedule.problem import Problem, Schedule, validate, violations

log = logging.getLogger(__name__)

DEFAULT_PRIORITIES = ("weighted_tardiness", "changeover", "makespan")
#: Weights of the weighted objective: a minute of weighted tardiness costs as much as 100 minutes of makespan.
DEFAULT_WEIGHTS: Mapping[str, int] = {"weighted_tardiness": 100, "changeover": 10, "makespan": 1, "moves": 1000}


@dataclass(frozen=True)
class SolveOptions:
    """How to solve: time limit (s, wall clock), CP-SAT workers, objective and search settings."""

    time_limit: float = 60.0
    workers: int = 2
    objective: Literal["lexicographic", "weighted"] = "lexicographic"
    priorities: tuple[str, ...] = DEFAULT_PRIORITIES
    weights: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    stage_shares: tuple[float, ...] = (0.5, 0.3, 0.2, 0.2)
    hint: bool = True
    dispatch_tries: int = 1
    dispatch_seconds: float = 2.0
    model: ModelOptions = field(default_factory=ModelOptions)
    #: large-neighbourhood search before the full model: "auto" (large plant models), "on" or "off"
    lns: Literal["auto", "on", "off"] = "auto"
    #: share of the time limit given to LNS; the full model gets the rest (and reports the bound)
    lns_share: float = 0.8
    #: initial LNS window in time units
    lns_window: int = 2 * 1440
    #: share of the last stage's time for CP-SAT's LNS workers alone, once the whole portfolio has not proven
    #: optimality (0 = never)
    lns_only_share: float = 0.0
    seed: int = 0
    log_search: bool = False
    #: extra CP-SAT parameters, e.g. {"linearization_level": 2}
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.time_limit <= 0:
            raise ValueError(f"time_limit must be > 0 seconds, got {self.time_limit}")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.objective not in ("lexicographic", "weighted"):
            raise ValueError(f"objective must be 'lexicographic' or 'weighted', got {self.objective!r}")
        unknown = [c for c in (*self.priorities, *self.weights) if c not in CRITERIA]
        if unknown:
            raise ValueError(f"unknown criteria {unknown}; use {', '.join(CRITERIA)}")


@dataclass(frozen=True)
class StageResult:
    """One solver call: the criterion minimized (or "weighted"), its status, value, bound and seconds."""

    criterion: str
    status: str
    objective: float | None
    bound: float | None
    seconds: float

    @property
    def gap(self) -> float | None:
        if self.objective is None or self.bound is None:
            return None
        return max(0.0, self.objective - self.bound) / max(1.0, abs(self.objective))


@dataclass
class Result:
    """The outcome of `solve`: `schedule` is None only when no feasible schedule was found.

    `first_solution_seconds` is when the first feasible schedule existed (the dispatching hint, when feasible,
    else the solver's first solution); `wall_time` is the whole call; `stages` holds each solver call.
    """

    status: str
    schedule: Schedule | None
    objective: float | None
    best_bound: float | None
    gap: float | None
    gap_criterion: str | None
    wall_time: float
    first_solution_seconds: float | None
    criteria: dict[str, int]
    stages: list[StageResult]
    reason: str | None = None
    hint_criteria: dict[str, int] | None = None
    lns: dict[str, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (no schedule)."""
        return {
            "status": self.status,
            "objective": self.objective,
            "best_bound": self.best_bound,
            "gap": self.gap,
            "gap_criterion": self.gap_criterion,
            "wall_time": round(self.wall_time, 3),
            "first_solution_seconds": self.first_solution_seconds,
            "criteria": self.criteria,
            "hint_criteria": self.hint_criteria,
            "lns": self.lns,
            "stages": [
                {
                    "criterion": s.criterion,
                    "status": s.status,
                    "objective": s.objective,
                    "bound": s.bound,
                    "gap": s.gap,
                    "seconds": round(s.seconds, 3),
                }
                for s in self.stages
            ],
            "reason": self.reason,
        }


class _FirstSolution(cp_model.CpSolverSolutionCallback):
    """Records when the first solution of a solver call arrives (seconds since `origin`)."""

    def __init__(self, origin: float) -> None:
        super().__init__()
        self.origin = origin
        self.first: float | None = None

    def on_solution_callback(self) -> None:
        if self.first is None:
            self.first = time.perf_counter() - self.origin


def deadline_left(started: float, options: SolveOptions) -> float:
    """Seconds left of the time limit counted from `started`."""
    return options.time_limit - (time.perf_counter() - started)


def _parameters(solver: cp_model.CpSolver, options: SolveOptions, seconds: float) -> None:
    params = solver.parameters
    params.max_time_in_seconds = max(0.01, seconds)
    params.num_workers = options.workers
    params.random_seed = options.seed
    params.log_search_progress = options.log_search
    for name, value in options.parameters.items():
        if not hasattr(params, name):
            raise ValueError(f"unknown CP-SAT parameter {name!r}")
        target = getattr(params, name)
        if isinstance(target, list) or hasattr(target, "extend"):
            del target[:]
            target.extend(value if isinstance(value, list | tuple) else [value])
        else:
            setattr(params, name, value)


def _hint_from_response(model: cp_model.CpModel, response: Any) -> None:
    model.clear_hints()
    hint = model.proto.solution_hint
    hint.vars.extend(range(len(response.solution)))
    hint.values.extend(response.solution)


def _objective_expr(v: ModelVars, criteria: list[str], weights: Mapping[str, int]) -> cp_model.LinearExprT:
    return sum((weights.get(c, 0) * v.criteria[c] for c in criteria), start=cp_model.LinearExpr.constant(0))


def _lexicographic_weights(criteria: list[str]) -> dict[str, int]:
    """Weights that rank criteria lexicographically for values below 1,000 per step (used by LNS neighbourhoods,
    whose criteria are small)."""
    return {c: 1000 ** (len(criteria) - 1 - n) for n, c in enumerate(criteria)}


def _use_lns(problem: Problem, options: SolveOptions) -> bool:
    if options.lns != "auto":
        return options.lns == "on"
    counts: dict[int, int] = {}
    for _, _, op in problem.operations():
        for m, _ in op.modes:
            counts[m] = counts.get(m, 0) + 1
    crowded = any(n > options.model.full_circuit_max and problem.has_setups(m) for m, n in counts.items())
    return crowded or problem.n_operations > 1000


def solve(
    problem: Problem,
    options: SolveOptions | None = None,
    reference: Mapping[tuple[int, int], tuple[int, int]] | None = None,
    start_from: Schedule | None = None,
) -> Result:
    """Schedule `problem`; raises `ScheduleInputError` (with reasons) for input that cannot be scheduled.

    `reference` (rescheduling) counts operations moved away from their (machine, start) as criterion "moves";
    `start_from` replaces the dispatching-rule hint (it helps most when feasible, but need not be).
    """
    options = options or SolveOptions()
    started = time.perf_counter()
    validate(problem)
    incumbent = start_from
    if incumbent is None and options.hint:
        incumbent = best_dispatch(
            problem, options.priorities, tries=options.dispatch_tries, time_budget=options.dispatch_seconds
        )
    first_solution: float | None = None
    hint_schedule = incumbent
    if incumbent is not None and not violations(problem, incumbent):
        first_solution = time.perf_counter() - started
    else:
        incumbent = None  # an infeasible start only serves as a hint
    active = [c for c in options.priorities if _criterion_varies(problem, c, reference)] or ["makespan"]
    if options.objective == "weighted" and reference is not None and "moves" not in active:
        active.append("moves")
    lns_stats: LnsStats | None = None
    if first_solution is not None and incumbent is not None and reference is None and _use_lns(problem, options):
        lns_weights = dict(options.weights) if options.objective == "weighted" else _lexicographic_weights(active)
        score = _scorer(problem, active, lns_weights if options.objective == "weighted" else None)
        incumbent, lns_stats = improve(
            problem,
            incumbent,
            score,
            {c: lns_weights[c] for c in active if c in lns_weights},
            LnsOptions(workers=options.workers, seed=options.seed, window=options.lns_window),
            deadline=started + options.time_limit * options.lns_share,
            model_options=None,
        )
    if incumbent is not None:
        hint_schedule = incumbent
    model, v = build_model(problem, options.model, reference, hint=hint_schedule)
    hint_criteria = _criteria(problem, v, incumbent) if incumbent is not None else None
    if hint_schedule is not None:
        add_hints(model, v, problem, hint_schedule)
    log.info(
        "model: %d operations, %d variables, %d constraints, built at %.2f s",
        problem.n_operations,
        len(model.proto.variables),
        len(model.proto.constraints),
        time.perf_counter() - started,
    )
    stages_plan: list[tuple[str, list[str]]] = (
        [(c, [c]) for c in active] if options.objective == "lexicographic" else [("weighted", active)]
    )
    shares = [options.stage_shares[n] if n < len(options.stage_shares) else 0.2 for n in range(len(stages_plan))]
    stages: list[StageResult] = []
    status_all = "OPTIMAL"
    infeasible = False
    for n, (label, terms) in enumerate(stages_plan):
        remaining = options.time_limit - (time.perf_counter() - started)
        if remaining <= 0.05:
            status_all = "FEASIBLE"
            break
        budget = remaining * shares[n] / sum(shares[n:]) if n < len(stages_plan) - 1 else remaining
        weights: Mapping[str, int] = {c: 1 for c in terms} if len(terms) == 1 else options.weights
        model.minimize(_objective_expr(v, terms, weights))
        solver = cp_model.CpSolver()
        _parameters(solver, options, budget)
        if lns_stats is not None and "cp_model_presolve" not in options.parameters:
            # after LNS the full model polishes and bounds; its presolve alone can take longer than the time left
            solver.parameters.cp_model_presolve = False
        split = n == len(stages_plan) - 1 and 0 < options.lns_only_share < 1 and lns_stats is None
        if split:  # first the whole portfolio (it proves), then only its LNS workers (they improve)
            solver.parameters.max_time_in_seconds = max(0.01, budget * (1 - options.lns_only_share))
        tracker = _FirstSolution(started)
        stage_started = time.perf_counter()
        code = solver.solve(model, tracker)
        status = solver.status_name(code)
        if first_solution is None and tracker.first is not None:
            first_solution = tracker.first
        lower_bound = float(solver.best_objective_bound)
        if split and code == cp_model.FEASIBLE and deadline_left(started, options) > 0.1:
            _hint_from_response(model, solver.response_proto)
            polish = cp_model.CpSolver()
            _parameters(polish, options, deadline_left(started, options))
            polish.parameters.use_lns_only = True
            polished = polish.solve(model)
            if polished in (cp_model.OPTIMAL, cp_model.FEASIBLE) and polish.objective_value <= solver.objective_value:
                solver, code = polish, polished
                status = "OPTIMAL" if polish.objective_value <= lower_bound else polish.status_name(polished)
        seconds = time.perf_counter() - stage_started
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            incumbent = extract(solver.value, v, problem)
            value, lower = float(solver.objective_value), max(lower_bound, float(solver.best_objective_bound))
            stages.append(StageResult(label, status, value, lower, seconds))
            if code != cp_model.OPTIMAL:
                status_all = "FEASIBLE"
            _hint_from_response(model, solver.response_proto)
            if n < len(stages_plan) - 1:
                model.add(_objective_expr(v, terms, weights) <= round(value))
            continue
        if code == cp_model.INFEASIBLE and not stages:
            infeasible = True
            stages.append(StageResult(label, status, None, None, seconds))
            break
        # no solution in this stage's time: keep the incumbent, whose value bounds the next stages
        stages.append(StageResult(label, status, None, None, seconds))
        status_all = "FEASIBLE" if incumbent is not None else "UNKNOWN"
        if incumbent is None:
            break
        if n < len(stages_plan) - 1:
            values = _criteria(problem, v, incumbent)
            model.add(_objective_expr(v, terms, weights) <= sum(weights.get(c, 0) * values[c] for c in terms))
    wall = time.perf_counter() - started
    if infeasible:
        return Result(
            status="INFEASIBLE",
            schedule=None,
            objective=None,
            best_bound=None,
            gap=None,
            gap_criterion=None,
            wall_time=wall,
            first_solution_seconds=None,
            criteria={},
            stages=stages,
            reason=_infeasibility_reason(problem),
            hint_criteria=hint_criteria,
        )
    if incumbent is None:
        return Result(
            "UNKNOWN", None, None, None, None, None, wall, None, {}, stages, "no schedule found in the time limit"
        )
    criteria = _criteria(problem, v, incumbent)
    headline = next((s for s in stages if s.status != "OPTIMAL"), stages[-1] if stages else None)
    objective: float | None = headline.objective if headline else None
    if headline is not None and headline.objective is None:
        # the solver found nothing better than the incumbent in that stage: report the incumbent's value
        stage_weights = options.weights if headline.criterion == "weighted" else {headline.criterion: 1}
        stage_terms = active if headline.criterion == "weighted" else [headline.criterion]
        objective = float(sum(stage_weights.get(c, 0) * criteria[c] for c in stage_terms))
    bound: float | None = headline.bound if headline else None
    gap = None if objective is None or bound is None else max(0.0, objective - bound) / max(1.0, abs(objective))
    return Result(
        status=status_all if stages else "FEASIBLE",
        schedule=incumbent,
        objective=objective,
        best_bound=bound,
        gap=gap,
        gap_criterion=headline.criterion if headline else None,
        wall_time=wall,
        first_solution_seconds=first_solution,
        criteria=criteria,
        stages=stages,
        hint_criteria=hint_criteria,
        lns=None
        if lns_stats is None
        else {
            "tried": lns_stats.tried,
            "improved": lns_stats.improved,
            "optimal": lns_stats.optimal,
            "seconds": round(lns_stats.seconds, 2),
        },
    )


def _criterion_varies(
    problem: Problem, criterion: str, reference: Mapping[tuple[int, int], tuple[int, int]] | None
) -> bool:
    if criterion == "weighted_tardiness":
        return any(job.due is not None and job.weight > 0 for job in problem.jobs)
    if criterion == "changeover":
        return any(problem.has_setups(m) for m in range(len(problem.machines)))
    if criterion == "moves":
        return bool(reference)
    return True


def _scorer(
    problem: Problem, criteria: list[str], weights: Mapping[str, int] | None
) -> Callable[[Schedule], tuple[float, ...]]:
    """Score of a whole schedule: (Σ weights × criteria,) or the criteria in priority order."""

    def score(schedule: Schedule) -> tuple[float, ...]:
        values = schedule_criteria(problem, schedule)
        if weights is None:
            return tuple(float(values[c]) for c in criteria)
        return (float(sum(weights.get(c, 0) * values[c] for c in criteria)),)

    return score


def _criteria(problem: Problem, v: ModelVars, schedule: Schedule) -> dict[str, int]:
    values = schedule_criteria(problem, schedule)
    if v.reference:
        values["moves"] = sum(
            1
            for key, (machine, begin) in v.reference.items()
            if key in schedule.assignments
            and key not in problem.fixed
            and (schedule.assignments[key].machine != machine or schedule.assignments[key].start != begin)
        )
    return values


def _infeasibility_reason(problem: Problem) -> str:
    """Why a validated problem has no schedule: try the usual culprits one at a time on a short budget."""
    probes = [
        ("the horizon is too short", replace(problem, horizon=problem.default_horizon() * 2)),
        ("fixed (started or frozen) operations leave no room", replace(problem, fixed={})),
        ("unavailable periods (shifts, downtime) leave no room", replace(problem, unavailable={})),
    ]
    for why, relaxed in probes:
        model, _ = build_model(relaxed)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = 5.0
        solver.parameters.num_workers = 2
        if solver.solve(model) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return f"no schedule exists: {why} (relaxing it gives a schedule)"
    return "no schedule exists; check routings, fixed operations and calendars"
