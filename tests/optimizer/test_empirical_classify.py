"""Demand history matrix, the fallback distribution, classification and service targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy import stats

from models.schema import check_forecast_frame
from optimizer.classify import ServiceTargets, classify
from optimizer.empirical import demand_stats, forecast_frame, gamma_quantiles
from optimizer.history import DemandHistory, days_per_period, history_matrix, infer_frequency, periods_per_year


def _history(rows: dict[str, list[float]], freq: str = "MS") -> DemandHistory:
    periods = pd.date_range("2020-01-01", periods=len(next(iter(rows.values()))), freq=freq)
    return DemandHistory(pd.Index(list(rows)), periods, np.array(list(rows.values()), dtype=float), freq)


def test_history_matrix_fills_missing_periods_and_stops_before_as_of() -> None:
    demand = pd.DataFrame(
        {"sku": ["A", "A", "B"], "date": ["2024-01-01", "2024-03-01", "2024-02-01"], "qty": [3.0, 5.0, 1.0]}
    )
    h = history_matrix(demand, skus=["B", "A", "C"], as_of="2024-03-01")
    assert h.freq == "MS" and list(h.periods.strftime("%Y-%m")) == ["2024-01", "2024-02"]
    np.testing.assert_array_equal(h.qty, [[0, 1], [3, 0], [0, 0]])
    np.testing.assert_array_equal(h.first, [1, 0, 2])
    with pytest.raises(ValueError, match="must be finite and >= 0"):
        history_matrix(demand.assign(qty=[-1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="lacks column"):
        history_matrix(demand.drop(columns="qty"))


def test_frequencies() -> None:
    assert infer_frequency(pd.date_range("2024-01-01", periods=5, freq="MS")) == "MS"
    assert infer_frequency(pd.Series(pd.to_datetime(["2024-01-01", "2024-03-01", "2024-04-01"]))) == "MS"
    assert infer_frequency(pd.date_range("2024-01-01", periods=6, freq="W-MON")).startswith("W")
    assert periods_per_year("MS") == 12 and days_per_period("W-MON") == pytest.approx(7.0)
    with pytest.raises(ValueError, match="cannot infer"):
        infer_frequency(pd.Series(pd.to_datetime(["2024-01-01", "2024-01-04", "2024-01-06"])))


def test_gamma_quantiles_match_scipy() -> None:
    mean = np.array([0.05, 1.0, 30.0, 5000.0])
    var = mean * np.array([40.0, 3.0, 1.2, 0.9])
    levels = (0.05, 0.5, 0.9, 0.99, 0.9999)
    got = gamma_quantiles(mean, var, levels)
    want = stats.gamma.ppf(np.array(levels)[None, :], (mean**2 / var)[:, None], scale=(var / mean)[:, None])
    # within 0.2 % or 0.1 % of the mean (tiny lower quantiles of very intermittent demand vary by decades)
    assert np.all(np.abs(got - want) <= np.maximum(2e-3 * want, 1e-3 * mean[:, None]))
    np.testing.assert_array_equal(gamma_quantiles(np.array([0.0]), np.array([0.0]), levels), 0.0)
    np.testing.assert_allclose(gamma_quantiles(np.array([4.0]), np.array([0.0]), levels), 4.0, rtol=1e-3)


def test_demand_stats_start_at_first_demand_and_new_skus_borrow_dispersion() -> None:
    established = [float(x) for x in np.tile([0, 2, 0, 4, 1, 0], 3)]
    h = _history({"OLD": established, "NEW": [0.0] * 15 + [3.0, 3.0, 3.0], "NONE": [0.0] * 18})
    s = demand_stats(h, min_history=6)
    assert s.n_obs.tolist() == [17, 3, 0]  # OLD's first demand is in period 2
    assert s.mean[1] == pytest.approx(3.0) and s.new.tolist() == [False, True, False]
    ratio = s.var[0] / s.mean[0]
    assert s.var[1] == pytest.approx(ratio * 3.0)  # its own variance is 0: borrowed
    assert s.mean[2] == 0 and s.var[2] == 0
    windowed = demand_stats(h, window=6)
    assert windowed.n_obs[0] == 6
    with pytest.raises(ValueError, match="window"):
        demand_stats(h, window=1)


def test_fallback_forecast_frame_is_a_valid_forecast_frame() -> None:
    h = _history({"A": [0, 1, 0, 3, 2, 0, 1, 0], "B": [5, 6, 4, 5, 7, 5, 6, 5]})
    frame = forecast_frame(h, demand_stats(h), horizon=4)
    check_forecast_frame(frame, (0.05, 0.5, 0.95))
    assert len(frame) == 8 and frame["date"].min() == pd.Timestamp("2020-09-01")
    b = frame[frame["sku"] == "B"]
    assert np.all(np.diff(b["cq0.5"].to_numpy()) > 0)
    assert b["cq0.5"].iloc[-1] == pytest.approx(4 * b["mean"].iloc[0], rel=0.05)


def test_abc_xyz_and_patterns() -> None:
    rows = {
        "BIG": [100.0] * 12,  # smooth, high value
        "MID": [10.0, 30.0] * 6,  # erratic-ish, CV 0.5
        "LUMPY": [0.0, 0.0, 0.0, 50.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 9.0],
        "INTER": [0.0, 5.0, 0.0, 5.0, 0.0, 5.0, 0.0, 5.0, 0.0, 5.0, 0.0, 5.0],
        "NONE": [0.0] * 12,
    }
    c = classify(_history(rows), np.array([10.0, 10.0, 1.0, 1.0, 5.0])).set_index("sku")
    assert c.loc["BIG", "abc"] == "A" and c.loc["MID", "abc"] in ("A", "B") and c.loc["NONE", "abc"] == "C"
    assert c.loc["BIG", "xyz"] == "X" and c.loc["LUMPY", "xyz"] == "Z"
    assert c.loc["BIG", "pattern"] == "smooth"
    assert c.loc["LUMPY", "pattern"] == "lumpy"
    assert c.loc["INTER", "pattern"] == "intermittent"
    assert c.loc["NONE", "pattern"] == "none"
    assert c.loc["INTER", "adi"] == pytest.approx(11 / 6)
    with pytest.raises(ValueError, match="one value per SKU"):
        classify(_history(rows), np.ones(2))


def test_service_targets(tmp_path: Path) -> None:
    t = ServiceTargets(targets={"A": 0.98, "AX": 0.99, "C": 0.9}, default=0.95)
    np.testing.assert_array_equal(
        t.group_of(np.array(["A", "A", "B", "C"]), np.array(["X", "Z", "X", "Y"])), ["AX", "A", "default", "C"]
    )
    np.testing.assert_allclose(t.target_of(np.array(["A", "B"]), np.array(["X", "X"])), [0.99, 0.95])
    path = tmp_path / "targets.yaml"
    path.write_text("service_targets:\n  measure: cycle_service\n  targets: {A: 0.97}\n")
    assert ServiceTargets.from_yaml(path).measure == "cycle_service"
    with pytest.raises(ValidationError, match="strictly between 0 and 1"):
        ServiceTargets(targets={"A": 1.2})
    with pytest.raises(ValidationError, match="must be an ABC class"):
        ServiceTargets(targets={"Q": 0.9})
