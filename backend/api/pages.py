"""Server-rendered pages outside the dashboard's static files: the sign-in page."""

from __future__ import annotations

import html
from pathlib import Path
from string import Template

from fastapi.responses import HTMLResponse

PAGES_DIR = Path(__file__).resolve().parent / "pages"
LOGIN_CSS = PAGES_DIR / "login.css"
_LOGIN = Template((PAGES_DIR / "login.html").read_text(encoding="utf-8"))


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this server, never another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(ch) < 32 for ch in value) or value.startswith("/api/"):
        return "/"
    return value[:2000]


def login_page(
    *, next_path: str | None = None, error: str | None = None, username: str = "", status: int = 200
) -> HTMLResponse:
    message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    body = _LOGIN.substitute(
        error=message,
        next=html.escape(safe_next(next_path), quote=True),
        username=html.escape(username[:64], quote=True),
    )
    # "same-origin", not the global "no-referrer": with that, browsers send `Origin: null`
    # on the form's POST, and the login route could not tell it from a cross-site one.
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}
    return HTMLResponse(body, status_code=status, headers=headers)
