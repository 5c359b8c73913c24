"""`leanplan worker` as a process: `--once` drains the queue; SIGTERM stops it cleanly."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

from sqlalchemy import Engine

from service.jobs import queue
from tests.service.jobs.test_kill import _worker


def test_once_drains_the_queue_and_exits(engine: Engine, tmp_path: Path) -> None:
    job_id = queue.enqueue(engine, "train", {"config": "no-such-experiment"})
    worker = _worker(engine, tmp_path, "--once")
    output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output
    assert "1 job(s) run" in output and "job " + job_id in output  # the log names the job
    job = queue.get_job(engine, job_id)
    assert job is not None and job["status"] == "failed" and job["worker_id"] == f"{socket.gethostname()}:{worker.pid}"
    assert job["error"].startswith("unknown experiment config 'no-such-experiment'")


def test_sigterm_stops_an_idle_worker(engine: Engine, tmp_path: Path) -> None:
    worker = _worker(engine, tmp_path)
    assert worker.stdout is not None
    lines = []
    for line in worker.stdout:  # wait until the worker has installed its signal handlers and logged its start
        lines.append(line)
        if " started" in line:
            break
    worker.send_signal(signal.SIGTERM)
    output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, "".join(lines) + output
    assert "finishing the current job, then stopping" in output
    assert output.rstrip().endswith("0 job(s) run")
