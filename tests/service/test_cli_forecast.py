"""`leanplan forecast`, `leanplan train` and `leanplan models` as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from tests.factories_demand import demand_panel


def leanplan(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LEANPLAN_HOME": str(home),
        "DATABASE_URL": f"sqlite:///{home / 'lp.db'}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
    }
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )


def test_forecast_writes_the_documented_columns(tmp_path: Path) -> None:
    demand = tmp_path / "demand.csv"
    demand_panel(n_per_pattern=2).to_csv(demand, index=False, date_format="%Y-%m-%d")
    out = tmp_path / "fc.csv"
    result = leanplan(
        "forecast", "--demand", str(demand), "--horizon", "4", "--out", str(out), "--workers", "1", home=tmp_path
    )
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["sku", "date", "mean", "q0.05", "q0.1", "q0.25", "q0.5", "q0.75", "q0.9", "q0.95"]
    assert len(frame) == 4 * frame["sku"].nunique() and (frame["q0.95"] >= frame["q0.05"]).all()


def test_train_then_models_list_promote_rollback(tmp_path: Path) -> None:
    demand = tmp_path / "demand.csv"
    demand_panel(n_per_pattern=2).to_csv(demand, index=False, date_format="%Y-%m-%d")
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({
        "horizon": 4,
        "candidates": {
            "smooth": ["seasonal_naive", "ets"],
            "intermittent": ["sba", "empirical"],
            "lumpy": ["sba", "empirical"],
            "erratic": ["ets"],
        },
        "execution": {"workers": 1},
    }))  # fmt: skip
    first = leanplan("train", "-c", str(config), "--demand", str(demand), home=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "registered leanplan-demand version 1 as champion" in first.stdout
    assert "forecast set 1:" in first.stdout and "published" in first.stdout
    assert "MLflow run" in first.stdout and "intermittent" in first.stdout
    second = leanplan("train", "-c", str(config), "--demand", str(demand), home=tmp_path)
    assert "version 2 as challenger" in second.stdout, second.stdout + second.stderr
    listed = leanplan("models", "list", home=tmp_path)
    assert listed.returncode == 0 and "champion" in listed.stdout and "challenger" in listed.stdout
    promoted = leanplan("models", "promote", "2", home=tmp_path)
    assert promoted.returncode == 0 and "v1 → v2" in promoted.stdout and "published forecast set 2" in promoted.stdout
    rolled = leanplan("models", "rollback", home=tmp_path)
    assert rolled.returncode == 0 and "is v1 again" in rolled.stdout
    missing = leanplan("models", "promote", "7", home=tmp_path)
    assert missing.returncode == 2 and "no version 7" in missing.stderr


def test_train_reports_a_bad_config_without_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("horizon: 0\ncandidates: {smooth: [magic]}\n")
    result = leanplan("train", "-c", str(config), home=tmp_path)
    assert result.returncode == 2 and "invalid experiment config" in result.stderr and "Traceback" not in result.stderr
