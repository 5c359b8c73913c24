"""`service.production`: load → compute → store on the miniature plant, the safety-stock sources, the SKU filter and
the errors that say what to do."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from service import production
from service.db.importer import RawInput, import_frames
from service.db.tables import Plan, ScheduledOperation
from tests.factories import valid_tables

OPTIONS = production.ProductionOptions(horizon_days=14, time_limit=2, as_of="2024-03-01")


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    import_frames(engine, [RawInput(t, f, t) for t, f in valid_tables().items()])
    return engine


def test_run_stores_the_plan_with_its_operations(loaded: Engine) -> None:
    plan_id, plan = production.run(loaded, OPTIONS)
    assert plan_id.startswith("pl-") and plan.as_of == pd.Timestamp("2024-03-01")
    assert plan.params["safety_stock"] == {"fallback": "7 days of mean demand"}
    assert plan.params["forecast"] == {"fallback": "trailing 12-month mean"}
    assert plan.summary["kpis"]["operations"] == len(plan.table) and plan.summary["orders"]
    with loaded.connect() as conn:
        stored = conn.execute(select(Plan.status, Plan.params).where(Plan.id == plan_id)).one()
        count = conn.execute(select(func.count()).where(ScheduledOperation.plan_id == plan_id)).scalar()
    assert stored.status == "done" and stored.params["kind"] == "production" and count == len(plan.table)


def test_given_safety_stocks_are_used_and_recorded(loaded: Engine) -> None:
    inputs = production.load(
        loaded, OPTIONS, safety_stock=pd.Series({"M-1": 5000.0}), safety_source={"plan_id": "pl-x"}
    )
    plan = production.compute(inputs, OPTIONS)
    default = production.compute(production.load(loaded, OPTIONS), OPTIONS)
    assert plan.params["safety_stock"] == {"plan_id": "pl-x"}
    assert plan.orders["qty"].sum() > default.orders["qty"].sum()


def test_the_sku_glob_selects_make_skus(loaded: Engine) -> None:
    inputs = production.load(loaded, OPTIONS, skus="X-*")
    assert inputs.make == []
    with pytest.raises(production.NothingToMake, match="nothing to make: no item is a 'make' SKU"):
        production.compute(inputs, OPTIONS)
    assert production.load(loaded, OPTIONS, skus="M-*").make == ["M-1"]


def test_errors_say_what_to_do(engine: Engine, loaded: Engine) -> None:
    with pytest.raises(production.ProductionError, match="cannot plan production: "):
        production.load(loaded, production.ProductionOptions(as_of="not a date"))
    with pytest.raises(production.ProductionError, match="cannot plan production: horizon_days must be positive"):
        production.compute(production.load(loaded, OPTIONS), production.ProductionOptions(horizon_days=0))


def test_an_empty_database_says_to_import(engine: Engine) -> None:
    with pytest.raises(
        production.ProductionError,
        match=r"^no items or no lines in the database; load data with `leanplan import data/sample`$",
    ):
        production.load(engine, OPTIONS)
