"""Sessions and headers: sign-out and key revocation end a session server-side, Secure cookies over HTTPS, CSRF on
the sign-in and sign-out forms, throttled wrong keys (429 + Retry-After), security headers on every response."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.auth import create_key, revoke_key
from service.main import create_app
from tests.service.api.conftest import auth, settings_for
from tests.service.web.test_routes import csrf, login_csrf, sign_in


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(settings_for(engine, tmp_path / "home", failed_auth_limit=3), engine)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_sign_out_revokes_the_session_server_side(client: TestClient, engine: Engine) -> None:
    sign_in(client, create_key(engine, "planner")[1])
    stolen = client.cookies.get("leanplan_session")
    assert client.get("/app/models").status_code == 200
    assert client.post("/app/logout", data={"csrf": csrf(client)}, follow_redirects=False).status_code == 303
    client.cookies.set("leanplan_session", stolen or "", path="/app")  # a copy of the cookie taken before
    assert client.get("/app/models", follow_redirects=False).status_code == 303


def test_key_revocation_ends_its_sessions(client: TestClient, engine: Engine) -> None:
    info, key = create_key(engine, "planner")
    sign_in(client, key)
    assert client.get("/app/models").status_code == 200
    revoke_key(engine, info.id)
    assert client.get("/app/models", follow_redirects=False).status_code == 303


def test_sign_in_and_out_need_their_csrf_token(client: TestClient, engine: Engine) -> None:
    key = create_key(engine, "planner")[1]
    login_csrf(client)
    r = client.post("/app/login", data={"key": key, "csrf": "forged"}, follow_redirects=False)
    assert r.status_code == 401 and "The sign-in form expired" in r.text
    sign_in(client, key)
    assert client.post("/app/logout", data={"csrf": "forged"}).status_code == 403
    assert client.get("/app/models").status_code == 200  # still signed in


def test_cookie_is_secure_over_https_and_behind_a_trusted_proxy_only(engine: Engine, tmp_path: Path) -> None:
    def cookie(base_url: str, trust: bool, proto: str = "") -> str:
        app = create_app(settings_for(engine, tmp_path / "home", trust_forwarded_proto=trust), engine)
        with TestClient(app, base_url=base_url) as c:
            r = c.get("/app/login", headers={"X-Forwarded-Proto": proto} if proto else {})
            return r.headers["set-cookie"].lower()  # the sign-in form's session (its CSRF token)

    assert "; secure" in cookie("https://testserver", trust=False)
    assert "; secure" not in cookie("http://testserver", trust=False, proto="https")
    assert "; secure" in cookie("http://testserver", trust=True, proto="https")
    assert "; secure" not in cookie("http://testserver", trust=True)
    assert "samesite=lax" in cookie("http://testserver", trust=False)
    assert "httponly" in cookie("http://testserver", trust=False)


def test_wrong_keys_are_throttled(client: TestClient, engine: Engine) -> None:
    good = create_key(engine, "erp")[1]
    for _ in range(3):
        assert client.get("/v1/skus", headers=auth("lp_abc_wrong")).status_code == 401
    r = client.get("/v1/skus", headers=auth("lp_abc_wrong"))
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
    assert r.json()["detail"].startswith("too many wrong API keys from this address; try again in")
    assert client.get("/v1/skus", headers=auth(good)).status_code == 429  # the address waits, whatever it sends
    r = client.post("/app/login", data={"key": good, "csrf": login_csrf(client)})
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_failed_sign_ins_are_throttled(client: TestClient) -> None:
    for _ in range(3):
        assert sign_in(client, "lp_abc_wrong").status_code == 401  # type: ignore[attr-defined]
    r = sign_in(client, "lp_abc_wrong")
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "path", ["/healthz", "/v1/skus", "/app/login", "/app/static/app.css", "/openapi.json", "/nope"]
)
def test_security_headers_on_every_response(client: TestClient, path: str) -> None:
    r = client.get(path)
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


def test_docs_inline_script_runs_by_nonce_only(client: TestClient) -> None:
    r = client.get("/docs")
    csp = r.headers["content-security-policy"]
    nonce = csp.split("'nonce-", 1)[1].split("'", 1)[0]
    assert f'<script nonce="{nonce}">' in r.text and "<script>" not in r.text
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert int(r.headers["content-length"]) == len(r.content)
