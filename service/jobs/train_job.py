"""The training job: demand from the database → `pipelines.train.run` (MLflow, registry, gate) → forecast set.

Params: `config` (an experiment name under experiments/, or a YAML path; default the configured training config)
and `sku_pattern` (a regular expression overriding the experiment's SKU selection). The forecast set is written
completely before it is published (only when the gate made the new version champion), so a job killed half way
leaves nothing visible.
"""

from __future__ import annotations

from typing import Any

from service.jobs.context import JobContext

#: share of the progress bar the per-chunk forecasting takes (the rest: loading, MLflow logging, storing)
FORECAST_START, FORECAST_END = 0.05, 0.8


def lock_key(experiment: str) -> str:
    """One training job per experiment at a time."""
    return f"train:{experiment}"


def run(ctx: JobContext) -> dict[str, Any]:
    """Train the experiment of `ctx.params` on the database's demand and store its forecasts."""
    from pipelines import train
    from service.db.forecasts import load_demand
    from service.training import forecast_writer, headline, publish_champion, resolve_config

    config, path = resolve_config(ctx.params.get("config"), ctx.settings, ctx.params.get("sku_pattern"))
    ctx.progress(0.01, "loading demand")
    history = load_demand(ctx.engine, config.data.sku_pattern, config.data.end)
    if history.empty:
        which = f" for SKUs matching {config.data.sku_pattern!r}" if config.data.sku_pattern else ""
        raise ValueError(f"the database holds no demand{which}; upload some with POST /v1/data/demand")
    skus = history["sku"].nunique()
    ctx.progress(FORECAST_START, f"training {config.name} on {skus:,} SKUs")
    chunks = {"total": 0, "done": 0}

    def on_chunks(total: int) -> None:
        chunks["total"] = total

    def advance(n: int) -> None:
        chunks["done"] += n
        done, total = chunks["done"], max(chunks["total"], 1)
        if done >= total:
            ctx.progress(FORECAST_END, "logging the run to MLflow and registering the model")
        else:
            fraction = FORECAST_START + (FORECAST_END - FORECAST_START) * done / total
            ctx.progress(fraction, f"forecasting: {done} of {total} chunks of SKUs done")

    def registered(version: str, run_id: str, result: object) -> None:
        ctx.progress(0.85, f"storing the forecasts of version {version}")
        forecast_writer(ctx.engine, config.name)(version, run_id, result)  # type: ignore[arg-type]

    outcome = train.run(
        config,
        history,
        tracking_uri=ctx.settings.mlflow_tracking_uri,
        progress=advance,
        on_chunks=on_chunks,
        on_registered=registered,
    )
    ctx.progress(0.95, "publishing the champion's forecasts")
    published = publish_champion(ctx.engine, outcome)
    rows = len(outcome.result.forecast)
    return {
        "experiment": config.name,
        "config": str(path),
        **headline(outcome),
        "forecast_rows": rows,
        "forecasts_published": published,
    }
