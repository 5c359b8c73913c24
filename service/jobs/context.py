"""What a job runner gets: `JobContext` (engine, settings, job id, params) with `progress(fraction, message)`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from service.jobs import queue
from service.settings import Settings


@dataclass
class JobContext:
    """A running job as its runner sees it; a runner is `def run(ctx: JobContext) -> dict` (a JSON-able result)."""

    engine: Engine
    settings: Settings
    job_id: str
    params: dict[str, Any]
    worker_id: str | None = None
    min_interval: float = 0.5
    _last: tuple[float, str, float] = field(default=(-1.0, "", 0.0), repr=False)

    def progress(self, fraction: float, message: str) -> None:
        """Report progress (a fraction in [0, 1]) and what the job is doing; frequent equal messages are coalesced."""
        last_fraction, last_message, last_time = self._last
        now = time.monotonic()
        if message == last_message and now - last_time < self.min_interval and fraction < 1.0:
            return
        if fraction == last_fraction and message == last_message:
            return
        self._last = (fraction, message, now)
        queue.progress(self.engine, self.job_id, fraction, message, worker_id=self.worker_id)
