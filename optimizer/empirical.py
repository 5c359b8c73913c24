"""The fallback demand distribution when no published forecast exists: moments of recent history, gamma-shaped.

Used by `leanplan plan replenishment` when the database holds no published forecast set, and by the replay
(`optimizer.simulate`), which re-estimates it every review period from the demand known then.

Per SKU, from the periods since its first positive demand (optionally only the last `window` of them):

- mean μ and variance σ² of demand per period;
- cumulative demand over h periods (h may be fractional) is taken as gamma-distributed with mean h·μ and variance
  h·σ² (independent periods). The gamma is the maximum-entropy shape for a positive quantity with given mean and
  log-mean, has an exponential upper tail (service levels beyond the largest observation are reachable, see
  FIELD-NOTES.md) and, with shape < 1, piles its mass near zero as intermittent demand does;
- a *new* SKU (fewer than `min_history` periods since its first demand) borrows dispersion: its variance-to-mean
  ratio is at least the median ratio of the established SKUs, so a short, lucky history does not promise service.

Public interface: `DemandStats`, `demand_stats`, `gamma_quantiles`, `component_quantiles`, `forecast_frame`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.special import gammaincinv

from models.schema import DEFAULT_QUANTILES, cum_quantile_col, quantile_col
from optimizer.history import DemandHistory
from optimizer.lead_time_demand import KNOT_LEVELS, undershoot_moments

Array = np.ndarray

_LOG_SHAPE = np.linspace(np.log(1e-5), np.log(1e7), 721)


@lru_cache(maxsize=16)
def _table(levels: tuple[float, ...]) -> Array:
    """Quantiles of Gamma(k, 1)/k (mean 1) at `levels` for every shape k of the log-shape grid."""
    k = np.exp(_LOG_SHAPE)[:, None]
    return gammaincinv(k, np.asarray(levels)[None, :]) / k


def gamma_quantiles(mean: Array, var: Array, levels: Array | tuple[float, ...]) -> Array:
    """Quantiles at `levels` of a gamma with the given mean and variance (any shape; result shape + (L,)).

    Interpolates a precomputed table of standardized quantiles in log-shape (error < 0.2 % of the quantile or
    0.1 % of the mean, whichever is larger); a zero mean
    gives zeros, a zero variance gives the mean.
    """
    m = np.asarray(mean, dtype=float)
    v = np.asarray(var, dtype=float)
    table = _table(tuple(float(x) for x in np.asarray(levels)))
    positive = m > 0
    shape = np.where(positive & (v > 0), m * m / np.maximum(v, 1e-300), np.exp(_LOG_SHAPE[-1]))
    pos = (np.clip(np.log(shape), _LOG_SHAPE[0], _LOG_SHAPE[-1]) - _LOG_SHAPE[0]) / (_LOG_SHAPE[1] - _LOG_SHAPE[0])
    i0 = np.minimum(pos.astype(int), _LOG_SHAPE.size - 2)
    f = (pos - i0)[..., None]
    standardized = table[i0] * (1 - f) + table[i0 + 1] * f
    point = positive & ~(v > 0)
    out = np.where(positive[..., None], standardized * m[..., None], 0.0)
    return np.where(point[..., None], m[..., None], out)


@dataclass(frozen=True)
class DemandStats:
    """Per SKU: `mean` and `var` of demand per period, `n_obs` periods used, `new` (borrowed dispersion)."""

    mean: Array
    var: Array
    n_obs: Array
    new: Array


def demand_stats(history: DemandHistory, window: int | None = None, min_history: int = 6) -> DemandStats:
    """Mean and variance per period from each SKU's history since its first positive demand (last `window` periods
    of it when given). SKUs without any demand get mean 0, variance 0, n_obs 0."""
    if window is not None and window < 2:
        raise ValueError(f"window must be >= 2 periods or None (all history); got {window}")
    y = history.qty
    n, t = y.shape
    start = history.first
    if window is not None:
        start = np.maximum(start, t - window)
    used = np.arange(t)[None, :] >= start[:, None]
    n_obs = used.sum(axis=1)
    total = np.where(used, y, 0.0).sum(axis=1)
    mean = np.divide(total, n_obs, out=np.zeros(n), where=n_obs > 0)
    dev = np.where(used, y - mean[:, None], 0.0)
    var = np.divide((dev * dev).sum(axis=1), n_obs - 1, out=np.zeros(n), where=n_obs > 1)
    new = (n_obs > 0) & (n_obs < min_history)
    established = (n_obs >= min_history) & (mean > 0)
    if new.any():
        ratio = float(np.median(var[established] / mean[established])) if established.any() else 1.0
        var = np.where(new, np.maximum(var, ratio * mean), var)
    return DemandStats(mean=mean, var=var, n_obs=n_obs, new=new)


def component_quantiles(stats: DemandStats, horizons: Array, undershoot: bool = True, integer: bool = True) -> Array:
    """(n, K, 31) quantiles at `KNOT_LEVELS` of demand over fractional horizons (n, K) periods — gamma with mean
    h·μ and variance h·σ² — plus, with `undershoot`, the reorder undershoot U (moments added; see
    `optimizer.lead_time_demand.undershoot_moments`). The input of `from_component_quantiles`."""
    h = np.asarray(horizons, dtype=float)
    mean = stats.mean[:, None] * h
    var = stats.var[:, None] * h
    if undershoot:
        u_mean, u_var = undershoot_moments(stats.mean, stats.var, integer)
        mean = mean + u_mean[:, None]
        var = var + u_var[:, None]
    return gamma_quantiles(mean, var, tuple(KNOT_LEVELS))


def forecast_frame(
    history: DemandHistory,
    stats: DemandStats,
    horizon: int,
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
) -> pd.DataFrame:
    """The fallback as a forecast frame (`models.schema` convention): per SKU and step 1..horizon the mean,
    per-period quantiles `q…` and cumulative quantiles `cq…`, dated from the period after the history."""
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1; got {horizon}")
    offset = pd.tseries.frequencies.to_offset(history.freq)
    start = history.periods[-1] + offset if len(history.periods) else pd.Timestamp.today().normalize()
    dates = pd.date_range(start, periods=horizon, freq=history.freq)
    n = len(history.skus)
    steps = np.arange(1, horizon + 1, dtype=float)
    per = gamma_quantiles(stats.mean, stats.var, quantiles)  # (n, P)
    cum = gamma_quantiles(stats.mean[:, None] * steps, stats.var[:, None] * steps, quantiles)  # (n, H, P)
    frame = pd.DataFrame(
        {
            "sku": np.repeat(np.asarray(history.skus), horizon),
            "date": np.tile(dates, n),
            "horizon": np.tile(np.arange(1, horizon + 1), n),
            "mean": np.repeat(stats.mean, horizon),
        }
    )
    for j, p in enumerate(quantiles):
        frame[quantile_col(p)] = np.repeat(per[:, j], horizon)
    for j, p in enumerate(quantiles):
        frame[cum_quantile_col(p)] = cum[:, :, j].ravel()
    return frame
