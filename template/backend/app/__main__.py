"""`python -m app`: serve the API as production does (the Docker image's command).

uvicorn with WEB_CONCURRENCY workers (the tier's default), JSON logs, proxy headers trusted from
FORWARDED_ALLOW_IPS, and Prometheus multiprocess mode so /metrics adds up every worker.
"""

import os
import shutil
import tempfile
from pathlib import Path

import uvicorn

from app.core.config import get_settings
from app.core.logs import configure_logging

# Read by prometheus_client when it is first imported: set here, before any worker imports it.
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_metrics_directory() -> None:
    """Workers share their samples through files in PROMETHEUS_MULTIPROC_DIR; a fresh start must
    not add up samples of an earlier run, so the directory is emptied before any worker starts."""
    directory = Path(os.environ.get(MULTIPROC_DIR_ENV) or tempfile.mkdtemp(prefix="prometheus-"))
    if directory.exists():
        for entry in directory.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    directory.mkdir(parents=True, exist_ok=True)
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
