"""Demand patterns (Syntetos–Boylan): ADI and CV² of non-zero demand → smooth, intermittent, erratic, lumpy.

Special classes come first: `zero` (no demand at all), `constant` (one value throughout), `short` (fewer than
`min_length` periods). Public interface: `PATTERNS`, `ADI_CUT`, `CV2_CUT`, `size_cv2(count, total, total_sq)`,
`sb_pattern(adi, cv2)`, `pattern_stats(history)`, `classify(stats)`. The optimizer's ABC/XYZ classification
(`optimizer.classify`) uses the same `size_cv2` and `sb_pattern`.

Reference: Syntetos, Boylan & Croston (2005), "On the categorization of demand patterns", JORS 56:495–503
(cut-offs ADI 1.32, CV² 0.49).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

ADI_CUT = 1.32
CV2_CUT = 0.49
PATTERNS = ("smooth", "erratic", "intermittent", "lumpy", "short", "constant", "zero")


def size_cv2(count: npt.ArrayLike, total: npt.ArrayLike, total_sq: npt.ArrayLike) -> np.ndarray:
    """Squared coefficient of variation of the non-zero demand sizes from their count, sum and sum of squares
    (sample variance, ddof 1; 0 with fewer than two non-zero demands)."""
    n, s1, s2 = (np.asarray(a, dtype=float) for a in (count, total, total_sq))
    mean = np.divide(s1, n, out=np.zeros_like(s1), where=n > 0)
    var = np.divide(s2 - n * mean**2, n - 1, out=np.zeros_like(s1), where=n > 1)
    return np.divide(np.maximum(var, 0.0), mean**2, out=np.zeros_like(s1), where=mean > 0)


def sb_pattern(
    adi: npt.ArrayLike, cv2: npt.ArrayLike, adi_cut: float = ADI_CUT, cv2_cut: float = CV2_CUT
) -> np.ndarray:
    """Syntetos–Boylan class of each series: smooth (ADI < cut, CV² < cut), erratic (ADI < cut), intermittent
    (CV² < cut), lumpy (both at or above)."""
    frequent, steady = np.asarray(adi) < adi_cut, np.asarray(cv2) < cv2_cut
    return np.select([frequent & steady, frequent, steady], ["smooth", "erratic", "intermittent"], default="lumpy")


def pattern_stats(history: pd.DataFrame) -> pd.DataFrame:
    """Per SKU: n (periods), nonzero, adi (periods per non-zero demand), cv2 (of non-zero sizes), mean, total."""
    y = history["qty"].to_numpy(dtype=float)
    nonzero = y > 0
    frame = pd.DataFrame({"sku": history["sku"].to_numpy(), "y": y, "nz": nonzero, "nzy": np.where(nonzero, y, np.nan)})
    g = frame.groupby("sku", sort=True)
    stats = pd.DataFrame({"n": g.size(), "nonzero": g["nz"].sum(), "mean": g["y"].mean(), "total": g["y"].sum()})
    stats["adi"] = stats["n"] / stats["nonzero"].where(stats["nonzero"] > 0)
    frame["nzy2"] = frame["nzy"] ** 2
    stats["cv2"] = size_cv2(stats["nonzero"], g["nzy"].sum(), g["nzy2"].sum())
    stats["distinct"] = g["y"].nunique()
    return stats


def classify(stats: pd.DataFrame, min_length: int = 12) -> pd.Series:
    """The pattern of each SKU of `pattern_stats` output."""
    adi, cv2 = stats["adi"].fillna(np.inf), stats["cv2"].fillna(0.0)
    label = pd.Series(sb_pattern(adi.to_numpy(), cv2.to_numpy()), index=stats.index, dtype=object)
    label[stats["n"] < min_length] = "short"
    label[stats["distinct"] <= 1] = "constant"
    label[stats["nonzero"] == 0] = "zero"
    return label.rename("pattern")
