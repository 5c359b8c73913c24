"""The training pipeline: forecast per SKU, track everything in MLflow, register the champions, gate the alias.

`run(config, history) -> TrainResult`: load → validate → fit/backtest/select (`pipelines.forecast`) → log (params,
data fingerprint, portfolio and per-class metrics, per-SKU tables, plots, the run's log, one child run per model
family) → log the champions as ONE pyfunc model and register it as `leanplan-demand` → move `champion` only if it
beats the current champion on the same backtest (`pipelines.registry.gate`).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from models.bundle import DemandModel, write_bundle
from models.candidates import CandidateSettings
from pipelines import registry
from pipelines.config import ExperimentConfig
from pipelines.forecast import ForecastResult, run_forecast
from pipelines.tracking import (
    family_metrics,
    fingerprint,
    flat_params,
    portfolio_metrics,
    summary_by_class,
    write_artifacts,
)

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a training run produced and where to find it."""

    run_id: str
    experiment_id: str
    model_version: str
    decision: registry.GateDecision
    metrics: dict[str, float]
    summary: pd.DataFrame
    result: ForecastResult
    fingerprint: str
    seconds: dict[str, float]


@contextmanager
def _captured_log(path: Path) -> Iterator[None]:
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(min(old_level or logging.INFO, logging.INFO))
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


def _signature(example: pd.DataFrame, output: pd.DataFrame) -> object:
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types import ColSpec, Schema

    inputs = Schema(
        [
            ColSpec("string", "sku"),
            ColSpec("long", "horizon", required=False),
            ColSpec("datetime", "date", required=False),
            ColSpec("double", "qty", required=False),
        ]
    )
    outputs = infer_signature(example, output).outputs
    return ModelSignature(inputs=inputs, outputs=outputs)


def _requirements() -> list[str]:
    from importlib.metadata import version

    names = ("pandas", "numpy", "scipy", "pyarrow", "statsforecast", "mlforecast", "lightgbm", "scikit-learn")
    return [f"{n}=={version(n)}" for n in names]


def run(
    config: ExperimentConfig,
    history: pd.DataFrame,
    tracking_uri: str | None = None,
    progress: Callable[[int], None] | None = None,
    on_chunks: Callable[[int], None] | None = None,
    on_registered: Callable[[str, str, ForecastResult], None] | None = None,
) -> TrainResult:
    """Train, track and register; `history` is long demand [sku, date, qty].

    `on_registered(version, run_id, result)` runs after the version is registered and before the gate may make it
    champion: store its forecasts there, so a champion never exists without them."""
    import mlflow

    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    experiment = mlflow.set_experiment(f"leanplan-{config.name}")
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        log_path = workdir / "train.log"
        with _captured_log(log_path), mlflow.start_run(run_name=f"{config.name}-train") as parent:
            started = time.perf_counter()
            mlflow.log_params(flat_params(config))
            log.info("training %s on %d rows", config.name, len(history))
            result = run_forecast(history, config, progress=progress, on_chunks=on_chunks)
            seconds["forecast"] = time.perf_counter() - started

            logging_started = time.perf_counter()
            panel = result.panel
            digest = fingerprint(panel)
            mlflow.set_tags(
                {
                    "data_fingerprint": digest,
                    "data_skus": str(len(panel.skus)),
                    "data_rows": str(len(panel.frame)),
                    "data_start": str(panel.frame["date"].min().date()),
                    "data_end": str(panel.end.date()),
                    "data_freq": panel.freq,
                    "fallback_skus": str(result.fallbacks["sku"].nunique()),
                }
            )
            metrics = portfolio_metrics(result)
            mlflow.log_metrics(metrics)
            mlflow.log_metrics({f"seconds.{k}": v for k, v in result.timings.items()})
            for family, values in family_metrics(result).items():
                with mlflow.start_run(run_name=family, nested=True):
                    mlflow.log_param("family", family)
                    mlflow.log_metrics(values)
            mlflow.log_artifacts(str(_report(result, workdir / "report")), artifact_path="report")

            bundle = write_bundle(
                workdir / "bundle",
                result.forecast,
                result.champions,
                result.calibrator,
                CandidateSettings(
                    season_length=config.season_length,
                    lightgbm=config.lightgbm.model_dump(),
                    prophet_min_length=config.prophet.min_length,
                    empirical_window=config.window,
                    seed=config.seed,
                ),
                config.horizon,
                panel.freq,
            )
            example = pd.DataFrame(
                {"sku": list(result.champions.index[:2]), "horizon": [config.horizon] * min(2, len(result.champions))}
            )
            from models.bundle import forecast_from_bundle

            output = forecast_from_bundle(bundle, example)
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=DemandModel(),
                artifacts={"bundle": str(bundle)},
                signature=_signature(example, output),
                input_example=example,
                pip_requirements=_requirements(),
                registered_model_name=registry.MODEL_NAME,
            )
            version = str(info.registered_model_version)
            client = mlflow.MlflowClient()
            headline = {
                f"metric.{k}": f"{metrics[f'all.{k}']:.5f}"
                for k in ("pinball", "rmsse", "mase", "wape")
                if f"all.{k}" in metrics
            }
            for key, value in {
                **headline,
                "experiment": config.name,
                "data_fingerprint": digest,
                "run_id": parent.info.run_id,
            }.items():
                client.set_model_version_tag(registry.MODEL_NAME, version, key, value)
            if on_registered is not None:
                on_registered(version, parent.info.run_id, result)
            decision = registry.gate(version, bundle, result, config.selection.metric)
            mlflow.set_tags({"model_version": version, "alias": decision.alias, "gate": decision.reason})
            seconds["logging"] = time.perf_counter() - logging_started
            mlflow.log_metrics({"seconds.logging": seconds["logging"], "seconds.run": time.perf_counter() - started})
            log.info("version %s: %s (%s)", version, decision.alias, decision.reason)
        mlflow.log_artifact(str(log_path), run_id=parent.info.run_id)
    return TrainResult(
        run_id=parent.info.run_id,
        experiment_id=experiment.experiment_id,
        model_version=version,
        decision=decision,
        metrics=metrics,
        summary=summary_by_class(result),
        result=result,
        fingerprint=digest,
        seconds=seconds,
    )


def _report(result: ForecastResult, directory: Path) -> Path:
    write_artifacts(result, directory)
    summary_by_class(result).to_csv(directory / "summary_by_class.csv", index=False)
    return directory
