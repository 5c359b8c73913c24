"""`leanplan bench api`: the wrk script and its parser, and a short run end to end (SQLite and Postgres)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from experiments.bench.api import seed, wrk
from service.cli.apps import app
from tests.conftest import POSTGRES_URL

needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make wrk)")

OUTPUT = """Running 1s test @ http://127.0.0.1:8000
  1 threads and 16 connections
WRK_RESULT {"requests": 3000, "duration_us": 1000000, "bytes": 9000000, "connect": 0, "read": 1, "write": 0, \
"status": 2, "timeout": 0, "p50_us": 4100, "p90_us": 6000, "p99_us": 9876, "max_us": 20000, "mean_us": 4500.5}
Requests/sec:   3000.00
"""


def test_parse() -> None:
    result = wrk.parse(OUTPUT)
    assert result["rps"] == 3000.0
    assert (result["p50_ms"], result["p90_ms"], result["p99_ms"]) == (4.1, 6.0, 9.88)
    assert (result["errors"], result["non_2xx_3xx"], result["socket_errors"]) == (3, 2, 1)


def test_parse_without_result_says_why() -> None:
    with pytest.raises(RuntimeError, match="unable to connect"):
        wrk.parse("", "unable to connect to 127.0.0.1:1 Connection refused")


def test_script_rotates_with_headers() -> None:
    text = wrk.script("/v1/forecasts/", ["A-1", "B%2C2"], {"X-API-Key": "lp_x_y"})
    assert 'local prefix = "/v1/forecasts/"' in text
    assert 'local skus = {"A-1", "B%2C2"}' in text
    assert '["X-API-Key"] = "lp_x_y"' in text
    assert "(i % #skus) + 1" in text


def test_forecast_frame_is_monotone() -> None:
    frame = seed.forecast_frame(["A", "B"], 3)
    levels = [f"q{p:g}" for p in seed.QUANTILES]
    assert len(frame) == 6
    assert (frame[levels].diff(axis=1).iloc[:, 1:] >= 0).all().all()


@needs_wrk
@pytest.mark.slow
@pytest.mark.parametrize(
    "url",
    [pytest.param("sqlite:///x", id="sqlite"), pytest.param(POSTGRES_URL, id="postgres", marks=pytest.mark.postgres)],
)
def test_short_run(url: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if "postgres" in url:
        request.getfixturevalue("postgres_available")
    out = tmp_path / "api.json"
    args = ["bench", "api", "--database-url", url, "--skus", "30", "--periods", "4", "--duration", "1"]
    result = CliRunner().invoke(app, [*args, "--warmup", "0", "--workdir", str(tmp_path), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "ratio" in result.output
    report = json.loads(out.read_text())
    (row,) = report["results"]
    assert row["database"] == ("sqlite" if url.startswith("sqlite") else "postgresql")
    assert (row["skus"], row["periods"], row["forecast_rows"], row["rows_per_request"]) == (30, 4, 120, 4)
    for name in ("api", "bare", "bare_sync", "bare_async"):
        assert row[name]["requests"] > 0 and row[name]["rps"] > 0
        assert set(row[name]) >= {"p50_ms", "p90_ms", "p99_ms", "errors"}
    assert row["errors"] == 0
    assert row["ratio"] == pytest.approx(row["api"]["rps"] / row["bare"]["rps"], abs=0.001)
    assert row["export"]["rows"] == 120 and row["export"]["pages"] == 1 and row["export"]["seconds"] > 0
    assert row["export"]["columns"][-1] == "model_version"
    assert not list(tmp_path.glob("api-*.db"))  # the SQLite copy is removed
