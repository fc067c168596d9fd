"""The FastAPI application: REST under /api, the dashboard's static files everywhere else."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import plotly
from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from backend.api import errors
from backend.api.auth import COOKIE, require_principal, resolve
from backend.api.pages import LOGIN_CSS, login_page, safe_next
from backend.api.ratelimit import LoginLimiter
from backend.api.routes import (
    auth,
    candidates,
    datasets,
    events,
    health,
    models,
    searches,
    workers,
)
from backend.api.security import BodyLimit, SecurityHeaders
from backend.core.config import Settings, get_settings
from backend.core.queue import get_queue
from backend.db.session import get_database

UPLOAD_PATHS = frozenset({"/api/datasets"})
FRONTEND_DIR = Path(__file__).resolve().parents[2] / "frontend"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# Versioned, so browsers keep it for good and never revalidate 4.8 MB of JavaScript; a cached
# script also gets V8's code cache, which bench/dashboard.py shows to matter (Plotly ready
# ~0.2 s after navigation instead of ~0.9 s once a browser has run it twice).
PLOTLY_URL = f"/static/vendor/plotly-{plotly.__version__}.min.js"
IMMUTABLE = "public, max-age=31536000, immutable"


PUBLIC_API = frozenset({"/api/health", "/api/auth/login", "/api/auth/logout"})


def _document_security(app: FastAPI) -> None:
    """Name the credentials in the OpenAPI document: a bearer token or the session cookie,
    on every operation but the public ones."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = plain()
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "nasboard token"},
            "session": {"type": "apiKey", "in": "cookie", "name": COOKIE},
        }
        for path, operations in schema.get("paths", {}).items():
            if path in PUBLIC_API:
                continue
            for operation in operations.values():
                operation["security"] = [{"bearer": []}, {"session": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="nasboard",
        version="0.1.0",
        description="Run and watch neural architecture searches.",
    )
    app.state.settings = settings
    app.state.db = get_database(settings.resolved_database_url)
    app.state.queue = get_queue(settings)
    app.state.login_limiter = LoginLimiter(settings.login_max_failures, settings.login_window_s)
    errors.install(app)
    # Public: liveness (the compose healthcheck) and signing in/out. Everything else needs a
    # caller (401 without one when auth is required); tests walk app.routes to hold this.
    app.include_router(health.router, prefix="/api")
    app.include_router(auth.router, prefix="/api")
    guarded = [Depends(require_principal)]
    for module in (datasets, searches, models, candidates, events, workers):
        app.include_router(
            module.router, prefix="/api", dependencies=guarded, responses=errors.GUARDED
        )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, exempt=UPLOAD_PATHS)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID"],
            expose_headers=["Location", "ETag", "X-Checksum-Sha256", "Retry-After"],
        )
    app.add_middleware(SecurityHeaders, hsts=settings.cookie_secure)
    if settings.auth_required:
        _document_security(app)

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    @app.get(PLOTLY_URL, include_in_schema=False)
    def plotly_js_versioned() -> FileResponse:
        return FileResponse(
            PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": IMMUTABLE}
        )

    app.mount("/static", StaticFiles(directory=FRONTEND_DIR), name="static")

    # The page names the versioned Plotly URL (charts.js reads it; index.html preloads it).
    index_html = (FRONTEND_DIR / "index.html").read_text(encoding="utf-8")
    index_html = index_html.replace("/static/plotly.min.js", PLOTLY_URL)

    def signed_in(request: Request) -> bool:
        if not settings.auth_required:
            return True
        try:
            return resolve(request) is not None
        except Exception:  # a bad token on a page request: sign in again
            return False

    @app.get("/", include_in_schema=False)
    @app.get("/searches/{rest:path}", include_in_schema=False)
    @app.get("/new", include_in_schema=False)
    def page(request: Request, rest: str = "") -> Response:
        # Every view has its own URL; the page's router reads location.pathname. The page is
        # static; the data behind it is what needs a login, but a visitor is sent there first.
        if not signed_in(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(
                f"/login?{urlencode({'next': safe_next(target)})}", status_code=303
            )
        return HTMLResponse(index_html)

    @app.get("/login", include_in_schema=False)
    def login(request: Request, next: str = "/") -> Response:
        if settings.auth_required and signed_in(request):
            return RedirectResponse(safe_next(next), status_code=303)
        return login_page(next_path=next)

    @app.get("/login.css", include_in_schema=False)
    def login_css() -> FileResponse:
        return FileResponse(LOGIN_CSS, media_type="text/css")

    return app
