"""Tasks only the tests enqueue. A worker started by a test imports this module first."""

import asyncio
import time

from procrastinate import JobContext, RetryStrategy
from sqlalchemy import text

from app.jobs.queue import DEFAULT_RETRY, at_most_once, queue, session_for

# What the in-process tasks did, by key: the test reads it after the worker ran.
RUNS: dict[str, list[float]] = {}

RECORD_PHASE = text("INSERT INTO job_runs (key, phase) VALUES (:key, :phase)")


@queue.task
async def record(key: str) -> None:
    RUNS.setdefault(key, []).append(time.monotonic())


# Retried twice, waiting 1 ** (attempt + 1) = 1 s in between, then failed for good.
@queue.task(retry=RetryStrategy(max_attempts=2, exponential_wait=1))
async def always_fails(key: str) -> None:
    RUNS.setdefault(key, []).append(time.monotonic())
    raise RuntimeError("this job always fails")


# Retried as the settings the queue was opened with say (Settings.jobs), like the app's tasks.
@queue.task(retry=DEFAULT_RETRY)
async def fails_as_configured(key: str) -> None:
    RUNS.setdefault(key, []).append(time.monotonic())
    raise RuntimeError("this job always fails")


async def _slow(context: JobContext, key: str) -> None:
    """Writes 'started', takes 2 s, writes 'finished': time for a test to kill the worker."""
    for phase, pause in (("started", 2.0), ("finished", 0.0)):
        async with session_for(context) as session:
            await session.exec(RECORD_PHASE, params={"key": key, "phase": phase})  # type: ignore[call-overload]
            await session.commit()
        await asyncio.sleep(pause)


@queue.task(pass_context=True)
async def slow(context: JobContext, key: str) -> None:
    await _slow(context, key)


@at_most_once
@queue.task(pass_context=True)
async def slow_at_most_once(context: JobContext, key: str) -> None:
    await _slow(context, key)
