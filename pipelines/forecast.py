"""Per-SKU forecasting: candidates by demand pattern, rolling-origin backtest, calibration, champion selection.

`run_forecast(history, config)` is the whole pipeline short of tracking; `forecast(history, horizon, quantiles)`
returns just the forecast frame (what `leanplan forecast` writes). Steps:

1. panel (gaps filled with zeros) → demand pattern per SKU (`models.patterns`);
2. per chunk of SKUs (in this process, local processes or a Dask cluster): backtest every candidate of the SKU's
   pattern over rolling origins, then fit every candidate on the whole history (`pipelines.backtest`);
3. quantiles per backtest row from both calibrations, cross-fitted (each window calibrated on the others), scored
   per SKU and model; per pattern and model the better calibration is kept (`pipelines.calibrate`, `.select`);
4. a per-SKU ensemble of the k best models joins the candidates; champions per SKU (class champion unless a SKU's
   own best beats it by the configured margin);
5. the champions' final means with calibrated quantiles per period and for cumulative demand over 1..h.

SKUs whose models failed fall back (recorded in `fallbacks`); short, new, constant and all-zero series get their
own candidate sets, so every SKU gets a forecast.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models.base import Panel, prepare_history
from models.calibration import Calibrator
from models.patterns import classify, pattern_stats
from models.schema import DEFAULT_QUANTILES, cum_quantile_col, quantile_col
from pipelines.backtest import ChunkResult, run_chunk
from pipelines.config import ExperimentConfig
from pipelines.executors import executor_for, map_ordered
from pipelines.metrics import Scales, scales
from pipelines.select import best_calibration, champions, ensemble_members, score

log = logging.getLogger(__name__)


@dataclass
class ForecastResult:
    """Everything a training run produces and logs."""

    forecast: pd.DataFrame  # [sku, date, horizon, mean, q…, cq…]
    champions: pd.DataFrame  # index sku: pattern, class_champion, champion, calibration, metrics…
    candidate_metrics: pd.DataFrame  # per (sku, model): metrics of the chosen calibration
    backtest: pd.DataFrame  # champion backtest rows [sku, window, horizon, date, y, mean, q…]
    calibration: pd.DataFrame  # per (pattern, model): chosen calibration
    fallbacks: pd.DataFrame  # [sku, model, reason]
    calibrator: Calibrator
    panel: Panel
    patterns: pd.Series
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def freq(self) -> str:
        return self.panel.freq


def _chunks(skus: Sequence[str], size: int) -> list[list[str]]:
    ordered = sorted(skus)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def _integer_skus(panel: Panel) -> pd.Series:
    values = panel.frame["qty"].to_numpy()
    whole = pd.Series(np.isclose(values, np.round(values)), index=panel.frame["sku"].to_numpy())
    return whole.groupby(level=0).all()


def _with_pattern(rows: pd.DataFrame, patterns: pd.Series) -> pd.DataFrame:
    return rows.assign(pattern=patterns.reindex(rows["sku"]).to_numpy())


def _crossfit_quantiles(rows: pd.DataFrame, method: str, calibrator: Calibrator) -> np.ndarray:
    """Quantiles of each backtest row from a calibrator fitted on the other windows (all windows if only one)."""
    out = np.zeros((len(rows), len(calibrator.levels)))
    windows = rows["window"].unique()
    for window in windows:
        mask = (rows["window"] == window).to_numpy()
        train = rows[~mask] if len(windows) > 1 else rows
        cal = Calibrator(calibrator.levels, calibrator.scale, calibrator.integer).fit(train)
        out[mask] = cal.quantiles(rows[mask], method)
    return out


def _empirical_quantiles(rows: pd.DataFrame, empirical: pd.DataFrame, levels: Sequence[float]) -> np.ndarray:
    table = empirical.set_index(["sku", "window"])[[quantile_col(p) for p in levels]]
    keys = pd.MultiIndex.from_arrays([rows["sku"], rows["window"]])
    return np.nan_to_num(table.reindex(keys).to_numpy())


def _score_all(
    rows: pd.DataFrame,
    empirical: pd.DataFrame,
    config: ExperimentConfig,
    base: Calibrator,
    scale: Scales,
    crossfit: bool = True,
) -> pd.DataFrame:
    """Per (sku, model, calibration) backtest metrics; `empirical` rows scored with their own quantiles.

    `crossfit=False` calibrates on the rows themselves (used only to rank ensemble members, on other windows).
    """
    levels = base.levels
    tables: list[pd.DataFrame] = []
    is_emp = (rows["model"] == "empirical").to_numpy()
    if is_emp.any() and len(empirical):
        emp_rows = rows[is_emp]
        q = _empirical_quantiles(emp_rows, empirical, levels)
        tables.append(score(emp_rows, q, levels, scale).assign(calibration="own"))
    model_rows = rows[~is_emp]
    if len(model_rows):
        for method in config.calibrations:
            if crossfit:
                q = _crossfit_quantiles(model_rows, method, base)
            else:
                q = Calibrator(levels, base.scale, base.integer).fit(model_rows).quantiles(model_rows, method)
            tables.append(score(model_rows, q, levels, scale).assign(calibration=method))
    return pd.concat(tables)


def _ensemble(
    rows: pd.DataFrame,
    final: pd.DataFrame,
    table: pd.DataFrame,
    config: ExperimentConfig,
    base: Calibrator,
    scale: Scales,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Backtest and final rows of the per-SKU ensemble (the mean of its k best models' means).

    Members for each backtest window are chosen on the other windows, so the ensemble's backtest is as honest as
    every other candidate's; the final ensemble uses members chosen on all windows.
    """
    k, metric = config.selection.ensemble_k, config.selection.metric
    candidates = rows[rows["model"] != "empirical"]
    windows = candidates["window"].unique()
    parts = []
    for window in windows:
        others = candidates[candidates["window"] != window] if len(windows) > 1 else candidates
        per_window = _score_all(others, pd.DataFrame(), config, base, scale, crossfit=False)
        members = _members(per_window, k, metric)
        here = candidates[candidates["window"] == window].merge(members, on=["sku", "model"], how="inner")
        parts.append(
            here.groupby(["sku", "window", "horizon", "date"], as_index=False).agg(
                mean=("mean", "mean"), y=("y", "first")
            )
        )
    members = _members(table[table.index.get_level_values("model") != "empirical"], k, metric)
    chosen = final.merge(members, on=["sku", "model"], how="inner")
    final_rows = chosen.groupby(["sku", "date", "horizon"], as_index=False).agg(mean=("mean", "mean"))
    backtest = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["sku", "window", "horizon", "date", "mean", "y"])
    )
    return backtest.assign(model="ensemble"), final_rows.assign(model="ensemble"), members


def _members(table: pd.DataFrame, k: int, metric: str) -> pd.DataFrame:
    """Per SKU the k best models by `metric` (the best calibration of each), only SKUs with at least 2."""
    best = table.reset_index().groupby(["sku", "model"], as_index=False)[metric].min().set_index(["sku", "model"])
    members = ensemble_members(best, k, metric)
    counts = members.groupby("sku").size()
    return members[members["sku"].isin(counts[counts >= 2].index)]


def run_forecast(
    history: pd.DataFrame | Panel,
    config: ExperimentConfig | None = None,
    progress: Callable[[int], None] | None = None,
    on_chunks: Callable[[int], None] | None = None,
) -> ForecastResult:
    """Fit, backtest, calibrate and select per SKU; forecast `config.horizon` periods."""
    config = config or ExperimentConfig()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    panel = history if isinstance(history, Panel) else prepare_history(history)
    patterns = classify(pattern_stats(panel.frame), config.min_length)
    scale = scales(panel.frame)
    integer = _integer_skus(panel)
    levels = tuple(config.quantiles)

    chunks = _chunks(list(patterns.index), config.execution.chunk_size)
    if on_chunks:
        on_chunks(len(chunks))
    work = [(panel.subset(c), patterns.reindex(c), config) for c in chunks]
    execution = config.execution
    with executor_for(execution.executor, execution.workers, execution.scheduler) as pool:
        results: list[ChunkResult] = map_ordered(pool, run_chunk, work, progress)
    timings["fit_and_backtest"] = time.perf_counter() - started
    for r in results:
        for k, v in r.seconds.items():
            timings[f"cpu_{k}"] = timings.get(f"cpu_{k}", 0.0) + v

    t = time.perf_counter()
    rows = _with_pattern(pd.concat([r.backtest for r in results], ignore_index=True), patterns)
    final = _with_pattern(pd.concat([r.final for r in results], ignore_index=True), patterns)
    empirical = pd.concat([r.empirical for r in results], ignore_index=True)
    fallbacks = pd.DataFrame([f for r in results for f in r.fallbacks], columns=["sku", "model", "reason"])
    base = Calibrator(levels, scale.mae, integer)

    table = _score_all(rows, empirical, config, base, scale)
    table["pattern"] = patterns.reindex(table.index.get_level_values("sku")).to_numpy()
    chosen = best_calibration(table[table["calibration"] != "own"], config.selection.metric)
    table = _keep_chosen(table, chosen)
    members = pd.DataFrame(columns=["sku", "model"])

    if config.selection.ensemble_k >= 2:
        ens_rows, ens_final, members = _ensemble(rows, final, table, config, base, scale)
        if len(ens_rows):
            ens_rows, ens_final = _with_pattern(ens_rows, patterns), _with_pattern(ens_final, patterns)
            ens_table = _score_all(ens_rows, empirical, config, base, scale)
            ens_table["pattern"] = patterns.reindex(ens_table.index.get_level_values("sku")).to_numpy()
            ens_chosen = best_calibration(ens_table, config.selection.metric)
            table = pd.concat([table, _keep_chosen(ens_table, ens_chosen)])
            chosen = pd.concat([chosen, ens_chosen])
            rows = pd.concat([rows, ens_rows], ignore_index=True)
            final = pd.concat([final, ens_final], ignore_index=True)
    timings["calibrate_and_select"] = time.perf_counter() - t

    t = time.perf_counter()
    champs = champions(
        table[["pinball", "rmsse", "mase", "wape"]], patterns, config.selection.metric, config.selection.per_sku_margin
    )
    champs = _fill_missing_champions(champs, final, config)
    champs["members"] = members.groupby("sku")["model"].agg(list).reindex(champs.index) if len(members) else None
    champs.loc[champs["champion"] != "ensemble", "members"] = None
    calibration_of = chosen.to_dict()
    champs["calibration"] = [
        "own" if m == "empirical" else calibration_of.get((p, m), config.calibrations[0])
        for p, m in zip(champs["pattern"], champs["champion"], strict=True)
    ]
    calibrator = Calibrator(levels, scale.mae, integer).fit(rows)
    forecast = _final_forecast(final, champs, calibrator, empirical, levels)
    backtest = _champion_backtest(rows, champs, empirical, config, base)
    metrics_of = table.reset_index().set_index(["sku", "model"])
    champ_metrics = metrics_of.reindex(pd.MultiIndex.from_arrays([champs.index, champs["champion"]]))
    for column in ("rmsse", "mase", "wape", "bias", "pinball", "pinball_q0.1", "pinball_q0.5", "pinball_q0.9"):
        champs[column] = champ_metrics[column].to_numpy()
    timings["final"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    return ForecastResult(
        forecast=forecast,
        champions=champs,
        candidate_metrics=table,
        backtest=backtest,
        calibration=chosen.rename("calibration").reset_index(),
        fallbacks=fallbacks,
        calibrator=calibrator,
        panel=panel,
        patterns=patterns,
        timings=timings,
    )


def _keep_chosen(table: pd.DataFrame, chosen: pd.Series) -> pd.DataFrame:
    frame = table.reset_index()
    pick = chosen.reindex(pd.MultiIndex.from_arrays([frame["pattern"], frame["model"]])).to_numpy()
    keep = (frame["calibration"] == "own").to_numpy() | (frame["calibration"].to_numpy() == pick)
    return frame[keep].set_index(["sku", "model"])


def _fill_missing_champions(champs: pd.DataFrame, final: pd.DataFrame, config: ExperimentConfig) -> pd.DataFrame:
    """SKUs without a backtest (too short) take their pattern's class champion, else its first fitted candidate."""
    available = final.groupby("sku")["model"].agg(set)
    picks = []
    for sku, row in champs.iterrows():
        models = available.get(sku, set())
        if isinstance(row["champion"], str) and row["champion"] in models:
            picks.append(row["champion"])
            continue
        order = [m for m in config.candidates[str(row["pattern"])] if m in models] or sorted(models)
        picks.append(order[0] if order else None)
    champs = champs.copy()
    champs["champion"] = picks
    if champs["champion"].isna().any():
        missing = champs.index[champs["champion"].isna()].tolist()[:5]
        raise RuntimeError(f"no candidate produced a forecast for SKU(s) {missing}")
    return champs


def _final_forecast(
    final: pd.DataFrame, champs: pd.DataFrame, calibrator: Calibrator, empirical: pd.DataFrame, levels: Sequence[float]
) -> pd.DataFrame:
    pick = pd.MultiIndex.from_arrays([champs.index, champs["champion"]])
    rows = final.set_index(["sku", "model"]).loc[final.set_index(["sku", "model"]).index.isin(pick)].reset_index()
    rows = rows.sort_values(["sku", "horizon"], kind="stable").reset_index(drop=True)
    rows["cm"] = rows.groupby("sku")["mean"].cumsum()
    method = champs["calibration"].reindex(rows["sku"]).to_numpy()
    q = np.zeros((len(rows), len(levels)))
    cq = np.zeros_like(q)
    for name in pd.unique(method):
        mask = method == name
        subset = rows[mask]
        cq[mask] = calibrator.quantiles(subset, "conformal" if name == "own" else name, cumulative=True)
        if name == "own":
            q[mask] = _empirical_quantiles(subset.assign(window=-1), empirical, levels)
        else:
            q[mask] = calibrator.quantiles(subset, name)
    cq = pd.DataFrame(cq).groupby(rows["sku"].to_numpy()).cummax().to_numpy()
    cq = np.maximum(cq, q[:, :] * (rows["horizon"].to_numpy()[:, None] == 1))
    out = rows[["sku", "date", "horizon", "mean"]].copy()
    out["model"] = rows["model"].to_numpy()
    for j, p in enumerate(levels):
        out[quantile_col(p)] = q[:, j]
    for j, p in enumerate(levels):
        out[cum_quantile_col(p)] = cq[:, j]
    return out


def _champion_backtest(
    rows: pd.DataFrame, champs: pd.DataFrame, empirical: pd.DataFrame, config: ExperimentConfig, base: Calibrator
) -> pd.DataFrame:
    """The champions' backtest rows with their cross-fitted quantiles (what the metrics were computed from)."""
    pick = set(zip(champs.index, champs["champion"], strict=True))
    keys = list(zip(rows["sku"], rows["model"], strict=True))
    mine = rows[[k in pick for k in keys]].reset_index(drop=True)
    method = champs["calibration"].reindex(mine["sku"]).to_numpy()
    q = np.zeros((len(mine), len(base.levels)))
    for name in pd.unique(method):
        mask = method == name
        if name == "own":
            q[mask] = _empirical_quantiles(mine[mask], empirical, base.levels)
        else:
            q[mask] = _crossfit_for(mine[mask], rows, name, base)
    out = mine[["sku", "window", "horizon", "date", "y", "mean", "model"]].copy()
    for j, p in enumerate(base.levels):
        out[quantile_col(p)] = q[:, j]
    return out


def _crossfit_for(target: pd.DataFrame, rows: pd.DataFrame, method: str, base: Calibrator) -> np.ndarray:
    """Cross-fitted quantiles of `target` rows, calibrators fitted on all backtest `rows` of other windows."""
    out = np.zeros((len(target), len(base.levels)))
    windows = rows["window"].unique()
    for window in target["window"].unique():
        mask = (target["window"] == window).to_numpy()
        train = rows[rows["window"] != window] if len(windows) > 1 else rows
        cal = Calibrator(base.levels, base.scale, base.integer).fit(train)
        out[mask] = cal.quantiles(target[mask], method)
    return out


def forecast(
    history: pd.DataFrame,
    horizon: int = 12,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    config: ExperimentConfig | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """The forecast frame [sku, date, horizon, mean, q…, cq…] for every SKU of `history`."""
    base = config or ExperimentConfig()
    config = base.model_copy(
        update={"horizon": horizon, "quantiles": sorted(set(quantiles) | {0.1, 0.5, 0.9}), **overrides}
    )
    result = run_forecast(history, config)
    keep = [
        "sku",
        "date",
        "horizon",
        "mean",
        *(quantile_col(p) for p in quantiles),
        *(cum_quantile_col(p) for p in quantiles),
    ]
    return result.forecast[keep]
