"""Map domain errors to HTTP answers that name what is wrong."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from backend.services.errors import Conflict, Invalid, NotFound, TooMany


class Problem(BaseModel):
    """An error: a sentence, or (422) a list of ``{loc, msg, type}`` naming the fields."""

    detail: str | list[dict[str, Any]]


def _doc(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


# Answers any guarded route may give, for the OpenAPI document.
GUARDED: dict[int | str, dict[str, Any]] = {
    400: _doc("The request body cannot be parsed (not JSON, a broken form)"),
    401: _doc("No valid credentials (a bearer token or the session cookie)"),
    403: _doc("A cookie-authenticated write from another origin"),
    404: _doc("Not found, or not the caller's"),
    413: _doc("The request body is too large"),
}
CONFLICT: dict[int | str, dict[str, Any]] = {409: _doc("The object's state forbids this now")}
LIMITED: dict[int | str, dict[str, Any]] = {429: _doc("A per-user limit is reached")}


def json_safe(value: Any) -> Any:
    """What JSON can carry: non-finite floats (a body may hold ``Infinity``) become strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _unprocessable(_: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler, but an echoed Infinity or NaN must not turn a 422 into a 500.
        return JSONResponse({"detail": json_safe(jsonable_encoder(exc.errors()))}, status_code=422)

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(Invalid)
    async def _invalid(_: Request, exc: Invalid) -> JSONResponse:
        detail = [{"loc": exc.loc, "msg": exc.message, "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(TooMany)
    async def _too_many(_: Request, exc: TooMany) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=429)
