"""Planner pages under `/app`: server-rendered Jinja2 with Plotly charts (served from the installed package), signed
in with an API key of role planner or higher (signed session cookie).

`install(app, settings)` adds the pages, their session middleware and the sign-in redirect to a FastAPI app.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from service.settings import Settings
from service.web.routes import router
from service.web.session import PREFIX, NotSignedIn, PageSessions


def install(app: FastAPI, settings: Settings) -> None:
    """Include the `/app` router, its session cookie and the redirect to the sign-in form."""
    app.include_router(router)
    app.add_middleware(
        PageSessions, secret_key=settings.session_secret, trust_forwarded_proto=settings.trust_forwarded_proto
    )

    @app.exception_handler(NotSignedIn)
    async def _sign_in_first(request: Request, exc: NotSignedIn) -> Response:
        if request.method != "GET" or "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"detail": f"sign in first at {PREFIX}/login"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{PREFIX}/login?next={quote(target, safe='')}", status_code=303)


__all__ = ["install", "router"]
