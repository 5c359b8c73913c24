"""Storage: SQLAlchemy 2 models, engines, Alembic migrations and bulk idempotent upserts."""
