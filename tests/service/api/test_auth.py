"""API keys: hashed storage, both header forms, 401/403 with exact details, role ladder, revocation, CLI."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from service.api.deps import UNAUTHORIZED
from service.auth import ROLES, KeyVerifier, create_key, role_allows
from service.db.tables import ApiKey
from tests.service.api.conftest import auth


def test_keys_are_stored_hashed_never_in_clear(engine: Engine) -> None:
    info, key = create_key(engine, "erp", "ERP")
    with engine.connect() as conn:
        row = conn.execute(select(ApiKey.key_hash, ApiKey.prefix, ApiKey.name).where(ApiKey.id == info.id)).one()
    secret = key.split("_", 2)[2]
    assert row.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (row.key_hash, row.prefix, row.name)


def test_role_ladder() -> None:
    assert [r for r in ROLES if role_allows(r, "planner")] == ["planner", "scientist", "admin"]
    assert not role_allows("erp", "planner")
    assert not role_allows("nobody", "erp")


def test_verifier_rejects_tampered_and_malformed_keys(engine: Engine) -> None:
    _, key = create_key(engine, "planner")
    verifier = KeyVerifier(engine, ttl=0)
    assert verifier.verify(key) is not None
    assert verifier.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert verifier.verify("lp_") is None
    assert verifier.verify("not-a-key") is None
    assert verifier.verify("lp_" + "x" * 500) is None


def test_missing_and_invalid_keys_get_401(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"X-API-Key": "lp_abc_def"}, {"Authorization": "Basic x"}):
        response = client.get("/v1/keys", headers=headers)
        assert response.status_code == 401, headers
        assert response.json() == {"detail": UNAUTHORIZED}


def test_both_header_forms_work(client: TestClient, keys: dict[str, str]) -> None:
    assert client.get("/v1/keys", headers=auth(keys["admin"])).status_code == 200
    assert client.get("/v1/keys", headers={"X-API-Key": keys["admin"]}).status_code == 200


def test_wrong_role_gets_403_naming_roles(client: TestClient, keys: dict[str, str]) -> None:
    response = client.get("/v1/keys", headers=auth(keys["scientist"]))
    assert response.status_code == 403
    assert response.json() == {"detail": "this needs a key of role 'admin' or above; this key's role is 'scientist'"}


def test_admin_creates_lists_and_revokes_keys(client: TestClient, keys: dict[str, str]) -> None:
    admin = auth(keys["admin"])
    created = client.post("/v1/keys", json={"role": "erp", "name": "SAP"}, headers=admin)
    assert created.status_code == 201
    body = created.json()
    assert body["role"] == "erp" and body["key"].startswith("lp_")
    listed = client.get("/v1/keys", headers=admin).json()
    assert any(k["id"] == body["id"] for k in listed)
    assert all("key" not in k and "key_hash" not in k for k in listed)
    assert client.get("/v1/keys", headers=auth(body["key"])).status_code == 403  # known key, too low a role
    assert client.delete(f"/v1/keys/{body['id']}", headers=admin).status_code == 204
    assert client.get("/v1/keys", headers=auth(body["key"])).status_code == 401
    assert client.delete(f"/v1/keys/{body['id']}", headers=admin).status_code == 404


def test_unknown_role_is_422(client: TestClient, keys: dict[str, str]) -> None:
    response = client.post("/v1/keys", json={"role": "root"}, headers=auth(keys["admin"]))
    assert response.status_code == 422


def test_cli_creates_a_key_that_works(engine: Engine, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from service.cli.apps import app
    from service.db import engine as engine_module
    from service.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    from service.db.engine import schema_of

    if schema_of(engine):
        monkeypatch.setenv("LEANPLAN_DATABASE_SCHEMA", schema_of(engine) or "")
    monkeypatch.setenv("LEANPLAN_HOME", str(tmp_path))
    get_settings.cache_clear()
    engine_module.get_engine.cache_clear()
    try:
        result = CliRunner().invoke(app, ["keys", "create", "--role", "erp", "--name", "cli"])
        assert result.exit_code == 0, result.output
        key = result.stdout.strip().splitlines()[0]
        assert KeyVerifier(engine, ttl=0).verify(key) is not None
        bad = CliRunner().invoke(app, ["keys", "create", "--role", "boss"])
        assert bad.exit_code == 2 and "unknown role 'boss'" in bad.output
    finally:
        get_settings.cache_clear()
        engine_module.get_engine.cache_clear()
