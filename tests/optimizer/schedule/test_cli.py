"""`leanplan plan production` and `leanplan bench schedule` as a user runs them, and the plan's storage."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from service.cli.schedule import store_schedule
from service.db.engine import make_engine
from service.db.tables import Plan, ScheduledOperation
from tests.factories import valid_tables, write_csvs

INSTANCES = Path(__file__).parent / "instances"


def leanplan(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEANPLAN_HOME": str(home), "DATABASE_URL": f"sqlite:///{home / 'cli.db'}"}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], capture_output=True, text=True, env=env, timeout=180, check=False
    )


def test_plan_production_stores_the_plan_and_writes_files(tmp_path: Path) -> None:
    write_csvs(valid_tables(), tmp_path / "in")
    assert leanplan("import", str(tmp_path / "in"), home=tmp_path).returncode == 0
    out = tmp_path / "out"
    result = leanplan(
        "plan",
        "production",
        "--as-of",
        "2024-03-01",
        "--horizon",
        "14",
        "--time-limit",
        "3",
        "--out",
        str(out),
        home=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("plan pl-") and "on time" in result.stdout
    plan_id = result.stdout.split()[1].rstrip(":")
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with engine.connect() as conn:
        plan = conn.execute(select(Plan).where(Plan.id == plan_id)).one()
        ops = conn.execute(select(ScheduledOperation).where(ScheduledOperation.plan_id == plan_id)).all()
    assert plan.status == "done" and plan.params["kind"] == "production" and plan.as_of == dt.date(2024, 3, 1)
    assert plan.params["forecast"] == {"fallback": "trailing 12-month mean"}
    assert "kpis" in plan.summary and plan.summary["solver"]["status"] in ("OPTIMAL", "FEASIBLE")
    assert {o.job_id for o in ops} >= {"MO-1"} and {o.line_id for o in ops} <= {"L1", "L2"}
    assert all(o.end > o.start for o in ops)
    table = pd.read_csv(out / f"{plan_id}.csv")
    assert len(table) == len(ops)
    assert json.loads((out / f"{plan_id}.gantt.json").read_text())
    assert (out / f"{plan_id}.xlsx").stat().st_size > 0


def test_reschedule_a_stored_plan_after_a_breakdown(tmp_path: Path) -> None:
    write_csvs(valid_tables(), tmp_path / "in")
    assert leanplan("import", str(tmp_path / "in"), home=tmp_path).returncode == 0
    planned = leanplan(
        "plan", "production", "--as-of", "2024-03-01", "--horizon", "14", "--time-limit", "2", home=tmp_path
    )
    assert planned.returncode == 0, planned.stderr
    plan_id = planned.stdout.split()[1].rstrip(":")
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with engine.connect() as conn:
        first = conn.execute(
            select(ScheduledOperation).where(ScheduledOperation.plan_id == plan_id).order_by(ScheduledOperation.start)
        ).first()
    assert first is not None
    start, end = (
        first.start.isoformat(timespec="minutes"),
        (first.end + dt.timedelta(hours=2)).isoformat(timespec="minutes"),
    )
    result = leanplan(
        "plan",
        "reschedule",
        plan_id,
        "--breakdown",
        f"{first.line_id},{start},{end}",
        "--time-limit",
        "3",
        "--out",
        str(tmp_path / "out"),
        home=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert f"(from {plan_id})" in result.stdout and "hit by" in result.stdout
    new_id = result.stdout.split()[1]
    with engine.connect() as conn:
        plan = conn.execute(select(Plan).where(Plan.id == new_id)).one()
        moved = conn.execute(
            select(ScheduledOperation).where(
                ScheduledOperation.plan_id == new_id,
                ScheduledOperation.job_id == first.job_id,
                ScheduledOperation.op == first.op,
            )
        ).one()
    assert plan.params["rescheduled_from"] == plan_id and plan.summary["moves"]
    assert moved.start >= first.end + dt.timedelta(hours=2) or moved.line_id != first.line_id
    assert (tmp_path / "out" / f"{new_id}.moves.csv").exists()
    unknown = leanplan(
        "plan", "reschedule", "pp-nope", "--breakdown", "L1,2024-03-01T06:00,2024-03-01T08:00", home=tmp_path
    )
    assert unknown.returncode == 2 and "not found" in unknown.stderr


def test_plan_production_without_data_says_what_to_do(tmp_path: Path) -> None:
    result = leanplan("plan", "production", "--time-limit", "1", home=tmp_path)
    assert result.returncode == 2 and "leanplan import" in result.stderr and "Traceback" not in result.stderr


def test_bench_schedule_writes_json_and_checkable_solutions(tmp_path: Path) -> None:
    result = leanplan(
        "bench",
        "schedule",
        str(INSTANCES),
        "--bounds",
        str(INSTANCES / "bounds.csv"),
        "--time-limit",
        "5",
        "--json",
        str(tmp_path / "r.json"),
        "--solutions",
        str(tmp_path / "sol"),
        "--only",
        "mk01,ft06",
        home=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["instances"]["mk01"]["makespan"] == 40 and report["instances"]["ft06"]["gap_pct"] == 0.0
    assert report["mean_gap_pct"] == 0.0
    assert sorted(p.name for p in (tmp_path / "sol").iterdir()) == ["ft06.csv", "mk01.csv"]
    assert "mean gap 0.0%" in result.stdout


def test_bench_schedule_rejects_a_bad_bounds_file(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text("name\nx\n")
    result = leanplan("bench", "schedule", str(INSTANCES), "--bounds", str(tmp_path / "b.csv"), home=tmp_path)
    assert result.returncode == 2 and "cannot read bounds" in result.stderr


def _table(n: int) -> pd.DataFrame:
    start = pd.Timestamp("2024-03-01 06:00")
    return pd.DataFrame(
        {
            "job": [f"PO-{i}" for i in range(n)],
            "operation": [1] * n,
            "sku": ["M-1"] * n,
            "qty": [100.0] * n,
            "line": ["L1"] * n,
            "start": [start + pd.Timedelta(hours=i) for i in range(n)],
            "end": [start + pd.Timedelta(hours=i, minutes=50) for i in range(n)],
            "setup_minutes": [0.0] * n,
            "due": [start + pd.Timedelta(days=1)] * n,
            "lateness_minutes": [-60.0] * n,
        }
    )


def test_plan_and_operations_are_stored_together_or_not_at_all(engine: Engine) -> None:
    plan_id = store_schedule(engine, _table(3), pd.Timestamp("2024-03-01"), {"kind": "production"}, {}, None)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ScheduledOperation)).scalar() == 3
        assert conn.execute(select(Plan.id)).scalars().all() == [plan_id]
    broken = pd.concat([_table(2), _table(1)], ignore_index=True)  # PO-0 op 1 twice: the insert fails
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        store_schedule(engine, broken, pd.Timestamp("2024-03-01"), {"kind": "production"}, {}, None)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Plan)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(ScheduledOperation)).scalar() == 3
