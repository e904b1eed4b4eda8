"""`make dev` only: the API also serves the PWA in ../frontend, so one process runs everything.

Compose, the browser tests and production serve it with nginx (nginx/nginx.conf) instead: this
is mounted only with ENVIRONMENT=local and a frontend/ directory beside backend/ (the API image has
none).
"""

import base64
import hashlib
import mimetypes
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from app.core.config import Settings
from app.http.security_headers import frontend_csp

FRONTEND_DIR = Path(__file__).resolve().parents[2] / "frontend"
# The app's own public files, and the packages the import map in index.html points at.
PUBLIC_PATHS = (
    "manifest.webmanifest",
    "src",
    "icons",
    "node_modules/lit",
    "node_modules/lit-html",
    "node_modules/lit-element",
    "node_modules/@lit/reactive-element",
)
# Paths the API owns: an unknown one is a 404, not the app's index.html.
API_PREFIXES = ("api/", "health/", "metrics", "docs", "redoc", "openapi.json", "dev/")
MEDIA_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
for _suffix, _media_type in MEDIA_TYPES.items():  # whatever the system's mime.types says
    mimetypes.add_type(_media_type, _suffix)
IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.DOTALL)


def content_security_policy(index_html: str) -> str:
    """The policy nginx sends (nginx/security-headers.conf), with the import map's hash computed
    here, so an edited import map keeps working in development."""
    import_map = IMPORT_MAP.search(index_html)
    digest = hashlib.sha256(import_map.group(1).encode() if import_map else b"").digest()
    return frontend_csp(f"'sha256-{base64.b64encode(digest).decode()}'")


class PublicFiles(StaticFiles):
    """frontend/'s files the browser may fetch (PUBLIC_PATHS), with `headers`; anything else
    under frontend/ (its tests, package files, other packages) is a 404."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__(directory=FRONTEND_DIR)
        self.headers = headers

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        # `path` is already normalized: no "..", OS separators.
        public = any(path == name or path.startswith(name + os.sep) for name in PUBLIC_PATHS)
        return super().lookup_path(path) if public else ("", None)

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(self.headers)
        return response


def mount_frontend(app: FastAPI, settings: Settings) -> None:
    """Serve frontend/ beside the API. Call it after every router: it adds a catch-all route."""
    index = FRONTEND_DIR / "index.html"
    if settings.environment != "local" or not index.is_file():
        return
    # Nothing is cached in development: every reload shows the files as they are now.
    headers = {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": content_security_policy(index.read_text()),
    }

    app.mount("/static/{build}", PublicFiles(headers), name="static")

    # No service worker in development: it would serve yesterday's files from its cache.
    # `make e2e` and the web image run it behind nginx.
    @app.get("/sw.js", include_in_schema=False)
    async def no_service_worker() -> Response:
        return Response(status_code=404, headers=headers)

    @app.get("/robots.txt", include_in_schema=False)
    async def robots_txt() -> FileResponse:
        return FileResponse(FRONTEND_DIR / "robots.txt", media_type="text/plain", headers=headers)

    # HEAD too: a link checker or an uptime probe asks for / without its body.
    @app.api_route("/{page:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def app_page(page: str) -> FileResponse:
        # A path with a file extension names a file, and one not served above is a 404, as in nginx.
        if page.startswith(API_PREFIXES) or PurePosixPath(page).suffix:
            raise HTTPException(status_code=404)
        return FileResponse(index, media_type="text/html", headers=headers)
