"""The job table as a queue: enqueue with lock keys, atomic claims, progress, outcomes and recovery of dead jobs."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys

import pytest
from sqlalchemy import Engine, update

from service.db.tables import Job
from service.jobs import queue


def _dead_worker_id() -> str:
    """The worker id of a process on this host that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}"


def _age(engine: Engine, job_id: str, seconds: float) -> None:
    stale = queue.now() - dt.timedelta(seconds=seconds)
    with engine.begin() as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=stale))


def test_enqueue_then_get_and_list(engine: Engine) -> None:
    first = queue.enqueue(engine, "train", {"config": "quick"}, lock_key="train:quick")
    second = queue.enqueue(engine, "plan", {})
    job = queue.get_job(engine, first)
    assert job is not None
    assert (job["kind"], job["status"], job["params"], job["progress"], job["attempts"]) == (
        "train", "queued", {"config": "quick"}, 0.0, 0,
    )  # fmt: skip
    assert job["created_at"].tzinfo is not None and job["started_at"] is None
    assert [j["id"] for j in queue.list_jobs(engine)] == [second, first]
    assert [j["id"] for j in queue.list_jobs(engine, kind="train")] == [first]
    assert queue.list_jobs(engine, status="running") == []
    assert queue.get_job(engine, "nope") is None


def test_one_active_job_per_lock_key(engine: Engine) -> None:
    held = queue.enqueue(engine, "train", {}, lock_key="train:quick")
    with pytest.raises(queue.JobConflict) as raised:
        queue.enqueue(engine, "train", {}, lock_key="train:quick")
    assert raised.value.job_id == held and raised.value.lock_key == "train:quick"
    queue.enqueue(engine, "train", {}, lock_key="train:raf")  # another experiment is free
    claimed = queue.claim(engine, "w:1")
    assert claimed is not None and claimed["id"] == held
    with pytest.raises(queue.JobConflict):  # running still holds the key
        queue.enqueue(engine, "train", {}, lock_key="train:quick")
    assert queue.succeed(engine, held, {"ok": True}, worker_id="w:1")
    again = queue.enqueue(engine, "train", {}, lock_key="train:quick")  # finished jobs release it
    assert again != held


def test_claim_takes_the_oldest_once(engine: Engine) -> None:
    first = queue.enqueue(engine, "train", {})
    second = queue.enqueue(engine, "plan", {})
    a = queue.claim(engine, "w:1")
    b = queue.claim(engine, "w:2")
    assert a is not None and b is not None
    assert (a["id"], a["status"], a["attempts"], a["worker_id"]) == (first, "running", 1, "w:1")
    assert (b["id"], b["worker_id"]) == (second, "w:2")
    assert a["started_at"] is not None and a["heartbeat_at"] is not None
    assert queue.claim(engine, "w:3") is None


def test_claim_only_kinds_asked_for(engine: Engine) -> None:
    queue.enqueue(engine, "train", {})
    assert queue.claim(engine, "w:1", kinds=("plan",)) is None
    assert queue.claim(engine, "w:1", kinds=("train",)) is not None


def test_progress_heartbeat_and_outcomes_belong_to_the_claiming_worker(engine: Engine) -> None:
    job_id = queue.enqueue(engine, "train", {})
    queue.claim(engine, "w:1")
    assert queue.progress(engine, job_id, 1.7, "almost", worker_id="w:1")
    job = queue.get_job(engine, job_id)
    assert job is not None and (job["progress"], job["message"]) == (1.0, "almost")
    assert not queue.heartbeat(engine, job_id, worker_id="w:2")
    assert queue.heartbeat(engine, job_id, worker_id="w:1")
    assert not queue.fail(engine, job_id, "boom", worker_id="w:2")
    assert queue.fail(engine, job_id, "boom", worker_id="w:1")
    job = queue.get_job(engine, job_id)
    assert job is not None and (job["status"], job["error"], job["message"]) == ("failed", "boom", "failed")
    assert job["finished_at"] is not None
    assert not queue.succeed(engine, job_id, {}, worker_id="w:1")  # finished jobs stay finished


def test_recover_requeues_a_job_whose_heartbeat_is_stale(engine: Engine) -> None:
    job_id = queue.enqueue(engine, "train", {}, lock_key="train:quick")
    queue.claim(engine, "elsewhere:1")
    assert queue.recover(engine, lease_seconds=60, max_attempts=2) == []  # fresh heartbeat: left alone
    _age(engine, job_id, 61)
    actions = queue.recover(engine, lease_seconds=60, max_attempts=2)
    reason = "worker elsewhere:1 sent no heartbeat for 60 s"
    assert actions == [{"id": job_id, "action": "requeued", "reason": reason, "attempts": 1}]
    job = queue.get_job(engine, job_id)
    assert job is not None and (job["status"], job["worker_id"], job["attempts"]) == ("queued", None, 1)
    assert job["message"] == f"re-queued: {reason} during attempt 1 of 2"
    with pytest.raises(queue.JobConflict):  # a re-queued job keeps its lock
        queue.enqueue(engine, "train", {}, lock_key="train:quick")
    again = queue.claim(engine, "w:2")
    assert again is not None and again["attempts"] == 2


def test_recover_requeues_the_job_of_a_dead_local_process_at_once(engine: Engine) -> None:
    dead = _dead_worker_id()
    job_id = queue.enqueue(engine, "train", {})
    queue.claim(engine, dead)
    actions = queue.recover(engine, lease_seconds=3600, max_attempts=2)
    assert actions == [{"id": job_id, "action": "requeued", "reason": f"worker {dead} died", "attempts": 1}]


def test_recover_leaves_live_local_workers_alone(engine: Engine) -> None:
    job_id = queue.enqueue(engine, "train", {})
    queue.claim(engine, queue.worker_identity())
    assert queue.recover(engine, lease_seconds=3600, max_attempts=2) == []
    job = queue.get_job(engine, job_id)
    assert job is not None and job["status"] == "running"


def test_recover_fails_a_job_out_of_attempts(engine: Engine) -> None:
    dead = _dead_worker_id()
    job_id = queue.enqueue(engine, "train", {}, lock_key="train:quick")
    queue.claim(engine, dead)
    actions = queue.recover(engine, lease_seconds=3600, max_attempts=1)
    assert [a["action"] for a in actions] == ["failed"]
    job = queue.get_job(engine, job_id)
    assert job is not None and job["status"] == "failed" and job["finished_at"] is not None
    assert job["error"] == (f"worker {dead} died during attempt 1 of 1; no attempts left, submit the job again")
    queue.enqueue(engine, "train", {}, lock_key="train:quick")  # the lock is free again
