"""The storage schema agrees with the data contracts, and migrations run up and down on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect

from pipelines.contracts import TABLES
from service.db.migrate import current_revision, downgrade, head_revision, upgrade
from service.db.tables import CANONICAL_MODELS

SERVICE_TABLES = {"forecast_sets", "forecasts", "plans", "jobs", "api_keys"}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_model_columns_and_keys_match_the_contract(name: str) -> None:
    table = CANONICAL_MODELS[name].__table__
    contract = TABLES[name]
    assert [c.name for c in table.columns] == contract.columns  # type: ignore[attr-defined]
    assert tuple(c.name for c in table.primary_key.columns) == contract.key  # type: ignore[attr-defined]


def test_migrations_create_every_table_and_downgrade_cleanly(engine: Engine) -> None:
    assert current_revision(engine) == head_revision(engine)
    names = set(inspect(engine).get_table_names())
    assert set(TABLES) | SERVICE_TABLES <= names
    downgrade(engine, "base")
    assert not (set(TABLES) | SERVICE_TABLES) & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert set(TABLES) <= set(inspect(engine).get_table_names())


def test_schema_matches_the_models_exactly(engine: Engine) -> None:
    """Autogenerate finds nothing to do: the migrations and the models describe the same schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from service.db.tables import Base

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
