"""`python -m app.worker`: run background jobs (app/jobs/) from the PostgreSQL queue.

Runs jobs.concurrency jobs at once, serves its own /metrics on METRICS_PORT (jobs done, retried,
failed, queue depth and age), retries the jobs of workers that died, and on SIGTERM lets running
jobs finish (up to jobs.shutdown_grace_seconds). With the SQLite default there is nothing to run:
jobs run inside the API process.
"""

import asyncio
import sys

from prometheus_client import start_http_server

from app.__main__ import settings_or_exit
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.logs import configure_logging
from app.jobs.queue import open_queue, watch, worker_options


async def run(settings: Settings) -> None:
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with open_queue(settings) as queue:
            watcher = asyncio.create_task(watch(settings, sessionmaker))
            try:
                await queue.run_worker_async(**worker_options(settings, sessionmaker))
            finally:
                watcher.cancel()
    finally:
        await engine.dispose()


def main() -> None:
    settings = settings_or_exit()
    if settings.is_sqlite:
        print(
            "Nothing to do: with the SQLite default, jobs run inside the API process. Set "
            "DATABASE_URL to a PostgreSQL database to run them in a worker.",
            file=sys.stderr,
        )
        raise SystemExit(1)
    configure_logging(settings.log_level)
    start_http_server(settings.metrics_port, addr=settings.api_host)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
