"""How many jobs one worker runs per second: enqueue no-op jobs in one transaction, then run a
worker in this process until the queue is empty.

    cd backend && uv run python -m loadtest.jobs --jobs 2000

Uses DATABASE_URL (PostgreSQL: the SQLite default has no queue to measure) and the tier's
jobs.concurrency. Measures the queue itself (fetch, run, record the outcome), not any task's work.
"""

import argparse
import asyncio
import time

from app.core.config import Settings, get_settings
from app.core.db import create_engine, create_sessionmaker
from app.jobs.queue import enqueue, open_queue, queue, worker_options


@queue.task(queue="loadtest")
async def noop() -> None:
    """The job being measured: does nothing."""


async def measure(settings: Settings, jobs: int) -> float:
    """Run `jobs` no-op jobs through one worker; return jobs per second."""
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with sessionmaker() as session:
            for _ in range(jobs):
                await enqueue(session, noop)
            await session.commit()
        async with open_queue(settings) as opened:
            started = time.perf_counter()
            await opened.run_worker_async(
                **worker_options(settings, sessionmaker),
                queues=["loadtest"],
                wait=False,
                install_signal_handlers=False,
            )
            return jobs / (time.perf_counter() - started)
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    options = parser.parse_args()
    settings = get_settings()
    if settings.is_sqlite:
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database: SQLite has no job queue.")
    rate = asyncio.run(measure(settings, options.jobs))
    print(
        f"{options.jobs} no-op jobs: {rate:.0f} jobs/s "
        f"(one worker, concurrency {settings.jobs.concurrency})"
    )


if __name__ == "__main__":
    main()
