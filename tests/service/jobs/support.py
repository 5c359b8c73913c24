"""Helpers for job tests: a slice of the sample data in the database, a tiny experiment, a ready MLflow store."""

from __future__ import annotations

import shutil
import tempfile
from functools import cache
from pathlib import Path

import pandas as pd
import yaml
from sqlalchemy import Engine

from service.db.importer import RawInput, import_frames
from service.settings import REPO_ROOT

SAMPLE = REPO_ROOT / "data" / "sample"


def load_sample(engine: Engine, n: int = 20) -> None:
    """The first `n` RAF spare parts of the sample data (items and demand) into the database."""
    items = pd.read_csv(SAMPLE / "items.csv", dtype=str).head(n)
    demand = pd.read_csv(SAMPLE / "demand.raf.csv", dtype=str).head(n)
    import_frames(engine, [RawInput("items", items, "items.csv"), RawInput("demand", demand, "demand.raf.csv")])


def tiny_config(directory: Path, name: str = "tiny") -> Path:
    """A fast experiment on the RAF SKUs: few candidates, two backtest windows, chunks of 5 SKUs, one process."""
    path = directory / f"{name}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": name,
                "data": {"sku_pattern": "^RAF-"},
                "horizon": 6,
                "candidates": {
                    "smooth": ["naive"],
                    "erratic": ["naive"],
                    "intermittent": ["sba", "empirical"],
                    "lumpy": ["sba"],
                    "short": ["naive"],
                },
                "calibrations": ["conformal"],
                "backtest": {"windows": 2},
                "selection": {"ensemble_k": 0},
                "execution": {"workers": 1, "chunk_size": 5},
            }
        )
    )
    return path


@cache
def _mlflow_template() -> Path:
    from mlflow import MlflowClient

    path = Path(tempfile.mkdtemp(prefix="mlflow-template-")) / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()  # creates the tables
    return path


def fresh_mlflow(home: Path) -> str:
    """A tracking URI for an empty, initialized MLflow store under `home` (copied: creating one takes seconds)."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(_mlflow_template(), home / "mlflow.db")
    return f"sqlite:///{home / 'mlflow.db'}"
