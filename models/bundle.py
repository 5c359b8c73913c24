"""The per-SKU champions of a training run as ONE MLflow pyfunc model.

The bundle directory holds the champion table (model, calibration and ensemble members per SKU), the calibration
tables, the candidate settings and the forecast made at training time. `predict(frame)`:

- `frame` with `sku` (and optionally `horizon`, the number of periods): the stored forecast of those SKUs;
- `frame` with `sku, date, qty` (a demand history): each SKU's champion refitted on that history, forecast with the
  stored calibration — the same model, fresh data.

Unknown SKUs are an error that names them. Public interface: `write_bundle(...)`, `DemandModel`,
`forecast_from_bundle(directory, frame)`.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.base import prepare_history
from models.calibration import Calibrator
from models.candidates import CandidateSettings, empirical_table, fit_means
from models.schema import cum_quantile_col, quantile_col

try:  # mlflow is a dependency of the project; the class also works without it for local use
    from mlflow.pyfunc import PythonModel
except ImportError:  # pragma: no cover
    PythonModel = object  # type: ignore[misc,assignment]


def write_bundle(
    directory: Path,
    forecast: pd.DataFrame,
    champions: pd.DataFrame,
    calibrator: Calibrator,
    settings: CandidateSettings,
    horizon: int,
    freq: str,
) -> Path:
    """Write the bundle files into `directory` (created)."""
    directory.mkdir(parents=True, exist_ok=True)
    forecast.to_parquet(directory / "forecast.parquet", index=False)
    table = champions.reset_index()[["sku", "pattern", "champion", "calibration", "members"]].copy()
    table["members"] = table["members"].map(lambda m: ",".join(m) if isinstance(m, (list, tuple)) else (m or ""))
    table.to_parquet(directory / "champions.parquet", index=False)
    with (directory / "calibrator.pkl").open("wb") as handle:
        pickle.dump(calibrator, handle)
    meta = {"horizon": horizon, "freq": freq, "levels": list(calibrator.levels), "settings": settings.__dict__}
    (directory / "bundle.json").write_text(json.dumps(meta, indent=2, default=str))
    return directory


class _Bundle:
    def __init__(self, directory: Path) -> None:
        self.forecast = pd.read_parquet(directory / "forecast.parquet")
        self.champions = pd.read_parquet(directory / "champions.parquet").set_index("sku")
        with (directory / "calibrator.pkl").open("rb") as handle:
            self.calibrator: Calibrator = pickle.load(handle)
        meta = json.loads((directory / "bundle.json").read_text())
        self.horizon: int = meta["horizon"]
        self.levels: list[float] = meta["levels"]
        self.settings = CandidateSettings(**meta["settings"])

    def _known(self, skus: pd.Series) -> None:
        unknown = sorted(set(skus.astype(str)) - set(self.champions.index))
        if unknown:
            shown = ", ".join(unknown[:10]) + (" …" if len(unknown) > 10 else "")
            raise ValueError(f"{len(unknown)} SKU(s) unknown to this model: {shown}; train a model that includes them")

    def stored(self, frame: pd.DataFrame) -> pd.DataFrame:
        self._known(frame["sku"])
        wanted = frame["sku"].astype(str).unique()
        h = int(frame["horizon"].max()) if "horizon" in frame and frame["horizon"].notna().any() else self.horizon
        if h > self.horizon:
            raise ValueError(f"horizon {h} exceeds the {self.horizon} periods this model was trained for")
        out = self.forecast[self.forecast["sku"].isin(wanted) & (self.forecast["horizon"] <= h)]
        return out.reset_index(drop=True)

    def refit(self, frame: pd.DataFrame) -> pd.DataFrame:
        self._known(frame["sku"])
        panel = prepare_history(frame)
        champs = self.champions.reindex(panel.skus)
        names: dict[str, list[str]] = {
            str(sku): (row.members.split(",") if row.champion == "ensemble" and row.members else [row.champion])
            for sku, row in champs.iterrows()
        }
        means = fit_means(panel, names, self.horizon, self.settings)
        means = means.groupby(["sku", "date", "horizon"], as_index=False)[["mean"]].mean()
        means["model"] = champs["champion"].reindex(means["sku"]).to_numpy()
        means["pattern"] = champs["pattern"].reindex(means["sku"]).to_numpy()
        means = means.sort_values(["sku", "horizon"]).reset_index(drop=True)
        means["cm"] = means.groupby("sku")["mean"].cumsum()
        method = champs["calibration"].reindex(means["sku"]).to_numpy()
        q = np.zeros((len(means), len(self.levels)))
        cq = np.zeros_like(q)
        empirical = empirical_table(panel, self.settings.empirical_window, self.levels)
        for name in pd.unique(method):
            mask = method == name
            subset = means[mask]
            cq[mask] = self.calibrator.quantiles(subset, "conformal" if name == "own" else name, cumulative=True)
            if name == "own":
                cols = [quantile_col(p) for p in self.levels]
                q[mask] = empirical[cols].reindex(subset["sku"]).to_numpy()
            else:
                q[mask] = self.calibrator.quantiles(subset, name)
        cq = pd.DataFrame(cq).groupby(means["sku"].to_numpy()).cummax().to_numpy()
        out = means[["sku", "date", "horizon", "mean", "model"]].copy()
        for j, p in enumerate(self.levels):
            out[quantile_col(p)] = q[:, j]
        for j, p in enumerate(self.levels):
            out[cum_quantile_col(p)] = cq[:, j]
        return out

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        if "sku" not in frame.columns:
            raise ValueError("input needs a 'sku' column (and optionally 'horizon', or 'date' and 'qty' to refit)")
        has_history = {"date", "qty"} <= set(frame.columns) and frame["qty"].notna().any()
        return self.refit(frame) if has_history else self.stored(frame)


def load_bundle(directory: Path) -> _Bundle:
    """A bundle directory, ready to `predict`, `stored` or `refit`."""
    return _Bundle(directory)


def forecast_from_bundle(directory: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """Use a bundle directory without MLflow."""
    return _Bundle(directory).predict(frame)


class DemandModel(PythonModel):
    """MLflow pyfunc wrapper: `load_context` reads the bundle once; `predict` as in the module docstring."""

    def load_context(self, context: Any) -> None:
        self._bundle = _Bundle(Path(context.artifacts["bundle"]))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return self._bundle.predict(pd.DataFrame(model_input))
