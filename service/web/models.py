"""The models page: registered versions of the demand model (`pipelines.registry.list_versions`) with their aliases
and headline backtest metrics, champion against challenger, links to the MLflow runs, and the forecast sets stored in
the database (which one is published).

MLflow answers are cached for `TTL` seconds per tracking URI (the registry changes only when a run finishes or a
version is promoted), so the page stays fast; a SQLite tracking store that does not exist yet is not created.

Public interface: `ModelsPage`, `models_page(engine, tracking_uri)`, `ui_base(tracking_uri)`, `METRICS`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from service.db.tables import ForecastSet

log = logging.getLogger(__name__)
TTL = 30.0
#: headline metrics (all: lower is better) and their labels
METRICS = {"pinball": "Pinball loss", "rmsse": "RMSSE", "mase": "MASE", "wape": "WAPE"}
LOCAL_UI = "http://127.0.0.1:5000"


@dataclass
class ModelsPage:
    """What the models page shows."""

    versions: list[dict[str, Any]] = field(default_factory=list)
    champion: dict[str, Any] | None = None
    challenger: dict[str, Any] | None = None
    compare: list[dict[str, Any]] = field(default_factory=list)
    forecast_sets: list[dict[str, Any]] = field(default_factory=list)
    ui: str = LOCAL_UI
    ui_hint: str = ""
    problem: str = ""


def ui_base(tracking_uri: str) -> tuple[str, str]:
    """The MLflow UI address for links and, for a local store, how to start the UI on it."""
    if tracking_uri.startswith(("http://", "https://")):
        return tracking_uri.rstrip("/"), ""
    return LOCAL_UI, f"Links open the MLflow UI; start it with `mlflow ui --backend-store-uri {tracking_uri}`."


def _missing_store(tracking_uri: str) -> bool:
    if tracking_uri.startswith("sqlite:///"):
        return not Path(tracking_uri.removeprefix("sqlite:///")).exists()
    if tracking_uri.startswith("file:") or "://" not in tracking_uri:
        return not Path(tracking_uri.removeprefix("file://").removeprefix("file:")).exists()
    return False


def _registry(tracking_uri: str) -> list[dict[str, Any]]:
    """Every registered version as dicts (metrics parsed), newest first, with its run's experiment id."""
    import mlflow
    from mlflow import MlflowClient

    from pipelines.registry import list_versions

    mlflow.set_tracking_uri(tracking_uri)
    frame = list_versions()
    client = MlflowClient(tracking_uri=tracking_uri)
    versions = []
    for row in frame.sort_values("version", ascending=False).to_dict("records"):
        metrics: dict[str, float | None] = {}
        for name in METRICS:
            try:
                metrics[name] = float(row[f"metric.{name}"])
            except (KeyError, TypeError, ValueError):
                metrics[name] = None
        run_id = row.get("run_id")
        experiment_id = None
        if run_id:
            try:
                experiment_id = client.get_run(run_id).info.experiment_id
            except Exception:  # a deleted run: the version stays listed without a link
                experiment_id = None
        aliases = [a for a in str(row.get("aliases") or "").split(",") if a]
        versions.append(
            {
                "version": str(row["version"]), "aliases": aliases, "run_id": run_id,
                "experiment_id": experiment_id, "created": row.get("created"),
                "experiment": row.get("experiment"), "metrics": metrics,
            }
        )  # fmt: skip
    return versions


class _Cache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, list[dict[str, Any]] | None, str]] = {}

    def get(self, tracking_uri: str) -> tuple[list[dict[str, Any]] | None, str]:
        now = time.monotonic()
        entry = self._entries.get(tracking_uri)
        if entry and entry[0] > now:
            return entry[1], entry[2]
        with self._lock:
            try:
                result: tuple[list[dict[str, Any]] | None, str] = (_registry(tracking_uri), "")
            except LookupError as err:
                result = ([], str(err))
            except Exception as err:  # MLflow unreachable: the page says so and shows the rest
                log.warning("MLflow at %s unreachable", tracking_uri, exc_info=True)
                why = f"MLflow at {tracking_uri} did not answer ({type(err).__name__}); check MLFLOW_TRACKING_URI."
                result = (None, why)
            self._entries[tracking_uri] = (now + TTL, *result)
            return result

    def clear(self) -> None:
        self._entries.clear()


REGISTRY = _Cache()


def _compare(champion: dict[str, Any] | None, challenger: dict[str, Any] | None) -> list[dict[str, Any]]:
    if champion is None or challenger is None:
        return []
    rows = []
    for name, label in METRICS.items():
        a, b = champion["metrics"].get(name), challenger["metrics"].get(name)
        delta = b - a if a is not None and b is not None else None
        rows.append({"metric": name, "label": label, "champion": a, "challenger": b, "delta": delta,
                     "better": None if delta is None or delta == 0 else delta < 0})  # fmt: skip
    return rows


def models_page(engine: Engine, tracking_uri: str) -> ModelsPage:
    """Versions, champion vs challenger and the stored forecast sets."""
    ui, hint = ui_base(tracking_uri)
    page = ModelsPage(ui=ui, ui_hint=hint)
    with engine.connect() as conn:
        page.forecast_sets = [
            dict(r)
            for r in conn.execute(
                select(ForecastSet.model_version, ForecastSet.model_name, ForecastSet.status, ForecastSet.created_at,
                       ForecastSet.published_at, ForecastSet.info)
                .order_by(ForecastSet.created_at.desc()).limit(20)
            ).mappings()
        ]  # fmt: skip
    if _missing_store(tracking_uri):
        page.problem = f"No MLflow store at {tracking_uri} yet: no model has been trained."
        return page
    versions, problem = REGISTRY.get(tracking_uri)
    page.problem = problem
    page.versions = versions or []
    page.champion = next((v for v in page.versions if "champion" in v["aliases"]), None)
    page.challenger = next((v for v in page.versions if "challenger" in v["aliases"]), None)
    page.compare = _compare(page.champion, page.challenger)
    return page


__all__ = ["METRICS", "REGISTRY", "ModelsPage", "models_page", "ui_base"]
