"""The model registry: `leanplan-demand` versions, the `champion` / `challenger` aliases, promotion and rollback.

A new version becomes `champion` only when it beats the current champion on the same backtest data: the current
champion's per-SKU choices are scored on the new run's backtest (every candidate was backtested there), over the
SKUs both know. Otherwise it becomes `challenger`. Each move of `champion` is remembered (registered-model tag
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


def _champion_table(client: MlflowClient, version: str, name: str = MODEL_NAME) -> pd.DataFrame:
    import mlflow

    path = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{version}"))
    candidates = list(path.rglob("champions.parquet"))
    if not candidates:
        raise FileNotFoundError(f"version {version} of {name} has no champion table")
    return pd.read_parquet(candidates[0]).set_index("sku")


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


def gate(
    version: str,
    champions: pd.DataFrame,
    candidate_metrics: pd.DataFrame,
    metric: str,
    min_overlap: float = 0.5,
    name: str = MODEL_NAME,
) -> GateDecision:
    """Give `version` the champion alias if it beats the current champion on this run's backtest, else challenger.

    `champions`: this run's champion table (index sku, columns champion and `metric`); `candidate_metrics`: per
    (sku, model) backtest metrics of every candidate of this run.
    """
    client = MlflowClient()
    current = _champion_version(client, name)
    if current is None:
        _set_champion(client, version, name)
        return GateDecision(version, CHAMPION, "first version: no champion to beat")
    old = _champion_table(client, current, name)
    scores = candidate_metrics.reset_index().set_index(["sku", "model"])[metric]
    common = champions.index.intersection(old.index)
    keys = pd.MultiIndex.from_arrays([common, old.loc[common, "champion"].to_numpy()])
    old_scores = scores.reindex(keys).to_numpy()
    new_scores = champions.loc[common, metric].to_numpy()
    usable = ~(pd.isna(old_scores) | pd.isna(new_scores))
    if usable.sum() < min_overlap * len(champions):
        client.set_registered_model_alias(name, CHALLENGER, version)
        reason = f"not comparable with champion v{current}: only {int(usable.sum())} of {len(champions)} SKUs in common"
        return GateDecision(version, CHALLENGER, reason, champion_version=current)
    new_score, old_score = float(new_scores[usable].mean()), float(old_scores[usable].mean())
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
    rows = []
    for v in versions:
        rows.append(
            {
                "version": int(v.version),
                "aliases": ",".join(v.aliases),
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
