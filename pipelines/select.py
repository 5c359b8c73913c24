"""Scoring of backtest forecasts and the choice of per-SKU champions.

- `score(rows, quantiles, levels, scales)`: per (sku, model) the stable metrics of `pipelines.metrics`.
- `best_calibration(table, metric)`: per (pattern, model) the calibration method with the lower mean metric.
- `ensemble_members(table, k, metric)`: per SKU the k best mean models.
- `champions(table, patterns, metric, margin)`: the class champion of each pattern (best mean metric over the
  pattern's SKUs); a SKU gets its own champion only when that beats the class champion by `margin` on its backtest,
  which keeps selection noise (a few dozen backtest points per SKU) from picking lucky models.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipelines.metrics import PINBALL_LEVELS, Scales, pinball_loss

SUMS = ("sq", "abs", "signed", "vol", "pl0.1", "pl0.5", "pl0.9", "below_lo", "le_lo", "below_hi", "le_hi", "n")


def window_sums(rows: pd.DataFrame, quantiles: np.ndarray, levels: Sequence[float]) -> pd.DataFrame:
    """Loss sums per (sku, model, window) from backtest rows [sku, model, window, mean, y] and their quantiles.

    Sums add up over windows, so metrics over any set of windows come from `metrics_from_sums` without rescoring.
    """
    y = rows["y"].to_numpy(dtype=float)
    err = y - rows["mean"].to_numpy(dtype=float)
    index = {p: i for i, p in enumerate(levels)}
    lo, hi = quantiles[:, index[0.1]], quantiles[:, index[0.9]]
    parts = {
        "sq": err**2,
        "abs": np.abs(err),
        "signed": -err,
        "vol": np.abs(y),
        **{f"pl{p:g}": pinball_loss(y, quantiles[:, index[p]], p) for p in PINBALL_LEVELS},
        "below_lo": (y < lo).astype(float),
        "le_lo": (y <= lo).astype(float),
        "below_hi": (y < hi).astype(float),
        "le_hi": (y <= hi).astype(float),
        "n": np.ones(len(y)),
    }
    frame = pd.DataFrame(parts)
    frame.index = rows.index
    sums = frame.groupby([rows["sku"], rows["model"], rows["window"]], sort=False, observed=True).sum()
    sums.index.names = ["sku", "model", "window"]
    return sums


def metrics_from_sums(sums: pd.DataFrame, scale: Scales) -> pd.DataFrame:
    """Metrics per (sku, model) from loss sums (already summed over the windows wanted)."""
    n = sums["n"].to_numpy()
    skus = sums.index.get_level_values("sku")
    mae, mse = scale.mae.reindex(skus).to_numpy(), scale.mse.reindex(skus).to_numpy()
    out = pd.DataFrame(index=sums.index)
    out["rmsse"] = np.sqrt(sums["sq"].to_numpy() / n / mse)
    out["mase"] = sums["abs"].to_numpy() / n / mae
    volume = sums["vol"].where(sums["vol"] > 0).to_numpy()
    out["wape"] = sums["abs"].to_numpy() / volume
    out["bias"] = sums["signed"].to_numpy() / volume
    for p in PINBALL_LEVELS:
        out[f"pinball_q{p:g}"] = sums[f"pl{p:g}"].to_numpy() / n / mae
    out["pinball"] = out[[f"pinball_q{p:g}" for p in PINBALL_LEVELS]].mean(axis=1)
    for column in ("below_lo", "le_lo", "below_hi", "le_hi"):
        out[column] = sums[column].to_numpy() / n
    out["n"] = n
    return out


def score(rows: pd.DataFrame, quantiles: np.ndarray, levels: Sequence[float], scale: Scales) -> pd.DataFrame:
    """Metrics per (sku, model) over all windows of `rows`."""
    sums = window_sums(rows, quantiles, levels).groupby(level=["sku", "model"], sort=False, observed=True).sum()
    return metrics_from_sums(sums, scale)


def best_calibration(table: pd.DataFrame, metric: str) -> pd.Series:
    """Per (pattern, model): the calibration with the lowest mean `metric` (table has pattern, calibration)."""
    means = table.groupby(["pattern", "model", "calibration"])[metric].mean()
    best = means.groupby(level=["pattern", "model"]).idxmin()
    return best.map(lambda key: key[2]).rename("calibration")


def ensemble_members(table: pd.DataFrame, k: int, metric: str) -> pd.DataFrame:
    """Per SKU the `k` best models by `metric`: [sku, model]."""
    ranked = table.reset_index().sort_values(["sku", metric, "model"], kind="stable")
    return ranked.groupby("sku").head(k)[["sku", "model"]]


def champions(table: pd.DataFrame, patterns: pd.Series, metric: str, margin: float) -> pd.DataFrame:
    """[sku, pattern, class_champion, champion, <metric>] for every SKU of `patterns`.

    `table`: one row per (sku, model) with `metric` (calibration already chosen).
    """
    frame = table.reset_index()
    frame["pattern"] = patterns.reindex(frame["sku"]).to_numpy()
    class_best = frame.groupby(["pattern", "model"])[metric].mean().reset_index()
    class_best = class_best.sort_values(["pattern", metric, "model"], kind="stable").groupby("pattern").head(1)
    class_champion = class_best.set_index("pattern")["model"]
    own = frame.sort_values(["sku", metric, "model"], kind="stable").groupby("sku").head(1).set_index("sku")
    out = pd.DataFrame({"pattern": patterns})
    out["class_champion"] = class_champion.reindex(out["pattern"]).to_numpy()
    by_key = frame.set_index(["sku", "model"])[metric]
    class_score = by_key.reindex(pd.MultiIndex.from_arrays([out.index, out["class_champion"].fillna("")])).to_numpy()
    own_score = own[metric].reindex(out.index).to_numpy()
    own_model = own["model"].reindex(out.index).to_numpy()
    switch = ~np.isnan(own_score) & (np.isnan(class_score) | (own_score < (1.0 - margin) * class_score))
    out["champion"] = np.where(switch, own_model, out["class_champion"].to_numpy())
    out[metric] = np.where(switch, own_score, class_score)
    out.index.name = "sku"
    return out
