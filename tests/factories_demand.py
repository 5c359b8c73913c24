"""Synthetic demand panels with known character: smooth seasonal, intermittent, lumpy, short, constant, zero."""

from __future__ import annotations

import numpy as np
import pandas as pd


def demand_panel(n_per_pattern: int = 6, periods: int = 48, seed: int = 3) -> pd.DataFrame:
    """Long monthly demand [sku, date, qty] with every demand pattern the pipeline distinguishes."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2019-01-01", periods=periods, freq="MS")
    season = 1 + 0.3 * np.sin(2 * np.pi * np.arange(periods) / 12)
    rows: list[tuple[str, pd.Timestamp, float]] = []

    def add(sku: str, values: np.ndarray, start: int = 0) -> None:
        rows.extend((sku, dates[start + i], float(v)) for i, v in enumerate(values))

    for i in range(n_per_pattern):
        add(f"SMOOTH-{i}", rng.poisson(40 * season * (1 + 0.1 * i)))
        add(f"INTER-{i}", rng.binomial(1, 0.25, periods) * rng.poisson(3, periods))
        add(f"LUMPY-{i}", rng.binomial(1, 0.2, periods) * rng.geometric(0.1, periods))
    add("SHORT-0", rng.poisson(5, 8), start=periods - 8)
    add("CONST-0", np.full(periods, 7.0))
    add("ZERO-0", np.zeros(periods))
    return pd.DataFrame(rows, columns=["sku", "date", "qty"])
