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
from pipelines.select import best_calibration, champions, ensemble_members, metrics_from_sums, window_sums

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
    ensemble_members: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["sku", "model"]))
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


def _categorical(rows: pd.DataFrame) -> pd.DataFrame:
    """sku, model and pattern as categoricals: every groupby over a million rows gets cheap."""
    return rows.assign(**{c: rows[c].astype("category") for c in ("sku", "model", "pattern") if c in rows})


@dataclass
class _Scored:
    """Backtest rows of one candidate group, their cross-fitted quantiles per method, and loss sums per window."""

    rows: pd.DataFrame
    quantiles: dict[str, np.ndarray]  # method → (n_rows, n_levels); "own" for empirical rows
    sums: pd.DataFrame  # index (sku, model, window, calibration)


def _empirical_quantiles(rows: pd.DataFrame, empirical: pd.DataFrame, levels: Sequence[float]) -> np.ndarray:
    table = empirical.set_index(["sku", "window"])[[quantile_col(p) for p in levels]]
    keys = pd.MultiIndex.from_arrays([rows["sku"].astype(str), rows["window"]])
    return np.nan_to_num(table.reindex(keys).to_numpy())


def _score_rows(rows: pd.DataFrame, empirical: pd.DataFrame, config: ExperimentConfig, base: Calibrator) -> _Scored:
    """Cross-fitted quantiles (each window calibrated on the others) and loss sums for every calibration."""
    levels = base.levels
    rows = _categorical(rows.reset_index(drop=True))
    is_emp = (rows["model"] == "empirical").to_numpy()
    quantiles: dict[str, np.ndarray] = {}
    parts: list[pd.DataFrame] = []
    if is_emp.any():
        q = np.zeros((len(rows), len(levels)))
        q[is_emp] = _empirical_quantiles(rows[is_emp], empirical, levels)
        quantiles["own"] = q
        parts.append(window_sums(rows[is_emp], q[is_emp], levels).assign(calibration="own"))
    models = rows[~is_emp]
    if len(models):
        windows = sorted(models["window"].unique())
        calibrators = {
            w: Calibrator(levels, base.scale, base.integer).fit(
                models[models["window"] != w] if len(windows) > 1 else models
            )
            for w in windows
        }
        for method in config.calibrations:
            q = np.zeros((len(rows), len(levels)))
            for w, calibrator in calibrators.items():
                mask = ~is_emp & (rows["window"] == w).to_numpy()
                q[mask] = calibrator.quantiles(rows[mask], method)
            quantiles[method] = q
            parts.append(window_sums(models, q[~is_emp], levels).assign(calibration=method))
    sums = pd.concat(parts).set_index("calibration", append=True)
    return _Scored(rows, quantiles, sums)


def _table(scored: _Scored, scale: Scales, patterns: pd.Series, exclude_window: int | None = None) -> pd.DataFrame:
    """Metrics per (sku, model, calibration) over all windows (or all but `exclude_window`), with the pattern."""
    sums = scored.sums
    if exclude_window is not None:
        sums = sums[sums.index.get_level_values("window") != exclude_window]
    total = sums.groupby(level=["sku", "model", "calibration"], observed=True, sort=False).sum()
    table = metrics_from_sums(total, scale).reset_index()
    table["sku"] = table["sku"].astype(str)
    table["model"] = table["model"].astype(str)
    table["pattern"] = patterns.reindex(table["sku"]).to_numpy()
    return table


def _keep_chosen(table: pd.DataFrame, chosen: pd.Series) -> pd.DataFrame:
    """Rows of the calibration chosen for their (pattern, model), plus empirical's own; index (sku, model)."""
    pick = chosen.reindex(pd.MultiIndex.from_arrays([table["pattern"], table["model"]])).to_numpy()
    keep = (table["calibration"] == "own").to_numpy() | (table["calibration"].to_numpy() == pick)
    return table[keep].set_index(["sku", "model"])


def _members(table: pd.DataFrame, k: int, metric: str) -> pd.DataFrame:
    """Per SKU the k best non-empirical models by `metric`, only SKUs with at least 2: [sku, model]."""
    best = table[table.index.get_level_values("model") != "empirical"]
    members = ensemble_members(best, k, metric)
    counts = members.groupby("sku").size()
    return members[members["sku"].isin(counts[counts >= 2].index)]


def _ensemble(
    scored: _Scored,
    final: pd.DataFrame,
    chosen: pd.Series,
    config: ExperimentConfig,
    scale: Scales,
    patterns: pd.Series,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Backtest and final rows of the per-SKU ensemble (the mean of its k best models' means), and its members.

    Members for each backtest window are chosen on the other windows, so the ensemble's backtest is as honest as
    every other candidate's; the final ensemble uses members chosen on all windows.
    """
    k, metric = config.selection.ensemble_k, config.selection.metric
    rows = scored.rows
    windows = sorted(rows["window"].unique())
    parts = []
    for window in windows:
        others = _table(scored, scale, patterns, exclude_window=window if len(windows) > 1 else None)
        members = _members(_keep_chosen(others, chosen), k, metric)
        here = rows[rows["window"] == window].assign(
            sku=lambda f: f["sku"].astype(str), model=lambda f: f["model"].astype(str)
        )
        joined = here.merge(members, on=["sku", "model"], how="inner")
        parts.append(
            joined.groupby(["sku", "window", "horizon", "date"], as_index=False).agg(
                mean=("mean", "mean"), y=("y", "first")
            )
        )
    members = _members(_keep_chosen(_table(scored, scale, patterns), chosen), k, metric)
    final_rows = final.merge(members, on=["sku", "model"], how="inner")
    final_rows = final_rows.groupby(["sku", "date", "horizon"], as_index=False).agg(mean=("mean", "mean"))
    backtest = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["sku", "window", "horizon", "date", "mean", "y"])
    )
    return backtest.assign(model="ensemble"), final_rows.assign(model="ensemble"), members


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
    metric = config.selection.metric

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

    groups = [_score_rows(rows, empirical, config, base)]
    table = _table(groups[0], scale, patterns)
    chosen = best_calibration(table[table["calibration"] != "own"], metric)
    members = pd.DataFrame(columns=["sku", "model"])
    if config.selection.ensemble_k >= 2:
        ens_rows, ens_final, members = _ensemble(groups[0], final, chosen, config, scale, patterns)
        if len(ens_rows):
            groups.append(_score_rows(_with_pattern(ens_rows, patterns), empirical, config, base))
            ens_table = _table(groups[1], scale, patterns)
            chosen = pd.concat([chosen, best_calibration(ens_table, metric)])
            table = pd.concat([table, ens_table], ignore_index=True)
            final = pd.concat([final, _with_pattern(ens_final, patterns)], ignore_index=True)
    table = _keep_chosen(table, chosen)
    timings["calibrate_and_select"] = time.perf_counter() - t

    t = time.perf_counter()
    champs = champions(table[["pinball", "rmsse", "mase", "wape"]], patterns, metric, config.selection.per_sku_margin)
    champs = _fill_missing_champions(champs, final, config)
    champs["members"] = members.groupby("sku")["model"].agg(list).reindex(champs.index) if len(members) else None
    champs.loc[champs["champion"] != "ensemble", "members"] = None
    calibration_of = chosen.to_dict()
    champs["calibration"] = [
        "own" if m == "empirical" else calibration_of.get((p, m), config.calibrations[0])
        for p, m in zip(champs["pattern"], champs["champion"], strict=True)
    ]
    all_rows = pd.concat(
        [
            g.rows.assign(
                sku=g.rows["sku"].astype(str), model=g.rows["model"].astype(str), pattern=g.rows["pattern"].astype(str)
            )
            for g in groups
        ],
        ignore_index=True,
    )
    calibrator = Calibrator(levels, scale.mae, integer).fit(_categorical(all_rows))
    forecast = _final_forecast(final, champs, calibrator, empirical, levels)
    backtest = _champion_backtest(groups, champs, levels)
    champ_metrics = table.reindex(pd.MultiIndex.from_arrays([champs.index, champs["champion"]]))
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
        ensemble_members=members,
        timings=timings,
    )


def _fill_missing_champions(champs: pd.DataFrame, final: pd.DataFrame, config: ExperimentConfig) -> pd.DataFrame:
    """SKUs without a backtest (too short) take their pattern's class champion, else its first fitted candidate."""
    available = final.groupby("sku")["model"].agg(set)
    picks: list[str | None] = []
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


def _champion_backtest(groups: list[_Scored], champs: pd.DataFrame, levels: Sequence[float]) -> pd.DataFrame:
    """The champions' backtest rows with their cross-fitted quantiles (what the metrics were computed from)."""
    parts = []
    for group in groups:
        rows = group.rows
        sku, model = rows["sku"].astype(str).to_numpy(), rows["model"].astype(str).to_numpy()
        champion = champs["champion"].reindex(sku).to_numpy()
        method = champs["calibration"].reindex(sku).to_numpy()
        mask = model == champion
        q = np.zeros((int(mask.sum()), len(levels)))
        for name in pd.unique(method[mask]):
            inner = method[mask] == name
            q[inner] = group.quantiles[name][mask][inner]
        out = pd.DataFrame({"sku": sku[mask], "model": model[mask]})
        for column in ("window", "horizon", "date", "y", "mean"):
            out[column] = rows[column].to_numpy()[mask]
        for j, p in enumerate(levels):
            out[quantile_col(p)] = q[:, j]
        parts.append(out)
    return pd.concat(parts, ignore_index=True)


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
