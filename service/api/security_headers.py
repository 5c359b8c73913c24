"""Security headers on every response (API, planner pages, docs), added by one ASGI middleware.

- `Content-Security-Policy`: scripts only from the app itself (no inline scripts, no eval); styles from the app plus
  inline style attributes (Plotly sets them); no framing (`frame-ancestors 'none'`), no plugins, forms post to the
  app only. The interactive docs (`/docs`, `/redoc`) load their bundle from its CDN; their one inline script gets a
  per-response nonce.
- `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`,
  `Cross-Origin-Opener-Policy: same-origin`, `Permissions-Policy` turning off sensors the app never uses.

Public interface: `SecurityHeaders`, `CSP`, `HEADERS`.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS = ("/docs", "/redoc")
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def _docs_csp(nonce: str) -> str:
    return (
        f"default-src 'self'; script-src 'self' {DOCS_CDN} 'nonce-{nonce}'; style-src 'self' {DOCS_CDN} "
        f"'unsafe-inline'; img-src 'self' data: https://fastapi.tiangolo.com; font-src 'self' {DOCS_CDN} "
        "https://fonts.gstatic.com; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class SecurityHeaders:
    """Add `HEADERS` and a Content-Security-Policy to every HTTP response that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path") in DOCS:
            await self._docs(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in (*HEADERS.items(), ("Content-Security-Policy", CSP)):
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The docs page is small: buffer it, give its inline script a nonce and allow that nonce."""
        nonce = secrets.token_urlsafe(16)
        start: Message | None = None
        body = b""

        async def buffered(message: Message) -> None:
            nonlocal start, body
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body += message.get("body", b"")
            if message.get("more_body", False):
                return
            body = body.replace(b"<script>", f'<script nonce="{nonce}">'.encode())
            headers = MutableHeaders(scope=start)
            headers["Content-Length"] = str(len(body))
            for name, value in (*HEADERS.items(), ("Content-Security-Policy", _docs_csp(nonce))):
                headers[name] = value
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered)


__all__ = ["CSP", "HEADERS", "SecurityHeaders"]
