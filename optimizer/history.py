"""Demand history as a dense SKU × period matrix, and the period calendar it lives on.

Public interface: `DemandHistory`, `history_matrix(demand, skus=None, as_of=None, freq=None)`,
`infer_frequency(dates)`, `periods_per_year(freq)`, `days_per_period(freq)`.

The canonical `demand` table stores period starts (one frequency per data set) and may omit zero periods; the
matrix fills every period from the first stored period of the data set up to (excluding) `as_of` with zeros where
nothing is stored. `first` records each SKU's first period with positive demand, which is where its history starts
for the purposes of estimation (a SKU is not "zero demand" before it was introduced).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

_PER_YEAR = {"D": 365.25, "W": 365.25 / 7, "M": 12.0, "Q": 4.0}


def _base(freq: str) -> str:
    f = freq.upper().lstrip("0123456789")
    for prefix, key in (("MS", "M"), ("ME", "M"), ("M", "M"), ("W", "W"), ("D", "D"), ("B", "D"), ("Q", "Q")):
        if f.startswith(prefix):
            return key
    raise ValueError(f"unsupported period frequency {freq!r}; demand must be daily, weekly, monthly or quarterly")


def periods_per_year(freq: str) -> float:
    """How many periods of `freq` make a year (12 for monthly, 52.18 for weekly, 365.25 for daily)."""
    return _PER_YEAR[_base(freq)]


def days_per_period(freq: str) -> float:
    """Average length of one period in days (30.44 for monthly)."""
    return 365.25 / periods_per_year(freq)


def infer_frequency(dates: pd.Series | pd.DatetimeIndex) -> str:
    """The pandas frequency of period starts: `MS`, `W-<DAY>`, `D` or `QS`; raises when dates are irregular."""
    unique = pd.DatetimeIndex(pd.Series(pd.to_datetime(dates)).dropna().unique()).sort_values()
    if len(unique) < 2:
        return "MS"
    if len(unique) >= 3:
        inferred = pd.infer_freq(unique)
        if inferred:
            return inferred
    gaps = np.diff(unique.asi8) / 86_400e9
    step = float(np.min(gaps))
    if all(d.day == 1 for d in unique) and 28 <= step <= 31:
        return "MS"
    if all(d.day == 1 and d.month in (1, 4, 7, 10) for d in unique):
        return "QS"
    if step == 7 and np.all(np.mod(gaps, 7) == 0):
        return f"W-{unique[0].day_name()[:3].upper()}"
    if step == 1:
        return "D"
    raise ValueError(
        f"cannot infer the demand period from dates {unique[0].date()}…{unique[-1].date()} (smallest gap {step:g} "
        "days); store one frequency (daily, weekly on one weekday, or month starts)"
    )


@dataclass(frozen=True)
class DemandHistory:
    """Dense demand: `qty` (n SKUs × T periods), `periods` (T period starts), `skus` (n), `freq`.

    `first[i]` is the index of SKU i's first period with positive demand (T when it never had demand).
    """

    skus: pd.Index
    periods: pd.DatetimeIndex
    qty: np.ndarray
    freq: str

    @property
    def first(self) -> np.ndarray:
        positive = self.qty > 0
        has = positive.any(axis=1)
        return np.where(has, positive.argmax(axis=1), self.qty.shape[1])

    @property
    def n_periods(self) -> int:
        return int(self.qty.shape[1])

    def until(self, t: int) -> DemandHistory:
        """The history known before period index t (periods 0..t−1)."""
        return DemandHistory(self.skus, self.periods[:t], self.qty[:, :t], self.freq)


def history_matrix(
    demand: pd.DataFrame,
    skus: pd.Index | list[str] | None = None,
    as_of: pd.Timestamp | str | None = None,
    freq: str | None = None,
) -> DemandHistory:
    """Turn long demand (sku, date, qty) into a `DemandHistory` over every period before `as_of`.

    skus: rows of the matrix, in this order (SKUs without demand get zero rows); default the demand's SKUs.
    as_of: first period *not* included (default: one period after the last stored date).
    """
    missing = {"sku", "date", "qty"} - set(demand.columns)
    if missing:
        raise ValueError(f"demand lacks column(s) {sorted(missing)}; expected sku, date, qty")
    frame = demand[["sku", "date", "qty"]].copy()
    frame["date"] = pd.to_datetime(frame["date"])
    qty = pd.to_numeric(frame["qty"], errors="raise")
    if (qty < 0).any() or not np.isfinite(qty.to_numpy(dtype=float)).all():
        raise ValueError("demand qty must be finite and >= 0")
    frame["qty"] = qty.astype(float)
    index = pd.Index(sorted(frame["sku"].unique()) if skus is None else list(skus), name="sku")
    if frame.empty:
        periods = pd.DatetimeIndex([])
        return DemandHistory(index, periods, np.zeros((len(index), 0)), freq or "MS")
    freq = freq or infer_frequency(frame["date"])
    start = frame["date"].min()
    end = pd.Timestamp(as_of) if as_of is not None else frame["date"].max() + pd.tseries.frequencies.to_offset(freq)
    periods = pd.date_range(start, end, freq=freq, inclusive="left")
    frame = frame[(frame["date"] < end) & frame["sku"].isin(index)]
    if len(periods) and not frame["date"].isin(periods).all():
        odd = frame.loc[~frame["date"].isin(periods), "date"].iloc[0]
        raise ValueError(f"demand date {odd.date()} is not a period start of frequency {freq}")
    rows = index.get_indexer(pd.Index(frame["sku"]))
    cols = periods.get_indexer(pd.DatetimeIndex(frame["date"]))
    matrix = np.zeros((len(index), len(periods)))
    np.add.at(matrix, (rows, cols), frame["qty"].to_numpy())
    return DemandHistory(index, periods, matrix, freq)
