"""Forecast benchmark: hold-out split, peers, metrics against a hand computation, report shape and the CLI."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from experiments.bench import forecast as bench
from models.schema import DEFAULT_QUANTILES, quantile_col
from service.cli.apps import app

H = 6
MONTHS = pd.date_range("2020-01-01", periods=48, freq="MS")


def panel(seed: int = 7) -> pd.DataFrame:
    """Four smooth seasonal SKUs and two intermittent ones over 48 months, long [sku, date, qty]."""
    rng = np.random.default_rng(seed)
    season = 1 + 0.3 * np.sin(2 * np.pi * np.arange(len(MONTHS)) / 12)
    rows = []
    for i in range(4):
        rows.append(pd.DataFrame({"sku": f"S-{i}", "date": MONTHS, "qty": rng.poisson(20 * (i + 1) * season)}))
    for i in range(2):
        qty = rng.poisson(3, len(MONTHS)) * (rng.random(len(MONTHS)) < 0.3)
        rows.append(pd.DataFrame({"sku": f"I-{i}", "date": MONTHS, "qty": qty}))
    return pd.concat(rows, ignore_index=True).astype({"qty": float})


# --- frequency and split ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dates", "alias", "season"),
    [
        (pd.date_range("2021-01-01", periods=30, freq="MS"), "MS", 12),
        (pd.date_range("2021-01-31", periods=30, freq="ME"), "ME", 12),
        (pd.date_range("2021-01-04", periods=30, freq="W-MON"), "W-MON", 52),
        (pd.date_range("2021-01-01", periods=30, freq="D"), "D", 7),
    ],
)
def test_frequency_and_default_season_come_from_the_dates(dates: pd.DatetimeIndex, alias: str, season: int) -> None:
    freq = bench.infer_frequency(dates)
    assert (freq.alias, freq.season) == (alias, season)


def test_irregular_dates_are_refused_with_the_spacing() -> None:
    with pytest.raises(ValueError, match="3 days apart"):
        bench.infer_frequency(pd.date_range("2021-01-01", periods=10, freq="3D"))
    with pytest.raises(ValueError, match="month starts"):
        bench.infer_frequency(pd.DatetimeIndex(["2021-01-05", "2021-02-05", "2021-03-05"]))


def test_holdout_keeps_series_at_the_common_end_fills_gaps_and_holds_out_the_last_h() -> None:
    demand = panel()
    ends_early = pd.DataFrame({"sku": "OLD", "date": MONTHS[:40], "qty": 1.0})
    short = pd.DataFrame({"sku": "NEW", "date": MONTHS[-10:], "qty": 2.0})  # 4 periods of history < 3H + 1
    gap = demand[demand["sku"] == "S-0"].assign(sku="GAP").drop(index=demand.index[demand["sku"] == "S-0"][[5, 30]])
    split = bench.holdout_split(
        pd.concat([demand, ends_early, short, gap]), H, bench.infer_frequency(MONTHS), min_history=3 * H + 1
    )
    assert (split.dropped_not_at_end, split.dropped_short, split.filled_periods) == (1, 1, 2)
    kept = sorted({*demand["sku"], "GAP"})
    assert sorted(split.history["sku"].unique()) == kept == sorted(split.actual["sku"].unique())
    assert all(list(dates) == list(MONTHS[-H:]) for _, dates in split.actual.groupby("sku")["date"])
    assert (split.history.groupby("sku")["date"].max() == MONTHS[-H - 1]).all()
    gap_history = split.history[split.history["sku"] == "GAP"].set_index("date")["qty"]
    s0 = demand[demand["sku"] == "S-0"].set_index("date")["qty"]
    assert gap_history[MONTHS[5]] == 0.0 == gap_history[MONTHS[30]]
    assert gap_history.drop([MONTHS[5], MONTHS[30]]).equals(s0.iloc[:-H].drop([MONTHS[5], MONTHS[30]]))
    actual = split.actual[split.actual["sku"] == "S-0"]["qty"].to_numpy()
    np.testing.assert_array_equal(actual, s0.iloc[-H:].to_numpy())


def test_duplicate_periods_and_off_grid_dates_are_refused() -> None:
    demand = panel()
    freq = bench.infer_frequency(MONTHS)
    with pytest.raises(ValueError, match="more than one row"):
        bench.holdout_split(pd.concat([demand, demand.iloc[:1]]), H, freq)
    off = pd.DataFrame({"sku": ["X"], "date": [pd.Timestamp("2023-12-15")], "qty": [1.0]})
    with pytest.raises(ValueError, match="do not fall on the monthly periods"):
        bench.holdout_split(pd.concat([demand, off]), H, freq)


# --- metrics against a hand computation ------------------------------------------------------------------------


def test_zero_and_empirical_quantile_metrics_match_a_hand_computation() -> None:
    demand = panel()
    report = bench.run(demand, H, methods=("zero", "empirical_quantiles_2h"))
    zero_rmsse, zero_pinball, emp_pinball, emp_mase = [], [], [], []
    for _, g in demand.groupby("sku"):
        y = g["qty"].to_numpy()
        hist, act = y[:-H], y[-H:]
        mae, mse = np.mean(np.abs(np.diff(hist))), np.mean(np.diff(hist) ** 2)
        zero_rmsse.append(np.sqrt(np.mean(act**2) / mse))
        zero_pinball.append(np.mean([np.mean(p * act) for p in (0.1, 0.5, 0.9)]) / mae)
        recent = hist[-2 * H :]
        losses = []
        for p in (0.1, 0.5, 0.9):
            q = np.quantile(recent, p)
            losses.append(np.mean(np.where(act >= q, p * (act - q), (1 - p) * (q - act))))
        emp_pinball.append(np.mean(losses) / mae)
        emp_mase.append(np.mean(np.abs(act - recent.mean())) / mae)
    methods = report["methods"]
    assert methods["zero"]["rmsse"] == pytest.approx(np.mean(zero_rmsse), rel=1e-12)
    assert methods["zero"]["pinball"] == pytest.approx(np.mean(zero_pinball), rel=1e-12)
    assert methods["zero"]["wape"] == pytest.approx(1.0)
    assert methods["zero"]["rmsse_median"] == pytest.approx(np.median(zero_rmsse), rel=1e-12)
    largest = methods["zero"]["largest_rmsse_sku"]
    assert largest["rmsse"] == pytest.approx(max(zero_rmsse), rel=1e-12)
    assert largest["share_of_mean"] == pytest.approx(max(zero_rmsse) / sum(zero_rmsse), rel=1e-12)
    assert largest["sku"] == sorted(demand["sku"].unique())[int(np.argmax(zero_rmsse))]
    assert methods["empirical_quantiles_2h"]["pinball"] == pytest.approx(np.mean(emp_pinball), rel=1e-12)
    assert methods["empirical_quantiles_2h"]["mase"] == pytest.approx(np.mean(emp_mase), rel=1e-12)
    actual = demand.groupby("sku").tail(H)["qty"].to_numpy()
    assert methods["zero"]["tails"]["p_below_q0.1"] == 0.0
    assert methods["zero"]["tails"]["p_at_or_below_q0.9"] == pytest.approx(np.mean(actual <= 0))


# --- peers and the report --------------------------------------------------------------------------------------


def test_every_peer_runs_and_is_scored_on_every_series() -> None:
    """Every peer on the synthetic panel, Prophet on a seeded sample of 3 of the 6 SKUs."""
    peer_report = bench.run(panel(), H, methods=bench.PEERS, prophet_sample=3, seed=1, source="synthetic")
    methods = peer_report["methods"]
    assert list(methods) == list(bench.PEERS)
    for name, m in methods.items():
        assert "error" not in m, (name, m)
        assert m["series"] == (3 if name == "prophet" else 6)
        assert set(m) >= {"rmsse", "mase", "wape", "pinball", "tails", "calibrated", "seconds"}
        assert set(m["tails"]) >= {"p_below_q0.1", "p_at_or_below_q0.1", "p_below_q0.9", "p_at_or_below_q0.9"}
        assert np.isfinite([m["rmsse"], m["mase"], m["wape"], m["pinball"]]).all()
        assert m["seconds"] >= 0
    assert methods["prophet"]["sampled"] is True
    # a seasonal panel: the seasonal and model-based peers beat the all-zero forecast by far
    for name in ("statsforecast_AutoETS", "statsforecast_SeasonalNaive", "mlforecast_LightGBM"):
        assert methods[name]["rmsse"] < 0.5 * methods["zero"]["rmsse"]
    # one test for the one expensive run: with xdist a module fixture runs once per worker that uses it
    _check_report_shape_and_best_peer_without_leanplan(peer_report)


def _check_report_shape_and_best_peer_without_leanplan(peer_report: dict[str, Any]) -> None:
    assert peer_report["data"] == {
        **peer_report["data"],
        "file": "synthetic",
        "series": 6,
        "horizon": H,
        "season": 12,
        "freq": "MS",
        "kind": "smooth",
    }
    versus = peer_report["leanplan_vs_best_peer"]
    full = {n: m for n, m in peer_report["methods"].items() if n != "prophet"}
    assert versus["best_rmsse_peer"] == min(full, key=lambda n: full[n]["rmsse"])
    assert versus["best_pinball_peer"] == min(full, key=lambda n: full[n]["pinball"])
    assert versus["best_statsforecast_rmsse"] == min(full[n]["rmsse"] for n in bench.STATSFORECAST)
    assert versus["rmsse_ratio"] is None and versus["targets"]["met"] is None
    sample = peer_report["prophet_sample"]
    assert sample["series"] == 3 and "leanplan" not in sample
    assert sample["prophet"]["rmsse"] == peer_report["methods"]["prophet"]["rmsse"]
    json.dumps(peer_report)  # plain JSON types only


def test_peer_frames_are_non_negative_with_ordered_intervals() -> None:
    demand = panel()
    split = bench.holdout_split(demand, H, bench.infer_frequency(MONTHS))
    task = bench.Task(split.history, H, bench.infer_frequency(MONTHS), 12, seed=0)
    for name in ("statsforecast_CrostonOptimized", "statsforecast_AutoETS"):
        frame = bench.statsforecast_peer(name, task)
        assert len(frame) == 6 * H
        assert set(frame["date"]) == set(MONTHS[-H:])
        values = frame[["mean", "q0.1", "q0.9"]].to_numpy()
        assert (values >= 0).all() and (frame["q0.1"] <= frame["q0.9"]).all()


def test_leanplan_is_compared_with_the_best_peer_and_on_the_prophet_sample(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a known leanplan forecast (90 % of the empirical-quantile forecast), the ratios follow; Prophet on a
    sample of 2 SKUs is compared with leanplan on the same 2."""
    calls: list[dict[str, Any]] = []

    def fake_forecast(history: pd.DataFrame, horizon: int, quantiles: tuple[float, ...]) -> pd.DataFrame:
        calls.append({"rows": len(history), "horizon": horizon, "quantiles": tuple(quantiles)})
        recent = history.groupby("sku").tail(2 * horizon).groupby("sku")["qty"]
        stats = pd.DataFrame({"mean": recent.mean(), **{quantile_col(p): recent.quantile(p) for p in quantiles}})
        future = pd.date_range(history["date"].max() + pd.offsets.MonthBegin(), periods=horizon, freq="MS")
        grid = pd.DataFrame({"sku": np.repeat(stats.index, horizon), "date": np.tile(future, len(stats))})
        grid["horizon"] = np.tile(np.arange(1, horizon + 1), len(stats))
        return grid.merge(0.9 * stats, left_on="sku", right_index=True)

    monkeypatch.setitem(sys.modules, "pipelines.forecast", types.SimpleNamespace(forecast=fake_forecast))
    methods = ("leanplan", "empirical_quantiles_2h", "zero", "prophet")
    report = bench.run(panel(), H, methods=methods, prophet_sample=2, kind="intermittent")
    assert calls == [{"rows": 6 * (48 - H), "horizon": H, "quantiles": DEFAULT_QUANTILES}]
    ours, versus = report["methods"]["leanplan"], report["leanplan_vs_best_peer"]
    peers = {n: report["methods"][n] for n in ("empirical_quantiles_2h", "zero")}
    best = min(peers, key=lambda n: peers[n]["pinball"])
    assert versus["best_pinball_peer"] == best
    assert versus["pinball_ratio"] == pytest.approx(ours["pinball"] / peers[best]["pinball"])
    assert versus["rmsse_ratio_vs_best_statsforecast"] is None  # no statsforecast method ran
    assert versus["targets"]["kind"] == "intermittent"
    assert versus["targets"]["checks"]["pinball"] == (versus["pinball_ratio"] <= 0.95)
    assert versus["best_rmsse_peer"] != "prophet"  # it ran on 2 SKUs only: compared on its sample instead
    sample = report["prophet_sample"]
    assert sample["series"] == 2 == sample["leanplan"]["series"] == sample["others"]["zero"]["series"]
    assert sample["rmsse_ratio"] == pytest.approx(sample["leanplan"]["rmsse"] / sample["prophet"]["rmsse"])
    assert "on that sample leanplan rmsse" in bench.format_report(report)


def test_autoets_is_non_seasonal_beyond_24_periods_of_season() -> None:
    weeks = pd.date_range("2021-01-04", periods=60, freq="W-MON")
    history = pd.DataFrame({"sku": "W", "date": weeks, "qty": 1.0})
    weekly = bench.Task(history, 4, bench.infer_frequency(weeks), 52, seed=0)
    assert bench._statsforecast_model("statsforecast_AutoETS", weekly).season_length == 1
    assert bench._statsforecast_model("statsforecast_SeasonalNaive", weekly).season_length == 52
    monthly = bench.Task(history, 4, bench.Frequency("MS", "monthly", 12), 12, seed=0)
    assert bench._statsforecast_model("statsforecast_AutoETS", monthly).season_length == 12


def test_a_failing_method_is_reported_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(history: pd.DataFrame, horizon: int, quantiles: tuple[float, ...]) -> pd.DataFrame:
        raise RuntimeError("model exploded")

    monkeypatch.setitem(sys.modules, "pipelines.forecast", types.SimpleNamespace(forecast=broken))
    report = bench.run(panel(), H, methods=("leanplan", "zero"))
    assert report["methods"]["leanplan"] == {"error": "RuntimeError: model exploded"}
    assert "rmsse" in report["methods"]["zero"]
    assert "leanplan" in bench.format_report(report) and "model exploded" in bench.format_report(report)


def test_a_forecast_missing_skus_is_not_scored_on_fewer_series(monkeypatch: pytest.MonkeyPatch) -> None:
    def partial(history: pd.DataFrame, horizon: int, quantiles: tuple[float, ...]) -> pd.DataFrame:
        kept = history[history["sku"] != "S-0"]
        return bench.zero_forecast(bench.Task(kept, horizon, bench.infer_frequency(MONTHS), 12, seed=0))

    monkeypatch.setitem(sys.modules, "pipelines.forecast", types.SimpleNamespace(forecast=partial))
    monkeypatch.setattr(bench, "check_forecast_frame", lambda frame, quantiles: None)
    report = bench.run(panel(), H, methods=("leanplan",))
    assert report["methods"]["leanplan"]["error"].startswith(f"scoring failed: {H} actual rows have no forecast")


def test_bad_arguments_name_what_is_allowed() -> None:
    with pytest.raises(ValueError, match="unknown method"):
        bench.run(panel(), H, methods=("arima",))
    with pytest.raises(ValueError, match="no series has 37 periods"):
        bench.run(panel(), 12, methods=("zero",))  # 36 periods of history < 3 x 12 + 1
    with pytest.raises(ValueError, match="kind must be"):
        bench.run(panel(), H, methods=("zero",), kind="lumpy")


# --- command line ----------------------------------------------------------------------------------------------


def test_cli_reads_a_wide_file_prints_the_table_and_writes_json(tmp_path: Path) -> None:
    long = panel()
    wide = long.assign(date=long["date"].dt.strftime("%Y-%m")).pivot(index="sku", columns="date", values="qty")
    wide.reset_index().to_csv(tmp_path / "demand.csv", index=False)
    out = tmp_path / "bench" / "report.json"
    result = CliRunner().invoke(
        app,
        ["bench", "forecast", "--demand", str(tmp_path / "demand.csv"), "--horizon", str(H), "--json", str(out),
         "--methods", "statsforecast_SeasonalNaive,empirical_quantiles_2h,zero"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "statsforecast_SeasonalNaive" in result.output and "6 series" in result.output
    report = json.loads(out.read_text())
    assert set(report) == {"data", "methods", "leanplan_vs_best_peer"}
    assert report["data"]["series"] == 6 and report["data"]["season"] == 12
    assert list(report["methods"]) == ["statsforecast_SeasonalNaive", "empirical_quantiles_2h", "zero"]


def test_cli_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["bench", "forecast", "--demand", str(tmp_path / "none.csv"), "--horizon", "6"])
    assert missing.exit_code == 2 and "not found" in missing.output
    panel().to_csv(tmp_path / "demand.csv", index=False)
    too_long = runner.invoke(app, ["bench", "forecast", "--demand", str(tmp_path / "demand.csv"), "--horizon", "20"])
    assert too_long.exit_code == 2 and "lower --horizon" in too_long.output
    assert "Traceback" not in too_long.output
