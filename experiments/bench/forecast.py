"""Forecast benchmark: hold out the last H periods of every series and score leanplan and peer libraries on them.

Every method sees the same history and is scored on the same actuals with `pipelines.metrics` (errors scaled by
each SKU's in-sample mean |first difference|; `pinball` = mean scaled pinball loss over q0.1, q0.5, q0.9, the mean
standing in for a missing median; tail calibration that holds for discrete data).

Methods (names are stable; they match ../tools/eval_forecast.py where both have them):

- `leanplan`: `pipelines.forecast.forecast(history, horizon=H, quantiles=DEFAULT_QUANTILES)`.
- `statsforecast_AutoETS`, `statsforecast_SeasonalNaive` (their own intervals), `statsforecast_CrostonOptimized`,
  `statsforecast_TSB` (α_d = α_p = 0.1), `statsforecast_ADIDA`, `statsforecast_IMAPA` (conformal intervals,
  3 windows of H). AutoETS gets season length 1 when the season exceeds 24 (statsforecast, like R's `ets`,
  silently fits non-seasonal models beyond that, ten times slower).
- `mlforecast_LightGBM`: one global LightGBM model with a Tweedie objective (counts), recursive; lags 1..season,
  rolling means of the last 3, 6 and season periods (and of the same period in past seasons), calendar features;
  intervals from mlforecast's conformal `PredictionIntervals` (3 windows of H).
- `prophet`: Prophet per SKU with its defaults and an 80 % interval; on a seeded sample of SKUs when the panel has
  more than `prophet_sample` series (then the report adds leanplan's metrics on the same sample).
- `empirical_quantiles_2h`: per SKU, the mean and pandas quantiles of the last 2H periods, flat over the horizon.
- `zero`: the all-zero forecast.

Besides the portfolio means, each method reports per-SKU medians and the SKU with the largest RMSSE with its share
of the mean: a mean of scaled errors can be decided by one SKU whose history barely moves.

Interval peers give q0.1/q0.9 from their 80 % interval and no median (the mean stands in). Every peer forecast is
clipped at 0 (demand is a count).

Public interface: `run(demand, horizon, …) -> dict` (the JSON report), `holdout_split`, `infer_frequency`,
`Frequency`, `Holdout`, `PEERS`, `METHODS`, `format_report(report) -> str`.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.schema import DEFAULT_QUANTILES, check_forecast_frame, quantile_col
from pipelines import metrics

log = logging.getLogger(__name__)

#: Interval level of peers that give intervals, not quantiles: 80 % → q0.1 and q0.9.
INTERVAL_LEVEL = 80
#: Windows of H periods for conformal intervals (statsforecast and mlforecast): both need ≥ 3H + 1 periods.
CONFORMAL_WINDOWS = 3
#: statsforecast's AutoETS fits non-seasonal models beyond this season length (FIELD-NOTES.md).
ETS_MAX_SEASON = 24
#: Worker processes (statsforecast `n_jobs`, LightGBM threads, Prophet processes).
N_JOBS = 2

STATSFORECAST = (
    "statsforecast_AutoETS",
    "statsforecast_SeasonalNaive",
    "statsforecast_CrostonOptimized",
    "statsforecast_TSB",
    "statsforecast_ADIDA",
    "statsforecast_IMAPA",
)
PEERS = (*STATSFORECAST, "mlforecast_LightGBM", "prophet", "empirical_quantiles_2h", "zero")
METHODS = ("leanplan", *PEERS)

#: Panel kind → targets: (rmsse bar, rmsse compared with "all" peers or "statsforecast" only, pinball bar).
TARGETS = {"smooth": (0.97, "all", 0.95), "intermittent": (1.0, "statsforecast", 0.95)}
#: Metrics shown for the other methods on the Prophet sample.
SUMMARY = ("series", "rmsse", "rmsse_median", "mase", "wape", "pinball", "pinball_median", "calibrated")
#: Syntetos–Boylan: a series is intermittent when the average interval between demands exceeds 1.32 periods.
ADI_CUTOFF = 1.32


# --- data: frequency and hold-out ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frequency:
    """A demand frequency: pandas offset `alias` ('MS', 'W-MON', 'D'), `name` and default `season` length."""

    alias: str
    name: str
    season: int

    @property
    def offset(self) -> pd.offsets.BaseOffset:
        return pd.tseries.frequencies.to_offset(self.alias)


def infer_frequency(dates: Iterable[Any]) -> Frequency:
    """Monthly, weekly or daily, from the distinct period starts of a panel; ValueError for anything else."""
    unique = pd.DatetimeIndex(pd.unique(pd.to_datetime(pd.Series(dates)))).sort_values()
    if len(unique) < 3:
        raise ValueError(f"cannot infer the demand frequency from {len(unique)} distinct date(s); need at least 3")
    step = pd.Series(unique[1:] - unique[:-1]).dt.days
    typical = float(step.median())
    if 28 <= typical <= 31:
        if (unique.day == 1).all():
            return Frequency("MS", "monthly", 12)
        if unique.is_month_end.all():
            return Frequency("ME", "monthly", 12)
        raise ValueError("monthly demand must be dated on month starts (or all on month ends)")
    if typical == 7:
        weekdays = set(unique.dayofweek)
        if len(weekdays) != 1:
            raise ValueError(f"weekly demand must fall on one weekday; found {len(weekdays)} different weekdays")
        day = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")[weekdays.pop()]
        return Frequency(f"W-{day}", "weekly", 52)
    if typical == 1:
        return Frequency("D", "daily", 7)
    raise ValueError(f"demand dates are {typical:g} days apart; expected daily, weekly or monthly periods")


@dataclass(frozen=True)
class Holdout:
    """History and held-out actuals ([sku, date, qty], sorted), and what was set aside on the way."""

    history: pd.DataFrame
    actual: pd.DataFrame
    end: pd.Timestamp
    dropped_not_at_end: int
    dropped_short: int
    filled_periods: int


def holdout_split(demand: pd.DataFrame, horizon: int, freq: Frequency, min_history: int = 1) -> Holdout:
    """Keep the series that reach the panel's last date, fill missing periods inside a series with 0 demand, and
    hold out the last `horizon` periods of each; series with fewer than `min_history` periods left are dropped."""
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 period, got {horizon}")
    frame = demand[["sku", "date", "qty"]].copy()
    frame["date"] = pd.to_datetime(frame["date"])
    if frame.duplicated(["sku", "date"]).any():
        raise ValueError("demand holds more than one row for some (sku, date); sum them per period first")
    end = pd.Timestamp(frame["date"].max())
    reach = frame[frame.groupby("sku")["date"].transform("max") == end]
    dropped_not_at_end = int(frame["sku"].nunique() - reach["sku"].nunique())
    grid = pd.date_range(reach["date"].min(), end, freq=freq.alias)
    pos = grid.get_indexer(pd.DatetimeIndex(reach["date"]))
    if len(grid) == 0 or grid[-1] != end or (pos < 0).any():
        raise ValueError(f"demand dates do not fall on the {freq.name} periods ({freq.alias}) of the panel")
    # dense panel: every SKU from its first period to the common end, missing periods as 0 demand
    codes, skus = pd.factorize(reach["sku"], sort=True)
    start = np.full(len(skus), len(grid))
    np.minimum.at(start, codes, pos)
    length = len(grid) - start
    ends = np.cumsum(length)
    step = np.arange(ends[-1]) - np.repeat(ends - length, length)
    code = np.repeat(np.arange(len(skus)), length)
    period = np.repeat(start, length) + step
    present = np.sort(codes.astype(np.int64) * len(grid) + pos)
    order = np.argsort(codes.astype(np.int64) * len(grid) + pos)
    wanted = code.astype(np.int64) * len(grid) + period
    at = np.minimum(np.searchsorted(present, wanted), len(present) - 1)
    found = present[at] == wanted
    qty = np.where(found, reach["qty"].to_numpy(dtype=float)[order][at], 0.0)
    dense = pd.DataFrame({"sku": skus.to_numpy()[code], "date": grid[period], "qty": qty})
    from_end = len(grid) - 1 - period  # 0 = the last period
    short = np.repeat(length - horizon < min_history, length)
    history = dense[(from_end >= horizon) & ~short].reset_index(drop=True)
    actual = dense[(from_end < horizon) & ~short].reset_index(drop=True)
    if history.empty:
        raise ValueError(
            f"no series has {min_history} periods of history before the last {horizon} periods; "
            "lower --horizon or supply longer series"
        )
    return Holdout(
        history, actual, end, dropped_not_at_end, int((length - horizon < min_history).sum()), int((~found).sum())
    )


def panel_kind(history: pd.DataFrame) -> str:
    """'intermittent' when most series have an average inter-demand interval above 1.32 periods, else 'smooth'."""
    grouped = history.assign(nz=history["qty"] > 0).groupby("sku")["nz"]
    adi = grouped.size() / grouped.sum().clip(lower=1)
    return "intermittent" if float((adi > ADI_CUTOFF).mean()) > 0.5 else "smooth"


# --- methods: each returns a frame [sku, date, mean, q…] for the H periods after the history ---------------------


@dataclass(frozen=True)
class Task:
    """What every method gets: the history, the horizon, the frequency and season, a seed."""

    history: pd.DataFrame
    horizon: int
    freq: Frequency
    season: int
    seed: int

    def future(self) -> pd.DatetimeIndex:
        """The H period starts after the history's common last date."""
        end = self.history["date"].max()
        return pd.date_range(end + self.freq.offset, periods=self.horizon, freq=self.freq.alias)

    def nixtla(self) -> pd.DataFrame:
        """The history in the Nixtla libraries' long layout [unique_id, ds, y]."""
        return self.history.rename(columns={"sku": "unique_id", "date": "ds", "qty": "y"})


def _from_intervals(sku: Any, date: Any, mean: Any, lo: Any, hi: Any) -> pd.DataFrame:
    """A peer frame from a mean and an 80 % interval, clipped at 0 (demand is a count)."""
    clip = lambda v: np.clip(np.asarray(v, dtype=float), 0.0, None)  # noqa: E731
    return pd.DataFrame(
        {
            "sku": np.asarray(sku),
            "date": pd.to_datetime(np.asarray(date)),
            "mean": clip(mean),
            quantile_col(0.1): clip(lo),
            quantile_col(0.9): clip(hi),
        }
    )


def _statsforecast_model(name: str, task: Task) -> Any:
    from statsforecast.models import ADIDA, IMAPA, TSB, AutoETS, CrostonOptimized, SeasonalNaive
    from statsforecast.utils import ConformalIntervals

    conformal = ConformalIntervals(h=task.horizon, n_windows=CONFORMAL_WINDOWS)
    if name == "statsforecast_AutoETS":
        return AutoETS(season_length=task.season if task.season <= ETS_MAX_SEASON else 1)
    if name == "statsforecast_SeasonalNaive":
        return SeasonalNaive(season_length=task.season)
    if name == "statsforecast_CrostonOptimized":
        return CrostonOptimized(prediction_intervals=conformal)
    if name == "statsforecast_TSB":
        return TSB(alpha_d=0.1, alpha_p=0.1, prediction_intervals=conformal)
    if name == "statsforecast_ADIDA":
        return ADIDA(prediction_intervals=conformal)
    if name == "statsforecast_IMAPA":
        return IMAPA(prediction_intervals=conformal)
    raise KeyError(name)


def statsforecast_peer(name: str, task: Task) -> pd.DataFrame:
    """One statsforecast model fitted per series (`n_jobs=2`), mean and 80 % interval."""
    from statsforecast import StatsForecast

    model = _statsforecast_model(name, task)
    engine = StatsForecast(models=[model], freq=task.freq.alias, n_jobs=N_JOBS)
    fc = engine.forecast(df=task.nixtla(), h=task.horizon, level=[INTERVAL_LEVEL])
    fc = fc.reset_index() if "unique_id" not in fc.columns else fc
    alias = model.alias
    lo, hi = f"{alias}-lo-{INTERVAL_LEVEL}", f"{alias}-hi-{INTERVAL_LEVEL}"
    return _from_intervals(fc["unique_id"], fc["ds"], fc[alias], fc[lo], fc[hi])


def _calendar_features(freq: Frequency) -> list[str]:
    return {"monthly": ["month"], "weekly": ["month", "week"], "daily": ["dayofweek", "month"]}[freq.name]


def lightgbm_peer(task: Task) -> pd.DataFrame:
    """mlforecast's global LightGBM with a Tweedie objective for counts (LightGBM defaults otherwise): lags
    1..season, rolling means of the last 3, 6 and season periods and of the same period over two seasons (when the
    history is long enough), calendar features, recursive forecasts; 80 % interval from mlforecast's conformal
    `PredictionIntervals`."""
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean, SeasonalRollingMean
    from mlforecast.utils import PredictionIntervals

    season = max(task.season, 2)
    lag_transforms: dict[int, list[Any]] = {1: [RollingMean(window_size=w) for w in sorted({3, 6, season})]}
    # the conformal windows' model trains on the history less 3H periods: keep features that leave it rows
    span = int(task.history.groupby("sku").size().median()) - CONFORMAL_WINDOWS * task.horizon
    if task.season > 1 and 2 * task.season < span:
        lag_transforms[task.season] = [SeasonalRollingMean(season_length=task.season, window_size=2)]
    model = lgb.LGBMRegressor(objective="tweedie", random_state=task.seed, n_jobs=N_JOBS, verbosity=-1)
    forecaster = MLForecast(
        models={"LightGBM": model},
        freq=task.freq.alias,
        lags=list(range(1, season + 1)),
        lag_transforms=lag_transforms,
        date_features=_calendar_features(task.freq),
        num_threads=N_JOBS,
    )
    intervals = PredictionIntervals(n_windows=CONFORMAL_WINDOWS, h=task.horizon)
    forecaster.fit(task.nixtla(), prediction_intervals=intervals)
    fc = forecaster.predict(task.horizon, level=[INTERVAL_LEVEL])
    lo, hi = f"LightGBM-lo-{INTERVAL_LEVEL}", f"LightGBM-hi-{INTERVAL_LEVEL}"
    return _from_intervals(fc["unique_id"], fc["ds"], fc["LightGBM"], fc[lo], fc[hi])


def _prophet_chunk(series: list[tuple[str, np.ndarray, np.ndarray]], future: np.ndarray, seed: int) -> pd.DataFrame:
    """Fit Prophet to each (sku, dates, values) in a worker; a SKU whose fit fails gets its history mean (flagged)."""
    from cmdstanpy.utils import get_logger
    from prophet import Prophet

    # one INFO line per SKU otherwise (cmdstanpy configures its logger on first use: do that first)
    get_logger().setLevel(logging.ERROR)
    logging.getLogger("prophet").setLevel(logging.ERROR)

    frames = []
    for sku, dates, values in series:
        np.random.seed(seed)  # Prophet draws its uncertainty samples from numpy's global generator
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = Prophet(interval_width=INTERVAL_LEVEL / 100).fit(pd.DataFrame({"ds": dates, "y": values}))
                fc = model.predict(pd.DataFrame({"ds": future}))
            mean, lo, hi = fc["yhat"].to_numpy(), fc["yhat_lower"].to_numpy(), fc["yhat_upper"].to_numpy()
            failed = False
        except Exception:  # a per-SKU failure must not sink the peer; it is counted in the report
            log.warning("Prophet failed on %s; using its history mean", sku, exc_info=True)
            mean = lo = hi = np.full(len(future), float(np.mean(values)))
            failed = True
        frame = _from_intervals([sku] * len(future), future, mean, lo, hi)
        frames.append(frame.assign(fallback=failed))
    return pd.concat(frames, ignore_index=True)


def prophet_peer(task: Task) -> pd.DataFrame:
    """Prophet per SKU (defaults, 80 % interval), SKUs split over `N_JOBS` worker processes."""
    future = task.future().to_numpy()
    series = [(str(sku), g["date"].to_numpy(), g["qty"].to_numpy()) for sku, g in task.history.groupby("sku")]
    chunks = [series[i::N_JOBS] for i in range(N_JOBS)]
    with ProcessPoolExecutor(max_workers=N_JOBS) as pool:
        parts = list(pool.map(_prophet_chunk, chunks, [future] * N_JOBS, [task.seed] * N_JOBS))
    out = pd.concat(parts, ignore_index=True)
    if out["fallback"].any():
        log.warning("Prophet fell back to the history mean on %d SKU(s)", out.loc[out["fallback"], "sku"].nunique())
    return out


def empirical_quantiles(task: Task) -> pd.DataFrame:
    """Per SKU: mean and pandas (linear) quantiles of the last 2H periods, the same for every horizon step."""
    recent = task.history.groupby("sku").tail(2 * task.horizon).groupby("sku")["qty"]
    stats = pd.DataFrame({"mean": recent.mean(), **{quantile_col(p): recent.quantile(p) for p in (0.1, 0.5, 0.9)}})
    return _on_grid(task, stats)


def zero_forecast(task: Task) -> pd.DataFrame:
    """The all-zero forecast: mean and every quantile 0."""
    skus = pd.Index(task.history["sku"].unique(), name="sku")
    stats = pd.DataFrame(0.0, index=skus, columns=["mean", *(quantile_col(p) for p in (0.1, 0.5, 0.9))])
    return _on_grid(task, stats)


def _on_grid(task: Task, per_sku: pd.DataFrame) -> pd.DataFrame:
    future = task.future()
    grid = pd.DataFrame(
        {"sku": np.repeat(per_sku.index.to_numpy(), len(future)), "date": np.tile(future, len(per_sku))}
    )
    return grid.merge(per_sku, left_on="sku", right_index=True, how="left")


def leanplan_forecast(task: Task) -> pd.DataFrame:
    """leanplan's own forecast (`pipelines.forecast.forecast`), checked against the forecast-frame contract."""
    from pipelines.forecast import forecast

    frame = forecast(task.history, horizon=task.horizon, quantiles=DEFAULT_QUANTILES)
    check_forecast_frame(frame, DEFAULT_QUANTILES)
    frame = frame.copy()
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def _method(name: str) -> Callable[[Task], pd.DataFrame]:
    if name in STATSFORECAST:
        return lambda task: statsforecast_peer(name, task)
    table: dict[str, Callable[[Task], pd.DataFrame]] = {
        "leanplan": leanplan_forecast,
        "mlforecast_LightGBM": lightgbm_peer,
        "prophet": prophet_peer,
        "empirical_quantiles_2h": empirical_quantiles,
        "zero": zero_forecast,
    }
    return table[name]


# --- scoring and report ----------------------------------------------------------------------------------------


def _score(actual: pd.DataFrame, forecast: pd.DataFrame, scale: metrics.Scales) -> dict[str, Any]:
    """Portfolio metrics (`pipelines.metrics.portfolio`) with tails grouped, plus two robustness figures: per-SKU
    medians, and the SKU with the largest RMSSE and its share of the portfolio mean (one unforecastable SKU with
    a near-zero scale can dominate a mean of scaled errors). Every row of `actual` needs a forecast (ValueError)."""
    forecast = forecast[forecast["sku"].isin(actual["sku"].unique())]
    found = metrics.portfolio(actual, forecast, scale)
    tails = {k: found.pop(k) for k in list(found) if k.startswith("p_") or k == "coverage_80"}
    per_sku = metrics.per_sku(actual, forecast, scale)
    rmsse = per_sku["rmsse"]
    worst = rmsse.idxmax()
    largest, total = float(rmsse.max()), float(rmsse.sum())
    return {
        **found,
        "tails": tails,
        "rmsse_median": float(per_sku["rmsse"].median()),
        "pinball_median": float(per_sku["pinball"].median()),
        "largest_rmsse_sku": {
            "sku": str(worst),
            "rmsse": largest,
            "share_of_mean": largest / total if total > 0 else 0.0,
        },
    }


def _best(table: dict[str, dict[str, Any]], names: Iterable[str], key: str) -> tuple[str | None, float | None]:
    found = [(table[n][key], n) for n in names if n in table and key in table[n]]
    if not found:
        return None, None
    value, name = min(found)
    return name, value


def _ratio(ours: float | None, best: float | None) -> float | None:
    return None if ours is None or best is None or best <= 0 else ours / best


def compare(methods: dict[str, dict[str, Any]], kind: str) -> dict[str, Any]:
    """leanplan against the best peer scored on every series (a sampled Prophet is compared separately)."""
    peers = [n for n, m in methods.items() if n != "leanplan" and "rmsse" in m and not m.get("sampled")]
    best_rmsse_peer, best_rmsse = _best(methods, peers, "rmsse")
    best_pinball_peer, best_pinball = _best(methods, peers, "pinball")
    best_sf_peer, best_sf = _best(methods, [n for n in peers if n in STATSFORECAST], "rmsse")
    ours = methods.get("leanplan", {})
    out: dict[str, Any] = {
        "rmsse_ratio": _ratio(ours.get("rmsse"), best_rmsse),
        "pinball_ratio": _ratio(ours.get("pinball"), best_pinball),
        "rmsse_ratio_vs_best_statsforecast": _ratio(ours.get("rmsse"), best_sf),
        "best_rmsse_peer": best_rmsse_peer,
        "best_rmsse": best_rmsse,
        "best_pinball_peer": best_pinball_peer,
        "best_pinball": best_pinball,
        "best_statsforecast_rmsse_peer": best_sf_peer,
        "best_statsforecast_rmsse": best_sf,
        "calibrated": ours.get("calibrated"),
    }
    rmsse_bar, against, pinball_bar = TARGETS[kind]
    rmsse_ratio = out["rmsse_ratio"] if against == "all" else out["rmsse_ratio_vs_best_statsforecast"]
    checks = {
        "rmsse": None if rmsse_ratio is None else rmsse_ratio <= rmsse_bar,
        "pinball": None if out["pinball_ratio"] is None else out["pinball_ratio"] <= pinball_bar,
        "calibrated": ours.get("calibrated"),
    }
    out["targets"] = {
        "kind": kind,
        "rmsse_bar": f"<= {rmsse_bar} x best {'peer' if against == 'all' else 'statsforecast method'}",
        "pinball_bar": f"<= {pinball_bar} x best peer",
        "checks": checks,
        "met": None if any(v is None for v in checks.values()) else all(checks.values()),
    }
    return out


def run(
    demand: pd.DataFrame,
    horizon: int,
    season: int | None = None,
    methods: Sequence[str] = METHODS,
    prophet_sample: int = 500,
    seed: int = 0,
    kind: str = "auto",
    source: str = "<data>",
) -> dict[str, Any]:
    """Benchmark `methods` on `demand` [sku, date, qty] with the last `horizon` periods held out; the JSON report.

    A method that raises is reported with its error (and left out of the comparison) instead of stopping the run.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {list(METHODS)}")
    if kind not in ("auto", *TARGETS):
        raise ValueError(f"kind must be auto, smooth or intermittent, got {kind!r}")
    if season is not None and season < 1:
        raise ValueError(f"season must be at least 1 period, got {season}")
    if prophet_sample < 1:
        raise ValueError(f"prophet_sample must be at least 1 series, got {prophet_sample}")
    freq = infer_frequency(demand["date"])
    season = season or freq.season
    split = holdout_split(demand, horizon, freq, min_history=CONFORMAL_WINDOWS * horizon + 1)
    history, actual = split.history, split.actual
    kind = panel_kind(history) if kind == "auto" else kind
    scale = metrics.scales(history)
    skus = np.sort(history["sku"].unique())
    log.info("%d series, %s, horizon %d, season %d, %s", len(skus), freq.name, horizon, season, kind)

    sample: np.ndarray | None = None
    if "prophet" in methods and len(skus) > prophet_sample:
        sample = np.sort(np.random.default_rng(seed).choice(skus, size=prophet_sample, replace=False))

    table: dict[str, dict[str, Any]] = {}
    forecasts: dict[str, pd.DataFrame] = {}
    for name in methods:
        subset = sample if name == "prophet" else None
        task_history = history if subset is None else history[history["sku"].isin(subset)]
        task_actual = actual if subset is None else actual[actual["sku"].isin(subset)]
        task = Task(task_history.reset_index(drop=True), horizon, freq, season, seed)
        log.info("running %s on %d series", name, task_history["sku"].nunique())
        started = time.perf_counter()
        try:
            fc = _method(name)(task)
        except ImportError as err:
            log.warning("%s skipped: %s", name, err)
            table[name] = {"error": f"not available: {err}"}
            continue
        except Exception as err:
            log.exception("%s failed", name)
            table[name] = {"error": f"{type(err).__name__}: {err}"}
            continue
        seconds = time.perf_counter() - started
        try:
            entry = _score(task_actual, fc, scale)
        except ValueError as err:
            table[name] = {"error": f"scoring failed: {err}", "seconds": round(seconds, 3)}
            continue
        entry["seconds"] = round(seconds, 3)
        entry["seconds_per_1000_series"] = round(1000 * seconds / max(entry["series"], 1), 3)
        if "fallback" in fc:
            entry["fallback_series"] = int(fc.loc[fc["fallback"], "sku"].nunique())
        if subset is not None:
            entry["sampled"] = True
        table[name], forecasts[name] = entry, fc
        log.info("%s: rmsse %.4f pinball %.4f in %.1f s", name, entry["rmsse"], entry["pinball"], seconds)

    report: dict[str, Any] = {
        "data": {
            "file": source,
            "series": len(skus),
            "horizon": horizon,
            "season": season,
            "freq": freq.alias,
            "frequency": freq.name,
            "kind": kind,
            "history_periods": int(history.groupby("sku").size().max()),
            "end": split.end.date().isoformat(),
            "dropped_not_at_end": split.dropped_not_at_end,
            "dropped_short": split.dropped_short,
            "min_history": CONFORMAL_WINDOWS * horizon + 1,
            "filled_periods": split.filled_periods,
            "seed": seed,
        },
        "methods": table,
        "leanplan_vs_best_peer": compare(table, kind),
    }
    if sample is not None and "prophet" in forecasts:
        report["prophet_sample"] = _sample_comparison(actual, forecasts, scale, sample, seed)
    return report


def _sample_comparison(
    actual: pd.DataFrame, forecasts: dict[str, pd.DataFrame], scale: metrics.Scales, sample: np.ndarray, seed: int
) -> dict[str, Any]:
    """Prophet ran on a sample of SKUs: leanplan scored on the same sample, so the two compare fairly."""
    actual = actual[actual["sku"].isin(sample)]
    out: dict[str, Any] = {
        "series": len(sample),
        "seed": seed,
        "note": "Prophet ran on a seeded sample of SKUs; leanplan is scored on the same sample here",
    }
    out["prophet"] = _score(actual, forecasts["prophet"], scale)
    if "leanplan" in forecasts:
        out["leanplan"] = _score(actual, forecasts["leanplan"], scale)
        for key in ("rmsse", "pinball"):
            out[f"{key}_ratio"] = _ratio(out["leanplan"][key], out["prophet"][key])
    others = {n: f for n, f in forecasts.items() if n not in ("prophet", "leanplan")}
    out["others"] = {n: {k: v for k, v in _score(actual, f, scale).items() if k in SUMMARY} for n, f in others.items()}
    return out


def format_report(report: dict[str, Any]) -> str:
    """The report as a plain-text table, then leanplan's ratios to the best peer."""
    d = report["data"]
    lines = [
        f"{d['file']}: {d['series']:,} series, {d['frequency']}, horizon {d['horizon']}, season {d['season']}, "
        f"{d['kind']}; dropped {d['dropped_not_at_end']} not reaching {d['end']} and {d['dropped_short']} with "
        f"< {d['min_history']} periods of history",
        f"{'method':<32}{'series':>7}{'rmsse':>9}{'mase':>9}{'wape':>9}{'pinball':>9}{'calibrated':>11}{'seconds':>9}",
    ]
    for name, m in report["methods"].items():
        if "error" in m:
            lines.append(f"{name:<32}  error: {m['error']}")
            continue
        star = "*" if m.get("sampled") else ""
        lines.append(
            f"{name + star:<32}{m['series']:>7,}{m['rmsse']:>9.4f}{m['mase']:>9.4f}{m['wape']:>9.4f}"
            f"{m['pinball']:>9.4f}{'yes' if m['calibrated'] else 'no':>11}{m['seconds']:>9.1f}"
        )
    c = report["leanplan_vs_best_peer"]
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    lines.append(
        f"leanplan / best peer: rmsse {fmt(c['rmsse_ratio'])} ({c['best_rmsse_peer']}), "
        f"pinball {fmt(c['pinball_ratio'])} ({c['best_pinball_peer']}), "
        f"rmsse vs best statsforecast {fmt(c['rmsse_ratio_vs_best_statsforecast'])} "
        f"({c['best_statsforecast_rmsse_peer']})"
    )
    t = c["targets"]
    checks = ", ".join(f"{k} {'n/a' if v is None else 'met' if v else 'MISSED'}" for k, v in t["checks"].items())
    lines.append(f"targets ({t['kind']}: rmsse {t['rmsse_bar']}, pinball {t['pinball_bar']}, calibrated): {checks}")
    best = report["methods"].get(c["best_rmsse_peer"] or "", {}).get("largest_rmsse_sku")
    if best and best["share_of_mean"] > 0.2:
        lines.append(
            f"note: one SKU, {best['sku']}, makes {best['share_of_mean']:.0%} of the best peer's mean rmsse "
            f"(its own rmsse {best['rmsse']:.1f}); per-SKU medians are in the JSON"
        )
    s = report.get("prophet_sample")
    if s:
        line = f"* prophet ran on a seeded sample of {s['series']:,} series (seed {s['seed']}), not in the best-peer"
        if "leanplan" in s:
            line += (
                f"; on that sample leanplan rmsse {s['leanplan']['rmsse']:.4f} vs {s['prophet']['rmsse']:.4f}, "
                f"pinball {s['leanplan']['pinball']:.4f} vs {s['prophet']['pinball']:.4f}"
            )
        lines.append(line)
    return "\n".join(lines)
