"""`make dev` only: the API also serves the PWA in ../frontend, so one process runs everything.

Compose, the browser tests and production serve it with nginx (nginx/nginx.conf) instead: this
is mounted only with ENVIRONMENT=local and a frontend/ directory beside backend/ (the API image has
none).
"""

import base64
import hashlib
import re
from pathlib import Path, PurePosixPath

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, Response

from app.core.config import Settings

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
API_PREFIXES = ("api/", "health/", "metrics", "docs", "redoc", "openapi.json")
MEDIA_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.DOTALL)


def content_security_policy(index_html: str) -> str:
    """The policy nginx sends (nginx/security-headers.conf), with the import map's hash computed
    here, so an edited import map keeps working in development."""
    import_map = IMPORT_MAP.search(index_html)
    digest = hashlib.sha256(import_map.group(1).encode() if import_map else b"").digest()
    return (
        "default-src 'self'; "
        f"script-src 'self' 'sha256-{base64.b64encode(digest).decode()}'; "
        "style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


def public_file(relative: str) -> Path:
    """The file under frontend/ that `relative` names, if it is one the browser may fetch."""
    path = (FRONTEND_DIR / relative).resolve()
    allowed = any(path.is_relative_to(FRONTEND_DIR / public) for public in PUBLIC_PATHS)
    if not allowed or not path.is_file():
        raise HTTPException(status_code=404)
    return path


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

    @app.get("/static/{build}/{relative:path}", include_in_schema=False)
    async def static_file(build: str, relative: str) -> FileResponse:
        path = public_file(relative)
        return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix), headers=headers)

    # No service worker in development: it would serve yesterday's files from its cache.
    # `make e2e` and the web image run it behind nginx.
    @app.get("/sw.js", include_in_schema=False)
    async def no_service_worker() -> Response:
        return Response(status_code=404, headers=headers)

    @app.get("/robots.txt", include_in_schema=False)
    async def robots_txt() -> FileResponse:
        return FileResponse(FRONTEND_DIR / "robots.txt", media_type="text/plain", headers=headers)

    @app.get("/{page:path}", include_in_schema=False)
    async def app_page(page: str) -> FileResponse:
        # A path with a file extension names a file, and one not served above is a 404, as in nginx.
        if page.startswith(API_PREFIXES) or PurePosixPath(page).suffix:
            raise HTTPException(status_code=404)
        return FileResponse(index, media_type="text/html", headers=headers)
