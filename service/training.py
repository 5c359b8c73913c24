"""Training shared by `leanplan train` and training jobs: experiment look-up, storing and publishing forecast sets.

Public interface: `EXPERIMENTS_DIR`, `ConfigError`, `experiment_names(settings)`,
`resolve_config(spec, settings, sku_pattern=None)`, `forecast_writer(engine, experiment)`,
`publish_champion(engine, outcome)`, `publish_if_stored(engine, version)`, `headline(outcome)`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import Engine

from service.settings import REPO_ROOT, Settings
from service.sku_pattern import SkuPatternError, compile_sku_pattern

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipelines.config import ExperimentConfig
    from pipelines.forecast import ForecastResult
    from pipelines.train import TrainResult

EXPERIMENTS_DIR = REPO_ROOT / "experiments"


class ConfigError(ValueError):
    """An experiment that does not exist or does not validate; the message says which and what to do."""


def _dirs(settings: Settings) -> list[Path]:
    dirs = [settings.training_config.parent, EXPERIMENTS_DIR]
    return list(dict.fromkeys(d.resolve() for d in dirs))


def experiment_names(settings: Settings) -> list[str]:
    """Names of the experiments a training run can use (`experiments/<name>.yaml`)."""
    return sorted({p.stem for d in _dirs(settings) for p in d.glob("*.yaml")})


def _path(spec: str | None, settings: Settings) -> Path:
    if spec is None:
        return settings.training_config
    if "/" in spec or spec.endswith((".yaml", ".yml")):
        return Path(spec)
    for directory in _dirs(settings):
        if (directory / f"{spec}.yaml").is_file():
            return directory / f"{spec}.yaml"
    raise ConfigError(f"unknown experiment config {spec!r}; choose one of: {', '.join(experiment_names(settings))}")


def resolve_config(
    spec: str | None, settings: Settings, sku_pattern: str | None = None
) -> tuple[ExperimentConfig, Path]:
    """The validated experiment `spec` names (an experiment name, a YAML path, or None for the default one),
    with `sku_pattern` (a regular expression) overriding its SKU selection; and the file it came from."""
    from pipelines.config import ExperimentConfig

    path = _path(spec, settings)
    try:
        config = ExperimentConfig.from_yaml(path)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        raise ConfigError(f"{path.name}: invalid experiment config: {problems}") from None
    except (FileNotFoundError, ValueError) as err:
        raise ConfigError(str(err)) from None
    if sku_pattern is not None:
        try:
            compile_sku_pattern(sku_pattern)
        except SkuPatternError as err:
            raise ConfigError(str(err)) from None
        config = config.model_copy(update={"data": config.data.model_copy(update={"sku_pattern": sku_pattern})})
    return config, path


def forecast_writer(engine: Engine, experiment: str) -> Callable[[str, str, ForecastResult], None]:
    """A `pipelines.train.run(on_registered=...)` hook writing the new version's forecast set (not yet published)
    with its run id and per-SKU champions, before the gate can make that version champion."""
    from service.db.forecasts import write_forecast_set
    from service.skus import champion_records

    def write(version: str, run_id: str, result: ForecastResult) -> None:
        info = {"run_id": run_id, "experiment": experiment, "champions": champion_records(result.champions)}
        write_forecast_set(engine, version, result.forecast, info=info)

    return write


def publish_champion(engine: Engine, outcome: TrainResult) -> bool:
    """After the gate: make the champion's stored forecast set the published one (the new version's when it won;
    else the current champion's, which also heals a run killed between the gate and publishing). Returns whether
    the new version's forecasts are now published. A champion with no stored forecasts (its run was killed between
    registering and storing them) hands the alias to this version."""
    from pipelines import registry
    from service.db.forecasts import current_version

    decision = outcome.decision
    champion = decision.version if decision.alias == "champion" else decision.champion_version
    if champion and current_version(engine) != champion and not publish_if_stored(engine, champion):
        # the champion's run died before its forecasts were stored: it cannot be served, this version takes over
        registry.promote(outcome.model_version)
        publish_if_stored(engine, outcome.model_version)
    return current_version(engine) == outcome.model_version


def publish_if_stored(engine: Engine, version: str) -> bool:
    """Publish the forecast set of `version` if one is completely stored; False (nothing changed) otherwise."""
    from service.db.forecasts import publish

    try:
        publish(engine, version)
    except (LookupError, ValueError):
        return False
    return True


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def headline(outcome: TrainResult) -> dict[str, Any]:
    """JSON-able summary of a run: MLflow ids, model version, gate decision and portfolio metrics."""
    decision = outcome.decision
    return {
        "mlflow_run_id": outcome.run_id,
        "mlflow_experiment_id": outcome.experiment_id,
        "model_version": outcome.model_version,
        "alias": decision.alias,
        "gate": decision.reason,
        "champion_version": decision.champion_version,
        "metrics": {k.removeprefix("all."): _finite(v) for k, v in outcome.metrics.items() if k.startswith("all.")},
        "skus": int(outcome.result.champions.shape[0]),
        "fallback_skus": int(outcome.result.fallbacks["sku"].nunique()),
        "seconds": {k: round(v, 3) for k, v in outcome.seconds.items()},
    }
