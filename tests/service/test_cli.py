"""`leanplan` as a user runs it: a real process, configured by environment variables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.factories import valid_tables, write_csvs


def leanplan(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEANPLAN_HOME": str(home), "DATABASE_URL": f"sqlite:///{home / 'cli.db'}"}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_import_prints_what_it_loaded_and_reloading_changes_nothing(tmp_path: Path) -> None:
    write_csvs(valid_tables(), tmp_path / "in")
    first = leanplan("import", str(tmp_path / "in"), home=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "demand" in first.stdout and "loaded into sqlite:///" in first.stdout
    again = leanplan("import", str(tmp_path / "in"), "--json", home=tmp_path)
    report = json.loads(again.stdout)
    assert {r["table"]: (r["inserted"], r["updated"]) for r in report["loaded"]}["demand"] == (0, 0)
    assert sum(r["unchanged"] for r in report["loaded"]) == sum(len(f) for f in valid_tables().values())


def test_bad_file_exits_non_zero_naming_the_row(tmp_path: Path) -> None:
    write_csvs({"items": valid_tables()["items"]}, tmp_path)
    (tmp_path / "items.csv").write_text((tmp_path / "items.csv").read_text().replace("1.5", "-1.5"))
    result = leanplan("import", str(tmp_path / "items.csv"), home=tmp_path)
    assert result.returncode == 2
    assert "row 1, column 'unit_cost', value -1.5: must be >= 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_single_file_with_explicit_table_and_unknown_path(tmp_path: Path) -> None:
    write_csvs({"items": valid_tables()["items"]}, tmp_path)
    (tmp_path / "items.csv").rename(tmp_path / "export.csv")
    ok = leanplan("import", str(tmp_path / "export.csv"), "--table", "items", home=tmp_path)
    assert ok.returncode == 0, ok.stderr
    missing = leanplan("import", str(tmp_path / "nope"), home=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_db_upgrade_reports_the_revision(tmp_path: Path) -> None:
    from service.db.engine import make_engine
    from service.db.migrate import head_revision

    result = leanplan("db", "upgrade", home=tmp_path)
    head = head_revision(make_engine(f"sqlite:///{tmp_path / 'cli.db'}"))
    assert result.returncode == 0 and f"at revision {head}" in result.stdout
