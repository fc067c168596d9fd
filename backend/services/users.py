"""Accounts: users, API tokens and dashboard sessions; turning a secret into a Principal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.security import (
    SESSION_PREFIX,
    TOKEN_PREFIX,
    hash_password,
    new_secret,
    secret_hash,
    verify_password,
)
from backend.db.base import utcnow
from backend.db.models import ApiToken, User, UserSession
from backend.db.session import Database
from backend.services.access import Principal
from backend.services.errors import Conflict, NotFound

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# How often a token's last_used_at is written (not on every request).
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


def _principal(user: User, method: str) -> Principal:
    return Principal(
        user_id=user.id,
        name=user.name,
        is_admin=user.is_admin,
        method="token" if method == "token" else "session",
    )


def create_user(
    db: Database, name: str, *, password: str | None = None, is_admin: bool = False
) -> int:
    if not USER_NAME.match(name):
        raise ValueError(
            "a user name is 1-64 letters, digits or . _ @ - (starting with a letter or digit)"
        )
    hashed = hash_password(password) if password is not None else None
    try:
        with db.write() as session:
            user = User(name=name, password_hash=hashed, is_admin=is_admin, disabled=False)
            session.add(user)
            session.flush()
            return user.id
    except IntegrityError as exc:
        raise Conflict(f"user {name!r} already exists") from exc


def _user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"user {name!r} not found")
    return user


def set_password(db: Database, name: str, password: str) -> None:
    hashed = hash_password(password)
    with db.write() as session:
        user = _user(session, name)
        user.password_hash = hashed
        # A new password ends every dashboard session of the user.
        session.execute(delete(UserSession).where(UserSession.user_id == user.id))


def set_disabled(db: Database, name: str, disabled: bool) -> None:
    with db.write() as session:
        user = _user(session, name)
        user.disabled = disabled
        if disabled:
            session.execute(delete(UserSession).where(UserSession.user_id == user.id))


def list_users(db: Database) -> list[User]:
    with db.read() as session:
        return list(session.scalars(select(User).order_by(User.id)))


def create_token(
    db: Database, user_name: str, *, name: str = "", expires_in: timedelta | None = None
) -> tuple[int, str]:
    """A new API token for ``user_name``: (its id, the token). Only its sha256 is stored."""
    token = new_secret(TOKEN_PREFIX)
    with db.write() as session:
        user = _user(session, user_name)
        row = ApiToken(
            user_id=user.id,
            name=name[:100],
            token_hash=secret_hash(token),
            prefix=token[: len(TOKEN_PREFIX) + 6],
            expires_at=utcnow() + expires_in if expires_in else None,
        )
        session.add(row)
        session.flush()
        return row.id, token


def list_tokens(db: Database, user_name: str | None = None) -> list[TokenInfo]:
    with db.read() as session:
        stmt = select(ApiToken, User.name).join(User, User.id == ApiToken.user_id)
        if user_name is not None:
            stmt = stmt.where(User.name == user_name)
        return [
            TokenInfo(
                id=t.id,
                user=u,
                name=t.name,
                prefix=t.prefix,
                created_at=t.created_at,
                expires_at=t.expires_at,
                last_used_at=t.last_used_at,
                revoked_at=t.revoked_at,
            )
            for t, u in session.execute(stmt.order_by(ApiToken.id)).tuples()
        ]


def revoke_token(db: Database, *, token_id: int | None = None, token: str | None = None) -> int:
    """Revoke one token (by id, or by the token itself); returns the id. Idempotent."""
    with db.write() as session:
        if token is not None:
            row = session.scalar(select(ApiToken).where(ApiToken.token_hash == secret_hash(token)))
        else:
            row = session.get(ApiToken, token_id) if token_id is not None else None
        if row is None:
            raise NotFound("no such token")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        return row.id


def revoke_user_tokens(db: Database, user_name: str) -> int:
    """Revoke every live token of a user; returns how many."""
    with db.write() as session:
        user = _user(session, user_name)
        result = session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        return int(getattr(result, "rowcount", 0) or 0)


def principal_for_token(db: Database, token: str) -> Principal | None:
    """The owner of a live bearer token, or None (unknown, revoked, expired, disabled user)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    now = utcnow()
    with db.read() as session:
        found = session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == secret_hash(token))
        ).first()
        if found is None:
            return None
        row, user = found
        if row.revoked_at is not None or user.disabled:
            return None
        if row.expires_at is not None and row.expires_at <= now:
            return None
        principal = _principal(user, "token")
        stale = row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY
        token_id = row.id
    if stale:
        with db.write() as session:
            session.execute(
                update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
            )
    return principal


def check_password(db: Database, name: str, password: str) -> Principal | None:
    """The user if ``password`` is theirs (and they may log in); else None. Always one scrypt."""
    with db.read() as session:
        user = session.scalar(select(User).where(User.name == name)) if len(name) <= 64 else None
        stored = user.password_hash if user is not None else None
        ok = verify_password(password, stored)
        if user is None or not ok or user.disabled:
            return None
        return _principal(user, "session")


def create_session(db: Database, user_id: int, ttl_s: int) -> str:
    """A new dashboard session; returns the cookie value (stored only as its sha256)."""
    value = new_secret(SESSION_PREFIX)
    now = utcnow()
    with db.write() as session:
        # Expired sessions are dropped here, so the table does not grow without bound.
        session.execute(delete(UserSession).where(UserSession.expires_at <= now))
        session.add(
            UserSession(
                user_id=user_id,
                token_hash=secret_hash(value),
                created_at=now,
                expires_at=now + timedelta(seconds=ttl_s),
            )
        )
    return value


def principal_for_session(db: Database, value: str) -> Principal | None:
    if not value.startswith(SESSION_PREFIX) or len(value) > 200:
        return None
    with db.read() as session:
        found = session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.token_hash == secret_hash(value))
        ).first()
        if found is None:
            return None
        row, user = found
        if row.expires_at <= utcnow() or user.disabled:
            return None
        return _principal(user, "session")


def end_session(db: Database, value: str) -> None:
    with db.write() as session:
        session.execute(delete(UserSession).where(UserSession.token_hash == secret_hash(value)))


def has_users(db: Database) -> bool:
    with db.read() as session:
        return session.scalar(select(User.id).limit(1)) is not None
