"""`python -m app`: serve the API as production does (the Docker image's command).

uvicorn with WEB_CONCURRENCY workers (the tier's default), JSON logs, proxy headers trusted from
FORWARDED_ALLOW_IPS, and Prometheus multiprocess mode so /metrics adds up every worker.
"""

import os
import tempfile
from pathlib import Path

import uvicorn

from app.core.config import get_settings
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


def main() -> None:
    settings = get_settings()  # invalid settings stop here, before any worker starts
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
