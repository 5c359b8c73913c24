"""Forecast accuracy metrics with stable names, computed per SKU and for a portfolio.

Every error is scaled per SKU by its in-sample mean absolute first difference (squared for RMSSE); when that is 0
(constant history) by mean |y|, and by 1 when that is 0 too. Names (stable, logged to MLflow):

- `rmsse`  root mean squared scaled error of the mean forecast
- `mase`   mean absolute scaled error of the mean forecast
- `wape`   Σ|y − mean| / Σ|y| (portfolio level only; per SKU it is reported as `wape` of that SKU)
- `bias`   Σ(mean − y) / Σ|y|
- `pinball_q0.9` scaled pinball loss of one quantile; `pinball` = mean over q0.1, q0.5, q0.9 (mean as q0.5 when absent)
- tails for discrete data: `p_below_q0.1` = P(y < q0.1), `p_at_or_below_q0.1` = P(y ≤ q0.1), same for q0.9;
  `calibrated` = P(y<q0.1) ≤ .13, P(y≤q0.1) ≥ .07, P(y<q0.9) ≤ .93, P(y≤q0.9) ≥ .87
- `coverage_80` share of actuals inside [q0.1, q0.9] (reported only: it cannot hold for discrete data)

Public interface: `scales(history)`, `per_sku(actual, forecast, scale)`, `portfolio(actual, forecast, scale)`,
`pinball_loss(y, q, p)`, `TAIL_RULES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.schema import quantile_col

PINBALL_LEVELS = (0.1, 0.5, 0.9)
#: (level, strict) → bound: P(y < q) ≤ p + 0.03 and P(y ≤ q) ≥ p − 0.03
TAIL_RULES = {0.1: (0.13, 0.07), 0.9: (0.93, 0.87)}


@dataclass(frozen=True)
class Scales:
    """Per-SKU error scales from the history: `mae` (mean |Δy|) and `mse` (mean Δy²), with fallbacks."""

    mae: pd.Series
    mse: pd.Series


def scales(history: pd.DataFrame) -> Scales:
    """Scales per SKU from a long history [sku, date, qty] (sorted by date within SKU)."""
    ordered = history.sort_values(["sku", "date"])
    y = ordered["qty"].to_numpy(dtype=float)
    sku = ordered["sku"].to_numpy()
    same = np.r_[False, sku[1:] == sku[:-1]]
    diff = np.where(same, np.r_[0.0, np.diff(y)], np.nan)
    frame = pd.DataFrame({"sku": sku, "abs": np.abs(diff), "sq": diff**2, "level": np.abs(y)})
    grouped = frame.groupby("sku", sort=True)
    mae, mse, level = grouped["abs"].mean(), grouped["sq"].mean(), grouped["level"].mean()
    fallback = mae.isna() | (mae <= 0)
    mae = mae.where(~fallback, level.where(level > 0, 1.0))
    mse = mse.where(~fallback, (level**2).where(level > 0, 1.0))
    return Scales(mae=mae, mse=mse)


def pinball_loss(y: np.ndarray, q: np.ndarray, p: float) -> np.ndarray:
    """Pinball (quantile) loss of forecast `q` at level `p` for actuals `y`, element-wise."""
    diff = y - q
    return np.maximum(p * diff, (p - 1.0) * diff)


def _joined(actual: pd.DataFrame, forecast: pd.DataFrame) -> pd.DataFrame:
    merged = actual[["sku", "date", "qty"]].merge(forecast, on=["sku", "date"], how="left", validate="one_to_one")
    missing = merged["mean"].isna()
    if missing.any():
        raise ValueError(
            f"{int(missing.sum())} actual rows have no forecast (e.g. {merged.loc[missing, 'sku'].iloc[0]!r})"
        )
    return merged


def _quantile_or_mean(frame: pd.DataFrame, p: float) -> np.ndarray:
    column = quantile_col(p)
    return frame[column].to_numpy(dtype=float) if column in frame else frame["mean"].to_numpy(dtype=float)


def per_sku(actual: pd.DataFrame, forecast: pd.DataFrame, scale: Scales) -> pd.DataFrame:
    """One row per SKU: rmsse, mase, wape, bias, pinball_q…, pinball (scaled), n."""
    m = _joined(actual, forecast)
    y = m["qty"].to_numpy(dtype=float)
    err = y - m["mean"].to_numpy(dtype=float)
    parts = {"sq": err**2, "abs": np.abs(err), "err": -err, "y": np.abs(y)}
    for p in PINBALL_LEVELS:
        parts[f"pl{p:g}"] = pinball_loss(y, _quantile_or_mean(m, p), p)
    frame = pd.DataFrame(parts)
    frame["sku"] = m["sku"].to_numpy()
    grouped = frame.groupby("sku", sort=True)
    means, sums = grouped.mean(), grouped.sum()
    mae, mse = scale.mae.reindex(means.index), scale.mse.reindex(means.index)
    out = pd.DataFrame(index=means.index)
    out["rmsse"] = np.sqrt(means["sq"] / mse)
    out["mase"] = means["abs"] / mae
    volume = sums["y"].where(sums["y"] > 0)
    out["wape"] = sums["abs"] / volume
    out["bias"] = sums["err"] / volume
    for p in PINBALL_LEVELS:
        out[f"pinball_q{p:g}"] = means[f"pl{p:g}"] / mae
    out["pinball"] = out[[f"pinball_q{p:g}" for p in PINBALL_LEVELS]].mean(axis=1)
    out["n"] = grouped.size()
    return out


def tails(actual: pd.DataFrame, forecast: pd.DataFrame) -> dict[str, Any]:
    """Tail calibration that holds for discrete data (ties counted on both sides)."""
    m = _joined(actual, forecast)
    y = m["qty"].to_numpy(dtype=float)
    out: dict[str, Any] = {}
    ok = True
    for p, (strict_max, loose_min) in TAIL_RULES.items():
        q = _quantile_or_mean(m, p)
        below, at_or_below = float(np.mean(y < q)), float(np.mean(y <= q))
        out[f"p_below_q{p:g}"], out[f"p_at_or_below_q{p:g}"] = below, at_or_below
        ok = ok and below <= strict_max and at_or_below >= loose_min
    lo, hi = _quantile_or_mean(m, 0.1), _quantile_or_mean(m, 0.9)
    out["coverage_80"] = float(np.mean((y >= lo) & (y <= hi)))
    out["calibrated"] = bool(ok)
    return out


def portfolio(actual: pd.DataFrame, forecast: pd.DataFrame, scale: Scales) -> dict[str, Any]:
    """Portfolio metrics: scaled metrics averaged over SKUs; wape and bias over all volume; tails."""
    table = per_sku(actual, forecast, scale)
    m = _joined(actual, forecast)
    y, mean = m["qty"].to_numpy(dtype=float), m["mean"].to_numpy(dtype=float)
    volume = float(np.abs(y).sum()) or 1.0
    out: dict[str, Any] = {
        "series": len(table),
        "rmsse": float(table["rmsse"].mean()),
        "mase": float(table["mase"].mean()),
        "wape": float(np.abs(y - mean).sum() / volume),
        "bias": float((mean - y).sum() / volume),
        "pinball": float(table["pinball"].mean()),
        **{f"pinball_q{p:g}": float(table[f"pinball_q{p:g}"].mean()) for p in PINBALL_LEVELS},
    }
    out.update(tails(actual, forecast))
    return out
