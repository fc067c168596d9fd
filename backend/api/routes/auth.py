"""/api/auth: sign in (JSON or the login page's form) for a session cookie, sign out, whoami."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException

from backend.api.auth import COOKIE, PrincipalDep, client_address, same_origin
from backend.api.pages import login_page, safe_next
from backend.api.ratelimit import LoginLimiter
from backend.core.config import Settings
from backend.db.session import Database
from backend.services import users
from backend.services.access import Principal

router = APIRouter(prefix="/auth", tags=["auth"])
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_LOGIN_BODY = 8 * 1024


class LoginBody(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    id: int | None
    name: str | None
    is_admin: bool
    method: Literal["off", "token", "session"]
    auth_required: bool


def me_of(principal: Principal, settings: Settings) -> Me:
    return Me(
        id=principal.user_id,
        name=principal.name,
        is_admin=principal.is_admin,
        method=principal.method,
        auth_required=settings.auth_required,
    )


def _problem(status_code: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)


_LOGIN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["username", "password"],
    "properties": {
        "username": {"type": "string", "minLength": 1, "maxLength": 64},
        "password": {"type": "string", "minLength": 1, "maxLength": 1024},
    },
}
_LOGIN_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _LOGIN_SCHEMA},
            "application/x-www-form-urlencoded": {
                "schema": {
                    **_LOGIN_SCHEMA,
                    "properties": {
                        **_LOGIN_SCHEMA["properties"],
                        "next": {"type": "string", "description": "Path to go to after"},
                    },
                }
            },
        },
    }
}


@router.post(
    "/login",
    response_model=Me,
    openapi_extra=_LOGIN_DOC,
    responses={
        303: {"description": "Signed in from the form: on to `next`"},
        400: {"description": "A body that cannot be parsed"},
        401: {"description": "Wrong user name or password"},
        403: {"description": "Cross-origin form"},
        413: {"description": "Body too large"},
        422: {"description": "Missing or malformed fields"},
        429: {"description": "Too many failed attempts; see Retry-After"},
    },
)
async def login(request: Request) -> Response:
    """Check a user name and password; answer with an HttpOnly session cookie.

    JSON bodies get JSON answers; the login page's form gets a redirect to ``next`` (or the
    page again, with the reason). Failed attempts are limited per client and name (429)."""
    settings: Settings = request.app.state.settings
    db: Database = request.app.state.db
    limiter: LoginLimiter = request.app.state.login_limiter
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_form = ctype in FORM_TYPES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_LOGIN_BODY:
        return _problem(413, "the login request is too large")
    if not same_origin(request, settings):
        return _problem(403, "cross-origin login refused")
    data: Any
    if is_form:
        try:
            form = await request.form(max_files=0, max_fields=8)
        except HTTPException:  # malformed, or too many fields
            return login_page(next_path="/", error="Enter a user name and a password.", status=422)
        data = {k: v for k, v in form.items() if isinstance(v, str)}
        await form.close()
    else:
        try:
            data = json.loads(await request.body() or b"null")
        except (ValueError, UnicodeDecodeError):
            return _problem(422, [{"loc": ["body"], "msg": "invalid JSON", "type": "json_invalid"}])
    next_path = safe_next(data.get("next") if isinstance(data, dict) else None)
    try:
        body = LoginBody.model_validate(data)
    except ValidationError as exc:
        if is_form:
            return login_page(
                next_path=next_path, error="Enter a user name and a password.", status=422
            )
        detail = [
            {"loc": ["body", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        return _problem(422, detail)
    client = client_address(request)
    wait = limiter.retry_after(client, body.username)
    if wait is not None:
        message = f"too many failed sign-ins; try again in {wait} s"
        headers = {"Retry-After": str(wait)}
        if is_form:
            page = login_page(
                next_path=next_path, error=message, username=body.username, status=429
            )
            page.headers.update(headers)
            return page
        return _problem(429, message, headers)
    principal = await run_in_threadpool(users.check_password, db, body.username, body.password)
    if principal is None or principal.user_id is None:
        limiter.failed(client, body.username)
        message = "wrong user name or password"
        if is_form:
            return login_page(
                next_path=next_path,
                error=message.capitalize() + ".",
                username=body.username,
                status=401,
            )
        return _problem(401, message)
    limiter.succeeded(client, body.username)
    value = await run_in_threadpool(
        users.create_session, db, principal.user_id, settings.session_ttl_s
    )
    response: Response
    if is_form:
        response = RedirectResponse(next_path, status_code=status.HTTP_303_SEE_OTHER)
    else:
        response = JSONResponse(me_of(principal, settings).model_dump())
    response.set_cookie(
        COOKIE,
        value,
        max_age=settings.session_ttl_s,
        path="/",
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
    )
    return response


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={303: {"description": "Signed out from a form: on to the login page"}},
)
async def logout(request: Request) -> Response:
    """End this browser's session (its cookie); bearer tokens are revoked with the CLI."""
    db: Database = request.app.state.db
    value = request.cookies.get(COOKIE)
    if value:
        await run_in_threadpool(users.end_session, db, value)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    response: Response
    if ctype in FORM_TYPES:
        response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    else:
        response = Response(status_code=status.HTTP_204_NO_CONTENT)
    settings: Settings = request.app.state.settings
    response.delete_cookie(
        COOKIE, path="/", httponly=True, secure=settings.cookie_secure, samesite="lax"
    )
    return response


@router.get("/me", response_model=Me)
def me(principal: PrincipalDep, request: Request) -> Me:
    """Who the credentials name (with auth off: the single user, ``method`` "off")."""
    return me_of(principal, request.app.state.settings)
