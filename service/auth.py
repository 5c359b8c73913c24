"""API keys: create (shown once), store hashed, verify in constant time, roles ordered by what they may do.

A key is `lp_<id>_<secret>`: the id finds the row, the secret is checked against its SHA-256 with
`hmac.compare_digest`. Keys are random 256-bit secrets, so a fast hash is the right one (a slow password hash buys
nothing against brute force of 2^256 and would cost every request). Verified keys are cached for a few seconds
(`key_cache_seconds`), so a revoked key stops working within that time.

Failed attempts (a wrong key on the API, a wrong key at the planner sign-in) are counted per client address by a
`FailureThrottle` (a moving window of the `limits` library): past the limit the client is refused (429 with
`Retry-After`) until its oldest failure leaves the window.

Public interface: `ROLES`, `Role`, `KeyInfo`, `role_allows(have, need)`, `create_key`, `list_keys`, `revoke_key`,
`KeyVerifier`, `FailureThrottle`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Literal

from limits import RateLimitItemPerSecond, storage, strategies
from sqlalchemy import Engine, insert, select, update

from service.db.tables import ApiKey

Role = Literal["erp", "planner", "scientist", "admin"]
#: each role may do everything the roles before it may
ROLES: tuple[Role, ...] = ("erp", "planner", "scientist", "admin")
PREFIX = "lp_"


@dataclass(frozen=True)
class KeyInfo:
    """Who is calling: the key's id, name and role (never the secret)."""

    id: str
    name: str
    role: Role


def role_allows(have: str, need: str) -> bool:
    """True when role `have` includes the rights of role `need`."""
    return have in ROLES and need in ROLES and ROLES.index(have) >= ROLES.index(need)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(key: str) -> tuple[str, str] | None:
    if not key.startswith(PREFIX):
        return None
    key_id, _, secret = key[len(PREFIX) :].partition("_")
    if not key_id or not secret or len(key) > 200:
        return None
    return key_id, secret


def create_key(engine: Engine, role: str, name: str = "") -> tuple[KeyInfo, str]:
    """Store a new key of `role`; returns its info and the key itself (the only time it is ever available)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    name = name or f"{role} key"
    with engine.begin() as conn:
        conn.execute(insert(ApiKey).values(id=key_id, name=name, role=role, prefix=key_id, key_hash=_digest(secret)))
    return KeyInfo(key_id, name, role), f"{PREFIX}{key_id}_{secret}"


def list_keys(engine: Engine) -> list[dict[str, object]]:
    """Every key's id, name, role, creation, last use and revocation (no secrets)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.created_at, ApiKey.last_used_at, ApiKey.revoked_at
            ).order_by(ApiKey.created_at)
        ).mappings()
        return [dict(r) for r in rows]


def revoke_key(engine: Engine, key_id: str) -> bool:
    """Revoke a key; False when no such (unrevoked) key exists."""
    with engine.begin() as conn:
        done = conn.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=dt.datetime.now(dt.UTC))
        )
    return bool(done.rowcount)


class KeyVerifier:
    """Verify presented keys against the database, caching successes for `ttl` seconds."""

    def __init__(self, engine: Engine, ttl: float = 5.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self._cache: dict[str, tuple[float, KeyInfo]] = {}
        self._lock = threading.Lock()

    def verify(self, key: str) -> KeyInfo | None:
        """The key's info, or None when it is malformed, unknown, wrong or revoked."""
        parts = _split(key)
        if parts is None:
            return None
        key_id, secret = parts
        digest = _digest(secret)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now and cached[1].id == key_id:
            return cached[1]
        with self.engine.connect() as conn:
            row = conn.execute(
                select(ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.key_hash).where(
                    ApiKey.id == key_id, ApiKey.revoked_at.is_(None)
                )
            ).first()
        if row is None or not hmac.compare_digest(row.key_hash, digest):
            return None
        info = KeyInfo(row.id, row.name, row.role)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + self.ttl, info)
        self._touch(key_id)
        return info

    def _touch(self, key_id: str) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=dt.datetime.now(dt.UTC)))
        except Exception:
            pass


class FailureThrottle:
    """At most `limit` failed attempts per client within `window` seconds (in this process)."""

    def __init__(self, limit: int = 10, window: int = 60) -> None:
        self.item = RateLimitItemPerSecond(limit, window)
        self.limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())

    def retry_after(self, client: str) -> int | None:
        """Seconds `client` must wait before trying again, or None when it may try now."""
        if self.limiter.test(self.item, client):
            return None
        reset = self.limiter.get_window_stats(self.item, client).reset_time
        return max(1, math.ceil(reset - time.time()))

    def failed(self, client: str) -> None:
        """Count one failed attempt of `client`."""
        self.limiter.hit(self.item, client)


__all__ = [
    "ROLES",
    "FailureThrottle",
    "KeyInfo",
    "KeyVerifier",
    "Role",
    "create_key",
    "list_keys",
    "revoke_key",
    "role_allows",
]
