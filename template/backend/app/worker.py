"""`python -m app.worker`: run background jobs (app/jobs/) from the PostgreSQL queue.

Runs jobs.concurrency jobs at once, serves its own /metrics on METRICS_PORT (jobs done, retried,
failed, queue depth and age), retries the jobs of workers that died, and on SIGTERM lets running
jobs finish (up to jobs.shutdown_grace_seconds). Stopped by anything else (PostgreSQL restarting
under it), it exits with status 1, to be restarted. `python -m app.worker healthcheck` exits 0
while it serves that port (the containers' health check). With the SQLite default there is
nothing to run: jobs run inside the API process.
"""

import asyncio
import logging
import signal
import sys
import urllib.request
from typing import Any

import procrastinate
from prometheus_client import start_http_server

from app.__main__ import settings_or_exit
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.jobs.queue import open_queue, watch, worker_options
from app.observability.logs import configure_logging
from app.observability.tracing import init_observability, shutdown_observability

logger = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class WorkerStopped(Exception):
    """The worker stopped without being asked to."""


async def run(settings: Settings) -> None:
    # Tasks' own queries: one connection per job running at once is all they can use.
    jobs = settings.jobs
    pool = settings.db_pool.model_copy(update={"size": jobs.concurrency, "max_overflow": 0})
    engine = create_engine(settings.model_copy(update={"db_pool": pool}))
    sessionmaker = create_sessionmaker(engine)
    try:
        async with open_queue(settings) as queue:
            watcher = asyncio.create_task(watch(settings, sessionmaker))
            try:
                await work(queue, worker_options(settings, sessionmaker))
            finally:
                watcher.cancel()
    finally:
        await engine.dispose()


async def work(queue: procrastinate.App, options: dict[str, Any]) -> None:
    """Run jobs until SIGTERM or SIGINT (running jobs get jobs.shutdown_grace_seconds to finish).

    procrastinate also stops a worker when one of its parts fails, such as the LISTEN connection
    that cannot connect again while PostgreSQL restarts, and returns as if it had been asked to:
    that raises WorkerStopped here, so the process exits non-zero and is restarted.
    """
    loop = asyncio.get_running_loop()
    worker = asyncio.create_task(queue.run_worker_async(**options, install_signal_handlers=False))
    asked = False

    def stop() -> None:
        nonlocal asked
        asked = True
        worker.cancel()  # procrastinate stops gracefully when its run is cancelled

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop)
    try:
        await worker
    except asyncio.CancelledError:
        if not asked:
            raise
        return
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
    raise WorkerStopped("the job worker stopped on its own (the error is logged above)")


def healthcheck(settings: Settings) -> None:
    """`python -m app.worker healthcheck`: exit 0 while the worker serves its metrics port."""
    url = f"http://127.0.0.1:{settings.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=2):
        pass


def main() -> None:
    settings = settings_or_exit()
    if sys.argv[1:] == ["healthcheck"]:
        healthcheck(settings)
        return
    if settings.is_sqlite:
        print(
            "Nothing to do: with the SQLite default, jobs run inside the API process. Set "
            "DATABASE_URL to a PostgreSQL database to run them in a worker.",
            file=sys.stderr,
        )
        raise SystemExit(1)
    configure_logging(settings.log_level)
    # Errors to Sentry and traces over OTLP when configured; before the engine, so it is traced.
    init_observability(settings, "worker")
    start_http_server(settings.metrics_port, addr=settings.api_host)
    try:
        asyncio.run(run(settings))
    except WorkerStopped as error:
        logger.error("%s: exiting with status 1, to be restarted", error)
        raise SystemExit(1) from None
    finally:
        shutdown_observability()


if __name__ == "__main__":
    main()
