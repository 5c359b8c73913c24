"""The CP-SAT engine on tiny problems with known optima: model, solve, extract, setups, calendars, infeasibility."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from optimizer.schedule.heuristic import RULES, best_dispatch, dispatch, schedule_criteria
from optimizer.schedule.model import ModelOptions, build_model
from optimizer.schedule.problem import Fixed, Job, Operation, Problem, ScheduleInputError, violations
from optimizer.schedule.solve import SolveOptions, solve

FAST = SolveOptions(time_limit=5.0, workers=2)


def op(*modes: tuple[int, int]) -> Operation:
    return Operation(modes=tuple(modes))


def one_machine_families() -> Problem:
    """One machine, four jobs of families A, B, A, B; A<->B setup 10, same family 0; known optimum AABB."""
    setup = np.array([[0, 10], [10, 0]])
    jobs = tuple(Job(f"J{n}", (op((0, 5)),), family=f) for n, f in enumerate((0, 1, 0, 1)))
    return Problem(machines=("M",), jobs=jobs, families=("A", "B"), setup={0: setup})


def test_two_machine_flow_shop_optimum() -> None:
    # Johnson's rule: sequence J2 J0 J3 J4 J1 is optimal for this 2-machine flow shop, makespan 24
    times = [(3, 6), (5, 2), (1, 2), (6, 6), (7, 5)]
    problem = Problem(
        machines=("M1", "M2"),
        jobs=tuple(Job(f"J{n}", (op((0, a)), op((1, b)))) for n, (a, b) in enumerate(times)),
    )
    result = solve(problem, FAST)
    assert result.status == "OPTIMAL"
    assert result.criteria["makespan"] == 24 and result.best_bound == 24 and result.gap == 0.0
    assert result.schedule is not None and violations(problem, result.schedule) == []


def test_flexible_choice_uses_the_faster_machine() -> None:
    problem = Problem(machines=("slow", "fast"), jobs=(Job("J", (op((0, 10), (1, 4)),)),))
    result = solve(problem, FAST)
    assert result.schedule is not None
    assert result.schedule.assignments[(0, 0)].machine == 1 and result.criteria["makespan"] == 4


def test_changeovers_are_grouped_by_family_and_counted_exactly() -> None:
    problem = one_machine_families()
    result = solve(problem, replace(FAST, priorities=("changeover", "makespan")))
    assert result.status == "OPTIMAL"
    assert result.criteria["changeover"] == 10  # one family change
    assert result.criteria["makespan"] == 30  # 4 x 5 + one setup
    assert result.schedule is not None and violations(problem, result.schedule) == []
    families = [problem.jobs[a.job].family for a in result.schedule.sequences()[0]]
    assert families in ([0, 0, 1, 1], [1, 1, 0, 0])


def test_initial_family_charges_the_first_setup() -> None:
    problem = replace(one_machine_families(), initial_family={0: 1})
    result = solve(problem, replace(FAST, priorities=("changeover", "makespan")))
    assert result.criteria["changeover"] == 10
    assert result.schedule is not None
    assert problem.jobs[result.schedule.sequences()[0][0].job].family == 1  # continue the family in place


def test_weighted_tardiness_orders_jobs_by_weight() -> None:
    # both due at 5 on one machine: the heavy job goes first; tardiness = 1 x (10 - 5)
    jobs = (Job("light", (op((0, 5)),), due=5, weight=1), Job("heavy", (op((0, 5)),), due=5, weight=3))
    result = solve(Problem(machines=("M",), jobs=jobs), FAST)
    assert result.status == "OPTIMAL" and result.criteria["weighted_tardiness"] == 5
    assert result.schedule is not None and result.schedule.assignments[(1, 0)].start == 0


def test_unavailable_periods_are_never_crossed() -> None:
    # a 6-long operation cannot run across the break [4, 10): it starts at 10
    problem = Problem(machines=("M",), jobs=(Job("J", (op((0, 6)),)),), unavailable={0: ((4, 10),)})
    result = solve(problem, FAST)
    assert result.schedule is not None and result.schedule.assignments[(0, 0)].start == 10


def test_setup_must_also_fit_in_working_time() -> None:
    setup = np.array([[0, 3], [3, 0]])
    jobs = (Job("a", (op((0, 2)),), family=0), Job("b", (op((0, 2)),), family=1, release=2))
    problem = Problem(machines=("M",), jobs=jobs, families=("A", "B"), setup={0: setup}, unavailable={0: ((3, 8),)})
    result = solve(problem, FAST)
    assert result.schedule is not None and violations(problem, result.schedule) == []
    b = result.schedule.assignments[(1, 0)]
    assert b.start - b.setup >= 8  # the 3-minute changeover does not straddle the break


def test_release_deadline_and_fixed_operations_hold() -> None:
    jobs = (Job("fixed", (op((0, 4)),)), Job("late", (op((0, 3)),), release=2, deadline=20))
    problem = Problem(machines=("M",), jobs=jobs, fixed={(0, 0): Fixed(0, 1)})
    result = solve(problem, FAST)
    assert result.schedule is not None
    assert result.schedule.assignments[(0, 0)].start == 1
    assert result.schedule.assignments[(1, 0)].start >= 5


@pytest.mark.parametrize(
    ("problem", "fragment"),
    [
        (Problem(machines=("M",), jobs=(Job("J", (Operation(()),)),)), "has no eligible machine"),
        (
            Problem(machines=("M",), jobs=(Job("J", (op((0, 8)),)),), unavailable={0: ((5, 10),)}, horizon=12),
            "fits in no working window",
        ),
        (
            Problem(
                machines=("M",),
                jobs=(Job("A", (op((0, 5)),)), Job("B", (op((0, 5)),))),
                fixed={(0, 0): Fixed(0, 0), (1, 0): Fixed(0, 3)},
            ),
            "overlap",
        ),
        (Problem(machines=("M",), jobs=(Job("J", (op((3, 5)),)),)), "invalid modes"),
        (Problem(machines=("M",), jobs=(Job("J", (op((0, 5)),), release=3, deadline=6),)), "needs at least 5"),
    ],
)
def test_unschedulable_input_is_rejected_with_a_reason(problem: Problem, fragment: str) -> None:
    with pytest.raises(ScheduleInputError, match=fragment):
        solve(problem, FAST)


def test_infeasible_after_validation_reports_a_reason() -> None:
    # each job fits alone, but both must end by 6 on one machine: no schedule
    jobs = (Job("A", (op((0, 4)),), deadline=6), Job("B", (op((0, 4)),), deadline=6))
    result = solve(Problem(machines=("M",), jobs=jobs), replace(FAST, hint=False))
    assert result.status == "INFEASIBLE" and result.schedule is None
    assert result.reason is not None and "no schedule exists" in result.reason


def test_model_can_be_inspected_without_solving() -> None:
    model, v = build_model(one_machine_families())
    stats = model.proto
    assert any(c.has_circuit() for c in stats.constraints)
    assert any(c.has_no_overlap() for c in stats.constraints)
    assert set(v.criteria) == {"weighted_tardiness", "changeover", "makespan"}
    assert len(v.keys) == 4 and v.nodes[0] == [0, 1, 2, 3]


def test_sparse_circuit_with_reset_nodes_stays_feasible_and_reports_real_setups() -> None:
    rng = np.random.default_rng(3)
    setup = np.array([[0, 7, 9], [6, 0, 8], [5, 4, 0]])
    jobs = tuple(
        Job(
            f"J{n}",
            (op((0, int(rng.integers(2, 6))), (1, int(rng.integers(2, 6)))),),
            due=int(rng.integers(5, 60)),
            family=int(rng.integers(3)),
        )
        for n in range(14)
    )
    problem = Problem(machines=("M0", "M1"), jobs=jobs, families=("A", "B", "C"), setup={0: setup, 1: setup})
    options = replace(FAST, model=ModelOptions(full_circuit_max=4, sequence_window=5, family_window=20, breaks=3))
    _, sparse = build_model(problem, options.model)
    _, full = build_model(problem)
    assert sum(len(a) for a in sparse.arcs.values()) < sum(len(a) for a in full.arcs.values())
    assert len(sparse.resets[0]) == 3 and not full.resets[0]
    result = solve(problem, options)
    assert result.schedule is not None and violations(problem, result.schedule) == []
    assert result.criteria == schedule_criteria(problem, result.schedule)


@pytest.mark.parametrize("rule", RULES)
def test_dispatching_rules_give_feasible_schedules(rule: str) -> None:
    setup = np.array([[0, 3], [4, 0]])
    jobs = tuple(
        Job(f"J{n}", (op((0, 3), (1, 4)), op((2, 2))), due=10 + n, release=n % 3, family=n % 2) for n in range(8)
    )
    problem = Problem(
        machines=("a", "b", "c"), jobs=jobs, families=("F", "G"), setup={0: setup, 2: setup}, unavailable={2: ((6, 9),)}
    )
    schedule = dispatch(problem, rule, seed=1)
    assert schedule is not None and violations(problem, schedule) == []
    assert best_dispatch(problem, tries=2) is not None


def test_lexicographic_and_weighted_objectives_agree_on_a_dominated_choice() -> None:
    problem = one_machine_families()
    lex = solve(problem, replace(FAST, priorities=("changeover", "makespan")))
    weighted = solve(problem, replace(FAST, objective="weighted", weights={"changeover": 10, "makespan": 1}))
    assert lex.criteria == weighted.criteria
    assert [s.criterion for s in lex.stages] == ["changeover", "makespan"]
    assert [s.criterion for s in weighted.stages] == ["weighted"]


def test_solve_options_are_validated() -> None:
    with pytest.raises(ValueError, match="time_limit"):
        SolveOptions(time_limit=0)
    with pytest.raises(ValueError, match="unknown criteria"):
        SolveOptions(priorities=("cost",))
