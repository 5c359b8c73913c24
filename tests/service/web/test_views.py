"""View models of the planner pages on SQLite and Postgres: empty database, the seeded sample, filters and sorting of
the replenishment list, the schedule, the models page without MLflow, what-if; and the pure helpers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from optimizer.whatif import Change
from service.db.tables import Alert, PlanLine
from service.web import fmt
from service.web.lines import PAGE_SIZE, LineQuery, lines_page
from service.web.models import models_page, ui_base
from service.web.overview import frontier_chart, overview
from service.web.plans import replenishment_plan, replenishment_plans, schedule_plan
from service.web.schedule import schedule_page
from service.web.sku import intervals, projection, sku_page
from service.web.whatif import current, default_sku, evaluate
from service.whatif import UnknownSkus
from tests.service.web.sample import SCHEDULE_PLAN, seed_sample, write_frontier


@pytest.fixture
def seeded(engine: Engine) -> dict[str, str]:
    return seed_sample(engine, n=12)


def test_formatting() -> None:
    assert fmt.num(1234567.4) == "1,234,567"
    assert fmt.num(-0.2) == "0"
    assert fmt.num(None) == "—" and fmt.num(float("nan")) == "—" and fmt.num(float("inf")) == "∞"
    assert fmt.qty(12.34, "units") == "12.3 units" and fmt.qty(3.0) == "3" and fmt.qty(0.04) == "0.04"
    assert fmt.money(2_410_000, compact=True) == "2.41 M" and fmt.money(1234.5) == "1,234" and fmt.money(1.5) == "1.50"
    assert fmt.pct(0.9531) == "95.3 %"
    assert fmt.days(586.2) == "586 d" and fmt.days(2.25) == "2.2 d"
    assert fmt.minutes(135) == "2 h 15 min" and fmt.minutes(45) == "45 min"
    assert fmt.version("7") == "v7" and fmt.version("bench-1") == "bench-1"
    assert str(fmt.ticks("run `a<b` & go")) == "run <code>a&lt;b</code> &amp; go"


def test_intervals_use_the_stored_pairs() -> None:
    assert intervals([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]) == [(0.05, 0.95), (0.1, 0.9)]
    assert intervals([0.025, 0.1, 0.5, 0.9, 0.975]) == [(0.025, 0.975), (0.1, 0.9)]
    assert intervals([0.1, 0.5, 0.9]) == [(0.1, 0.9)]
    assert intervals([0.5, 0.9]) == []


def test_projection_takes_demand_and_adds_receipts() -> None:
    start = dt.date(2024, 1, 1)
    demand = [(dt.date(2024, 1, 1), 31.0), (dt.date(2024, 2, 1), 29.0)]
    dates, levels, received = projection(start, 100.0, [(dt.date(2024, 1, 11), 50.0)], demand)
    assert dates[0] == start and levels[0] == 100.0
    assert received == [(dt.date(2024, 1, 11), 50.0, 140.0)]  # 10 days of 1/day used, then +50
    assert levels[-1] == pytest.approx(100 - 31 - 29 + 50)


def test_empty_database(engine: Engine, tmp_path: Path) -> None:
    o = overview(engine, tmp_path)
    assert o.plan is None and o.items == 0 and o.frontier is None
    assert "leanplan bench policy" in o.frontier_note
    assert schedule_page(engine).plan is None
    assert sku_page(engine, "X-1", "sqlite:///nowhere.db").item is None
    assert default_sku(engine) is None
    page = models_page(engine, f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert page.versions == [] and page.problem.startswith("No MLflow store at")
    assert not (tmp_path / "mlflow.db").exists()


def test_overview(engine: Engine, seeded: dict[str, str], tmp_path: Path) -> None:
    write_frontier(tmp_path)
    o = overview(engine, tmp_path)
    assert o.plan is not None and o.plan.id == seeded["plan_id"]
    assert o.previous is not None and o.previous.id == seeded["previous_plan_id"]
    with engine.connect() as conn:
        value = conn.execute(select(func.sum(PlanLine.capital)).where(PlanLine.plan_id == o.plan.id)).scalar()
        alerts = conn.execute(select(func.count()).select_from(Alert).where(Alert.plan_id == o.plan.id)).scalar()
    assert o.kpis["inventory_value"] == pytest.approx(value)
    assert o.kpis["capital_released"] == pytest.approx(
        o.previous.summary["capital_expected"] - o.plan.summary["capital_expected"]
    )
    assert 0 < o.kpis["fill_rate"] <= 1 and o.kpis["days_of_supply"] > 0
    assert list(o.severity)[:4] == ["critical", "high", "medium", "low"] and sum(o.severity.values()) == alerts
    risks = [a["value_at_risk"] for a in o.top_alerts]
    assert risks == sorted(risks, reverse=True)
    assert o.frontier is not None and {t["name"] for t in o.frontier["data"]} >= {"leanplan", "ERP min/max"}


def test_frontier_file_unreadable(tmp_path: Path) -> None:
    (tmp_path / "policy_raf.json").write_text("{not json")
    chart, note = frontier_chart(tmp_path / "policy_raf.json")
    assert chart is None and "leanplan bench policy" in note


def test_plans_are_recognised_by_their_rows(engine: Engine, seeded: dict[str, str]) -> None:
    with engine.connect() as conn:
        assert [p.id for p in replenishment_plans(conn)] == [seeded["plan_id"], seeded["previous_plan_id"]]
        schedule = schedule_plan(conn)
        assert schedule is not None and schedule.id == SCHEDULE_PLAN
        assert replenishment_plan(conn, "nope") is None


def test_lines_filter_sort_page(engine: Engine, seeded: dict[str, str]) -> None:
    with engine.connect() as conn:
        plan = replenishment_plan(conn)
    assert plan is not None
    everything = lines_page(engine, plan, LineQuery.of())
    assert everything.total == everything.matching == 12 and len(everything.rows) == 12
    by_sku = lines_page(engine, plan, LineQuery.of(sort="sku", dir="asc"))
    assert [r["sku"] for r in by_sku.rows] == [f"RAF-{i:04d}" for i in range(1, 13)]
    orders = lines_page(engine, plan, LineQuery.of(orders="1", sort="order_qty", dir="desc"))
    qty = [r["order_qty"] for r in orders.rows]
    assert qty and all(q > 0 for q in qty) and qty == sorted(qty, reverse=True)
    flagged = lines_page(engine, plan, LineQuery.of(alert="any"))
    assert flagged.matching == len({r["sku"] for r in flagged.rows}) and all(r["alerts"] for r in flagged.rows)
    none = lines_page(engine, plan, LineQuery.of(alert="none"))
    assert none.matching + flagged.matching == 12
    cls = everything.classes[0]
    assert all(r["abc"] == cls for r in lines_page(engine, plan, LineQuery.of(abc=cls)).rows)
    supplier, count = everything.suppliers[0]
    assert lines_page(engine, plan, LineQuery.of(supplier=supplier)).matching == count
    assert lines_page(engine, plan, LineQuery.of(q="raf-000")).matching == 9
    assert lines_page(engine, plan, LineQuery.of(q="%")).matching == 0
    beyond = lines_page(engine, plan, LineQuery.of(page="3"))
    assert beyond.rows == [] and beyond.pages == 1 and PAGE_SIZE == 50


def test_line_query_sanitises() -> None:
    q = LineQuery.of(sort="DROP TABLE", dir="sideways", page="-4", alert="bogus")
    assert (q.sort, q.dir, q.page, q.alert) == ("value_at_risk", "desc", 1, "")
    q = LineQuery.of(sort="order_qty", dir="desc", abc="A")
    assert q.sort_link("order_qty") == "abc=A&sort=order_qty&dir=asc"
    assert q.params(page=2) == "abc=A&sort=order_qty&dir=desc&page=2"


def test_sku_page(engine: Engine, seeded: dict[str, str]) -> None:
    p = sku_page(engine, "RAF-0003", "sqlite:///nowhere.db")
    assert p.item is not None and p.line is not None and p.plan is not None
    assert p.model_version == "3" and p.champion is None
    assert p.interval_labels == ["90 % interval (q0.05–q0.95)", "80 % interval (q0.1–q0.9)"]
    assert p.demand_chart is not None and p.projection_chart is not None
    assert p.history_periods == 84
    assert p.receipts["supplier"] == p.line["supplier_id"]
    unknown = sku_page(engine, "RAF-9", "sqlite:///nowhere.db")
    assert unknown.item is None and unknown.matches[:2] == ["RAF-0001", "RAF-0002"]


def test_schedule_page(engine: Engine, seeded: dict[str, str]) -> None:
    s = schedule_page(engine)
    assert s.plan is not None and s.operations == 6 and s.kpis["late_orders"] == 1
    assert [op["job_id"] for op in s.late] == ["PO-3"]
    assert [line["line_id"] for line in s.lines] == ["L01", "L02"]
    assert s.chart is not None
    names = [t["name"] for t in s.chart["data"]]
    assert names[0] == "changeover" and names[-1] == "late"
    assert len(s.chart["data"][0]["x"]) == 4  # four operations with a setup
    assert schedule_page(engine, "nope").plan is None


def test_what_if(engine: Engine, seeded: dict[str, str]) -> None:
    sku = default_sku(engine)
    assert sku is not None and sku.startswith("RAF-")
    figures = current(engine, "RAF-0003")
    out = evaluate(engine, "RAF-0003", Change(lead_time_days=5))
    # the form starts from the fill rate the plan gave the SKU, which is the baseline's target
    assert figures is not None and 0.95 <= figures["service_target"] < 1
    assert figures["service_target"] == pytest.approx(out["results"][0]["baseline"]["service_target"])
    assert out["plan_id"] == seeded["plan_id"] and out["model_version"] == "3"
    assert out["as_of"] == "2003-01-01"
    result = out["results"][0]
    assert result["scenario"]["lead_time_days"] == pytest.approx(5)
    # a shorter lead time never raises the reorder point (for this lumpy part it stays: one lump sets it)
    assert result["delta"]["reorder_point"] <= 0
    assert result["scenario"]["lead_time_days"] < result["baseline"]["lead_time_days"]
    with pytest.raises(UnknownSkus):
        evaluate(engine, "NOPE", Change())
    assert current(engine, "NOPE") is None


def test_ui_base() -> None:
    assert ui_base("http://mlflow:5000/") == ("http://mlflow:5000", "")
    base, hint = ui_base("sqlite:///var/mlflow.db")
    assert base == "http://127.0.0.1:5000" and "mlflow ui --backend-store-uri sqlite:///var/mlflow.db" in hint
