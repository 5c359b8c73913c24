"""`leanplan serve` (the HTTP API, optionally with job workers) and `leanplan keys create|list|revoke`.

SIGTERM (or Ctrl-C) to `leanplan serve` stops the API, then its job workers (each finishes its current job);
several API workers need `LEANPLAN_SESSION_SECRET`, or `serve` refuses to start.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from types import FrameType
from typing import Annotated

import typer

from service.cli.apps import app, fail

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: LEANPLAN_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: LEANPLAN_PORT, 8000).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="API worker processes.")] = 1,
    job_workers: Annotated[
        int, typer.Option(min=0, help="Also start this many `leanplan worker` processes for training and plans.")
    ] = 0,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Serve the HTTP API (OpenAPI at /docs); migrates the database first. SIGTERM stops the job workers too."""
    import uvicorn

    from service.db.engine import get_engine
    from service.db.migrate import upgrade
    from service.settings import get_settings

    settings = get_settings()
    if workers > 1 and not settings.session_secret:
        fail(
            f"--workers {workers} needs LEANPLAN_SESSION_SECRET: without it each API worker signs planner sessions "
            "with its own random secret and sign-ins fail at random; set it to a long random string (e.g. "
            "`openssl rand -hex 32`) or serve with one worker"
        )
    upgrade(get_engine())

    def _stop(signum: int, _: FrameType | None) -> None:
        raise SystemExit(128 + signum)  # uvicorn re-raises the SIGTERM it handled: leave through `finally`

    signal.signal(signal.SIGTERM, _stop)
    children = [subprocess.Popen([sys.executable, "-m", "service.cli", "worker"]) for _ in range(job_workers)]
    try:
        uvicorn.run(
            "service.main:create_app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            log_level=log_level,
            access_log=False,
        )
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=30)


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="erp, planner, scientist or admin.")],
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'SAP nightly'.")] = "",
) -> None:
    """Create an API key and print it (once: only its hash is stored)."""
    from service.auth import create_key
    from service.db.engine import get_engine
    from service.db.migrate import upgrade

    engine = get_engine()
    upgrade(engine)
    try:
        info, key = create_key(engine, role, name)
    except ValueError as err:
        fail(f"error: {err}")
    typer.echo(key)
    typer.echo(f"(key {info.id}, role {info.role}: store it now, it is not shown again)", err=True)


@keys_app.command("list")
def keys_list() -> None:
    """List keys: id, role, name, created, last used, revoked (never the secret)."""
    from service.auth import list_keys
    from service.db.engine import get_engine
    from service.db.migrate import upgrade

    engine = get_engine()
    upgrade(engine)
    for row in list_keys(engine):
        revoked = f" revoked {row['revoked_at']:%Y-%m-%d}" if row["revoked_at"] else ""
        typer.echo(f"{row['id']}  {row['role']:<9}  {row['name']}{revoked}")


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (from `leanplan keys list`).")]) -> None:
    """Revoke a key; requests with it fail from then on."""
    from service.auth import revoke_key
    from service.db.engine import get_engine

    if not revoke_key(get_engine(), key_id):
        fail(f"error: no active key {key_id!r}; see `leanplan keys list`")
    typer.echo(f"revoked {key_id}")
