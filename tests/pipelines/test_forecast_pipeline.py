"""The per-SKU pipeline: every SKU gets a calibrated forecast; same data and config → same numbers on any executor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from models.schema import check_forecast_frame, cum_quantile_col, quantile_col
from pipelines.config import ExperimentConfig
from pipelines.forecast import forecast, run_forecast
from tests.factories_demand import demand_panel

CANDIDATES = {
    "smooth": ["seasonal_naive", "ets", "lightgbm"],
    "erratic": ["seasonal_naive", "empirical"],
    "intermittent": ["sba", "tsb", "lightgbm", "empirical"],
    "lumpy": ["sba", "adida", "empirical"],
}


def small_config(**execution: object) -> ExperimentConfig:
    return ExperimentConfig.model_validate(
        {
            "name": "test",
            "horizon": 6,
            "candidates": CANDIDATES,
            "backtest": {"windows": 3},
            "lightgbm": {"n_estimators": 30},
            "execution": {"workers": 1, "chunk_size": 8, **execution},
        }
    )


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return demand_panel()


@pytest.fixture(scope="module")
def result(history: pd.DataFrame) -> object:
    return run_forecast(history, small_config())


def test_every_sku_gets_a_calibrated_non_negative_forecast(result: object, history: pd.DataFrame) -> None:
    fc = result.forecast  # type: ignore[attr-defined]
    levels = small_config().quantiles
    check_forecast_frame(fc, levels)
    assert set(fc["sku"]) == set(history["sku"])
    assert fc.groupby("sku").size().eq(6).all()
    cum = fc[[cum_quantile_col(p) for p in levels]].to_numpy()
    assert (np.diff(cum, axis=1) >= -1e-9).all()  # monotone in the level
    steps = fc.sort_values(["sku", "horizon"]).groupby("sku")[cum_quantile_col(0.9)].diff().dropna()
    assert (steps >= -1e-9).all()  # cumulative demand never shrinks with the horizon
    counts = fc[fc["sku"].str.startswith(("INTER", "LUMPY"))]
    assert np.allclose(counts[quantile_col(0.9)], np.round(counts[quantile_col(0.9)]))  # discrete quantiles for counts
    zero = fc[fc["sku"] == "ZERO-0"]
    assert (zero["mean"] == 0).all() and (zero[quantile_col(0.95)] == 0).all()


def test_champions_and_metrics_per_sku(result: object) -> None:
    champs = result.champions  # type: ignore[attr-defined]
    assert champs.loc["SMOOTH-0", "pattern"] == "smooth"
    assert champs.loc["SMOOTH-0", "champion"] in {"seasonal_naive", "ets", "lightgbm", "ensemble"}
    assert champs.loc["LUMPY-0", "champion"] in {"sba", "adida", "empirical", "ensemble"}
    scored = champs.dropna(subset=["pinball"])
    noisy = scored[scored.index.str.startswith(("SMOOTH", "INTER", "LUMPY"))]
    assert len(noisy) == 18 and (noisy["pinball"] > 0).all()
    assert scored.loc["CONST-0", "pinball"] == 0.0  # a constant series is forecast exactly
    ensembles = champs[champs["champion"] == "ensemble"]
    assert all(isinstance(m, list) and len(m) >= 2 for m in ensembles["members"])
    backtest = result.backtest  # type: ignore[attr-defined]
    assert set(backtest["window"]) == {0, 1, 2}


def test_same_data_and_config_give_the_same_numbers(result: object, history: pd.DataFrame) -> None:
    again = run_forecast(history, small_config(workers=2))
    pd.testing.assert_frame_equal(result.forecast, again.forecast)  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(result.champions, again.champions)  # type: ignore[attr-defined]


def test_forecast_function_returns_requested_quantiles(history: pd.DataFrame) -> None:
    out = forecast(
        history[history["sku"].str.startswith("INTER")], horizon=3, quantiles=(0.2, 0.8), config=small_config()
    )
    assert list(out.columns) == ["sku", "date", "horizon", "mean", "q0.2", "q0.8", "cq0.2", "cq0.8"]


def test_config_errors_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="unknown model"):
        ExperimentConfig.model_validate({"candidates": {"smooth": ["deep_magic"]}})
    with pytest.raises(ValidationError, match=r"needs execution\.scheduler"):
        ExperimentConfig.model_validate({"execution": {"executor": "dask"}})
    path = tmp_path / "x.yaml"
    path.write_text("horizon: [\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        ExperimentConfig.from_yaml(path)
    path.write_text("horizon: 0\n")
    with pytest.raises(ValidationError, match="horizon"):
        ExperimentConfig.from_yaml(path)


@pytest.mark.parametrize("name", ["raf", "pbs", "quick"])
def test_shipped_experiments_are_valid(name: str) -> None:
    config = ExperimentConfig.from_yaml(Path(__file__).resolve().parents[2] / "experiments" / f"{name}.yaml")
    assert config.name == name
    if config.data.demand is not None:
        assert config.data.demand.exists()
