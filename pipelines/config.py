"""Experiment configuration: one YAML file per experiment (`experiments/*.yaml`), validated by pydantic.

Every field has a default, so `ExperimentConfig()` is a sensible quick run. Logged once to MLflow as params.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.schema import DEFAULT_QUANTILES
from models.statistical import STATS_MODELS

MEAN_MODELS = (*STATS_MODELS, "lightgbm", "prophet")
#: distribution-only candidates: their mean and quantiles come from the recent history itself
DISTRIBUTION_MODELS = ("empirical",)
CALIBRATIONS = ("conformal", "negbin")
Calibration = Literal["conformal", "negbin"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _default_candidates() -> dict[str, list[str]]:
    return {
        "smooth": ["seasonal_naive", "ets", "theta", "lightgbm"],
        "erratic": ["seasonal_naive", "ets", "theta", "lightgbm", "empirical"],
        "intermittent": ["sba", "tsb", "adida", "imapa", "lightgbm", "empirical"],
        "lumpy": ["sba", "tsb", "adida", "imapa", "lightgbm", "empirical"],
        "short": ["naive", "historic_average", "empirical"],
        "constant": ["naive"],
        "zero": ["historic_average"],
    }


def _default_calibrations() -> list[Calibration]:
    return ["conformal", "negbin"]


class DataConfig(_Strict):
    """Where the demand comes from: a file (any format `leanplan import` reads) or the database."""

    demand: Path | None = Field(default=None, description="demand file; empty = the database's demand table")
    sku_pattern: str | None = Field(default=None, description="regular expression selecting SKUs")
    end: str | None = Field(default=None, description="ignore demand after this date (YYYY-MM-DD)")


class BacktestConfig(_Strict):
    windows: int = Field(default=3, ge=1, le=24)
    step: int | None = Field(default=None, ge=1, description="periods between origins (default: the horizon)")
    min_train: int = Field(default=12, ge=2, description="periods a SKU needs before an origin to be scored there")


class SelectionConfig(_Strict):
    metric: Literal["pinball", "rmsse", "mase", "wape"] = "pinball"
    #: a SKU gets its own champion only when it beats its class's champion by this fraction; else the class's
    per_sku_margin: float = Field(default=0.05, ge=0.0, le=1.0)
    ensemble_k: int = Field(default=3, ge=0, le=10, description="members of the per-SKU ensemble (0 = none)")


class LightGBMConfig(_Strict):
    objective: Literal["tweedie", "poisson", "regression"] = "tweedie"
    n_estimators: int = Field(default=200, ge=10)
    learning_rate: float = Field(default=0.05, gt=0)
    num_leaves: int = Field(default=31, ge=2)


class ProphetConfig(_Strict):
    min_length: int = Field(default=36, ge=12, description="periods a series needs for Prophet")


class ExecutionConfig(_Strict):
    executor: Literal["local", "dask"] = "local"
    scheduler: str | None = Field(default=None, description="Dask scheduler address, e.g. tcp://host:8786")
    workers: int = Field(default=2, ge=1, description="local processes")
    chunk_size: int = Field(
        default=1000, ge=1, description="SKUs per unit of work (fixed, so results never depend on the executor)"
    )


class ExperimentConfig(_Strict):
    """A training experiment: data, horizon, quantiles, candidates per demand pattern, backtest, selection."""

    name: str = "default"
    description: str = ""
    data: DataConfig = Field(default_factory=DataConfig)
    horizon: int = Field(default=12, ge=1, le=366)
    quantiles: list[float] = Field(default_factory=lambda: list(DEFAULT_QUANTILES))
    season_length: int | None = Field(default=None, ge=1, description="default: from the frequency")
    min_length: int = Field(default=12, ge=2, description="shorter series are 'short'")
    candidates: dict[str, list[str]] = Field(default_factory=_default_candidates)
    calibrations: list[Calibration] = Field(default_factory=_default_calibrations)
    empirical_window: int | None = Field(
        default=None, ge=3, description="periods of the empirical distribution (default 2×horizon)"
    )
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    lightgbm: LightGBMConfig = Field(default_factory=LightGBMConfig)
    prophet: ProphetConfig = Field(default_factory=ProphetConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    seed: int = 0

    @field_validator("quantiles")
    @classmethod
    def _levels(cls, levels: list[float]) -> list[float]:
        if not levels or any(not 0 < p < 1 for p in levels):
            raise ValueError("quantiles must be levels strictly between 0 and 1")
        needed = {0.1, 0.5, 0.9}
        return sorted(set(levels) | needed)

    @field_validator("candidates")
    @classmethod
    def _known(cls, candidates: dict[str, list[str]]) -> dict[str, list[str]]:
        from models.patterns import PATTERNS

        allowed = (*MEAN_MODELS, *DISTRIBUTION_MODELS)
        for pattern, names in candidates.items():
            if pattern not in PATTERNS:
                raise ValueError(f"unknown demand pattern {pattern!r}; patterns are {', '.join(PATTERNS)}")
            unknown = [n for n in names if n not in allowed]
            if unknown:
                raise ValueError(f"unknown model(s) {unknown} for {pattern!r}; choose from {', '.join(allowed)}")
            if not names:
                raise ValueError(f"pattern {pattern!r} needs at least one candidate")
        missing = [p for p in PATTERNS if p not in candidates]
        defaults = _default_candidates()
        return {**{p: defaults[p] for p in missing}, **candidates}

    @model_validator(mode="after")
    def _dask_needs_scheduler(self) -> ExperimentConfig:
        if self.execution.executor == "dask" and not self.execution.scheduler:
            raise ValueError("execution.executor 'dask' needs execution.scheduler (e.g. tcp://host:8786)")
        return self

    @property
    def window(self) -> int:
        return self.empirical_window or 2 * self.horizon

    @classmethod
    def from_yaml(cls, path: Path | str) -> ExperimentConfig:
        """Read and validate an experiment file; errors name the file and the field."""
        path = Path(path)
        try:
            payload = yaml.safe_load(path.read_text()) or {}
        except FileNotFoundError:
            raise FileNotFoundError(f"experiment config {path} not found; see experiments/*.yaml") from None
        except yaml.YAMLError as err:
            raise ValueError(f"{path}: not valid YAML: {err}") from None
        if not isinstance(payload, dict):
            raise ValueError(f"{path}: expected a mapping of settings at the top level")
        payload.setdefault("name", path.stem)
        config = cls.model_validate(payload)
        demand = config.data.demand
        if demand is not None and not demand.is_absolute() and not demand.exists():
            # relative to the project (experiments/ sits at its top) or to the config file itself
            for base in (path.resolve().parent.parent, path.resolve().parent):
                if (base / demand).exists():
                    config.data.demand = base / demand
                    break
        return config
