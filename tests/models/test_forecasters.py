"""One contract for every forecaster: schema, non-negative monotone quantiles, fit twice = fit once, fallbacks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.base import Forecaster, infer_freq, prepare_history
from models.lightgbm_global import LightGBMForecaster
from models.patterns import classify, pattern_stats
from models.schema import DEFAULT_QUANTILES, check_forecast_frame, quantile_col
from models.statistical import StatsForecaster
from tests.factories_demand import demand_panel

FORECASTERS = [
    pytest.param(lambda: StatsForecaster(models=("sba",)), id="sba"),
    pytest.param(lambda: StatsForecaster(models=("tsb", "adida", "imapa")), id="intermittent-family"),
    pytest.param(lambda: StatsForecaster(models=("ets",), season_length=12), id="ets"),
    pytest.param(lambda: StatsForecaster(models=("seasonal_naive",), season_length=12), id="seasonal-naive"),
    pytest.param(lambda: LightGBMForecaster(n_estimators=30), id="lightgbm"),
]


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    frame = demand_panel(n_per_pattern=2)
    return frame[~frame["sku"].isin(["SHORT-0"])]


@pytest.mark.parametrize("make", FORECASTERS)
def test_forecaster_contract(make: object, history: pd.DataFrame) -> None:
    forecaster: Forecaster = make()  # type: ignore[operator]
    assert forecaster.get_params()  # __init__ stores its arguments
    with pytest.raises(RuntimeError, match="not fitted"):
        forecaster.predict(3)
    first = forecaster.fit(history).predict(6, DEFAULT_QUANTILES)
    check_forecast_frame(first, DEFAULT_QUANTILES)
    assert set(first["sku"]) == set(history["sku"])
    assert first.groupby("sku").size().eq(6).all()
    assert first["date"].min() == history["date"].max() + pd.offsets.MonthBegin(1)
    again = forecaster.fit(history).predict(6, DEFAULT_QUANTILES)
    pd.testing.assert_frame_equal(first, again)


def test_failing_series_fall_back_and_are_recorded(history: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    forecaster = StatsForecaster(models=("ets",), season_length=12).fit(history)
    real = forecaster._run

    def flaky(names: tuple[str, ...], frame: pd.DataFrame, h: int) -> pd.DataFrame:
        if "INTER-1" in set(frame["unique_id"]) and list(names) != [forecaster.fallback]:
            raise FloatingPointError("injected")
        return real(names, frame, h)

    monkeypatch.setattr(forecaster, "_run", flaky)
    means = forecaster.predict_mean(4)
    assert [f[0] for f in forecaster.fallbacks_] == ["INTER-1"]
    assert "injected" in forecaster.fallbacks_[0][2]
    assert means["sku"].nunique() == history["sku"].nunique() and (means["mean"] >= 0).all()


def test_patterns_follow_syntetos_boylan() -> None:
    panel = prepare_history(demand_panel())
    patterns = classify(pattern_stats(panel.frame))
    assert patterns["SMOOTH-0"] == "smooth"
    assert patterns["INTER-0"] in ("intermittent", "lumpy")
    assert patterns["LUMPY-0"] == "lumpy"
    assert (patterns["SHORT-0"], patterns["CONST-0"], patterns["ZERO-0"]) == ("short", "constant", "zero")


def test_history_gaps_are_zero_filled_and_frequency_inferred() -> None:
    raw = pd.DataFrame(
        {
            "sku": ["A", "A", "A", "B"],
            "date": ["2024-01-01", "2024-02-01", "2024-05-01", "2024-03-01"],
            "qty": [1, 2, 3, 4],
        }
    )
    panel = prepare_history(raw)
    assert panel.freq == "MS"
    assert panel.frame[panel.frame["sku"] == "A"]["qty"].tolist() == [1, 2, 0, 0, 3]
    assert panel.frame[panel.frame["sku"] == "B"]["qty"].tolist() == [4, 0, 0]
    assert infer_freq(pd.Series(pd.date_range("2024-01-01", periods=10, freq="W-MON"))) == "W-MON"
    with pytest.raises(ValueError, match="grid"):
        prepare_history(
            pd.DataFrame(
                {"sku": ["A"] * 4, "date": ["2024-01-01", "2024-02-01", "2024-03-01", "2024-03-15"], "qty": [1] * 4}
            ),
            freq="MS",
        )


def test_quantile_columns_come_from_one_place() -> None:
    assert quantile_col(0.9) == "q0.9" and quantile_col(0.05) == "q0.05"
    with pytest.raises(ValueError):
        quantile_col(1.0)
    bad = pd.DataFrame(
        {"sku": ["A"], "date": [pd.Timestamp("2024-01-01")], "mean": [1.0], "q0.1": [2.0], "q0.9": [1.0]}
    )
    with pytest.raises(ValueError, match="non-decreasing"):
        check_forecast_frame(bad)
    assert np.isfinite(bad["mean"]).all()


def test_lightgbm_uses_price_as_a_static_feature(history: pd.DataFrame) -> None:
    priced = history.assign(price=history["sku"].map(lambda s: 50.0 if s.startswith("SMOOTH") else 2.0))
    panel = prepare_history(priced)
    assert panel.static is not None and panel.static.loc["SMOOTH-0", "price"] == 50.0
    model = LightGBMForecaster(n_estimators=30).fit(panel)
    assert "price" in model.mlf_.ts.static_features_.columns
    check_forecast_frame(model.predict(3))
