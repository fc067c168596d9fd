"""Who is calling: a bearer token, else the dashboard's session cookie; 401 when neither.

``require_principal`` guards every router except health and login/logout (``create_app``
wires it, and a test walks ``app.routes`` so no route is forgotten). With ``auth=off`` the
caller is the single user, who sees everything.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, status

from backend.core.config import Settings
from backend.db.session import Database
from backend.services import users
from backend.services.access import Principal

COOKIE = "nasboard_session"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def unauthorized(detail: str = "authentication required") -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": 'Bearer realm="nasboard"'},
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def same_origin(request: Request, settings: Settings) -> bool:
    """A browser's Origin (sent on every POST) names this server or an allowed origin.

    The session cookie is SameSite=Lax, but a page on another port of the same host is
    "same site"; this closes that gap for cookie-authenticated writes (CSRF).
    """
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin.rstrip("/") in settings.cors_origins:
        return True
    netloc = urlsplit(origin).netloc.lower()
    # Behind a reverse proxy the public host arrives as X-Forwarded-Host (a page cannot add
    # that header to a cross-origin request without a CORS preflight, which is refused).
    hosts = {request.headers.get("host", ""), request.headers.get("x-forwarded-host", "")}
    return bool(netloc) and netloc in {h.strip().lower() for h in hosts if h}


def resolve(request: Request) -> Principal | None:
    """The caller named by the request's credentials, or None. Raises 401 for a bad token."""
    db: Database = request.app.state.db
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise unauthorized("use 'Authorization: Bearer <token>'")
        principal = users.principal_for_token(db, value.strip())
        if principal is None:
            raise unauthorized("invalid, expired or revoked token")
        return principal
    cookie = request.cookies.get(COOKIE)
    if cookie:
        return users.principal_for_session(db, cookie)
    return None


def require_principal(request: Request) -> Principal:
    settings: Settings = request.app.state.settings
    if not settings.auth_required:
        principal = Principal.single_user()
    else:
        found = resolve(request)
        if found is None:
            raise unauthorized()
        if (
            found.method == "session"
            and request.method in UNSAFE
            and not same_origin(request, settings)
        ):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-origin request refused")
        principal = found
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(require_principal)]
