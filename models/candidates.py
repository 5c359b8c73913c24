"""Fit named candidate models on a panel, each SKU with its own list of candidates, and forecast their means.

Model names: the statsforecast ones of `models.statistical.STATS_MODELS`, `lightgbm` (one global model over the
SKUs that list it), `prophet` (per SKU, long series only) and `empirical` (mean of the last `empirical_window`
periods; its quantiles are that window's empirical distribution, see `empirical_table`).

Public interface: `CandidateSettings`, `fit_means(panel, names, h, settings) -> [sku, date, horizon, model, mean]`,
`empirical_table(panel, window, levels)`.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models.base import Panel, future_dates, season_length
from models.schema import quantile_col
from models.statistical import STATS_MODELS

Fallback = tuple[str, str, str]  # (sku, model, reason)


@dataclass(frozen=True)
class CandidateSettings:
    """Settings shared by every candidate: season length (None = from the frequency), model parameters."""

    season_length: int | None = None
    lightgbm: dict[str, Any] = field(default_factory=dict)
    prophet_min_length: int = 36
    empirical_window: int = 24
    seed: int = 0


def empirical_table(panel: Panel, window: int, levels: Sequence[float]) -> pd.DataFrame:
    """Per SKU: mean and discrete quantiles (smallest value with F ≥ p) of the last `window` periods."""
    recent = panel.frame.groupby("sku", sort=True).tail(window)
    grouped = recent.groupby("sku", sort=True)["qty"]
    out = pd.DataFrame({"mean": grouped.mean()})
    values = [np.sort(g.to_numpy()) for _, g in grouped]
    for p in levels:
        out[quantile_col(p)] = [float(np.quantile(v, p, method="inverted_cdf")) for v in values]
    return out


def _repeat(table: pd.Series, end: pd.Timestamp, h: int, freq: str, model: str) -> pd.DataFrame:
    dates = future_dates(end, h, freq)
    return pd.DataFrame(
        {
            "sku": np.repeat(table.index.to_numpy(), h),
            "date": np.tile(dates, len(table)),
            "horizon": np.tile(np.arange(1, h + 1), len(table)),
            "model": model,
            "mean": np.repeat(table.to_numpy(dtype=float), h),
        }
    )


def fit_means(
    panel: Panel,
    names: Mapping[str, Sequence[str]],
    h: int,
    settings: CandidateSettings,
    fallbacks: list[Fallback] | None = None,
    timing: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Mean forecasts of every candidate of every SKU in `names` (SKU → model names): [sku, date, horizon, model, mean].

    Failures are appended to `fallbacks`; seconds per family are added to `timing`.
    """
    from models.lightgbm_global import LightGBMForecaster
    from models.statistical import StatsForecaster

    fallbacks = fallbacks if fallbacks is not None else []
    timing = timing if timing is not None else {}
    season = settings.season_length or season_length(panel.freq)
    lengths = panel.frame.groupby("sku").size()
    frames: list[pd.DataFrame] = []
    by_models: dict[tuple[str, ...], list[str]] = defaultdict(list)
    family: dict[str, list[str]] = defaultdict(list)
    for sku, models in names.items():
        if sku not in lengths.index:
            continue
        stats = [m for m in models if m in STATS_MODELS and not (m == "seasonal_naive" and lengths[sku] < season)]
        if stats:
            by_models[tuple(stats)].append(sku)
        for special in ("lightgbm", "prophet", "empirical"):
            if special in models and (special != "prophet" or lengths[sku] >= settings.prophet_min_length):
                family[special].append(sku)

    started = time.perf_counter()
    for models, skus in by_models.items():
        forecaster = StatsForecaster(models=models, season_length=season).fit(panel.subset(skus))
        means = forecaster.predict_means(h)
        fallbacks.extend(forecaster.fallbacks_)
        frames.append(means.melt(id_vars=["sku", "date", "horizon"], var_name="model", value_name="mean"))
    timing["statsforecast"] = timing.get("statsforecast", 0.0) + time.perf_counter() - started

    if family["lightgbm"]:
        started = time.perf_counter()
        try:
            lgb = LightGBMForecaster(season=season, seed=settings.seed, residuals=False, **settings.lightgbm)
            frames.append(lgb.fit(panel.subset(family["lightgbm"])).predict_mean(h).assign(model="lightgbm"))
        except Exception as err:  # a failing global model must not sink the run: its SKUs keep other candidates
            reason = f"{type(err).__name__}: {err}"[:300]
            fallbacks.extend((s, "lightgbm", reason) for s in family["lightgbm"])
        timing["lightgbm"] = timing.get("lightgbm", 0.0) + time.perf_counter() - started

    if family["prophet"]:
        from models.prophet_model import ProphetForecaster

        started = time.perf_counter()
        prophet = ProphetForecaster(seed=settings.seed).fit(panel.subset(family["prophet"]))
        frames.append(prophet.predict_mean(h).assign(model="prophet"))
        fallbacks.extend(prophet.fallbacks_)
        timing["prophet"] = timing.get("prophet", 0.0) + time.perf_counter() - started

    if family["empirical"]:
        table = empirical_table(panel.subset(family["empirical"]), settings.empirical_window, [])
        frames.append(_repeat(table["mean"], panel.end, h, panel.freq, "empirical"))
    if not frames:
        return pd.DataFrame({"sku": [], "date": [], "horizon": [], "model": [], "mean": []})
    return pd.concat(frames, ignore_index=True)[["sku", "date", "horizon", "model", "mean"]]
