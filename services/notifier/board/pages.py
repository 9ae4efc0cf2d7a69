"""The board's HTML pages and the files they load, all shipped inside the package (no CDN, no build step)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

HERE = Path(__file__).resolve().parent
_TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True), auto_reload=False
)


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def _asset(name: str, media_type: str) -> Asset:
    body = (HERE / "static" / name).read_bytes()
    return Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:16] + '"')


# Read once at import: a fixed list of names, so a request can never name a path outside it.
STATIC = {
    "board.css": _asset("board.css", "text/css; charset=utf-8"),
    "board.js": _asset("board.js", "text/javascript; charset=utf-8"),
    "favicon.svg": _asset("favicon.svg", "image/svg+xml"),
}


def board(*, viewer: str) -> HTMLResponse:
    """The board's shell; its script fills it from the stream."""
    return HTMLResponse(
        _TEMPLATES.get_template("board.html").render(viewer=viewer, version=STATIC["board.js"].etag.strip('"'))
    )


def sign_in(*, message: str | None = None, status_code: int = 200) -> HTMLResponse:
    """The form that asks for an ops key (and says why the last one was refused)."""
    html = _TEMPLATES.get_template("login.html").render(message=message, version=STATIC["board.css"].etag.strip('"'))
    return HTMLResponse(html, status_code=status_code)
