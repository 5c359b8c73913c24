"""One place for configuration: environment variables (and `.env`), validated at start-up.

`DATABASE_URL` and `MLFLOW_TRACKING_URI` keep their conventional names; everything else is `LEANPLAN_*`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


def normalize_url(url: str) -> str:
    """Use psycopg 3 for Postgres URLs written the usual way (postgres://, postgresql://); reject others."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if not url.startswith(("sqlite:", "postgresql+psycopg:")):
        raise ValueError(f"database URL {url!r} is not supported; use sqlite:///path or postgresql://user@host/db")
    return url


class Settings(BaseSettings):
    """leanplan's settings; see README.md § Configuration."""

    model_config = SettingsConfigDict(env_prefix="LEANPLAN_", env_file=".env", extra="ignore")

    home: Path = Field(
        default=REPO_ROOT / "var", description="Directory for the default SQLite file, MLflow store and outputs."
    )
    database_url: str = Field(default="", validation_alias=AliasChoices("DATABASE_URL", "LEANPLAN_DATABASE_URL"))
    mlflow_tracking_uri: str = Field(
        default="", validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "LEANPLAN_MLFLOW_TRACKING_URI")
    )
    database_schema: str | None = Field(
        default=None, description="Postgres schema holding the tables (default: the server's search_path)."
    )
    sample_data_dir: Path = Field(default=REPO_ROOT / "data" / "sample")
    host: str = Field(default="127.0.0.1", description="Address `leanplan serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535)
    max_upload_mb: float = Field(default=256.0, gt=0, description="Largest accepted upload body (413 above).")
    key_cache_seconds: float = Field(
        default=5.0, ge=0, description="How long a verified API key is trusted before it is looked up again."
    )
    forecast_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Single-SKU forecast fetches are served from memory; the published version is re-checked this "
        "often (0: no cache).",
    )
    job_lease_seconds: float = Field(
        default=60.0, gt=0, description="A running job whose worker sent no heartbeat for this long is recovered."
    )
    job_max_attempts: int = Field(default=2, ge=1, description="Attempts before a job that keeps dying is failed.")
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    training_config: Path = Field(
        default=REPO_ROOT / "experiments" / "quick.yaml", description="Experiment a training run uses by default."
    )
    session_secret: str = Field(default="", description="Signs planner page cookies (default: random per start).")
    trust_forwarded_proto: bool = Field(
        default=False,
        description="Believe the X-Forwarded-Proto header of a TLS-terminating proxy (session cookies then get "
        "`Secure` when it says https). Leave off unless a proxy you run sets the header.",
    )
    failed_auth_limit: int = Field(
        default=10, ge=1, description="Failed key or sign-in attempts per client address and window before 429."
    )
    failed_auth_window_seconds: int = Field(default=60, ge=1, description="The window of `failed_auth_limit`.")
    max_queued_jobs_per_key: int = Field(
        default=5, ge=1, description="Jobs (training, plans) one API key may have queued at once (429 above)."
    )

    @field_validator("database_url")
    @classmethod
    def _driver(cls, url: str) -> str:
        return normalize_url(url) if url else url

    @model_validator(mode="after")
    def _defaults_under_home(self) -> Settings:
        self.home = self.home.resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.home / 'leanplan.db'}"
        if not self.mlflow_tracking_uri:
            self.mlflow_tracking_uri = f"sqlite:///{self.home / 'mlflow.db'}"
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()


__all__ = ["REPO_ROOT", "Settings", "get_settings", "normalize_url"]
