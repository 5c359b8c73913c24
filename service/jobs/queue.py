"""The durable job queue in the `jobs` table: enqueue, claim, heartbeat, progress, finish, recover.

A job is `queued` → `running` (claimed by one worker, `attempts` + 1) → `succeeded` | `failed`. At most one queued or
running job holds a given `lock_key` (a partial unique index, on SQLite and Postgres). A running job whose worker
stopped sending heartbeats, or whose worker process on this host is gone, is re-queued by `recover` (or failed once it
has used its attempts). Worker ids are `"<hostname>:<pid>"`. A job queued over the API records its key (`key_id`);
`enqueue(..., key_id=, max_queued=)` refuses with `QueueFull` when that key already has `max_queued` jobs queued.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from service.db.tables import Job

ACTIVE = ("queued", "running")
FIELDS = (
    "id",
    "kind",
    "status",
    "params",
    "lock_key",
    "progress",
    "message",
    "result",
    "error",
    "attempts",
    "worker_id",
    "key_id",
    "created_at",
    "started_at",
    "heartbeat_at",
    "finished_at",
)
_COLUMNS = [getattr(Job, f) for f in FIELDS]


class JobConflict(Exception):
    """Another queued or running job holds the lock key; `job_id` names it."""

    def __init__(self, lock_key: str, job_id: str) -> None:
        self.lock_key, self.job_id = lock_key, job_id
        super().__init__(f"job {job_id} already holds {lock_key!r}; wait for it to finish")


class QueueFull(Exception):
    """The API key already has `limit` jobs queued; `retry_after` is a suggested wait in seconds."""

    retry_after = 30

    def __init__(self, key_id: str, limit: int) -> None:
        self.key_id, self.limit = key_id, limit
        super().__init__(
            f"this API key already has {limit} jobs queued (the most allowed); wait for one to start, "
            f"then retry (LEANPLAN_MAX_QUEUED_JOBS_PER_KEY raises the limit)"
        )


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def worker_identity() -> str:
    """This process's worker id: `"<hostname>:<pid>"`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def _as_dict(row: Any) -> dict[str, Any]:
    job = dict(row._mapping)
    for key in ("created_at", "started_at", "heartbeat_at", "finished_at"):
        job[key] = _aware(job[key])
    return job


def enqueue(
    engine: Engine,
    kind: str,
    params: dict[str, Any],
    lock_key: str | None = None,
    key_id: str | None = None,
    max_queued: int | None = None,
) -> str:
    """Queue a job; returns its id. Raises `JobConflict` when a queued or running job holds `lock_key`, and
    `QueueFull` when `key_id` already has `max_queued` jobs queued (checked in the inserting transaction)."""
    for _ in range(3):
        job_id = uuid.uuid4().hex
        try:
            with engine.begin() as conn:
                if key_id is not None and max_queued is not None:
                    waiting = conn.execute(
                        select(func.count()).select_from(Job).where(Job.key_id == key_id, Job.status == "queued")
                    ).scalar_one()
                    if waiting >= max_queued:
                        raise QueueFull(key_id, max_queued)
                conn.execute(
                    insert(Job).values(
                        id=job_id,
                        kind=kind,
                        status="queued",
                        params=params,
                        lock_key=lock_key,
                        key_id=key_id,
                        progress=0.0,
                        attempts=0,
                        created_at=now(),
                    )
                )
            return job_id
        except IntegrityError:
            if lock_key is None:
                raise
            with engine.connect() as conn:
                holder = conn.execute(select(Job.id).where(Job.lock_key == lock_key, Job.status.in_(ACTIVE))).scalar()
            if holder is not None:
                raise JobConflict(lock_key, holder) from None
            # the holder finished between the insert and the look-up: try again
    raise RuntimeError(f"could not queue a {kind} job for {lock_key!r}; try again")


def get_job(engine: Engine, job_id: str) -> dict[str, Any] | None:
    """The job as a dict of its columns (times in UTC), or None."""
    with engine.connect() as conn:
        row = conn.execute(select(*_COLUMNS).where(Job.id == job_id)).first()
    return _as_dict(row) if row is not None else None


def list_jobs(
    engine: Engine, kind: str | None = None, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The most recent jobs first, optionally of one kind and status."""
    query = select(*_COLUMNS).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(Job.kind == kind)
    if status is not None:
        query = query.where(Job.status == status)
    with engine.connect() as conn:
        return [_as_dict(row) for row in conn.execute(query)]


def claim(engine: Engine, worker_id: str, kinds: tuple[str, ...] | None = None) -> dict[str, Any] | None:
    """Atomically take the oldest queued job for `worker_id` (status running, attempts + 1); None when none waits.

    Postgres locks the row with `FOR UPDATE SKIP LOCKED`; SQLite serializes writers and the `UPDATE … WHERE
    status = 'queued'` takes the job only if no other worker took it first.
    """
    oldest = select(Job.id).where(Job.status == "queued").order_by(Job.created_at, Job.id).limit(1)
    if kinds is not None:
        oldest = oldest.where(Job.kind.in_(kinds))
    postgres = engine.dialect.name == "postgresql"
    if postgres:
        oldest = oldest.with_for_update(skip_locked=True)
    for _ in range(20):
        with engine.begin() as conn:
            job_id = conn.execute(oldest).scalar()
            if job_id is None:
                return None
            started = now()
            taken = conn.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "queued")
                .values(
                    status="running",
                    attempts=Job.attempts + 1,
                    worker_id=worker_id,
                    started_at=started,
                    heartbeat_at=started,
                    progress=0.0,
                    message="started",
                    error=None,
                )
            ).rowcount
        if taken == 1:
            return get_job(engine, job_id)
    return None


def _update_own(engine: Engine, job_id: str, worker_id: str | None, **values: Any) -> bool:
    """Update a running job (held by `worker_id` when given); False when it is no longer so."""
    condition = [Job.id == job_id, Job.status == "running"]
    if worker_id is not None:
        condition.append(Job.worker_id == worker_id)
    with engine.begin() as conn:
        return bool(conn.execute(update(Job).where(*condition).values(**values)).rowcount)


def heartbeat(engine: Engine, job_id: str, worker_id: str | None = None) -> bool:
    """Record that the job's worker is alive; False when the job is no longer running for it."""
    return _update_own(engine, job_id, worker_id, heartbeat_at=now())


def progress(engine: Engine, job_id: str, fraction: float, message: str, worker_id: str | None = None) -> bool:
    """Record progress (a fraction in [0, 1]) and a short message; also counts as a heartbeat."""
    fraction = min(max(float(fraction), 0.0), 1.0)
    return _update_own(engine, job_id, worker_id, progress=fraction, message=message, heartbeat_at=now())


def succeed(engine: Engine, job_id: str, result: dict[str, Any], worker_id: str | None = None) -> bool:
    """Mark the job succeeded with its JSON-able `result`."""
    finished = now()
    values = {"status": "succeeded", "result": result, "progress": 1.0, "message": "done"}
    return _update_own(engine, job_id, worker_id, **values, finished_at=finished, heartbeat_at=finished)


def fail(engine: Engine, job_id: str, error: str, worker_id: str | None = None) -> bool:
    """Mark the job failed with a message saying what went wrong."""
    finished = now()
    values = {"status": "failed", "error": error, "message": "failed"}
    return _update_own(engine, job_id, worker_id, **values, finished_at=finished, heartbeat_at=finished)


def _process_gone(worker_id: str | None, hostname: str) -> bool:
    """True when `worker_id` names a process on this host that no longer runs (or is a zombie)."""
    if not worker_id or ":" not in worker_id:
        return False
    host, _, pid_text = worker_id.rpartition(":")
    if host != hostname or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def recover(engine: Engine, lease_seconds: float, max_attempts: int) -> list[dict[str, Any]]:
    """Re-queue (or fail, after `max_attempts`) running jobs whose worker died; returns what it did per job.

    A worker counts as dead when its last heartbeat is older than `lease_seconds`, or when it is a process on
    this host that is gone.
    """
    hostname = socket.gethostname()
    cutoff = now() - dt.timedelta(seconds=lease_seconds)
    with engine.connect() as conn:
        running = conn.execute(
            select(Job.id, Job.worker_id, Job.heartbeat_at, Job.attempts).where(Job.status == "running")
        ).all()
    actions = []
    for job_id, worker_id, beat, attempts in running:
        beat = _aware(beat)
        if beat is not None and beat >= cutoff and not _process_gone(worker_id, hostname):
            continue
        why = (
            f"worker {worker_id} died"
            if _process_gone(worker_id, hostname)
            else f"worker {worker_id} sent no heartbeat for {lease_seconds:g} s"
        )
        guard = [Job.id == job_id, Job.status == "running", Job.worker_id == worker_id]
        if attempts < max_attempts:
            values: dict[str, Any] = {
                "status": "queued",
                "worker_id": None,
                "message": f"re-queued: {why} during attempt {attempts} of {max_attempts}",
            }
            action = "requeued"
        else:
            values = {
                "status": "failed",
                "error": f"{why} during attempt {attempts} of {max_attempts}; no attempts left, submit the job again",
                "message": "failed",
                "finished_at": now(),
            }
            action = "failed"
        with engine.begin() as conn:
            if conn.execute(update(Job).where(*guard).values(**values)).rowcount:
                actions.append({"id": job_id, "action": action, "reason": why, "attempts": attempts})
    return actions
