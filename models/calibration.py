"""Calibrated quantiles of demand per period and of cumulative demand over steps 1..h, from backtest errors.

Two methods, chosen per demand pattern and model by backtest pinball loss (`pipelines.select`):

- `conformal`: quantiles of scaled errors e = (y − mean) / s (s = the SKU's mean |Δy|), pooled per demand pattern,
  model and horizon step (per pattern and model where a step has fewer than `MIN_POOL` errors); the forecast
  quantile is mean + s·Q(e). For cumulative demand the errors of running sums are pooled the same way.
- `negbin`: a negative binomial around the mean with the SKU's variance-to-mean ratio from its backtest errors,
  shrunk toward its pattern's (Poisson when the ratio is ≤ 1); cumulative demand over h steps: the same family with
  mean Σ mean and the ratio widened by the pooled backtest factor for that step. For integer-valued series only.

Counts get discrete quantiles (the smallest integer with F ≥ p): a continuous quantile q is snapped to
round-half-down(q), the continuity-corrected integer — tails then hold for discrete data. All quantiles are
non-negative, non-decreasing in the level, and cumulative ones non-decreasing in h.

Public interface: `Calibrator`, `MIN_POOL`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

MIN_POOL = 50
SHRINK_PERIODS = 12.0


def _snap(values: np.ndarray, integer: np.ndarray) -> np.ndarray:
    """Non-negative; integer rows rounded half down (continuity-corrected discrete quantile)."""
    values = np.maximum(values, 0.0)
    snapped = np.ceil(values - 0.5)
    return np.where(integer[:, None], snapped, values)


def _cumulative_errors(rows: pd.DataFrame) -> pd.DataFrame:
    ordered = rows.sort_values(["sku", "model", "window", "horizon"], kind="stable")
    keys = [ordered["sku"], ordered["model"], ordered["window"]]
    ordered = ordered.assign(
        cy=ordered["y"].groupby(keys, observed=True, sort=False).cumsum(),
        cm=ordered["mean"].groupby(keys, observed=True, sort=False).cumsum(),
    )
    return ordered


def _quantile_table(frame: pd.DataFrame, value: str, levels: Sequence[float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quantiles of `value` per (pattern, model, horizon) and per (pattern, model)."""
    by_step = frame.groupby(["pattern", "model", "horizon"], observed=True)[value]
    step = by_step.quantile(np.asarray(levels)).unstack()
    step = step[by_step.size().reindex(step.index) >= MIN_POOL]
    pooled = frame.groupby(["pattern", "model"], observed=True)[value].quantile(np.asarray(levels)).unstack()
    return step, pooled


def _lookup(step: pd.DataFrame, pooled: pd.DataFrame, keys: pd.DataFrame, n_levels: int) -> np.ndarray:
    """Rows of the step table where present, else of the pooled table, else zeros."""
    out = np.zeros((len(keys), n_levels))
    index = pd.MultiIndex.from_frame(keys[["pattern", "model", "horizon"]])
    hit = step.reindex(index).to_numpy()
    pooled_index = pd.MultiIndex.from_frame(keys[["pattern", "model"]])
    fallback = pooled.reindex(pooled_index).to_numpy()
    out = np.where(np.isnan(hit), fallback, hit)
    return np.nan_to_num(out)


@dataclass
class Calibrator:
    """Calibration tables learned from backtest rows [sku, pattern, model, window, horizon, mean, y]."""

    levels: tuple[float, ...]
    scale: pd.Series  # per SKU
    integer: pd.Series  # per SKU: integer-valued history
    step_: pd.DataFrame | None = None
    pooled_: pd.DataFrame | None = None
    cum_step_: pd.DataFrame | None = None
    cum_pooled_: pd.DataFrame | None = None
    ratio_: pd.Series | None = None  # per (sku, model): variance-to-mean ratio, shrunk
    pattern_ratio_: pd.Series | None = None  # per (pattern, model)
    cum_factor_: pd.Series | None = None  # per (pattern, model, horizon)

    def fit(self, rows: pd.DataFrame) -> Calibrator:
        s = self.scale.reindex(rows["sku"]).to_numpy()
        rows = rows.assign(e=(rows["y"].to_numpy() - rows["mean"].to_numpy()) / s)
        self.step_, self.pooled_ = _quantile_table(rows, "e", self.levels)
        cum = _cumulative_errors(rows)
        cum = cum.assign(ce=(cum["cy"] - cum["cm"]) / self.scale.reindex(cum["sku"]).to_numpy())
        self.cum_step_, self.cum_pooled_ = _quantile_table(cum, "ce", self.levels)
        # negative binomial: variance-to-mean ratio per (sku, model), shrunk toward the pattern's
        sq = (rows["y"] - rows["mean"]) ** 2
        grouped = pd.DataFrame({"sq": sq, "m": rows["mean"], "n": 1.0, "pattern": rows["pattern"]}).groupby(
            [rows["sku"], rows["model"]], observed=True, sort=False
        )
        per = grouped.agg(sq=("sq", "sum"), m=("m", "sum"), n=("n", "sum"), pattern=("pattern", "first"))
        pattern_totals = per.groupby(["pattern", per.index.get_level_values("model")], observed=True)[["sq", "m"]].sum()
        self.pattern_ratio_ = (pattern_totals["sq"] / pattern_totals["m"].where(pattern_totals["m"] > 0)).fillna(1.0)
        prior = self.pattern_ratio_.reindex(
            pd.MultiIndex.from_arrays([per["pattern"], per.index.get_level_values("model")])
        )
        own = (per["sq"] / per["m"].where(per["m"] > 0)).to_numpy()
        weight = per["n"].to_numpy() / (per["n"].to_numpy() + SHRINK_PERIODS)
        ratio = np.where(np.isnan(own), prior.to_numpy(), weight * np.nan_to_num(own) + (1 - weight) * prior.to_numpy())
        self.ratio_ = pd.Series(ratio, index=per.index)
        # widening of the cumulative variance relative to independent periods, per (pattern, model, horizon)
        cum_ratio = self.ratio_.reindex(pd.MultiIndex.from_frame(cum[["sku", "model"]])).to_numpy()
        expected = np.nan_to_num(cum_ratio, nan=1.0) * cum["cm"].to_numpy()
        observed = ((cum["cy"] - cum["cm"]) ** 2).to_numpy()
        factors = pd.DataFrame(
            {"pattern": cum["pattern"], "model": cum["model"], "horizon": cum["horizon"], "o": observed, "x": expected}
        )
        sums = factors.groupby(["pattern", "model", "horizon"], observed=True)[["o", "x"]].sum()
        self.cum_factor_ = (sums["o"] / sums["x"].where(sums["x"] > 0)).fillna(1.0).clip(lower=0.5, upper=20.0)
        return self

    # --- application ---------------------------------------------------------------------------------------------

    def _conformal(self, rows: pd.DataFrame, cumulative: bool) -> np.ndarray:
        step, pooled = (self.cum_step_, self.cum_pooled_) if cumulative else (self.step_, self.pooled_)
        assert step is not None and pooled is not None
        offsets = _lookup(step, pooled, rows, len(self.levels))
        centre = rows["cm"].to_numpy() if cumulative else rows["mean"].to_numpy()
        s = self.scale.reindex(rows["sku"]).to_numpy()
        return centre[:, None] + s[:, None] * offsets

    def _negbin(self, rows: pd.DataFrame, cumulative: bool) -> np.ndarray:
        assert self.ratio_ is not None and self.pattern_ratio_ is not None and self.cum_factor_ is not None
        ratio = self.ratio_.reindex(pd.MultiIndex.from_frame(rows[["sku", "model"]])).to_numpy()
        prior = self.pattern_ratio_.reindex(pd.MultiIndex.from_frame(rows[["pattern", "model"]])).to_numpy()
        ratio = np.where(np.isnan(ratio), np.nan_to_num(prior, nan=1.0), ratio)
        mean = rows["mean"].to_numpy(dtype=float)
        if cumulative:
            mean = rows["cm"].to_numpy(dtype=float)
            factor = self.cum_factor_.reindex(
                pd.MultiIndex.from_frame(rows[["pattern", "model", "horizon"]])
            ).to_numpy()
            ratio = ratio * np.nan_to_num(factor, nan=1.0)
        mean = np.maximum(mean, 0.0)
        levels = np.asarray(self.levels)
        out = np.zeros((len(rows), len(levels)))
        over = ratio > 1.0 + 1e-6
        positive = mean > 0
        nb = over & positive
        if nb.any():
            r = mean[nb] / (ratio[nb] - 1.0)
            prob = 1.0 / ratio[nb]
            out[nb] = stats.nbinom.ppf(levels[None, :], r[:, None], prob[:, None])
        pois = ~over & positive
        if pois.any():
            out[pois] = stats.poisson.ppf(levels[None, :], mean[pois][:, None])
        return np.nan_to_num(out)

    def quantiles(self, rows: pd.DataFrame, method: str, cumulative: bool = False) -> np.ndarray:
        """(n_rows, n_levels) quantiles for rows [sku, pattern, model, horizon, mean] (+ cm when cumulative)."""
        integer = self.integer.reindex(rows["sku"]).fillna(False).to_numpy(dtype=bool)
        if method == "negbin":
            values = self._negbin(rows, cumulative)
            continuous = self._conformal(rows, cumulative)
            values = np.where(integer[:, None], values, continuous)
        elif method == "conformal":
            values = self._conformal(rows, cumulative)
        else:
            raise ValueError(f"unknown calibration {method!r}; use conformal or negbin")
        return np.sort(_snap(values, integer), axis=1)


def cumulative_means(rows: pd.DataFrame, group: Sequence[str]) -> pd.Series:
    """Running sum of `mean` over horizon within `group` (rows sorted by horizon inside each group)."""
    return rows.groupby(list(group))["mean"].cumsum()


def monotone_in_horizon(values: np.ndarray, rows: pd.DataFrame, group: Sequence[str]) -> np.ndarray:
    """Cumulative quantiles never decrease with h: running max along the horizon within each group."""
    frame = pd.DataFrame(values, index=rows.index)
    keys = [rows[g] for g in group]
    return frame.groupby(keys).cummax().to_numpy()
