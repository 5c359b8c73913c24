"""Alembic environment: runs against the engine handed over in `config.attributes` (see service/db/migrate.py)."""

from __future__ import annotations

from alembic import context

from service.db.engine import make_engine
from service.db.tables import Base

config = context.config
engine = config.attributes.get("engine") or make_engine(config.get_main_option("sqlalchemy.url") or "")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
