"""Demand patterns (Syntetos–Boylan): ADI and CV² of non-zero demand → smooth, intermittent, erratic, lumpy.

Special classes come first: `zero` (no demand at all), `constant` (one value throughout), `short` (fewer than
`min_length` periods). Public interface: `PATTERNS`, `pattern_stats(history)`, `classify(stats)`.

Reference: Syntetos, Boylan & Croston (2005), "On the categorization of demand patterns", JORS 56:495–503
(cut-offs ADI 1.32, CV² 0.49).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ADI_CUT = 1.32
CV2_CUT = 0.49
PATTERNS = ("smooth", "erratic", "intermittent", "lumpy", "short", "constant", "zero")


def pattern_stats(history: pd.DataFrame) -> pd.DataFrame:
    """Per SKU: n (periods), nonzero, adi (periods per non-zero demand), cv2 (of non-zero sizes), mean, total."""
    y = history["qty"].to_numpy(dtype=float)
    nonzero = y > 0
    frame = pd.DataFrame({"sku": history["sku"].to_numpy(), "y": y, "nz": nonzero, "nzy": np.where(nonzero, y, np.nan)})
    g = frame.groupby("sku", sort=True)
    stats = pd.DataFrame({"n": g.size(), "nonzero": g["nz"].sum(), "mean": g["y"].mean(), "total": g["y"].sum()})
    nz_mean, nz_std = g["nzy"].mean(), g["nzy"].std(ddof=0)
    stats["adi"] = stats["n"] / stats["nonzero"].where(stats["nonzero"] > 0)
    stats["cv2"] = (nz_std / nz_mean) ** 2
    stats["distinct"] = g["y"].nunique()
    return stats


def classify(stats: pd.DataFrame, min_length: int = 12) -> pd.Series:
    """The pattern of each SKU of `pattern_stats` output."""
    adi, cv2 = stats["adi"].fillna(np.inf), stats["cv2"].fillna(0.0)
    base = np.select(
        [(adi < ADI_CUT) & (cv2 < CV2_CUT), adi < ADI_CUT, cv2 < CV2_CUT],
        ["smooth", "erratic", "intermittent"],
        default="lumpy",
    )
    label = pd.Series(base, index=stats.index, dtype=object)
    label[stats["n"] < min_length] = "short"
    label[stats["distinct"] <= 1] = "constant"
    label[stats["nonzero"] == 0] = "zero"
    return label.rename("pattern")
