"""Prophet per SKU: yearly seasonality for monthly/weekly data, no uncertainty sampling (the pipeline calibrates).

Slow (tens of ms per series, FIELD-NOTES.md): candidate sets should list it only for long, smooth, seasonal
series. Failing series are recorded in `fallbacks_` and forecast by their recent mean.
"""

from __future__ import annotations

import logging
from typing import ClassVar

import numpy as np
import pandas as pd

from models.base import Forecaster, Panel, future_dates

log = logging.getLogger(__name__)


class ProphetForecaster(Forecaster):
    """One Prophet model per SKU."""

    name: ClassVar[str] = "prophet"

    def __init__(self, seed: int = 0, changepoint_prior_scale: float = 0.05) -> None:
        self.seed = seed
        self.changepoint_prior_scale = changepoint_prior_scale

    def _fit(self, panel: Panel) -> None:
        logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
        logging.getLogger("prophet").setLevel(logging.WARNING)
        self.panel_ = panel
        self.fallbacks_: list[tuple[str, str, str]] = []

    def predict_mean(self, h: int) -> pd.DataFrame:
        from prophet import Prophet

        self._check_fitted()
        dates = future_dates(self.panel_end_, h, self.freq_)
        code = self.freq_.split("-")[0].upper()
        skus, rows = [], []
        for sku, series in self.panel_.frame.groupby("sku", sort=True):
            frame = pd.DataFrame({"ds": series["date"].to_numpy(), "y": series["qty"].to_numpy(dtype=float)})
            try:
                np.random.seed(self.seed)
                model = Prophet(
                    uncertainty_samples=0,
                    changepoint_prior_scale=self.changepoint_prior_scale,
                    yearly_seasonality=code in ("MS", "M", "ME", "W", "D"),
                    weekly_seasonality=code == "D",
                    daily_seasonality=False,
                )
                model.fit(frame)
                values = model.predict(pd.DataFrame({"ds": dates}))["yhat"].to_numpy()
            except Exception as err:  # Stan optimizer failures
                self.fallbacks_.append((str(sku), "prophet", f"{type(err).__name__}: {err}"[:300]))
                values = np.full(h, frame["y"].tail(12).mean())
            skus.append(sku)
            rows.append(values)
        return self._frame(np.asarray(skus), np.asarray(rows), h)
