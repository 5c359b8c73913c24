"""`leanplan serve` as operations run it: SIGTERM stops its job workers too (none left orphaned), and several API
workers without `LEANPLAN_SESSION_SECRET` refuse to start with a message saying what to set."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "LEANPLAN_SESSION_SECRET"}
    return {**env, "LEANPLAN_HOME": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_several_api_workers_need_a_session_secret(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--workers", "2", "--port", str(_free_port())],
        capture_output=True, text=True, env=_env(tmp_path), timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 2
    assert "LEANPLAN_SESSION_SECRET" in run.stderr and "--workers 2" in run.stderr


def test_sigterm_stops_the_job_workers(tmp_path: Path) -> None:
    port = _free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--job-workers", "1"],
        env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    assert answer.status == 200
                break
            except OSError:
                assert serve.poll() is None, serve.stderr.read() if serve.stderr else ""
                assert time.monotonic() < deadline, "leanplan serve did not answer /healthz"
                time.sleep(0.3)
        workers += _children(serve.pid)
        assert workers and all(_alive(w) for w in workers)
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
        deadline = time.monotonic() + 30
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(w) for w in workers), "job workers outlived leanplan serve"
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        for child in {*workers, *_children(serve.pid)}:
            if _alive(child):
                os.kill(child, signal.SIGKILL)  # only the workers this test started
