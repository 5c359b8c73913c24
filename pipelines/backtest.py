"""Rolling-origin backtest and final fit of every candidate, for one chunk of SKUs (the unit of parallel work).

For each origin (the last `windows` cut points, `step` periods apart, the last one `horizon` periods before the end)
every candidate of a SKU's demand pattern is fitted on the history up to the origin and forecasts `horizon` periods;
then every candidate is fitted once more on the whole history for the final forecast. Distribution-only candidates
(`empirical`) carry their own quantiles: the empirical distribution of the last `window` periods.

Public interface: `origins(...)`, `run_chunk(panel, patterns, config) -> ChunkResult`, `empirical_table(...)`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from models.base import Panel
from models.candidates import CandidateSettings, empirical_table, fit_means
from pipelines.config import ExperimentConfig

log = logging.getLogger(__name__)


@dataclass
class ChunkResult:
    """Backtest and final forecasts of one chunk of SKUs."""

    #: [sku, window, horizon, date, model, mean, y]
    backtest: pd.DataFrame
    #: [sku, date, horizon, model, mean]
    final: pd.DataFrame
    #: empirical quantiles per (sku, window) at each origin; window = -1 is the final one. [sku, window, q…]
    empirical: pd.DataFrame
    #: (sku, model, reason)
    fallbacks: list[tuple[str, str, str]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def origins(end: pd.Timestamp, freq: str, windows: int, step: int, horizon: int) -> list[pd.Timestamp]:
    """Origins (last period of training data), earliest first; the last leaves `horizon` periods to score."""
    offsets = [horizon + k * step for k in range(windows)]
    grid = pd.date_range(end=end, periods=max(offsets) + 1, freq=freq)
    return sorted(pd.Timestamp(grid[-1 - o]) for o in offsets)


def _settings(config: ExperimentConfig) -> CandidateSettings:
    return CandidateSettings(
        season_length=config.season_length,
        lightgbm=config.lightgbm.model_dump(),
        prophet_min_length=config.prophet.min_length,
        empirical_window=config.window,
        seed=config.seed,
    )


def _names(patterns: pd.Series, config: ExperimentConfig) -> dict[str, list[str]]:
    return {str(sku): config.candidates[str(pattern)] for sku, pattern in patterns.items()}


def run_chunk(panel: Panel, patterns: pd.Series, config: ExperimentConfig) -> ChunkResult:
    """Backtest every candidate over the rolling origins, then fit them on the whole history."""
    h = config.horizon
    step = config.backtest.step or h
    fallbacks: list[tuple[str, str, str]] = []
    timing: dict[str, float] = {}
    levels = config.quantiles
    cuts = origins(panel.end, panel.freq, config.backtest.windows, step, h)
    backtests: list[pd.DataFrame] = []
    empiricals: list[pd.DataFrame] = []
    actual = panel.frame.rename(columns={"qty": "y"})
    for window, origin in enumerate(cuts):
        train = panel.until(origin)
        lengths = train.frame.groupby("sku").size()
        eligible = lengths[lengths >= config.backtest.min_train].index
        if len(eligible) == 0:
            continue
        train = train.subset(list(eligible))
        means = fit_means(train, _names(patterns.reindex(eligible), config), h, _settings(config), [], timing)
        scored = means.merge(actual, on=["sku", "date"], how="inner")
        backtests.append(scored.assign(window=window))
        table = empirical_table(train, config.window, levels)
        empiricals.append(table.reset_index().assign(window=window))
    final = fit_means(panel, _names(patterns, config), h, _settings(config), fallbacks, timing)
    table = empirical_table(panel, config.window, levels)
    empiricals.append(table.reset_index().assign(window=-1))
    columns = ["sku", "window", "horizon", "date", "model", "mean", "y"]
    backtest = pd.concat(backtests, ignore_index=True)[columns] if backtests else pd.DataFrame(columns=columns)
    return ChunkResult(backtest, final, pd.concat(empiricals, ignore_index=True), fallbacks, timing)
