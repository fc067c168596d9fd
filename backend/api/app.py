"""The FastAPI application: REST under /api, the dashboard's static files everywhere else."""

from __future__ import annotations

from pathlib import Path

import plotly
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from backend.api import errors
from backend.api.routes import candidates, datasets, events, health, models, searches
from backend.core.config import Settings, get_settings
from backend.core.queue import get_queue
from backend.db.session import get_database

FRONTEND_DIR = Path(__file__).resolve().parents[2] / "frontend"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


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
    errors.install(app)
    for module in (health, datasets, searches, models, candidates, events):
        app.include_router(module.router, prefix="/api")

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=FRONTEND_DIR), name="static")

    index = FRONTEND_DIR / "index.html"

    @app.get("/", include_in_schema=False)
    @app.get("/searches/{rest:path}", include_in_schema=False)
    @app.get("/new", include_in_schema=False)
    def page(rest: str = "") -> FileResponse:
        # Every view has its own URL; the page's router reads location.pathname.
        return FileResponse(index, media_type="text/html")

    return app
