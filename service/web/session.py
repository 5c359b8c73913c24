"""Planner sign-in: an API key of role `planner` or higher is checked once, then a signed session cookie (Starlette's
`SessionMiddleware`, scoped to `/app`) carries the key's id, name and role. Every page re-checks that the key still
exists and is not revoked (a revoked key signs its sessions out). Forms and the what-if fetch carry a per-session
CSRF token.

Public interface: `PREFIX`, `PageSessions`, `SignedIn`, `sign_in`, `signed_in`, `check_csrf`, `NotSignedIn`.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import select
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from service.auth import role_allows
from service.db.tables import ApiKey

PREFIX = "/app"
COOKIE = "leanplan_session"
MAX_AGE = 8 * 60 * 60  # a working day
NEED = "planner"


class PageSessions:
    """`SessionMiddleware` for the planner pages only: API routes never parse or set the cookie."""

    def __init__(self, app: ASGIApp, secret_key: str) -> None:
        self.app = app
        self.sessions = SessionMiddleware(
            app, secret_key=secret_key or secrets.token_urlsafe(32), session_cookie=COOKIE, max_age=MAX_AGE,
            path=PREFIX, same_site="lax",
        )  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(PREFIX):
            await self.sessions(scope, receive, send)
        else:
            await self.app(scope, receive, send)


@dataclass(frozen=True)
class SignedIn:
    """The planner behind a session."""

    key_id: str
    name: str
    role: str
    csrf: str


class NotSignedIn(Exception):
    """No valid session; pages redirect to the sign-in form, JSON endpoints answer 401."""


def sign_in(request: Request, key: str) -> str | None:
    """Start a session for `key`; None on success, else the message to show."""
    key = key.strip()
    if not key:
        return "Enter your API key."
    info = request.app.state.keys.verify(key)
    if info is None:
        return "That key is not valid (unknown, mistyped or revoked). Ask an admin for a key: leanplan keys create."
    if not role_allows(info.role, NEED):
        return (
            f"This key has role '{info.role}'; the planner pages need a planner, scientist or admin key. "
            "Ask an admin for one: leanplan keys create --role planner."
        )
    request.session.clear()
    request.session.update({"key_id": info.id, "name": info.name, "role": info.role, "csrf": secrets.token_urlsafe(24)})
    return None


def signed_in(request: Request) -> SignedIn:
    """The session's planner; raises `NotSignedIn` when there is none or its key was revoked or demoted."""
    session = request.session
    key_id = session.get("key_id")
    if not key_id:
        raise NotSignedIn
    with request.app.state.engine.connect() as conn:
        row = conn.execute(select(ApiKey.role).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))).first()
    if row is None or not role_allows(row.role, NEED):
        session.clear()
        raise NotSignedIn
    return SignedIn(key_id, str(session.get("name", "")), row.role, str(session.get("csrf", "")))


def check_csrf(user: SignedIn, token: str | None) -> bool:
    """True when `token` is this session's CSRF token."""
    return bool(token) and hmac.compare_digest(user.csrf, token or "")


__all__ = ["PREFIX", "NotSignedIn", "PageSessions", "SignedIn", "check_csrf", "sign_in", "signed_in"]
