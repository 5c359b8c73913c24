"""Planner sign-in: an API key of role `planner` or higher is checked once, then a server-side session record
(`web_sessions`) is created and a signed cookie (Starlette's `SessionMiddleware`, scoped to `/app`) carries its id.
Every page re-checks that the session is neither signed out nor expired and that its key still exists and is not
revoked, so sign-out and key revocation end the session at once. The cookie is `HttpOnly`, `SameSite=Lax`, and
`Secure` when the page is served over HTTPS (`X-Forwarded-Proto` is believed only with `trust_forwarded_proto`).
The sign-in form, the sign-out form, every other form and the what-if fetch carry a CSRF token; failed sign-ins
count towards the client's `FailureThrottle` (429 with `Retry-After`).

Public interface: `PREFIX`, `PageSessions`, `SignedIn`, `sign_in`, `sign_out`, `signed_in`, `login_token`,
`check_csrf`, `NotSignedIn`, `Throttled`.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import insert, select, update
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.auth import FailureThrottle, role_allows
from service.db.tables import ApiKey, WebSession

PREFIX = "/app"
COOKIE = "leanplan_session"
MAX_AGE = 8 * 60 * 60  # a working day
NEED = "planner"


class PageSessions:
    """`SessionMiddleware` for the planner pages only: API routes never parse or set the cookie."""

    def __init__(self, app: ASGIApp, secret_key: str, trust_forwarded_proto: bool = False) -> None:
        self.app = app
        self.trust_forwarded_proto = trust_forwarded_proto
        self.sessions = SessionMiddleware(
            app, secret_key=secret_key or secrets.token_urlsafe(32), session_cookie=COOKIE, max_age=MAX_AGE,
            path=PREFIX, same_site="lax",
        )  # fmt: skip

    def _https(self, scope: Scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        forwarded = Headers(scope=scope).get("x-forwarded-proto", "")
        return self.trust_forwarded_proto and forwarded.split(",")[0].strip().lower() == "https"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        if not self._https(scope):
            await self.sessions(scope, receive, send)
            return

        async def secure_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                cookies = headers.getlist("set-cookie")
                if cookies:
                    del headers["set-cookie"]
                    for cookie in cookies:
                        secure = cookie.startswith(f"{COOKIE}=") and "; secure" not in cookie.lower()
                        headers.append("set-cookie", f"{cookie}; Secure" if secure else cookie)
            await send(message)

        await self.sessions(scope, receive, secure_cookie)


@dataclass(frozen=True)
class SignedIn:
    """The planner behind a session."""

    key_id: str
    name: str
    role: str
    csrf: str


class NotSignedIn(Exception):
    """No valid session; pages redirect to the sign-in form, JSON endpoints answer 401."""


class Throttled(Exception):
    """Too many failed sign-ins from this client: wait `retry_after` seconds (429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed sign-ins from this address; try again in {retry_after} s.")
        self.retry_after = retry_after


def login_token(request: Request) -> str:
    """The CSRF token of the sign-in form (kept in the pre-sign-in session)."""
    token = request.session.get("login_csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["login_csrf"] = token
    return str(token)


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


def sign_in(request: Request, key: str, csrf: str = "") -> str | None:
    """Start a session for `key`; None on success, else the message to show. Raises `Throttled` when this client
    failed too often."""
    throttle: FailureThrottle = request.app.state.auth_failures
    wait = throttle.retry_after(_client(request))
    if wait is not None:
        raise Throttled(wait)
    expected = str(request.session.get("login_csrf", ""))
    if not expected or not hmac.compare_digest(expected, csrf):
        return "The sign-in form expired; enter your key again."
    key = key.strip()
    if not key:
        return "Enter your API key."
    info = request.app.state.keys.verify(key)
    if info is None:
        throttle.failed(_client(request))
        return "That key is not valid (unknown, mistyped or revoked). Ask an admin for a key: leanplan keys create."
    if not role_allows(info.role, NEED):
        return (
            f"This key has role '{info.role}'; the planner pages need a planner, scientist or admin key. "
            "Ask an admin for one: leanplan keys create --role planner."
        )
    session_id = secrets.token_urlsafe(32)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=MAX_AGE)
    with request.app.state.engine.begin() as conn:
        conn.execute(insert(WebSession).values(id=session_id, key_id=info.id, expires_at=expires))
    request.session.clear()
    request.session.update({"sid": session_id, "name": info.name, "csrf": secrets.token_urlsafe(24)})
    return None


def sign_out(request: Request) -> None:
    """End this browser's session: revoked server-side, so a copy of the cookie no longer signs anyone in."""
    session_id = request.session.get("sid")
    if session_id:
        with request.app.state.engine.begin() as conn:
            conn.execute(
                update(WebSession)
                .where(WebSession.id == str(session_id), WebSession.revoked_at.is_(None))
                .values(revoked_at=dt.datetime.now(dt.UTC))
            )
    request.session.clear()


def signed_in(request: Request) -> SignedIn:
    """The session's planner; raises `NotSignedIn` when there is none, it was signed out or expired, or its key was
    revoked or demoted."""
    session = request.session
    session_id = session.get("sid")
    if not session_id:
        raise NotSignedIn
    now = dt.datetime.now(dt.UTC)
    query = (
        select(ApiKey.id, ApiKey.role)
        .join(WebSession, WebSession.key_id == ApiKey.id)
        .where(
            WebSession.id == str(session_id),
            WebSession.revoked_at.is_(None),
            WebSession.expires_at > now,
            ApiKey.revoked_at.is_(None),
        )
    )
    with request.app.state.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None or not role_allows(row.role, NEED):
        session.clear()
        raise NotSignedIn
    return SignedIn(row.id, str(session.get("name", "")), row.role, str(session.get("csrf", "")))


def check_csrf(user: SignedIn, token: str | None) -> bool:
    """True when `token` is this session's CSRF token."""
    return bool(token) and hmac.compare_digest(user.csrf, token or "")


__all__ = [
    "PREFIX",
    "NotSignedIn",
    "PageSessions",
    "SignedIn",
    "Throttled",
    "check_csrf",
    "login_token",
    "sign_in",
    "sign_out",
    "signed_in",
]
