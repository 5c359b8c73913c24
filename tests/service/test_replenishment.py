"""`service.replenishment` on SQLite and Postgres: load, plan, store in one transaction, write CSV and XLSX."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from service.db.forecasts import write_forecast_set
from service.db.importer import RawInput, import_frames
from service.db.tables import Alert, Plan, PlanLine
from service.replenishment import load_inputs, run
from tests.optimizer.planning_tables import AS_OF, planning_tables
from tests.optimizer.test_replenishment import _fallback_frame


def _load(engine: Engine) -> None:
    import_frames(engine, [RawInput(name, frame, name) for name, frame in planning_tables().items()])


def _count(engine: Engine, model: type, plan_id: str | None = None) -> int:
    query = select(func.count()).select_from(model)
    if plan_id is not None:
        query = query.where(model.plan_id == plan_id)  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_plan_is_stored_with_lines_alerts_and_files(engine: Engine, tmp_path: Path) -> None:
    _load(engine)
    result = run(engine, as_of=AS_OF, out_dir=tmp_path)
    with Session(engine) as session:
        plan = session.get_one(Plan, result.plan_id)
        lines = pd.DataFrame(
            [
                {c.name: getattr(line, c.name) for c in PlanLine.__table__.columns}
                for line in session.scalars(select(PlanLine).where(PlanLine.plan_id == result.plan_id))
            ]
        )
    assert plan.params is not None and plan.summary is not None
    assert plan.status == "done" and str(plan.as_of) == AS_OF and plan.model_version is None
    assert plan.params["input_fingerprint"] == result.plan.params["input_fingerprint"]
    assert plan.summary["skus"] == 7
    assert len(lines) == 7 and _count(engine, Alert, result.plan_id) == len(result.plan.alerts) > 0
    fast = lines.set_index("sku").loc["FAST"]
    assert fast["order_qty"] > 0 and fast["details"]["splits"] and str(fast["order_by"]) == AS_OF
    assert lines.set_index("sku")["reorder_point"].isna()["NOSUP"]
    csv = pd.read_csv(result.csv)
    assert len(csv) == 7 and (csv["plan_id"] == result.plan_id).all()
    sheets = pd.read_excel(result.xlsx, sheet_name=None)
    assert set(sheets) == {"lines", "supplier splits", "alerts", "suppliers", "provenance"}
    assert {"on_time_rate", "qty_fill_rate", "degrading", "trend_share_per_year"} <= set(sheets["suppliers"].columns)
    assert "input_fingerprint" in set(sheets["provenance"]["key"])


def test_published_forecasts_are_used_and_recorded(engine: Engine, tmp_path: Path) -> None:
    _load(engine)
    write_forecast_set(
        engine, "v9", _fallback_frame(["FAST", "SHELF"]), publish_now=True, info={"mlflow_run_id": "r-1"}
    )
    result = run(engine, as_of=AS_OF, out_dir=tmp_path)
    with Session(engine) as session:
        plan = session.get_one(Plan, result.plan_id)
    assert plan.params is not None
    assert plan.model_version == "v9" and plan.params["forecast"]["mlflow_run_id"] == "r-1"
    assert plan.params["forecast"]["skus_from_forecast"] == 2
    sources = result.plan.lines.set_index("sku")["details"].map(lambda d: d["demand_source"])
    assert sources["FAST"] == "forecast:v9" and sources["NEW"].startswith("fallback")


def test_a_failed_write_leaves_no_plan(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _load(engine)
    from sqlalchemy.engine import Connection

    real = Connection.execute

    def failing(self: Connection, statement: object, *args: object, **kwargs: object) -> object:
        if "INSERT INTO alerts" in str(statement):
            raise RuntimeError("disk full")
        return real(self, statement, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Connection, "execute", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        run(engine, as_of=AS_OF, out_dir=tmp_path)
    monkeypatch.undo()
    assert _count(engine, Plan) == 0 and _count(engine, PlanLine) == 0


def test_sku_filter_and_default_date(engine: Engine) -> None:
    _load(engine)
    inputs = load_inputs(engine, skus="F*")
    assert sorted(inputs.items["sku"]) == ["FAST", "FREE"]
    assert set(inputs.demand["sku"]) <= {"FAST", "FREE"}
    assert inputs.as_of == pd.Timestamp("2023-12-31")  # the latest inventory snapshot
    with pytest.raises(LookupError, match="no items to plan match 'Q\\*'"):
        load_inputs(engine, skus="Q*")
