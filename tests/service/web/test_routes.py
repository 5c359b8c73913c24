"""The `/app` routes over HTTP (TestClient): sign-in and its refusals, session checks, every page on an empty and a
seeded database, CSRF, downloads, approval, the what-if endpoint, assets; API routes untouched by the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.auth import ROLES, create_key, revoke_key
from service.main import create_app
from tests.service.api.conftest import settings_for
from tests.service.web.sample import seed_sample

PAGES = ["/app/", "/app/replenishment", "/app/schedule", "/app/models", "/app/what-if"]


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(settings_for(engine, tmp_path / "home"), engine)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def keys(engine: Engine) -> dict[str, str]:
    return {role: create_key(engine, role, f"{role} tester")[1] for role in ROLES}


def login_csrf(client: TestClient) -> str:
    """The sign-in form's CSRF token (the form is fetched first, as a browser does)."""
    html = client.get("/app/login").text
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def sign_in(client: TestClient, key: str, next: str = "") -> object:
    data = {"key": key, "next": next, "csrf": login_csrf(client)}
    return client.post("/app/login", data=data, follow_redirects=False)


def csrf(client: TestClient) -> str:
    html = client.get("/app/models").text
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_pages_need_a_session(client: TestClient) -> None:
    r = client.get("/app/replenishment?abc=A", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/app/login?next=%2Fapp%2Freplenishment%3Fabc%3DA"
    r = client.post("/app/what-if", json={"sku": "A-1"})
    assert r.status_code == 401 and r.json() == {"detail": "sign in first at /app/login"}
    assert client.get("/app/login").status_code == 200


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "Enter your API key."),
        ("lp_abc_wrong", "That key is not valid (unknown, mistyped or revoked)."),
        ("erp", "This key has role &#39;erp&#39;; the planner pages need a planner, scientist or admin key."),
    ],
)
def test_sign_in_refused(client: TestClient, keys: dict[str, str], key: str, message: str) -> None:
    r = sign_in(client, keys.get(key, key))
    assert r.status_code == 401  # type: ignore[attr-defined]
    assert message in r.text  # type: ignore[attr-defined]
    assert "leanplan_session" not in r.headers.get("set-cookie", "")  # type: ignore[attr-defined]


@pytest.mark.parametrize("role", ["planner", "scientist", "admin"])
def test_sign_in_and_out(client: TestClient, keys: dict[str, str], role: str) -> None:
    r = sign_in(client, keys[role], next="/app/schedule")
    assert r.status_code == 303 and r.headers["location"] == "/app/schedule"  # type: ignore[attr-defined]
    cookie = r.headers["set-cookie"]  # type: ignore[attr-defined]
    assert cookie.startswith("leanplan_session=") and "path=/app" in cookie and "httponly" in cookie.lower()
    assert client.get("/app/schedule").status_code == 200
    logout = client.post("/app/logout", data={"csrf": csrf(client)}, follow_redirects=False)
    assert logout.headers["location"] == "/app/login?out=1"
    assert client.get("/app/", follow_redirects=False).status_code == 303


def test_next_stays_on_our_pages(client: TestClient, keys: dict[str, str]) -> None:
    for target in ("https://evil.example/", "//evil.example/app", "/v1/keys"):
        r = sign_in(client, keys["planner"], next=target)
        assert r.headers["location"] == "/app/"  # type: ignore[attr-defined]


def test_revoked_key_ends_the_session(client: TestClient, engine: Engine) -> None:
    info, key = create_key(engine, "planner", "short-lived")
    sign_in(client, key)
    assert client.get("/app/").status_code == 200
    revoke_key(engine, info.id)
    assert client.get("/app/", follow_redirects=False).status_code == 303


def test_empty_database_pages(client: TestClient, keys: dict[str, str]) -> None:
    sign_in(client, keys["planner"])
    expected = {
        "/app/": "No data yet",
        "/app/replenishment": "No replenishment plan yet",
        "/app/schedule": "No production schedule yet",
        "/app/models": "No registered model yet",
        "/app/what-if": "No items loaded",
    }
    for path, text in expected.items():
        r = client.get(path)
        assert r.status_code == 200 and text in r.text, path
        assert "plotly.min.js" not in r.text, path
    r = client.get("/app/skus/NOPE")
    assert r.status_code == 404 and "SKU &#39;NOPE&#39; not found" in r.text


def test_seeded_pages(client: TestClient, engine: Engine, keys: dict[str, str]) -> None:
    ids = seed_sample(engine, n=8)
    sign_in(client, keys["planner"])
    for path in [*PAGES, "/app/skus/RAF-0002", f"/app/replenishment?plan={ids['plan_id']}&sort=sku&dir=asc"]:
        r = client.get(path)
        assert r.status_code == 200, path
        assert "{{" not in r.text and "None" not in r.text.replace("display:none", ""), path
    assert ids["plan_id"] in client.get("/app/").text
    assert "plotly.min.js" in client.get("/app/skus/RAF-0002").text
    search = client.get("/app/skus?q=raf-0002", follow_redirects=False)
    assert search.headers["location"] == "/app/skus/RAF-0002"
    assert "RAF-0008" in client.get("/app/skus?q=RAF-000").text
    assert client.get("/app/replenishment?plan=nope").status_code == 404


def test_downloads(client: TestClient, engine: Engine, keys: dict[str, str]) -> None:
    ids = seed_sample(engine, n=5)
    sign_in(client, keys["planner"])
    r = client.get(f"/app/plans/{ids['plan_id']}/replenishment.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == f'attachment; filename="{ids["plan_id"]}-replenishment.csv"'
    assert len(r.text.splitlines()) == 6
    r = client.get(f"/app/plans/{ids['plan_id']}/replenishment.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    r = client.get(f"/app/plans/{ids['schedule_plan_id']}/schedule.csv")
    assert r.status_code == 200 and len(r.text.splitlines()) == 7
    r = client.get(f"/app/plans/{ids['plan_id']}/lines.pdf")
    assert r.status_code == 404
    assert r.text == "download replenishment.csv, replenishment.xlsx, schedule.csv or schedule.xlsx"
    r = client.get("/app/plans/nope/replenishment.csv")
    assert r.status_code == 404 and r.text == "plan 'nope' not found; list plans with GET /v1/plans"


def test_approve(client: TestClient, engine: Engine, keys: dict[str, str]) -> None:
    ids = seed_sample(engine, n=4)
    sign_in(client, keys["planner"])
    url = f"/app/plans/{ids['plan_id']}/approve"
    r = client.post(url, data={"csrf": "forged"})
    assert r.status_code == 403 and r.text == "the form expired; reload the page and try again"
    token = csrf(client)
    r = client.post(url, data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert f"Plan {ids['plan_id']} approved by planner tester." in page
    assert 'id="approve"' not in page
    again = client.get(client.post(url, data={"csrf": token}, follow_redirects=False).headers["location"]).text
    assert "was already approved by &#39;planner tester&#39;" in again


def test_what_if_endpoint(client: TestClient, engine: Engine, keys: dict[str, str]) -> None:
    seed_sample(engine, n=4)
    sign_in(client, keys["planner"])
    token = csrf(client)
    body = {"sku": "RAF-0002", "service_target": 0.99}
    assert client.post("/app/what-if", json=body).status_code == 403
    r = client.post("/app/what-if", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 200
    result = r.json()["results"][0]
    assert result["scenario"]["service_target"] == pytest.approx(0.99)
    assert result["delta"]["safety_stock"] >= 0
    r = client.post("/app/what-if", json={"sku": "NOPE"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 404 and r.json() == {"detail": "SKU 'NOPE' not found; pick one from the replenishment list"}
    r = client.post("/app/what-if", json={"sku": "RAF-0002", "service_target": 1.5}, headers={"X-CSRF-Token": token})
    assert r.status_code == 422
    page = client.get("/app/what-if?sku=RAF-0002")
    assert page.status_code == 200 and 'value="RAF-0002"' in page.text
    assert client.get("/app/what-if?sku=NOPE").status_code == 404


def test_assets_and_api_untouched(client: TestClient, keys: dict[str, str]) -> None:
    js = client.get("/app/static/plotly.min.js")
    assert js.status_code == 200 and "immutable" in js.headers["cache-control"] and len(js.content) > 1_000_000
    assert client.get("/app/static/app.css").headers["cache-control"].startswith("public, max-age=31536000")
    assert client.get("/app/static/nope.css").status_code == 404
    assert client.get("/app/static/..%2Fsession.py").status_code == 404
    schema = client.get("/openapi.json").json()
    assert not [p for p in schema["paths"] if p.startswith("/app")]
    sign_in(client, keys["planner"])
    r = client.get("/healthz")
    assert r.status_code == 200 and "set-cookie" not in r.headers
