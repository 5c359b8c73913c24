"""What a plan kind computes before the lifecycle stores it: header fields, provenance, summary and child rows.

Public interface: `PlanRun`, `ComputedPlan`, `Progress`, `quiet`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

#: progress callback: (fraction done in [0, 1], what is happening)
Progress = Callable[[float, str], None]


def quiet(fraction: float, message: str) -> None:
    """A progress callback that reports nothing."""


@dataclass(frozen=True)
class PlanRun:
    """What a plan kind computes from: the database, the plan's id, its request and a progress callback."""

    engine: Engine
    plan_id: str
    request: dict[str, Any]
    progress: Progress = quiet


@dataclass
class ComputedPlan:
    """A computed plan, not stored yet.

    rows: child-table rows by table name (`plan_lines`, `alerts`, `scheduled_operations`), without `plan_id` (the
    lifecycle adds it). result: the kind's own result object (for the CLI's report and file writers).
    write_files: writes the plan's files for a plan id into a directory, returns their paths.
    """

    kind: str
    as_of: pd.Timestamp
    model_version: str | None
    params: dict[str, Any]
    summary: dict[str, Any]
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    result: Any = None
    write_files: Callable[[str, Path], list[Path]] | None = None


__all__ = ["ComputedPlan", "PlanRun", "Progress", "quiet"]
