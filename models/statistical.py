"""Statistical forecasters via statsforecast: baselines, ETS, Theta, ARIMA and the intermittent family.

`StatsForecaster(models=("ets", "sba"), season_length=12)` fits several statsforecast models on a panel at once
(one pass over the series); `predict_means(h)` gives every model's mean, `predict_mean(h)` the first model's.
Series a model cannot fit fall back to `fallback` (default: historic average), recorded in `fallbacks_`
(sku, model, reason).

Model names: naive, seasonal_naive, historic_average, window_average, ets, theta, arima, croston, sba,
croston_optimized, tsb, adida, imapa.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from models.base import Forecaster, Panel

log = logging.getLogger(__name__)


def _factories() -> dict[str, Callable[[int], Any]]:
    from statsforecast import models as sf

    return {
        "naive": lambda s: sf.Naive(alias="naive"),
        "seasonal_naive": lambda s: sf.SeasonalNaive(season_length=s, alias="seasonal_naive"),
        "historic_average": lambda s: sf.HistoricAverage(alias="historic_average"),
        "window_average": lambda s: sf.WindowAverage(window_size=max(s, 3), alias="window_average"),
        # AutoETS silently fits non-seasonal models above 24 periods per season (FIELD-NOTES.md): don't pay for it
        "ets": lambda s: sf.AutoETS(season_length=s if 1 < s <= 24 else 1, alias="ets"),
        "theta": lambda s: sf.AutoTheta(season_length=s if s > 1 else 1, alias="theta"),
        "arima": lambda s: sf.AutoARIMA(season_length=s if s > 1 else 1, alias="arima"),
        "croston": lambda s: sf.CrostonClassic(alias="croston"),
        "sba": lambda s: sf.CrostonSBA(alias="sba"),
        "croston_optimized": lambda s: sf.CrostonOptimized(alias="croston_optimized"),
        "tsb": lambda s: sf.TSB(alpha_d=0.1, alpha_p=0.1, alias="tsb"),
        "adida": lambda s: sf.ADIDA(alias="adida"),
        "imapa": lambda s: sf.IMAPA(alias="imapa"),
    }


STATS_MODELS: tuple[str, ...] = (
    "naive",
    "seasonal_naive",
    "historic_average",
    "window_average",
    "ets",
    "theta",
    "arima",
    "croston",
    "sba",
    "croston_optimized",
    "tsb",
    "adida",
    "imapa",
)
SEASONAL = {"seasonal_naive"}


class StatsForecaster(Forecaster):
    """Several statsforecast models fitted together; the first is this forecaster's own prediction."""

    supports_quantiles: ClassVar[bool] = False
    handles_intermittent: ClassVar[bool] = True
    name: ClassVar[str] = "statsforecast"

    def __init__(
        self,
        models: Sequence[str] = ("ets",),
        season_length: int = 1,
        fallback: str = "historic_average",
        n_jobs: int = 1,
    ) -> None:
        self.models = tuple(models)
        self.season_length = season_length
        self.fallback = fallback
        self.n_jobs = n_jobs

    def _fit(self, panel: Panel) -> None:
        unknown = [m for m in (*self.models, self.fallback) if m not in STATS_MODELS]
        if unknown:
            raise ValueError(f"unknown statsforecast model(s) {unknown}; choose from {', '.join(STATS_MODELS)}")
        self.panel_ = panel
        self.fallbacks_: list[tuple[str, str, str]] = []

    def _run(self, names: Sequence[str], frame: pd.DataFrame, h: int) -> pd.DataFrame:
        from statsforecast import StatsForecast

        factories = _factories()
        models = [factories[n](self.season_length) for n in names]
        engine = StatsForecast(models=models, freq=self.panel_.freq, n_jobs=self.n_jobs)
        out = engine.forecast(df=frame, h=h)
        return out.reset_index() if "unique_id" not in out.columns else out

    def _robust(self, names: Sequence[str], frame: pd.DataFrame, h: int) -> pd.DataFrame:
        """Forecast all series; on an error, split the series in halves to find (and fall back for) the culprits."""
        try:
            return self._run(names, frame, h)
        except Exception as err:  # statsforecast raises many types from its numerics
            ids = frame["unique_id"].unique()
            if len(ids) == 1:
                reason = f"{type(err).__name__}: {err}"[:300]
                self.fallbacks_.extend((str(ids[0]), n, reason) for n in names)
                fb = self._run([self.fallback], frame, h)
                for n in names:
                    fb[n] = fb[self.fallback]
                return fb[["unique_id", "ds", *names]]
            half = len(ids) // 2
            parts = [frame[frame["unique_id"].isin(ids[:half])], frame[frame["unique_id"].isin(ids[half:])]]
            return pd.concat([self._robust(names, p, h) for p in parts], ignore_index=True)

    def predict_means(self, h: int) -> pd.DataFrame:
        """[sku, date, horizon, <model>…]: every model's mean forecast, non-negative and finite."""
        self._check_fitted()
        frame = self.panel_.to_statsforecast()
        out = self._robust(self.models, frame, h).sort_values(["unique_id", "ds"], kind="stable")
        result = pd.DataFrame({"sku": out["unique_id"].astype(str).to_numpy(), "date": out["ds"].to_numpy()})
        result["horizon"] = result.groupby("sku").cumcount() + 1
        for name in self.models:
            values = out[name].to_numpy(dtype=float)
            bad = ~np.isfinite(values)
            if bad.any():
                for sku in pd.unique(result.loc[bad, "sku"]):
                    self.fallbacks_.append((str(sku), name, "non-finite forecast"))
                level = self.panel_.frame.groupby("sku")["qty"].mean()
                values = np.where(bad, level.reindex(result["sku"]).to_numpy(), values)
            result[name] = np.maximum(values, 0.0)
        return result.reset_index(drop=True)

    def predict_mean(self, h: int) -> pd.DataFrame:
        means = self.predict_means(h)
        return means[["sku", "date", "horizon"]].assign(mean=means[self.models[0]].to_numpy())

    def _residuals(self) -> pd.DataFrame:
        """One-step in-sample residuals of the first model (where statsforecast provides fitted values)."""
        from statsforecast import StatsForecast

        model = _factories()[self.models[0]](self.season_length)
        try:
            engine = StatsForecast(models=[model], freq=self.panel_.freq, n_jobs=self.n_jobs)
            engine.forecast(df=self.panel_.to_statsforecast(), h=1, fitted=True)
            fitted = engine.forecast_fitted_values()
        except Exception as err:  # no fitted values for this model
            log.info("no in-sample residuals for %s: %s", self.models[0], err)
            return super()._residuals()
        fitted = fitted.reset_index() if "unique_id" not in fitted.columns else fitted
        resid = fitted["y"] - fitted[self.models[0]]
        return pd.DataFrame({"sku": fitted["unique_id"].astype(str), "resid": resid}).dropna()
