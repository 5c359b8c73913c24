"""Forecast sets in the database: write a model version's forecasts, then publish by switching the current set.

Readers only ever see `published` sets, so a set being written (or abandoned half way) is invisible. Public
interface: `write_forecast_set(engine, version, frame, publish=...)`, `publish(engine, version)`,
`published_set(conn)` (the one definition of "the current forecasts"), `PublishedSet`, `current_version(engine)`,
`published_forecast(engine, skus)`, `read_forecasts(engine, version=None, skus=None)`, `load_demand(engine, ...)`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, delete, insert, select, update

from models.schema import quantile_columns
from service.db.tables import Demand, Forecast, ForecastSet, Item

BATCH = 20_000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def write_forecast_set(
    engine: Engine,
    model_version: str,
    frame: pd.DataFrame,
    model_name: str = "leanplan-demand",
    publish_now: bool = False,
    info: dict[str, Any] | None = None,
) -> int:
    """Store `frame` (the forecast frame of `models.schema`) as the set of `model_version`; returns rows written.

    Rewriting a version replaces its rows. With `publish_now` the set becomes the current one afterwards.
    """
    q_cols, cq_cols = quantile_columns(frame), quantile_columns(frame, cumulative=True)
    frame = frame.copy()
    frame[["mean", *q_cols, *cq_cols]] = frame[["mean", *q_cols, *cq_cols]].astype(float) + 0.0  # -0.0 → 0.0
    quantiles = frame[q_cols].to_dict("records")
    cumulative = frame[cq_cols].to_dict("records") if cq_cols else [None] * len(frame)
    rows = [
        {
            "model_version": model_version,
            "sku": str(sku),
            "date": pd.Timestamp(date).date(),
            "horizon": int(h),
            "mean": float(mean),
            "quantiles": q,
            "cum_quantiles": cq,
        }
        for sku, date, h, mean, q, cq in zip(
            frame["sku"], frame["date"], frame["horizon"], frame["mean"], quantiles, cumulative, strict=True
        )
    ]
    with engine.begin() as conn:
        existing = conn.execute(select(ForecastSet.status).where(ForecastSet.model_version == model_version)).scalar()
        if existing == "published":
            raise ValueError(f"forecast set {model_version} is published; write a new model version instead")
        conn.execute(delete(Forecast).where(Forecast.model_version == model_version))
        conn.execute(delete(ForecastSet).where(ForecastSet.model_version == model_version))
        conn.execute(
            insert(ForecastSet).values(model_version=model_version, model_name=model_name, status="writing", info=info)
        )
    with engine.begin() as conn:
        for start in range(0, len(rows), BATCH):
            conn.execute(insert(Forecast), rows[start : start + BATCH])
        conn.execute(update(ForecastSet).where(ForecastSet.model_version == model_version).values(status="ready"))
    if publish_now:
        publish(engine, model_version)
    return len(rows)


def publish(engine: Engine, model_version: str) -> None:
    """Make `model_version` the current forecast set (one transaction: readers switch atomically)."""
    with engine.begin() as conn:
        status = conn.execute(select(ForecastSet.status).where(ForecastSet.model_version == model_version)).scalar()
        if status is None:
            raise LookupError(f"no forecast set {model_version!r}; score a model first")
        if status == "writing":
            raise ValueError(f"forecast set {model_version} was not completely written; score it again")
        conn.execute(update(ForecastSet).where(ForecastSet.status == "published").values(status="superseded"))
        conn.execute(
            update(ForecastSet)
            .where(ForecastSet.model_version == model_version)
            .values(status="published", published_at=_now())
        )


@dataclass(frozen=True)
class PublishedSet:
    """The published forecast set: its model version, model name, info (MLflow run, champions) and when."""

    model_version: str
    model_name: str | None
    info: dict[str, Any]
    published_at: dt.datetime | None

    def meta(self) -> dict[str, Any]:
        """Provenance of a plan or view that used this set."""
        return {
            "model_version": self.model_version,
            "model_name": self.model_name,
            "mlflow_run_id": self.info.get("mlflow_run_id") or self.info.get("run_id"),
            "published_at": self.published_at.isoformat() if self.published_at else None,
        }


def published_set(conn: Connection) -> PublishedSet | None:
    """The published forecast set, or None (the one query every reader of "the current forecasts" uses)."""
    row = conn.execute(
        select(ForecastSet.model_version, ForecastSet.model_name, ForecastSet.info, ForecastSet.published_at)
        .where(ForecastSet.status == "published")
        .order_by(ForecastSet.published_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return PublishedSet(row.model_version, row.model_name, dict(row.info or {}), row.published_at)


def current_version(engine: Engine) -> str | None:
    """The published forecast set's model version, or None."""
    with engine.connect() as conn:
        published = published_set(conn)
    return published.model_version if published else None


def published_forecast(engine: Engine, skus: Sequence[str]) -> tuple[pd.DataFrame | None, PublishedSet | None]:
    """The published set's forecast frame for `skus` (None when there is no set or it lacks them) and the set."""
    with engine.connect() as conn:
        published = published_set(conn)
    if published is None:
        return None, None
    frame = read_forecasts(engine, model_version=published.model_version, skus=skus)
    return (frame if not frame.empty else None), published


def read_forecasts(engine: Engine, model_version: str | None = None, skus: Sequence[str] | None = None) -> pd.DataFrame:
    """The forecast frame of a set (default: the published one), quantiles as columns."""
    version = model_version or current_version(engine)
    if version is None:
        return pd.DataFrame(columns=["sku", "date", "horizon", "mean", "model_version"])
    query = select(Forecast).where(Forecast.model_version == version)
    if skus is not None:
        query = query.where(Forecast.sku.in_(list(skus)))
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(Forecast.sku, Forecast.date)).mappings().all()
    frame = pd.DataFrame(
        [
            {
                "sku": r["sku"],
                "date": r["date"],
                "horizon": r["horizon"],
                "mean": r["mean"],
                **r["quantiles"],
                **(r["cum_quantiles"] or {}),
            }
            for r in rows
        ]
    )
    if not frame.empty:
        frame["date"] = pd.to_datetime(frame["date"])
        frame["model_version"] = version
    return frame


def load_demand(engine: Engine, sku_pattern: str | None = None, end: str | None = None) -> pd.DataFrame:
    """Demand [sku, date, qty, price] from the database (price from items), optionally SKUs matching a regular
    expression (RE2, linear time: `service.sku_pattern`), up to `end`."""
    query = select(Demand.sku, Demand.date, Demand.qty, Item.price).join(Item, Item.sku == Demand.sku)
    if end:
        query = query.where(Demand.date <= pd.Timestamp(end).date())
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).all(), columns=["sku", "date", "qty", "price"])
    if sku_pattern:
        from service.sku_pattern import matches

        skus = frame["sku"].unique()
        frame = frame[frame["sku"].isin(skus[matches(skus, sku_pattern)])]
    frame["date"] = pd.to_datetime(frame["date"])
    return frame.reset_index(drop=True)
