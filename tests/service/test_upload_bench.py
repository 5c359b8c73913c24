"""`leanplan bench upload`: a small run through a real API server on SQLite and Postgres."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from service.cli import app
from service.db.engine import make_engine
from tests.conftest import POSTGRES_URL


@pytest.mark.parametrize(
    "kind", [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]
)
def test_bench_upload_stores_every_row_and_reloads_idempotently(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "postgres":
        request.getfixturevalue("postgres_available")
    url = f"sqlite:///{tmp_path / 'ignored.db'}" if kind == "sqlite" else POSTGRES_URL
    out = tmp_path / "upload.json"
    result = CliRunner().invoke(app, ["bench", "upload", "--rows", "2000", "--database-url", url, "--json", str(out)])
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())["results"][0]
    assert figures["database"] == ("sqlite" if kind == "sqlite" else "postgresql")
    assert (figures["rows"], figures["inserted"], figures["rows_stored"]) == (2000, 2000, 2000)
    assert (figures["again_inserted"], figures["again_updated"], figures["again_unchanged"]) == (0, 0, 2000)
    assert figures["upload_s"] > 0 and figures["meets_target"] is True
    assert "2,000 rows" in result.output
    if kind == "postgres":  # the benchmark's schema is gone
        with make_engine(POSTGRES_URL).connect() as conn:
            schema = f"bench_upload_{os.getpid()}"
            left = conn.execute(text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"), {"s": schema}).scalar()
        assert left == 0
