"""Liveness and what this server is connected to."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from backend.api.deps import DbDep, SettingsDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(db: DbDep, settings: SettingsDep) -> dict[str, str]:
    with db.read() as session:
        session.execute(text("SELECT 1"))
    return {
        "status": "ok",
        "database": db.engine.dialect.name,
        "broker": "embedded" if settings.embedded_broker else settings.broker_url.split("://")[0],
    }
