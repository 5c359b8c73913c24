"""A global LightGBM model over all series via mlforecast: lags, rolling statistics, calendar features.

Counts use a Tweedie objective (never negative); each series is scaled by its own max (`LocalMinMaxScaler` keeps
the target non-negative) so one model serves slow and fast movers. Recursive multi-step prediction.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from models.base import Forecaster, Panel, season_length


class LightGBMForecaster(Forecaster):
    """mlforecast + LightGBM, one model for the whole panel."""

    handles_intermittent: ClassVar[bool] = True
    name: ClassVar[str] = "lightgbm"

    def __init__(
        self,
        objective: str = "tweedie",
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        season: int | None = None,
        seed: int = 0,
        n_jobs: int = 1,
        residuals: bool = True,
    ) -> None:
        self.objective = objective
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.season = season
        self.seed = seed
        self.n_jobs = n_jobs
        self.residuals = residuals

    def _features(self, freq: str) -> dict[str, Any]:
        from mlforecast.lag_transforms import ExpandingMean, ExponentiallyWeightedMean, RollingMean, RollingStd

        s = self.season or season_length(freq)
        lags = sorted({1, 2, 3, *([s] if s > 3 else [])})
        windows = sorted({3, 6, *([s] if s > 6 else [])})
        transforms: list[Any] = [RollingMean(window_size=w) for w in windows]
        transforms += [RollingStd(window_size=windows[-1]), ExpandingMean(), ExponentiallyWeightedMean(alpha=0.3)]
        date_features: list[str] = []
        code = freq.split("-")[0].upper()
        if code in ("MS", "M", "ME"):
            date_features = ["month"]
        elif code.startswith("W"):
            date_features = ["week"]
        elif code == "D":
            date_features = ["dayofweek", "month"]
        return {"lags": lags, "lag_transforms": {1: transforms}, "date_features": date_features}

    def _fit(self, panel: Panel) -> None:
        import lightgbm as lgb
        from mlforecast import MLForecast
        from mlforecast.target_transforms import LocalMinMaxScaler

        model = lgb.LGBMRegressor(
            objective=self.objective,
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            random_state=self.seed,
            deterministic=True,
            force_row_wise=True,
            n_jobs=self.n_jobs,
            verbosity=-1,
        )
        self.mlf_ = MLForecast(
            models={"lightgbm": model},
            freq=panel.freq,
            target_transforms=[LocalMinMaxScaler()],
            num_threads=1,
            **self._features(panel.freq),
        )
        frame = panel.to_statsforecast()
        static: list[str] = []
        if panel.static is not None and "price" in panel.static:
            # price as a static feature: what a unit is worth says something about how it sells
            prices = panel.static["price"].rename_axis("unique_id").reset_index()
            frame = frame.merge(prices, on="unique_id", how="left").fillna({"price": panel.static["price"].median()})
            static = ["price"]
        self.mlf_.fit(frame, dropna=True, static_features=static, fitted=self.residuals)

    def _residuals(self) -> pd.DataFrame:
        if not self.residuals:
            return super()._residuals()
        fitted = self.mlf_.forecast_fitted_values()
        return pd.DataFrame({"sku": fitted["unique_id"].astype(str), "resid": fitted["y"] - fitted["lightgbm"]})

    def predict_mean(self, h: int) -> pd.DataFrame:
        self._check_fitted()
        out = self.mlf_.predict(h)
        out = out.sort_values(["unique_id", "ds"], kind="stable")
        skus = out["unique_id"].astype(str).to_numpy()
        values = np.maximum(np.nan_to_num(out["lightgbm"].to_numpy(dtype=float)), 0.0)
        result = pd.DataFrame({"sku": skus, "date": out["ds"].to_numpy(), "mean": values})
        result.insert(2, "horizon", result.groupby("sku").cumcount() + 1)
        return result.reset_index(drop=True)
