"""Typed dependencies of the route handlers: the engine, the settings and the caller's API key with a role check.

Keys arrive as `Authorization: Bearer <key>` or `X-API-Key: <key>`. 401 without a valid key, 403 when the key's
role is below the route's, 429 (with `Retry-After`) for a client address that sent too many wrong keys. Use the
aliases: `ErpKey`, `PlannerKey`, `ScientistKey`, `AdminKey`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from service.auth import FailureThrottle, KeyInfo, KeyVerifier, role_allows
from service.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="An API key: `leanplan keys create --role erp`.")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same API key, as a header.")

UNAUTHORIZED = "missing or invalid API key; send `Authorization: Bearer <key>` or `X-API-Key: <key>`"


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def current_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> KeyInfo:
    """The verified key of the request (401 when there is none)."""
    presented = header or (bearer.credentials if bearer else None)
    verifier: KeyVerifier = request.app.state.keys
    throttle: FailureThrottle = request.app.state.auth_failures
    client = request.client.host if request.client else "-"
    wait = throttle.retry_after(client) if presented else None
    if wait is not None:
        raise HTTPException(
            status_code=429,
            detail=f"too many wrong API keys from this address; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    info = verifier.verify(presented) if presented else None
    if info is None:
        if presented:
            throttle.failed(client)
        raise HTTPException(status_code=401, detail=UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    request.state.key = info
    return info


def require(role: str) -> Callable[[KeyInfo], KeyInfo]:
    """A dependency accepting keys of `role` or above (403 otherwise)."""

    def check(key: Annotated[KeyInfo, Depends(current_key)]) -> KeyInfo:
        if not role_allows(key.role, role):
            raise HTTPException(
                status_code=403, detail=f"this needs a key of role {role!r} or above; this key's role is {key.role!r}"
            )
        return key

    return check


ErpKey = Annotated[KeyInfo, Depends(require("erp"))]
PlannerKey = Annotated[KeyInfo, Depends(require("planner"))]
ScientistKey = Annotated[KeyInfo, Depends(require("scientist"))]
AdminKey = Annotated[KeyInfo, Depends(require("admin"))]
