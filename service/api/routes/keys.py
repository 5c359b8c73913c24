"""`/v1/keys`: API keys (admin only). The new key is in the creation response and nowhere else, ever."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from service.api.deps import AdminKey, EngineDep
from service.auth import Role, create_key, list_keys, revoke_key

router = APIRouter(prefix="/v1/keys", tags=["keys"])


class KeyCreate(BaseModel):
    role: Role
    name: str = Field(default="", max_length=200)


class KeyOut(BaseModel):
    id: str
    name: str
    role: str
    created_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


class KeyCreated(KeyOut):
    key: str = Field(description="The API key. Store it now: it is not shown again.")


@router.post("", status_code=201, response_model=KeyCreated, summary="Create an API key")
def create(body: KeyCreate, engine: EngineDep, _: AdminKey) -> KeyCreated:
    info, key = create_key(engine, body.role, body.name)
    return KeyCreated(id=info.id, name=info.name, role=info.role, key=key)


@router.get("", response_model=list[KeyOut], summary="List API keys (no secrets)")
def index(engine: EngineDep, _: AdminKey) -> list[KeyOut]:
    return [KeyOut.model_validate(row) for row in list_keys(engine)]


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key")
def revoke(key_id: str, engine: EngineDep, _: AdminKey) -> None:
    if not revoke_key(engine, key_id):
        raise HTTPException(status_code=404, detail=f"no active key {key_id!r}; list keys with GET /v1/keys")
