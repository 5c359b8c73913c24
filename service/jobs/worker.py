"""The job worker: recover dead jobs, claim the oldest queued one, run it with heartbeats, record the outcome.

`Worker(engine, settings).run(once=False)` loops until `stop()` (SIGTERM in `leanplan worker`), finishing the
current job first. A runner that raises never stops the worker: the traceback goes to the log and a clean message
to the job's `error`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from service.jobs import queue
from service.jobs.context import JobContext
from service.jobs.runners import Runner, get_runner
from service.settings import Settings

log = logging.getLogger(__name__)

#: errors whose message is meant for the user as it is; anything else is reported with its type
EXPECTED = (ValueError, LookupError, OSError)


def error_message(err: BaseException) -> str:
    """A one-line message for the job's `error`."""
    text = str(err).strip() or "no details"
    return text if isinstance(err, EXPECTED) else f"{type(err).__name__}: {text} (the worker log has the traceback)"


def _check_json(kind: str, result: object) -> None:
    try:
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise TypeError(f"the {kind} runner returned a result that is not JSON: {err}") from err


class Worker:
    """Runs queued jobs, one at a time, in this process."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        poll: float | None = None,
        worker_id: str | None = None,
        runners: Callable[[str], Runner] = get_runner,
    ) -> None:
        self.engine, self.settings = engine, settings
        self.poll = poll if poll is not None else settings.worker_poll_seconds
        self.worker_id = worker_id or queue.worker_identity()
        self.runners = runners
        self.heartbeat_seconds = min(5.0, settings.job_lease_seconds / 4)
        self.recover_seconds = min(30.0, settings.job_lease_seconds / 2)
        self._stop = threading.Event()

    def stop(self) -> None:
        """Finish the current job, then leave `run`."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def recover(self) -> list[dict[str, Any]]:
        """Re-queue or fail jobs whose worker died (see `queue.recover`)."""
        actions = queue.recover(self.engine, self.settings.job_lease_seconds, self.settings.job_max_attempts)
        for action in actions:
            log.warning("job %s %s: %s", action["id"], action["action"], action["reason"])
        return actions

    def run(self, once: bool = False) -> int:
        """Process jobs until stopped (or, with `once`, until none is queued); returns how many ran."""
        log.info("worker %s started", self.worker_id)
        processed, last_recover = 0, float("-inf")
        while not self.stopping:
            try:
                if time.monotonic() - last_recover >= self.recover_seconds:
                    self.recover()
                    last_recover = time.monotonic()
                job = queue.claim(self.engine, self.worker_id)
            except Exception:
                log.exception("cannot reach the job table; retrying in %.1f s", self.poll)
                self._stop.wait(self.poll)
                continue
            if job is None:
                if once:
                    break
                self._stop.wait(self.poll)
                continue
            self.execute(job)
            processed += 1
        log.info("worker %s stopped after %d job(s)", self.worker_id, processed)
        return processed

    def execute(self, job: dict[str, Any]) -> str:
        """Run a claimed job with heartbeats and record its outcome; returns the final status."""
        job_id, kind = job["id"], job["kind"]
        log.info("job %s (%s) attempt %d started", job_id, kind, job["attempts"])
        started = time.monotonic()
        beating = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job_id, beating), daemon=True, name=f"heartbeat-{job_id}")
        beat.start()
        try:
            ctx = JobContext(self.engine, self.settings, job_id, dict(job["params"] or {}), worker_id=self.worker_id)
            result = self.runners(kind)(ctx)
            _check_json(kind, result)
        except Exception as err:
            log.exception("job %s (%s) failed", job_id, kind)
            status, outcome = "failed", error_message(err)
        else:
            status = "succeeded"
        finally:
            beating.set()
            beat.join()
        if status == "failed":
            kept = queue.fail(self.engine, job_id, outcome, self.worker_id)
        else:
            kept = queue.succeed(self.engine, job_id, result, self.worker_id)
        if not kept:
            log.warning("job %s was taken from this worker (recovered as dead); its outcome is dropped", job_id)
        log.info("job %s (%s) %s in %.1f s", job_id, kind, status, time.monotonic() - started)
        return status

    def _heartbeat(self, job_id: str, done: threading.Event) -> None:
        while not done.wait(self.heartbeat_seconds):
            try:
                queue.heartbeat(self.engine, job_id, self.worker_id)
            except Exception:
                log.exception("heartbeat of job %s failed", job_id)
