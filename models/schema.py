"""The forecast frame: what every forecaster returns and what the optimizer and the service consume.

One row per (sku, date) of the forecast horizon, long format:

- `sku`, `date` (period start), `horizon` (1 = first period after the history's end),
- `mean` (expected demand in the period),
- `q0.05`, `q0.1`, … (quantiles of demand in the period; names from `quantile_col`),
- optionally `cq0.05`, `cq0.1`, … (quantiles of *cumulative* demand over horizon steps 1..h; names from
  `cum_quantile_col`): what an inventory policy needs for demand over a lead time.

Public interface: `DEFAULT_QUANTILES`, `quantile_col`, `cum_quantile_col`, `quantile_of`, `quantile_columns`,
`check_forecast_frame`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

DEFAULT_QUANTILES: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
KEY = ("sku", "date")


def quantile_col(p: float) -> str:
    """Column of the p-quantile of demand in a period: `quantile_col(0.9) == "q0.9"`."""
    _check_level(p)
    return f"q{p:g}"


def cum_quantile_col(p: float) -> str:
    """Column of the p-quantile of cumulative demand over steps 1..h: `cum_quantile_col(0.9) == "cq0.9"`."""
    _check_level(p)
    return f"cq{p:g}"


def quantile_of(column: str) -> float | None:
    """The level of a quantile column (`"q0.9"` → 0.9, `"cq0.9"` → 0.9); None for other columns."""
    for prefix in ("cq", "q"):
        if column.startswith(prefix):
            try:
                return float(column[len(prefix) :])
            except ValueError:
                return None
    return None


def quantile_columns(frame: pd.DataFrame, cumulative: bool = False) -> list[str]:
    """The frame's (cumulative) quantile columns, by increasing level."""
    prefix = "cq" if cumulative else "q"
    cols = [c for c in frame.columns if c.startswith(prefix) and quantile_of(c) is not None]
    if not cumulative:
        cols = [c for c in cols if not c.startswith("cq")]
    return sorted(cols, key=lambda c: quantile_of(c) or 0.0)


def _check_level(p: float) -> None:
    if not 0.0 < p < 1.0:
        raise ValueError(f"quantile level must be strictly between 0 and 1, got {p}")


def check_forecast_frame(frame: pd.DataFrame, quantiles: Iterable[float] = ()) -> None:
    """Raise ValueError unless `frame` is a valid forecast frame: columns present, finite, non-negative,
    quantiles non-decreasing in the level (and cumulative quantiles non-decreasing in the horizon)."""
    missing = [c for c in (*KEY, "mean", *(quantile_col(p) for p in quantiles)) if c not in frame.columns]
    if missing:
        raise ValueError(f"forecast frame lacks column(s) {missing}; it has {list(frame.columns)}")
    for cumulative in (False, True):
        cols: Sequence[str] = quantile_columns(frame, cumulative)
        values = (
            frame[["mean", *cols]].to_numpy(dtype=float) if not cumulative else frame[list(cols)].to_numpy(dtype=float)
        )
        if values.size and (~np.isfinite(values)).any():
            raise ValueError("forecast frame holds NaN or infinite values")
        if values.size and (values < 0).any():
            raise ValueError("forecast frame holds negative values")
        if len(cols) > 1 and (np.diff(frame[list(cols)].to_numpy(dtype=float), axis=1) < -1e-9).any():
            raise ValueError(f"quantiles {list(cols)} are not non-decreasing in the level")
