"""`python -m app`: serve the API as production does (the Docker image's command).

uvicorn with WEB_CONCURRENCY workers (the tier's default) on API_HOST and PORT (or API_PORT), JSON
logs, proxy headers trusted from FORWARDED_ALLOW_IPS, and Prometheus multiprocess mode: /metrics, on
METRICS_PORT and nowhere a client reaches, adds up every worker. `python -m app healthcheck` is the
image's HEALTHCHECK: exit 0 while the API answers /health/live on its port.
"""

import logging
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

import uvicorn
from pydantic import ValidationError

from app.core.config import Settings, get_settings
from app.observability.logs import configure_logging

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


def serve_metrics(host: str, port: int) -> None:
    """/metrics for Prometheus on its own port, from this parent process (a thread): every worker's
    samples added up. The API's port does not serve it in production."""
    # Imported only now: PROMETHEUS_MULTIPROC_DIR must be set before prometheus_client loads.
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(port, addr=host, registry=registry)


def main() -> None:
    settings = settings_or_exit()  # invalid settings stop here, before any worker starts
    if sys.argv[1:] == ["healthcheck"]:
        healthcheck(settings)
        return
    configure_logging(settings.log_level)
    # Here, where the processes start: `make dev` starts one, whatever WEB_CONCURRENCY says.
    if settings.web_concurrency > 1 and not settings.redis_url:
        logging.getLogger("app").warning(
            "REDIS_URL is unset with %s worker processes: each caches and rate-limits on its "
            "own, so one may serve what another has invalidated. Set REDIS_URL.",
            settings.web_concurrency,
        )
    prepare_metrics_directory()
    serve_metrics(settings.api_host, settings.metrics_port)
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
