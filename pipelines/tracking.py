"""MLflow tracking of a training run: params, data fingerprint, portfolio and per-class metrics, tables, plots.

One parent run per training, one child run per model family, never one run per SKU. Public interface:
`fingerprint(panel)`, `summary_by_class(result)`, `log_training(result, config, ...)`, `flat_params(config)`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.base import Panel
from models.schema import quantile_col
from models.statistical import STATS_MODELS
from pipelines.config import ExperimentConfig
from pipelines.forecast import ForecastResult

log = logging.getLogger(__name__)

FAMILIES = {
    "statsforecast": set(STATS_MODELS),
    "lightgbm": {"lightgbm"},
    "prophet": {"prophet"},
    "empirical": {"empirical"},
    "ensemble": {"ensemble"},
}
METRICS = ("rmsse", "mase", "wape", "bias", "pinball", "pinball_q0.1", "pinball_q0.5", "pinball_q0.9")


def fingerprint(panel: Panel) -> str:
    """A short, order-independent hash of the demand data (SKUs, dates, quantities)."""
    frame = panel.frame.sort_values(["sku", "date"]).reset_index(drop=True)
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def flat_params(config: ExperimentConfig) -> dict[str, str]:
    """The config as flat MLflow params (`backtest.windows` → "3"); lists as JSON."""
    out: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            out[prefix] = json.dumps(value) if isinstance(value, (list, tuple)) else str(value)

    walk("", config.model_dump(mode="json"))
    return out


def _tails(backtest: pd.DataFrame) -> dict[str, float]:
    y = backtest["y"].to_numpy(dtype=float)
    lo, hi = backtest[quantile_col(0.1)].to_numpy(dtype=float), backtest[quantile_col(0.9)].to_numpy(dtype=float)
    return {
        "p_below_q0.1": float(np.mean(y < lo)),
        "p_at_or_below_q0.1": float(np.mean(y <= lo)),
        "p_below_q0.9": float(np.mean(y < hi)),
        "p_at_or_below_q0.9": float(np.mean(y <= hi)),
        "coverage_80": float(np.mean((y >= lo) & (y <= hi))),
    }


def portfolio_metrics(result: ForecastResult) -> dict[str, float]:
    """Backtest metrics of the champions, overall (`all.*`) and per demand class (`<pattern>.*`)."""
    champs = result.champions
    out: dict[str, float] = {}
    groups: list[tuple[str, pd.Index]] = [("all", champs.index)]
    groups += [(str(p), champs.index[champs["pattern"] == p]) for p in sorted(champs["pattern"].unique())]
    for name, skus in groups:
        table = champs.loc[skus]
        out[f"{name}.skus"] = float(len(table))
        for metric in METRICS:
            values = table[metric].to_numpy(dtype=float)
            if np.isfinite(values).any():
                out[f"{name}.{metric}"] = float(np.nanmean(values))
        rows = result.backtest[result.backtest["sku"].isin(skus)]
        if len(rows):
            volume = float(rows["y"].abs().sum()) or 1.0
            out[f"{name}.wape"] = float((rows["y"] - rows["mean"]).abs().sum() / volume)
            out.update({f"{name}.{k}": v for k, v in _tails(rows).items()})
    return out


def summary_by_class(result: ForecastResult) -> pd.DataFrame:
    """Per demand class: SKUs, champion mix, MASE, WAPE, coverage — the table `leanplan train` prints."""
    metrics = portfolio_metrics(result)
    rows = []
    for pattern in [*sorted(result.champions["pattern"].unique()), "all"]:
        table = result.champions if pattern == "all" else result.champions[result.champions["pattern"] == pattern]
        mix = table["champion"].value_counts()
        rows.append(
            {
                "class": pattern,
                "skus": len(table),
                "champions": ", ".join(f"{m} {n}" for m, n in mix.head(3).items()) + (" …" if len(mix) > 3 else ""),
                "mase": metrics.get(f"{pattern}.mase", float("nan")),
                "wape": metrics.get(f"{pattern}.wape", float("nan")),
                "pinball": metrics.get(f"{pattern}.pinball", float("nan")),
                "coverage_80": metrics.get(f"{pattern}.coverage_80", float("nan")),
            }
        )
    return pd.DataFrame(rows)


def _fan_plots(result: ForecastResult, skus: list[str], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(skus)
    cols = 4
    rows = max(1, int(np.ceil(n / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.2 * rows), squeeze=False)
    horizon = int(result.forecast["horizon"].max())
    history = result.panel.frame[result.panel.frame["sku"].isin(skus)].groupby("sku").tail(3 * horizon)
    past_by = dict(tuple(history.groupby("sku")))
    future_by = dict(tuple(result.forecast[result.forecast["sku"].isin(skus)].groupby("sku")))
    for ax, sku in zip(axes.ravel(), skus, strict=False):
        past, fut = past_by[sku], future_by[sku]
        x_past = np.arange(-len(past), 0)  # periods relative to the forecast origin: cheap to draw
        x_fut = np.arange(len(fut))
        ax.plot(x_past, past["qty"].to_numpy(), color="#333", linewidth=1)
        ax.fill_between(
            x_fut, fut[quantile_col(0.05)].to_numpy(), fut[quantile_col(0.95)].to_numpy(), color="#1f77b4", alpha=0.15
        )
        ax.fill_between(
            x_fut, fut[quantile_col(0.1)].to_numpy(), fut[quantile_col(0.9)].to_numpy(), color="#1f77b4", alpha=0.3
        )
        ax.plot(x_fut, fut["mean"].to_numpy(), color="#1f77b4", linewidth=1.2)
        champ = result.champions.loc[sku]
        ax.set_title(f"{sku} · {champ['champion']} · pinball {champ['pinball']:.2f}", fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.suptitle(f"{title} (x: periods from {result.panel.end.date()})", fontsize=10)
    fig.subplots_adjust(hspace=0.5, wspace=0.25, top=0.93, bottom=0.04, left=0.04, right=0.99)
    fig.savefig(path, dpi=72, pil_kwargs={"compress_level": 1})
    plt.close(fig)


def write_artifacts(result: ForecastResult, directory: Path, value: pd.Series | None = None) -> list[Path]:
    """Tables and plots of a run, written into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    champions = result.champions.copy()
    champions["members"] = champions["members"].map(lambda m: ",".join(m) if isinstance(m, list) else "")
    champions.to_csv(directory / "champions.csv")
    result.candidate_metrics.reset_index().to_parquet(directory / "candidate_metrics.parquet", index=False)
    result.fallbacks.to_csv(directory / "fallbacks.csv", index=False)
    result.calibration.to_csv(directory / "calibration.csv", index=False)
    paths += [directory / n for n in ("champions.csv", "candidate_metrics.parquet", "fallbacks.csv", "calibration.csv")]
    volume = value if value is not None else result.panel.frame.groupby("sku")["qty"].sum()
    top = volume.reindex(result.champions.index).fillna(0).sort_values(ascending=False).head(20).index.tolist()
    worst = result.champions["pinball"].dropna().sort_values(ascending=False).head(20).index.tolist()
    _fan_plots(
        result,
        top,
        "20 highest-value SKUs: history, forecast mean, 80 % and 90 % bands",
        directory / "top_value_skus.png",
    )
    _fan_plots(result, worst, "20 SKUs with the worst backtest pinball loss", directory / "worst_skus.png")
    paths += [directory / "top_value_skus.png", directory / "worst_skus.png"]
    return paths


def family_metrics(result: ForecastResult) -> dict[str, dict[str, float]]:
    """Per model family: mean backtest metrics of each member model over the SKUs it was tried on."""
    table = result.candidate_metrics.reset_index()
    out: dict[str, dict[str, float]] = {}
    for family, models in FAMILIES.items():
        rows = table[table["model"].isin(models)]
        if rows.empty:
            continue
        metrics: dict[str, float] = {}
        for model, group in rows.groupby("model"):
            metrics[f"{model}.skus"] = float(len(group))
            metrics[f"{model}.champion_of"] = float((result.champions["champion"] == model).sum())
            for metric in ("rmsse", "mase", "pinball"):
                metrics[f"{model}.{metric}"] = float(group[metric].mean())
        out[family] = metrics
    return out
