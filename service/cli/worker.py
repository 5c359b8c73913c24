"""`leanplan worker`: run training and planning jobs from the job table in this process."""

from __future__ import annotations

import logging
import signal
from types import FrameType
from typing import Annotated

import typer

from service.cli.apps import app


@app.command("worker")
def worker_command(
    once: Annotated[bool, typer.Option("--once", help="Run the queued jobs, then exit.")] = False,
    poll: Annotated[
        float | None, typer.Option(min=0.05, help="Seconds between looks at the queue (default: settings).")
    ] = None,
) -> None:
    """Run queued jobs (training, plans) one at a time; SIGTERM finishes the current job, then exits."""
    from service.db.engine import get_engine
    from service.db.migrate import upgrade
    from service.jobs.worker import Worker
    from service.settings import get_settings

    logging.getLogger("service.jobs").setLevel(logging.INFO)
    settings = get_settings()
    engine = get_engine()
    upgrade(engine)
    worker = Worker(engine, settings, poll=poll)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("service.jobs").info("signal %d: finishing the current job, then stopping", signum)
        worker.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    count = worker.run(once=once)
    typer.echo(f"worker {worker.worker_id}: {count} job(s) run")
