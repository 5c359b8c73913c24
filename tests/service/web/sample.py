"""A small realistic database for the page tests: the first RAF SKUs of data/sample (items, offers, receipts, stock,
open orders, monthly demand since 1996), a synthetic published forecast, two replenishment plans (history-based, then
forecast-based) and a short production schedule with changeovers and a late order; plus the frontier file of a
policy replay."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import Engine, insert, update

from pipelines.ingest import read_raw
from service.db.forecasts import load_demand, write_forecast_set
from service.db.importer import RawInput, discover, import_frames
from service.db.tables import Plan, ScheduledOperation
from service.replenishment import load_inputs, store_plan
from service.web.benchdata import SAMPLE, synthetic_forecast

VERSION = "3"
SCHEDULE_PLAN = "pp-test-1"
KEEP = ("items", "suppliers", "lines", "demand", "inventory", "open_orders", "receipts")


def seed_sample(engine: Engine, n: int = 30) -> dict[str, str]:
    """Load RAF-0001..RAF-<n> (and the PBS items the schedule names); returns the plan ids and model version."""
    from optimizer.replenishment import plan_replenishment

    skus = {f"RAF-{i:04d}" for i in range(1, n + 1)}
    made = {"PBS-C-CP-A01", "PBS-C-CP-A02", "PBS-G-SN-D04"}
    inputs = []
    for path, table in discover(SAMPLE)[0]:
        if table not in KEEP or (table == "demand" and "raf" not in path.name):
            continue
        frame = read_raw(path, table=table)
        if "sku" in frame.columns:
            frame = frame[frame["sku"].isin(skus | (made if table == "items" else set()))]
        inputs.append(RawInput(table, frame.reset_index(drop=True), str(path)))
    import_frames(engine, inputs)
    first = load_inputs(engine, skus="RAF-*")
    previous = store_plan(engine, plan_replenishment(first), first.as_of)
    with engine.begin() as conn:  # plans made in the same second: make the order explicit
        earlier = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        conn.execute(update(Plan).where(Plan.id == previous).values(created_at=earlier))
    forecast = synthetic_forecast(load_demand(engine, sku_pattern="RAF-"))
    write_forecast_set(engine, VERSION, forecast, publish_now=True, info={"experiment": "test"})
    second = load_inputs(engine, skus="RAF-*")
    current = store_plan(engine, plan_replenishment(second), second.as_of)
    _schedule(engine)
    return {
        "plan_id": current, "previous_plan_id": previous, "schedule_plan_id": SCHEDULE_PLAN, "model_version": VERSION
    }  # fmt: skip


def _schedule(engine: Engine) -> None:
    """Six operations on two lines over two days: setups before some, one order late."""
    t0 = dt.datetime(2008, 7, 1, 6, 0)

    def at(hours: float) -> dt.datetime:
        return t0 + dt.timedelta(hours=hours)

    ops = [
        ("PO-1", 1, "PBS-C-CP-A01", "L01", 0, 5, 0, 12, 0),
        ("PO-2", 1, "PBS-G-SN-D04", "L01", 6, 10, 45, 30, 0),
        ("PO-3", 1, "PBS-C-CP-A02", "L01", 11, 18, 30, 14, 240),
        ("PO-1", 2, "PBS-C-CP-A01", "L02", 6, 9, 0, 12, 0),
        ("PO-2", 2, "PBS-G-SN-D04", "L02", 11, 15, 60, 30, 0),
        ("PO-4", 1, "PBS-C-CP-A02", "L02", 20, 30, 20, 40, 0),
    ]
    rows = [
        {"plan_id": SCHEDULE_PLAN, "job_id": job, "op": op, "sku": sku, "qty": 1000.0 * (i + 1), "line_id": line,
         "start": at(a), "end": at(b), "setup_minutes": float(setup), "due": at(due),
         "lateness_minutes": float(late)}
        for i, (job, op, sku, line, a, b, setup, due, late) in enumerate(ops)
    ]  # fmt: skip
    kpis = {"orders": 4, "operations": 6, "on_time_pct": 75.0, "late_orders": 1, "total_tardiness_hours": 4.0,
            "changeovers": 4, "changeover_hours": 2.6, "makespan": "2008-07-02T12:00:00",
            "utilization": {"L01": 0.55, "L02": 0.48}}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            insert(Plan).values(
                id=SCHEDULE_PLAN, status="done", as_of=t0.date(), params={"kind": "production", "horizon_days": 28},
                summary={"kind": "production", "kpis": kpis},
            )
        )  # fmt: skip
        conn.execute(insert(ScheduledOperation), rows)


def write_frontier(home: Path) -> Path:
    """A replay result with a frontier per policy, where the overview looks for it."""
    path = home / "bench" / "policy_raf.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    curves = {
        "leanplan": [[0.90, 6.1e6, 0.1], [0.93, 6.8e6, 0.15], [0.95, 7.5e6, 0.2], [0.97, 9.0e6, 0.3]],
        "minmax": [[0.90, 15e6, 8], [0.93, 19e6, 10], [0.95, 24e6, 11.6], [0.97, 36e6, 14]],
        "normal": [[0.90, 9e6, 4], [0.93, 11e6, 5], [0.95, 14e6, 6.5], [0.97, 19e6, 8]],
    }
    policies = {name: {"fill_rate": 0.95, "avg_inventory_value": pts[2][1]} for name, pts in curves.items()}
    config = {"skus": 5000, "replay_periods": 28, "replay_start": "2000-09-01", "target_fill_rate": 0.95}
    path.write_text(json.dumps({"policies": policies, "frontier": curves, "config": config}))
    return path
