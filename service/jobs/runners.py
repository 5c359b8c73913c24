"""Job kinds and their runners, imported when a job of that kind runs (a runner is `run(ctx: JobContext) -> dict`)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from service.jobs.context import JobContext

Runner = Callable[[JobContext], dict[str, Any]]

RUNNERS = {"train": "service.jobs.train_job", "plan": "service.jobs.plan_job"}


def get_runner(kind: str) -> Runner:
    """The runner of `kind`; LookupError for a kind no worker knows."""
    module_name = RUNNERS.get(kind)
    if module_name is None:
        raise LookupError(f"unknown job kind {kind!r}; known kinds: {', '.join(RUNNERS)}")
    runner: Runner = importlib.import_module(module_name).run
    return runner
