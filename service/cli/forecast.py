"""`leanplan train`, `leanplan forecast`, `leanplan models list|promote|rollback`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from service.cli.apps import app, bench_app, fail

models_app = typer.Typer(
    help="The demand model registry (MLflow): versions, champion, challenger.", no_args_is_help=True
)
app.add_typer(models_app, name="models")

QUANTILES_OUT = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


def _read_demand(path: Path, sku_pattern: str | None = None, end: str | None = None) -> pd.DataFrame:
    from pipelines.ingest import DataValidationError, read_table

    try:
        _, frame = read_table(path, table="demand")
    except DataValidationError as err:
        fail(str(err))
    except FileNotFoundError:
        fail(f"demand file {path} not found")
    if sku_pattern:
        from service.sku_pattern import matches

        frame = frame[matches(frame["sku"], sku_pattern)]
    if end:
        frame = frame[frame["date"] <= pd.Timestamp(end)]
    if frame.empty:
        fail(f"no demand rows in {path}" + (f" for SKUs matching {sku_pattern!r}" if sku_pattern else ""))
    return frame


def _config(path: Path | None) -> object:
    from pydantic import ValidationError

    from pipelines.config import ExperimentConfig

    if path is None:
        return ExperimentConfig()
    try:
        return ExperimentConfig.from_yaml(path)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        fail(f"{path}: invalid experiment config: {problems}")
    except (FileNotFoundError, ValueError) as err:
        fail(str(err))


@app.command("forecast")
def forecast_command(
    demand: Annotated[
        Path, typer.Option(help="Demand file: long sku,date,qty (or any format `leanplan import` reads).")
    ],
    horizon: Annotated[int, typer.Option(min=1, help="Periods to forecast.")],
    out: Annotated[Path, typer.Option(help="Output CSV: sku,date,mean,q0.05 … q0.95.")],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Experiment YAML (candidates, backtest …).")
    ] = None,
    cumulative: Annotated[bool, typer.Option(help="Also write cumulative-demand quantiles cq….")] = False,
    workers: Annotated[int | None, typer.Option(help="Local worker processes.")] = None,
) -> None:
    """Fit per-SKU champions on any demand history and write calibrated quantile forecasts."""
    from pipelines.config import ExperimentConfig
    from pipelines.forecast import run_forecast

    base = _config(config)
    assert isinstance(base, ExperimentConfig)
    frame = _read_demand(demand)
    execution = base.execution.model_copy(update={"workers": workers} if workers else {})
    settings = base.model_copy(update={"horizon": horizon, "execution": execution})
    result = run_forecast(frame, settings)
    columns = ["sku", "date", "mean", *(f"q{p:g}" for p in QUANTILES_OUT)]
    if cumulative:
        columns += [f"cq{p:g}" for p in QUANTILES_OUT]
    out.parent.mkdir(parents=True, exist_ok=True)
    result.forecast[columns].to_csv(out, index=False, date_format="%Y-%m-%d")
    typer.echo(f"wrote {len(result.forecast):,} rows for {result.forecast['sku'].nunique():,} SKUs to {out}")


@app.command("train")
def train_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="Experiment YAML, e.g. experiments/raf.yaml.")],
    demand: Annotated[Path | None, typer.Option(help="Demand file (default: the config's, else the database).")] = None,
    executor: Annotated[str | None, typer.Option(help="local or dask.")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler, e.g. tcp://host:8786.")] = None,
    workers: Annotated[int | None, typer.Option(help="Local worker processes.")] = None,
    score: Annotated[bool, typer.Option(help="Write the forecasts to the database (published if champion).")] = True,
) -> None:
    """Train per-SKU demand models, track the run in MLflow and register the champions as leanplan-demand."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from pipelines import train
    from pipelines.config import ExperimentConfig
    from service.db.engine import get_engine
    from service.db.forecasts import load_demand
    from service.db.migrate import upgrade
    from service.settings import get_settings
    from service.training import forecast_writer, publish_champion

    settings = get_settings()
    cfg = _config(config)
    assert isinstance(cfg, ExperimentConfig)
    updates = {k: v for k, v in {"executor": executor, "scheduler": scheduler, "workers": workers}.items() if v}
    if updates:
        try:
            cfg = ExperimentConfig.model_validate(
                {**cfg.model_dump(), "execution": {**cfg.execution.model_dump(), **updates}}
            )
        except ValueError as err:
            fail(f"invalid execution settings: {err}")
    if cfg.data.sku_pattern:
        from service.sku_pattern import SkuPatternError, compile_sku_pattern

        try:
            compile_sku_pattern(cfg.data.sku_pattern)
        except SkuPatternError as err:
            fail(str(err))
    engine = get_engine()
    if score:
        upgrade(engine)
    source = demand or cfg.data.demand
    if source is not None:
        history = _read_demand(Path(source), cfg.data.sku_pattern, cfg.data.end)
    else:
        upgrade(engine)
        history = load_demand(engine, cfg.data.sku_pattern, cfg.data.end)
        if history.empty:
            fail(
                "the database holds no demand"
                + (f" for SKUs matching {cfg.data.sku_pattern!r}" if cfg.data.sku_pattern else "")
                + "; load some with `leanplan import`"
            )
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task(f"training {cfg.name} ({history['sku'].nunique():,} SKUs)", total=None)
        outcome = train.run(
            cfg,
            history,
            tracking_uri=settings.mlflow_tracking_uri,
            progress=lambda n: bar.advance(task, n),
            on_chunks=lambda n: bar.update(task, total=n),
            on_registered=forecast_writer(engine, cfg.name) if score else None,
        )
    table = Table(title=f"{cfg.name}: backtest of the champions per demand class")
    for column in ("class", "skus", "champions", "mase", "wape", "pinball", "coverage_80"):
        table.add_column(column, justify="left" if column in ("class", "champions") else "right")
    for row in outcome.summary.itertuples(index=False):
        table.add_row(row[0], f"{row[1]:,}", row[2], *(f"{v:.3f}" for v in row[3:]))
    Console(width=max(Console().width, 130)).print(table)
    typer.echo(f"MLflow run {outcome.run_id} (experiment leanplan-{cfg.name}, tracking {settings.mlflow_tracking_uri})")
    decision = outcome.decision
    typer.echo(f"registered leanplan-demand version {outcome.model_version} as {decision.alias}: {decision.reason}")
    fallbacks = outcome.result.fallbacks["sku"].nunique()
    if fallbacks:
        typer.echo(f"{fallbacks} SKU(s) fell back to a baseline for some model (see report/fallbacks.csv in the run)")
    if score:
        published = publish_champion(engine, outcome)
        state = "published" if published else "stored (not published: not the champion)"
        typer.echo(f"forecast set {outcome.model_version}: {len(outcome.result.forecast):,} rows {state}")
    typer.echo(
        f"timings: forecast {outcome.seconds['forecast']:.1f} s, MLflow logging {outcome.seconds['logging']:.1f} s"
    )


@models_app.command("list")
def models_list() -> None:
    """Versions of leanplan-demand with aliases and headline metrics."""
    from pipelines import registry

    _tracking()
    try:
        versions = registry.list_versions()
    except LookupError as err:
        fail(str(err))
    if versions.empty:
        typer.echo("no versions yet; train one with `leanplan train -c experiments/<name>.yaml`")
        return
    typer.echo(versions.to_string(index=False))


@models_app.command("promote")
def models_promote(version: Annotated[str, typer.Argument(help="Version to make the champion.")]) -> None:
    """Make VERSION the champion (and publish its forecasts when they are stored)."""
    from pipelines import registry

    _tracking()
    try:
        previous = registry.promote(version)
    except LookupError as err:
        fail(str(err))
    _publish_if_stored(version)
    typer.echo(f"leanplan-demand@champion: v{previous or '-'} → v{version}")


@models_app.command("rollback")
def models_rollback() -> None:
    """Give the champion alias back to the previous champion (and publish its forecasts)."""
    from pipelines import registry

    _tracking()
    try:
        version = registry.rollback()
    except LookupError as err:
        fail(str(err))
    _publish_if_stored(version)
    typer.echo(f"leanplan-demand@champion is v{version} again")


def _tracking() -> None:
    import mlflow

    from service.settings import get_settings

    mlflow.set_tracking_uri(get_settings().mlflow_tracking_uri)


def _publish_if_stored(version: str) -> None:
    from service.db.engine import get_engine
    from service.db.migrate import upgrade
    from service.training import publish_if_stored

    engine = get_engine()
    upgrade(engine)
    if publish_if_stored(engine, version):
        typer.echo(f"published forecast set {version}")
    else:
        typer.echo(f"no stored forecasts for v{version}; the current forecast set is unchanged")


@bench_app.command("train")
def bench_train(
    config: Annotated[Path, typer.Option("--config", "-c", help="Experiment YAML, e.g. experiments/raf.yaml.")],
    demand: Annotated[Path | None, typer.Option(help="Demand file (default: the config's).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON here.")] = None,
    seasonal_reference: Annotated[bool, typer.Option(help="Also time seasonal AutoETS (slow: minutes).")] = True,
) -> None:
    """Time a full training run (backtest, selection, scoring, MLflow logging) against statsforecast AutoETS
    fit + 3-window cross-validation alone on the same data, in the same process."""
    import json
    import os
    import platform
    import tempfile
    import time

    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    from models.base import prepare_history, season_length
    from pipelines import train
    from pipelines.config import ExperimentConfig

    cfg = _config(config)
    assert isinstance(cfg, ExperimentConfig)
    source = demand or cfg.data.demand
    if source is None:
        fail("give --demand or a config whose data.demand names a file")
    history = _read_demand(Path(source), cfg.data.sku_pattern, cfg.data.end)
    panel = prepare_history(history)
    frame = panel.to_statsforecast()
    season = season_length(panel.freq)
    figures: dict[str, object] = {
        "data": str(source),
        "skus": int(frame["unique_id"].nunique()),
        "machine": f"{platform.node()} {os.cpu_count()} cpu, Python {platform.python_version()}",
    }
    references = [("autoets_season1", 1)] + ([(f"autoets_season{season}", season)] if seasonal_reference else [])
    for label, s in references:
        started = time.perf_counter()
        engine = StatsForecast(models=[AutoETS(season_length=s)], freq=panel.freq, n_jobs=cfg.execution.workers)
        engine.forecast(df=frame, h=cfg.horizon)
        engine.cross_validation(df=frame, h=cfg.horizon, n_windows=cfg.backtest.windows, step_size=cfg.horizon)
        figures[f"{label}_fit_cv_s"] = round(time.perf_counter() - started, 2)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        outcome = train.run(cfg, history, tracking_uri=f"sqlite:///{Path(tmp) / 'mlflow.db'}")
        total = time.perf_counter() - started
    figures.update(
        {
            "leanplan_train_s": round(total, 2),
            "leanplan_forecast_s": round(outcome.seconds["forecast"], 2),
            "mlflow_logging_s": round(outcome.seconds["logging"], 2),
            "mlflow_logging_share": round(outcome.seconds["logging"] / total, 3),
            "ratio_vs_autoets_season1": round(total / float(figures["autoets_season1_fit_cv_s"]), 2),  # type: ignore[arg-type]
            "backtest_pinball": round(outcome.metrics.get("all.pinball", float("nan")), 4),
        }
    )
    if seasonal_reference:
        reference = figures[f"autoets_season{season}_fit_cv_s"]
        assert isinstance(reference, float)
        figures[f"ratio_vs_autoets_season{season}"] = round(total / reference, 2)
    text = json.dumps(figures, indent=2)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(text)
    typer.echo(text)
