"""The forecaster interface and the panel helpers every forecaster shares.

A forecaster follows scikit-learn's conventions: `__init__` stores keyword arguments only; `fit(history)`
validates and learns (state in attributes ending in `_`) and returns self; `predict(h, quantiles)` returns the
forecast frame of `models.schema` for every SKU seen in `fit`.

`history` is long: [sku, date, qty] with one frequency. Gaps inside a series are filled with 0 (no recorded demand
is zero demand) up to the panel's last date.

Public interface: `Forecaster`, `prepare_history(history, freq=None) -> Panel`, `Panel`, `infer_freq`,
`future_dates`, `residual_quantiles`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from models.schema import DEFAULT_QUANTILES, quantile_col


@dataclass(frozen=True)
class Panel:
    """A regular panel: long frame [sku, date, qty] sorted by sku then date, gaps filled, and its frequency."""

    frame: pd.DataFrame
    freq: str
    #: per-SKU static features (index sku), e.g. `price`; None when the history has none
    static: pd.DataFrame | None = None

    @property
    def end(self) -> pd.Timestamp:
        return pd.Timestamp(self.frame["date"].max())

    @property
    def skus(self) -> np.ndarray:
        return self.frame["sku"].unique()

    def to_statsforecast(self) -> pd.DataFrame:
        return self.frame.rename(columns={"sku": "unique_id", "date": "ds", "qty": "y"})

    def subset(self, skus: Sequence[str]) -> Panel:
        static = self.static[self.static.index.isin(skus)] if self.static is not None else None
        return Panel(self.frame[self.frame["sku"].isin(skus)].reset_index(drop=True), self.freq, static)

    def until(self, end: pd.Timestamp) -> Panel:
        """The panel cut at `end` (inclusive), dropping SKUs with no periods left."""
        return Panel(self.frame[self.frame["date"] <= end].reset_index(drop=True), self.freq, self.static)


def infer_freq(dates: pd.Series | pd.DatetimeIndex) -> str:
    """The period frequency of `dates` (e.g. 'MS', 'W-MON', 'D'); a clear error when there is none."""
    unique = pd.DatetimeIndex(pd.Series(dates).drop_duplicates().sort_values())
    if len(unique) < 3:
        raise ValueError("need at least 3 distinct dates to infer the demand frequency")
    freq = pd.infer_freq(unique[-min(len(unique), 24) :])
    if freq is None:
        step = pd.Series(unique).diff().dropna().median()
        if step == pd.Timedelta(days=1):
            return "D"
        if step == pd.Timedelta(days=7):
            return f"W-{unique[-1].day_name()[:3].upper()}"
        if pd.Timedelta(days=28) <= step <= pd.Timedelta(days=31):
            return "MS" if (unique.day == 1).all() else "ME"
        raise ValueError(f"cannot infer a regular frequency from the dates (median step {step}); use one frequency")
    return "MS" if freq in ("MS", "M", "ME") and (unique.day == 1).all() else freq


def season_length(freq: str) -> int:
    """Periods per year for monthly/weekly/quarterly data, 7 for daily."""
    code = freq.split("-")[0].rstrip("S").upper()
    return {"M": 12, "ME": 12, "W": 52, "D": 7, "Q": 4, "QE": 4, "B": 5, "A": 1, "Y": 1}.get(code, 1)


def prepare_history(history: pd.DataFrame, freq: str | None = None) -> Panel:
    """Sort, aggregate duplicate periods, and fill gaps with 0 from each SKU's first period to the panel end.

    An optional `price` column becomes a per-SKU static feature (the SKU's latest price).
    """
    missing = {"sku", "date", "qty"} - set(history.columns)
    if missing:
        raise ValueError(f"history needs columns sku, date, qty; missing {sorted(missing)}")
    static = None
    if "price" in history.columns and history["price"].notna().any():
        priced = history.dropna(subset=["price"]).sort_values("date")
        static = priced.groupby(priced["sku"].astype(str))[["price"]].last().astype(float)
    frame = history[["sku", "date", "qty"]].copy()
    frame["date"] = pd.to_datetime(frame["date"])
    frame["sku"] = frame["sku"].astype(str)
    if frame.empty:
        raise ValueError("history is empty")
    freq = freq or infer_freq(frame["date"])
    frame = frame.groupby(["sku", "date"], as_index=False, sort=True)[["qty"]].sum()
    end = frame["date"].max()
    starts = frame.groupby("sku")["date"].min()
    calendar = pd.date_range(starts.min(), end, freq=freq)
    if len(calendar) and not frame["date"].isin(calendar).all():
        raise ValueError(f"dates do not fall on the {freq!r} grid; give period starts of one frequency")
    position = pd.Series(np.arange(len(calendar)), index=calendar)
    first = position.reindex(starts.to_numpy()).to_numpy()
    counts = len(calendar) - first
    skus = np.repeat(starts.index.to_numpy(), counts)
    idx = np.concatenate([np.arange(f, len(calendar)) for f in first]) if len(first) else np.array([], dtype=int)
    full = pd.DataFrame({"sku": skus, "date": calendar[idx]})
    full = full.merge(frame, on=["sku", "date"], how="left")
    full["qty"] = full["qty"].fillna(0.0).astype(float)
    return Panel(full, freq, static)


def future_dates(end: pd.Timestamp, h: int, freq: str) -> pd.DatetimeIndex:
    """The `h` period starts after `end`."""
    return pd.date_range(end, periods=h + 1, freq=freq)[1:]


def residual_quantiles(mean: pd.DataFrame, residuals: pd.DataFrame, quantiles: Sequence[float]) -> pd.DataFrame:
    """Quantiles from each SKU's one-step residuals, widened by √h, clipped at 0 and sorted.

    `mean`: [sku, date, horizon, mean]; `residuals`: [sku, resid]. A generic fallback for forecasters without
    their own distribution; the training pipeline replaces it with quantiles calibrated on backtests.
    """
    levels = np.asarray(quantiles, dtype=float)
    by_sku = residuals.groupby("sku")["resid"]
    table = np.vstack([by_sku.quantile(p).to_numpy() for p in levels]).T if len(residuals) else None
    out = mean.copy()
    if table is None:
        offsets = np.zeros((len(out), len(levels)))
    else:
        index = pd.Index(by_sku.quantile(0.5).index)
        rows = index.get_indexer(out["sku"])
        offsets = np.where(rows[:, None] >= 0, table[np.maximum(rows, 0)], 0.0)
        offsets = np.nan_to_num(offsets) * np.sqrt(out["horizon"].to_numpy(dtype=float))[:, None]
    values = np.sort(np.maximum(out["mean"].to_numpy(dtype=float)[:, None] + offsets, 0.0), axis=1)
    for j, p in enumerate(levels):
        out[quantile_col(float(p))] = values[:, j]
    return out


class Forecaster(ABC):
    """Base class: `fit(history) -> self`, `predict_mean(h)`, `predict(h, quantiles)`."""

    #: capabilities
    supports_quantiles: ClassVar[bool] = False
    handles_intermittent: ClassVar[bool] = False
    uses_exog: ClassVar[bool] = False
    name: ClassVar[str] = "forecaster"

    def fit(self, history: pd.DataFrame | Panel) -> Self:
        """Validate `history` and learn; returns self."""
        panel = history if isinstance(history, Panel) else prepare_history(history)
        self.panel_end_ = panel.end
        self.freq_ = panel.freq
        self.skus_ = panel.skus
        self._fit(panel)
        return self

    @abstractmethod
    def _fit(self, panel: Panel) -> None: ...

    @abstractmethod
    def predict_mean(self, h: int) -> pd.DataFrame:
        """[sku, date, horizon, mean] for every fitted SKU; never negative."""

    def _residuals(self) -> pd.DataFrame:
        """[sku, resid] one-step in-sample residuals, when the model has them (default: none)."""
        return pd.DataFrame({"sku": [], "resid": []})

    def predict(self, h: int, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> pd.DataFrame:
        """The forecast frame: [sku, date, horizon, mean, q…]."""
        self._check_fitted()
        if h < 1:
            raise ValueError(f"horizon must be >= 1, got {h}")
        return residual_quantiles(self.predict_mean(h), self._residuals(), quantiles)

    def _check_fitted(self) -> None:
        if not hasattr(self, "panel_end_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit(history) first")

    def _frame(self, skus: np.ndarray, means: np.ndarray, h: int) -> pd.DataFrame:
        """Assemble [sku, date, horizon, mean] from an (n_skus, h) array."""
        dates = future_dates(self.panel_end_, h, self.freq_)
        return pd.DataFrame(
            {
                "sku": np.repeat(skus, h),
                "date": np.tile(dates, len(skus)),
                "horizon": np.tile(np.arange(1, h + 1), len(skus)),
                "mean": np.maximum(np.nan_to_num(means.reshape(-1)), 0.0),
            }
        )

    def get_params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_")}
