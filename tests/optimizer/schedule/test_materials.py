"""Schedules that wait for material: tiny instances with known answers, input errors, the dispatching rule and
repairs, and the sample factory checked against stock recomputed from the tables (independent of the model)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.schedule import Job, Operation, Problem, ScheduleInputError, SolveOptions, solve, violations
from optimizer.schedule.heuristic import best_dispatch
from optimizer.schedule.materials import Hold, Material, Output, Supply, Use, binding, holds, shortfalls
from optimizer.schedule.model import build_model
from optimizer.schedule.plant import build_problem
from optimizer.schedule.plant_materials import MaterialTables
from optimizer.schedule.report import kpis, schedule_table
from optimizer.schedule.requirements import NettingOptions, active_bom, production_orders
from optimizer.schedule.reschedule import Breakdown, RescheduleOptions, reschedule
from pipelines.ingest import read_table

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"
QUICK = SolveOptions(time_limit=3.0, workers=2)


def _reservoirs(problem: Problem) -> int:
    model, _ = build_model(problem)
    return sum(1 for c in model.proto.constraints if c.has_reservoir())


def receipt_at_10() -> Problem:
    """One job on one machine needs 10 units of X; none on hand, receipt PO-1 of 10 at t=10."""
    return Problem(
        machines=("M",),
        jobs=(Job("A", (Operation(((0, 5),)),), due=5),),
        materials=(Material("X", (Supply(0, 0, "on hand"), Supply(10, 10, "PO-1")), (Use(0, 0, 10),)),),
        horizon=100,
    )


def test_a_component_arriving_at_10_holds_its_operation_until_10() -> None:
    problem = receipt_at_10()
    assert _reservoirs(problem) == 1
    result = solve(problem, QUICK)
    assert result.status == "OPTIMAL" and result.schedule is not None
    assert result.schedule.assignments[(0, 0)].start == 10 and result.criteria["weighted_tardiness"] == 10
    assert holds(problem, result.schedule) == [Hold(0, 0, "X", missing=10, ready=0, arrives=10, source="PO-1")]
    assert not violations(problem, result.schedule)


def test_a_made_component_comes_from_the_end_of_its_order() -> None:
    """BULK (4 min on M1) makes 10 of B; P's second step (on M2) consumes it, so it waits for BULK's end."""
    problem = Problem(
        machines=("M1", "M2"),
        jobs=(
            Job("BULK", (Operation(((0, 4),)),), due=4),
            Job("P", (Operation(((1, 1),)), Operation(((1, 2),))), due=3),
        ),
        materials=(Material("B", (), (Use(1, 1, 10),), (Output(0, 10),)),),
        horizon=50,
    )
    result = solve(problem, QUICK)
    assert result.schedule is not None
    bulk_end = result.schedule.assignments[(0, 0)].end
    assert result.schedule.assignments[(1, 1)].start >= bulk_end == 4
    assert holds(problem, result.schedule) == [Hold(1, 1, "B", missing=10, ready=1, arrives=4, source="BULK")]
    hint = best_dispatch(problem)
    assert hint is not None and not shortfalls(problem, hint)


def test_material_that_never_arrives_is_refused_by_name() -> None:
    short = Problem(
        machines=("M",),
        jobs=(Job("A", (Operation(((0, 5),)),)),),
        materials=(Material("X", (Supply(0, 5, "on hand"),), (Use(0, 0, 10),)),),
        horizon=100,
    )
    with pytest.raises(ScheduleInputError, match=r"material 'X': the operations need 10 .* only 5 \(5 short\)"):
        solve(short, QUICK)
    late = Problem(
        machines=("M",),
        jobs=(Job("A", (Operation(((0, 5),)),)),),
        materials=(Material("X", (Supply(200, 10, "PO-2"),), (Use(0, 0, 10),)),),
        horizon=100,
    )
    with pytest.raises(ScheduleInputError, match="receipts by the horizon 100"):
        solve(late, QUICK)
    unknown = Problem(
        machines=("M",), jobs=(Job("A", (Operation(((0, 5),)),)),), materials=(Material("X", (), (Use(0, 3, 1),)),)
    )
    with pytest.raises(ScheduleInputError, match=r"used by operation \(0, 3\), which does not exist"):
        solve(unknown, QUICK)


def test_material_covered_at_every_time_stays_out_of_the_model() -> None:
    plenty = Problem(
        machines=("M",),
        jobs=(Job("A", (Operation(((0, 5),)),)), Job("B", (Operation(((0, 5),)),), release=20)),
        materials=(Material("X", (Supply(0, 10), Supply(15, 10)), (Use(0, 0, 10), Use(1, 0, 10))),),
    )
    assert not binding(plenty, plenty.materials[0]) and _reservoirs(plenty) == 0
    tight = Problem(
        plenty.machines,
        plenty.jobs,
        materials=(Material("X", (Supply(0, 10), Supply(25, 10)), (Use(0, 0, 10), Use(1, 0, 10))),),
    )
    assert binding(tight, tight.materials[0]) and _reservoirs(tight) == 1


def _levels_ok(problem: Problem, schedule: object) -> bool:
    """Recompute each material's level at every use from the schedule alone: supplies, uses and outputs at or
    before the use's start."""
    assignments = schedule.assignments  # type: ignore[attr-defined]
    for material in problem.materials:
        for use in material.uses:
            t = assignments[(use.job, use.op)].start
            level = sum(s.qty for s in material.supplies if s.time <= t)
            level -= sum(u.qty for u in material.uses if assignments[(u.job, u.op)].start <= t)
            level += sum(
                o.qty
                for o in material.outputs
                if assignments[(o.job, len(problem.jobs[o.job].operations) - 1)].end <= t
            )
            if level < 0:
                return False
    return True


@st.composite
def material_problems(draw: st.DrawFn) -> Problem:
    n_jobs = draw(st.integers(2, 5))
    jobs = []
    for j in range(n_jobs):
        ops = tuple(
            Operation(tuple((m, draw(st.integers(1, 6))) for m in draw(st.sampled_from([(0,), (1,), (0, 1)]))))
            for _ in range(draw(st.integers(1, 2)))
        )
        jobs.append(Job(f"J{j}", ops, release=draw(st.integers(0, 5)), due=draw(st.integers(5, 30))))
    maker = 0  # job 0 makes component Y, consumed by the others' last steps
    uses = [Use(j, len(jobs[j].operations) - 1, draw(st.integers(1, 4))) for j in range(1, n_jobs)]
    made = sum(u.qty for u in uses)
    stock = draw(st.integers(0, made))
    receipts = tuple(Supply(draw(st.integers(0, 40)), draw(st.integers(1, 5)), f"PO-{n}") for n in range(2))
    return Problem(
        machines=("M0", "M1"),
        jobs=tuple(jobs),
        materials=(
            Material("Y", (Supply(0, stock, "on hand"),), tuple(uses), (Output(maker, made),)),
            Material("Z", receipts, tuple(Use(j, 0, 1) for j in range(n_jobs) if j % 2 == 0)),
        ),
        horizon=300,
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(material_problems())
def test_no_operation_starts_before_its_material_on_random_instances(problem: Problem) -> None:
    hint = best_dispatch(problem)
    assert hint is not None and _levels_ok(problem, hint) and not violations(problem, hint)
    result = solve(problem, SolveOptions(time_limit=10.0, workers=2))  # small: proven long before on a quiet machine
    assert result.schedule is not None and _levels_ok(problem, result.schedule)


# --- the sample factory --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def factory() -> dict[str, pd.DataFrame]:
    """The sample plant restricted to the concessional co-payment products of three families and everything they
    are made of."""
    names = ("items", "demand", "inventory", "open_orders", "customer_orders", "routings", "lines", "line_downtime")
    frames: dict[str, pd.DataFrame] = {}
    for name in (*names, "changeovers", "bom"):
        files = sorted(SAMPLE.glob(f"{name}.csv")) + sorted(SAMPLE.glob(f"{name}.*.csv"))
        frames[name] = pd.concat([read_table(f, name)[1] for f in files], ignore_index=True)
    items = frames["items"]
    chosen = items["sku"].str.match(r"PBS-C-CP-[ACN]") | ~items["sku"].str.startswith(("PBS", "RAF"))
    frames["items"] = items[chosen].reset_index(drop=True)
    frames["demand"] = frames["demand"][frames["demand"]["sku"].isin(frames["items"]["sku"])]
    return frames


@pytest.fixture(scope="module")
def factory_plan(factory: dict[str, pd.DataFrame]) -> tuple[Problem, object, object, pd.DataFrame]:
    as_of = pd.Timestamp("2008-07-01")
    orders = production_orders(
        factory["items"],
        factory["demand"],
        factory["inventory"],
        factory["open_orders"],
        factory["customer_orders"],
        factory["routings"],
        NettingOptions(as_of=as_of, horizon_days=14),
        bom=factory["bom"],
    )
    problem, index = build_problem(
        orders,
        factory["items"],
        factory["lines"],
        factory["routings"],
        factory["changeovers"],
        factory["line_downtime"],
        as_of,
        14,
        materials=MaterialTables(factory["bom"], factory["inventory"], factory["open_orders"]),
    )
    result = solve(problem, SolveOptions(time_limit=8.0, workers=2, objective="weighted"))
    assert result.schedule is not None
    return problem, index, result.schedule, orders


def test_made_components_get_orders_due_before_the_orders_that_consume_them(
    factory: dict[str, pd.DataFrame], factory_plan: tuple[Problem, object, object, pd.DataFrame]
) -> None:
    orders = factory_plan[3]
    bulks = orders[orders["sku"].str.startswith("BLK-")]
    assert len(bulks) > 0 and (bulks["kind"] == "planned").all()
    parents = orders.set_index("order_id")
    for bulk in bulks.to_dict("records"):
        parent = parents.loc[bulk["covers"]]  # the order whose requirement the lot was netted for
        line = factory["bom"][(factory["bom"]["parent_sku"] == parent["sku"])]
        assert bulk["sku"] in set(line["component_sku"]) and bulk["due"] <= parent["due"]


def test_the_sample_factory_schedule_never_starts_before_stock_recomputed_from_the_tables(
    factory: dict[str, pd.DataFrame], factory_plan: tuple[Problem, object, object, pd.DataFrame]
) -> None:
    """Stock of every component over time from the tables and the schedule table alone (real units, no model
    quantities): on hand, open orders not scheduled here at their due date, outputs at the end of their order,
    uses at the start of the consuming step."""
    problem, index, schedule, _ = factory_plan
    table = schedule_table(problem, index, schedule)  # type: ignore[arg-type]
    as_of = pd.Timestamp("2008-07-01")
    bom = active_bom(factory["bom"], as_of)
    first_step = table.groupby("job")["operation"].min()
    last = table.sort_values("operation").groupby("job").last()
    stock = factory["inventory"].sort_values("as_of").groupby("sku").last()
    scheduled = set(index.orders.loc[index.orders["kind"] == "open", "covers"])  # type: ignore[attr-defined]
    uses = table.merge(bom, left_on="sku", right_on="parent_sku")
    consumed_at = uses["op"].where(uses["op"] > 0, uses["job"].map(first_step))  # op 0: the first step
    uses = uses[consumed_at == uses["operation"]]
    assert len(uses) > 0
    checked = 0
    for component, frame in uses.groupby("component_sku"):
        events = [(as_of, float(stock["on_hand"].get(component, 0.0)))]
        receipts = factory["open_orders"][
            (factory["open_orders"]["sku"] == component) & ~factory["open_orders"]["id"].isin(scheduled)
        ]
        events += [
            (max(as_of, pd.Timestamp(d)), float(q)) for d, q in zip(receipts["due_date"], receipts["qty"], strict=True)
        ]
        made = last[last["sku"] == component]
        events += [(pd.Timestamp(e), float(q)) for e, q in zip(made["end"], made["qty"], strict=True)]
        need = frame["qty"] * frame["qty_per"] / (1 - frame["scrap_rate"])
        events += [(pd.Timestamp(s), -float(q)) for s, q in zip(frame["start"], need, strict=True)]
        for start in frame["start"]:
            level = sum(q for t, q in events if t <= pd.Timestamp(start))
            assert level >= -1e-6, f"{component} stands at {level} at {start}"
            checked += 1
    assert checked == len(uses)
    held = table[table["held_by_material"] != ""]
    assert len(held) > 0 and held["held_by_material"].str.contains(" short until ").all()
    assert (
        kpis(table, factory["lines"], factory["line_downtime"], as_of, as_of + pd.Timedelta(days=14))[
            "orders_held_by_material"
        ]
        == held["job"].nunique()
    )


def test_blocked_orders_are_left_out_and_named(factory_plan: tuple[Problem, object, object, pd.DataFrame]) -> None:
    _, index, _, orders = factory_plan
    blocked = index.blocked  # type: ignore[attr-defined]
    scheduled = set(index.orders["order_id"])  # type: ignore[attr-defined]
    assert scheduled.isdisjoint(blocked["order_id"]) and len(scheduled) + blocked["order_id"].nunique() == len(orders)
    assert (blocked["missing"] > 0).all() and (blocked["available"] < blocked["need"]).all()


def test_rescheduling_after_a_breakdown_keeps_material(
    factory_plan: tuple[Problem, object, object, pd.DataFrame],
) -> None:
    problem, index, schedule, _ = factory_plan
    now = 2 * 1440
    line = index.line_index["L02"]  # type: ignore[attr-defined]
    repaired = reschedule(
        problem,
        schedule,  # type: ignore[arg-type]
        now,
        breakdowns=[Breakdown(line, now, now + 1440)],
        options=RescheduleOptions(time_limit=5.0),
    )
    assert repaired.schedule is not None
    assert not shortfalls(repaired.problem, repaired.schedule) and not violations(repaired.problem, repaired.schedule)
