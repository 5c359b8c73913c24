"""Classification of SKUs (ABC by consumption value, XYZ by variability, demand pattern) and service targets.

- **ABC**: SKUs sorted by annual consumption value (units per year × unit cost over the last year of history);
  A = the SKUs making up the first 80 % of the value, B the next 15 %, C the rest (cuts configurable).
- **XYZ**: coefficient of variation of demand per period since the SKU's first demand: X < 0.5 ≤ Y < 1.0 ≤ Z.
- **Pattern** (Syntetos, Boylan & Croston 2005, J. Oper. Res. Soc. 56:495–503): average inter-demand interval
  ADI and squared CV of the non-zero demand sizes CV²: smooth (ADI < 1.32, CV² < 0.49), erratic (ADI < 1.32),
  intermittent (CV² < 0.49), lumpy (both high); `none` without any demand.
- **Service targets** (`ServiceTargets`): per class a fill rate β (share of units served from stock), a cycle
  service level α (chance of no stockout in a replenishment cycle), or cost-optimal from holding and shortage
  cost. Keys are the most specific class first: `"AX"`, then `"A"`, then `default`.

Public interface: `ClassificationRules`, `classify`, `ServiceTargets`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.patterns import ADI_CUT, CV2_CUT, sb_pattern, size_cv2
from optimizer.history import DemandHistory, periods_per_year

Array = np.ndarray


class ClassificationRules(BaseModel):
    """Cut-offs of the ABC, XYZ and demand-pattern classes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    abc_cuts: tuple[float, float] = (0.80, 0.95)
    xyz_cuts: tuple[float, float] = (0.5, 1.0)
    adi_cut: float = ADI_CUT
    cv2_cut: float = CV2_CUT
    #: periods of history for the annual consumption value (default: one year of the data's frequency)
    value_window: int | None = None

    @field_validator("abc_cuts", "xyz_cuts")
    @classmethod
    def _increasing(cls, cuts: tuple[float, float]) -> tuple[float, float]:
        if not 0 < cuts[0] < cuts[1]:
            raise ValueError(f"cuts must be increasing and positive; got {cuts}")
        return cuts


def classify(history: DemandHistory, unit_cost: Array, rules: ClassificationRules | None = None) -> pd.DataFrame:
    """One row per SKU of `history`: sku, abc, xyz, pattern, annual_qty, annual_value, cv, adi, cv2, n_nonzero."""
    rules = rules or ClassificationRules()
    y = history.qty
    n, t = y.shape
    cost = np.asarray(unit_cost, dtype=float)
    if cost.shape != (n,):
        raise ValueError(f"unit_cost must have one value per SKU ({n}); got shape {cost.shape}")
    per_year = periods_per_year(history.freq)
    window = rules.value_window or max(1, round(per_year))
    recent = y[:, max(0, t - window) :]
    annual_qty = recent.mean(axis=1) * per_year if recent.shape[1] else np.zeros(n)
    annual_value = annual_qty * cost

    order = np.argsort(-annual_value, kind="stable")
    total = annual_value.sum()
    # share of value *before* each SKU: a SKU is A while the value above it is under the first cut
    before = np.concatenate([[0.0], np.cumsum(annual_value[order])[:-1]]) / total if total > 0 else np.ones(n)
    abc_sorted = np.where(before < rules.abc_cuts[0], "A", np.where(before < rules.abc_cuts[1], "B", "C"))
    abc = np.empty(n, dtype=object)
    abc[order] = abc_sorted
    abc[annual_value <= 0] = "C"

    first = history.first
    used = np.arange(t)[None, :] >= first[:, None]
    n_used = used.sum(axis=1)
    mean = np.divide(np.where(used, y, 0).sum(axis=1), n_used, out=np.zeros(n), where=n_used > 0)
    dev = np.where(used, y - mean[:, None], 0.0)
    sd = np.sqrt(np.divide((dev * dev).sum(axis=1), n_used - 1, out=np.zeros(n), where=n_used > 1))
    cv = np.divide(sd, mean, out=np.full(n, np.inf), where=mean > 0)
    xyz = np.where(cv < rules.xyz_cuts[0], "X", np.where(cv < rules.xyz_cuts[1], "Y", "Z"))

    nonzero = y > 0
    n_nonzero = nonzero.sum(axis=1)
    adi = np.divide(n_used, n_nonzero, out=np.full(n, np.inf), where=n_nonzero > 0)
    sizes = np.where(nonzero, y, 0.0)
    cv2 = size_cv2(n_nonzero, sizes.sum(axis=1), (sizes * sizes).sum(axis=1))
    pattern = np.where(n_nonzero == 0, "none", sb_pattern(adi, cv2, rules.adi_cut, rules.cv2_cut))
    return pd.DataFrame(
        {
            "sku": np.asarray(history.skus),
            "abc": abc.astype(str),
            "xyz": xyz,
            "pattern": pattern,
            "annual_qty": annual_qty,
            "annual_value": annual_value,
            "cv": cv,
            "adi": adi,
            "cv2": cv2,
            "n_nonzero": n_nonzero,
        }
    )


Measure = Literal["fill_rate", "cycle_service", "cost_optimal"]


class ServiceTargets(BaseModel):
    """Service targets per class.

    measure: `fill_rate` (β, share of demanded units served from stock; met per class in aggregate),
    `cycle_service` (α, chance of no stockout per replenishment cycle, per SKU) or `cost_optimal` (each SKU's
    stockout chance per cycle = holding cost × order quantity / (shortage cost × demand), the (r,Q) optimum).
    targets: class key → target, keys like "A", "B", "AX", "CZ"; `default` for classes not listed.
    allocation (fill rate only): `value` spreads each class's allowed shortage over its SKUs by marginal value
    (cheap, fast movers get more service — where most of the saving lies, see FIELD-NOTES.md); `uniform` gives
    every SKU the class target.
    shortage_cost_rate (cost-optimal only): shortage cost per unit short, as a multiple of the unit cost.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    measure: Measure = "fill_rate"
    targets: dict[str, float] = Field(default_factory=lambda: {"A": 0.95, "B": 0.95, "C": 0.95})
    default: float = 0.95
    allocation: Literal["value", "uniform"] = "value"
    shortage_cost_rate: float = Field(default=2.0, gt=0)

    @model_validator(mode="after")
    def _in_range(self) -> ServiceTargets:
        for key, value in {**self.targets, "default": self.default}.items():
            if not 0.0 < value < 1.0:
                raise ValueError(f"service target {key!r} must be strictly between 0 and 1; got {value}")
        for key in self.targets:
            if not (1 <= len(key) <= 2 and key[0] in "ABC" and (len(key) == 1 or key[1] in "XYZ")):
                raise ValueError(f"service target key {key!r} must be an ABC class, optionally with XYZ (e.g. 'AX')")
        return self

    @classmethod
    def from_yaml(cls, path: Path | str) -> ServiceTargets:
        """Read targets from YAML: the top level, or its `service_targets:` section."""
        data = yaml.safe_load(Path(path).read_text()) or {}
        if isinstance(data, dict) and "service_targets" in data:
            data = data["service_targets"]
        return cls.model_validate(data)

    def group_of(self, abc: Array, xyz: Array) -> Array:
        """The key whose target applies to each SKU ("AX", "A" or "default")."""
        abc = np.asarray(abc, dtype=str)
        xyz = np.asarray(xyz, dtype=str)
        both = np.char.add(abc, xyz)
        return np.where(
            np.isin(both, list(self.targets)), both, np.where(np.isin(abc, list(self.targets)), abc, "default")
        )

    def target_of(self, abc: Array, xyz: Array) -> Array:
        """Each SKU's target (fill rate, cycle service level, or — cost-optimal — the default, unused)."""
        groups = self.group_of(abc, xyz)
        lookup = {**self.targets, "default": self.default}
        return pd.Series(groups, dtype=object).map(lookup).to_numpy(dtype=float)
