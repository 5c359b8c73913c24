"""The model registry: `leanplan-demand` versions, the `champion` / `challenger` aliases, promotion and rollback.

A new version becomes `champion` only when it beats the current champion on the same backtest data: the current
champion's bundle is refitted at the new run's backtest origins and scored on the same rows, over the SKUs both
know. Otherwise it becomes `challenger`. Each move of `champion` is remembered (registered-model tag
`champion_history`), so `rollback` restores the previous one.

Public interface: `MODEL_NAME`, `gate(...)`, `list_versions()`, `promote(version)`, `rollback()`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from models.bundle import load_bundle
from models.schema import quantile_col
from pipelines.forecast import ForecastResult
from pipelines.metrics import scales
from pipelines.select import score

log = logging.getLogger(__name__)

MODEL_NAME = "leanplan-demand"
CHAMPION = "champion"
CHALLENGER = "challenger"
HISTORY_TAG = "champion_history"


@dataclass(frozen=True)
class GateDecision:
    """Which alias a new version got, and why."""

    version: str
    alias: str
    reason: str
    new_score: float | None = None
    champion_score: float | None = None
    champion_version: str | None = None


def _champion_version(client: MlflowClient, name: str = MODEL_NAME) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


def _bundle_dir(version: str, name: str = MODEL_NAME) -> Path:
    import mlflow

    path = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{version}"))
    found = [p.parent for p in path.rglob("champions.parquet")]
    if not found:
        raise FileNotFoundError(f"version {version} of {name} holds no champion bundle")
    return found[0]


def backtest_score(bundle_dir: Path, result: ForecastResult, metric: str, skus: list[str] | None = None) -> pd.Series:
    """Per-SKU `metric` of a bundle on `result`'s backtest windows: its champions refitted at each origin."""
    bundle = load_bundle(bundle_dir)
    rows = result.backtest
    wanted = bundle.champions.index if skus is None else bundle.champions.index.intersection(skus)
    known = rows[rows["sku"].isin(wanted)]
    parts = []
    for _, group in known.groupby("window"):
        first = pd.Timestamp(group["date"].min())
        origin = pd.date_range(end=first, periods=2, freq=result.freq)[0]
        history = result.panel.until(origin).subset(list(group["sku"].unique())).frame
        old = bundle.refit(history)
        joined = group[["sku", "date", "y", "window"]].merge(
            old.drop(columns=["model"]), on=["sku", "date"], how="inner"
        )
        parts.append(joined.assign(model="champion"))
    if not parts:
        return pd.Series(dtype=float)
    joined = pd.concat(parts, ignore_index=True)
    levels = [p for p in bundle.levels]
    q = joined[[quantile_col(p) for p in levels]].to_numpy(dtype=float)
    table = score(joined, q, levels, scales(result.panel.frame))
    return table[metric].droplevel("model")


def _history(client: MlflowClient, name: str) -> list[str]:
    tags = client.get_registered_model(name).tags
    return [v for v in tags.get(HISTORY_TAG, "").split(",") if v]


def _set_champion(client: MlflowClient, version: str, name: str = MODEL_NAME) -> None:
    history = _history(client, name)
    if not history or history[-1] != version:
        history.append(version)
    client.set_registered_model_alias(name, CHAMPION, version)
    client.set_registered_model_tag(name, HISTORY_TAG, ",".join(history[-50:]))
    try:
        if str(client.get_model_version_by_alias(name, CHALLENGER).version) == version:
            client.delete_registered_model_alias(name, CHALLENGER)
    except MlflowException:
        pass


def _comparable(old: pd.DataFrame, result: ForecastResult) -> pd.Series:
    """SKUs whose old champion (model, calibration, ensemble members) was backtested exactly so in this run."""
    table = result.candidate_metrics.reset_index()
    chosen = pd.Series(result.calibration.set_index(["pattern", "model"])["calibration"])
    tried = set(zip(table["sku"], table["model"], strict=True))
    members = result.ensemble_members.groupby("sku")["model"].agg(lambda m: ",".join(sorted(m)))
    pattern = result.patterns.reindex(old.index)
    ok = []
    for sku, row in old.iterrows():
        model, calibration = row["champion"], row["calibration"]
        same_calibration = model == "empirical" or chosen.get((pattern.get(sku), model)) == calibration
        same_members = model != "ensemble" or members.get(sku, "") == ",".join(sorted(str(row["members"]).split(",")))
        ok.append((sku, model) in tried and same_calibration and same_members)
    return pd.Series(ok, index=old.index)


def gate(
    version: str,
    bundle_dir: Path,
    result: ForecastResult,
    metric: str,
    min_overlap: float = 0.5,
    name: str = MODEL_NAME,
) -> GateDecision:
    """Give `version` the champion alias if it beats the current champion on this run's backtest, else challenger.

    Where this run backtested the current champion's exact choice for a SKU (same model, calibration and ensemble
    members), that SKU's old score is this run's score of it; the other SKUs are scored by refitting the current
    champion at this run's origins (`backtest_score`). New scores are this run's champion backtest.
    """
    client = MlflowClient()
    current = _champion_version(client, name)
    if current is None:
        _set_champion(client, version, name)
        return GateDecision(version, CHAMPION, "first version: no champion to beat")
    old_dir = _bundle_dir(current, name)
    old_table = load_bundle(old_dir).champions
    known = old_table.index.intersection(result.champions.index)
    same = _comparable(old_table.loc[known], result)
    scores = result.candidate_metrics[metric]
    looked_up = scores.reindex(
        pd.MultiIndex.from_arrays([same.index[same], old_table.loc[same.index[same], "champion"]])
    )
    old = pd.Series(looked_up.to_numpy(), index=same.index[same])
    if (~same).any():
        refit = backtest_score(old_dir, result, metric, skus=list(same.index[~same]))
        old = pd.concat([old, refit])
    new = result.champions[metric]
    common = new.index.intersection(old.index)
    pair = pd.DataFrame({"new": new.reindex(common), "old": old.reindex(common)}).dropna()
    if len(pair) < min_overlap * len(new):
        client.set_registered_model_alias(name, CHALLENGER, version)
        reason = f"not comparable with champion v{current}: only {len(pair)} of {len(new)} SKUs in common"
        return GateDecision(version, CHALLENGER, reason, champion_version=current)
    new_score, old_score = float(pair["new"].mean()), float(pair["old"].mean())
    if new_score < old_score:
        _set_champion(client, version, name)
        reason = f"beats champion v{current} on the same backtest: {metric} {new_score:.4f} < {old_score:.4f}"
        return GateDecision(version, CHAMPION, reason, new_score, old_score, current)
    client.set_registered_model_alias(name, CHALLENGER, version)
    reason = f"does not beat champion v{current} on the same backtest: {metric} {new_score:.4f} >= {old_score:.4f}"
    return GateDecision(version, CHALLENGER, reason, new_score, old_score, current)


def list_versions(name: str = MODEL_NAME) -> pd.DataFrame:
    """Every version with its aliases, run, creation time and headline metrics (tags)."""
    client = MlflowClient()
    try:
        versions = client.search_model_versions(f"name='{name}'")
    except MlflowException as err:
        raise LookupError(f"no registered model {name!r} yet; train one with `leanplan train`") from err
    aliases: dict[str, list[str]] = {}
    for alias, version in client.get_registered_model(name).aliases.items():
        aliases.setdefault(str(version), []).append(alias)
    rows = []
    for v in versions:
        rows.append(
            {
                "version": int(v.version),
                "aliases": ",".join(sorted(aliases.get(str(v.version), []))),
                "run_id": v.run_id,
                "created": pd.Timestamp(v.creation_timestamp, unit="ms"),
                **{k: v.tags[k] for k in sorted(v.tags) if k.startswith(("metric.", "experiment", "data_"))},
            }
        )
    return pd.DataFrame(rows).sort_values("version") if rows else pd.DataFrame(columns=["version", "aliases"])


def promote(version: str, name: str = MODEL_NAME) -> str:
    """Make `version` the champion (a deliberate override of the gate); returns the previous champion."""
    client = MlflowClient()
    try:
        client.get_model_version(name, version)
    except MlflowException:
        raise LookupError(f"{name} has no version {version}; see `leanplan models list`") from None
    previous = _champion_version(client, name) or ""
    _set_champion(client, version, name)
    return previous


def rollback(name: str = MODEL_NAME) -> str:
    """Give `champion` back to the version that held it before; returns that version."""
    client = MlflowClient()
    history = _history(client, name)
    if len(history) < 2:
        raise LookupError(f"{name} has no earlier champion to roll back to")
    history.pop()
    previous = history[-1]
    client.set_registered_model_alias(name, CHAMPION, previous)
    client.set_registered_model_tag(name, HISTORY_TAG, ",".join(history))
    return previous
