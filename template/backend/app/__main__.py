"""`python -m app`: serve the API as production does (the Docker image's command).

uvicorn with WEB_CONCURRENCY workers (the tier's default) on API_HOST and PORT (or API_PORT), JSON
logs, proxy headers trusted from FORWARDED_ALLOW_IPS, and Prometheus multiprocess mode so /metrics
adds up every worker. `python -m app healthcheck` is the image's HEALTHCHECK: exit 0 while the API
answers /health/live on that port.
"""

import os
import sys
import tempfile
import urllib.request
from pathlib import Path

import uvicorn
from pydantic import ValidationError

from app.core.config import Settings, get_settings
from app.core.logs import configure_logging

# Read by prometheus_client when it is first imported: set here, before any worker imports it.
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_metrics_directory() -> None:
    """Workers share their samples through *.db files in PROMETHEUS_MULTIPROC_DIR; a fresh start
    must not add up the samples of an earlier run, so those are deleted before any worker starts."""
    directory = Path(os.environ.get(MULTIPROC_DIR_ENV) or tempfile.mkdtemp(prefix="prometheus-"))
    directory.mkdir(parents=True, exist_ok=True)
    for samples in directory.glob("*.db"):
        samples.unlink()
    os.environ[MULTIPROC_DIR_ENV] = str(directory)


def settings_or_exit() -> Settings:
    """The settings, or exit 1 with one line per refused setting (never a traceback, never the
    refused value: it may be a secret)."""
    try:
        return get_settings()
    except ValidationError as error:
        for problem in error.errors():
            reason = problem["msg"].removeprefix("Value error, ")
            print(f"Refusing to start: {reason}", file=sys.stderr)
        raise SystemExit(1) from None


def healthcheck(settings: Settings) -> None:
    url = f"http://127.0.0.1:{settings.api_port}/health/live"
    with urllib.request.urlopen(url, timeout=2):
        pass


def main() -> None:
    settings = settings_or_exit()  # invalid settings stop here, before any worker starts
    if sys.argv[1:] == ["healthcheck"]:
        healthcheck(settings)
        return
    configure_logging(settings.log_level)
    prepare_metrics_directory()
    uvicorn.run(
        "app.main:app",
        host=settings.api_host,
        port=settings.api_port,
        workers=settings.web_concurrency,
        proxy_headers=True,
        log_config=None,
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
