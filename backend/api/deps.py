"""Annotated dependencies shared by the routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.core.queue import TaskQueue
from backend.db.session import Database


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_queue_dep(request: Request) -> TaskQueue:
    queue: TaskQueue = request.app.state.queue
    return queue


def get_session(db: Annotated[Database, Depends(get_db)]) -> Iterator[Session]:
    with db.read() as session:
        yield session


DbDep = Annotated[Database, Depends(get_db)]
SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
QueueDep = Annotated[TaskQueue, Depends(get_queue_dep)]

# Ids and counters fit the database's 32-bit INTEGER columns; a larger number in a path or a
# query is a 422, never an overflow deep in the driver (a 500).
MAX_INT = 2**31 - 1
SearchId = Annotated[int, Path(ge=1, le=MAX_INT, description="A search's id")]
CandidateId = Annotated[int, Path(ge=1, le=MAX_INT, description="A candidate's id")]
Offset = Annotated[int, Query(ge=0, le=MAX_INT)]
