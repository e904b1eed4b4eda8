"""The job queue: procrastinate on PostgreSQL. A job is enqueued in the transaction of the write
that causes it: a rollback drops it, a commit keeps it even if every process dies a moment later.

With the SQLite default there is no PostgreSQL: jobs go to an in-memory queue once the write
commits, and a worker inside the API process runs them, so `make dev` needs no service.

Jobs run at least once: a job whose worker died mid-run runs again on another worker. Make a task
safe to run twice (check whether its work is already done first), or mark it `at_most_once`:
such a job is then failed, for a person to look at, instead of run a second time.
"""

import asyncio
import json
import logging
import pkgutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import procrastinate
from procrastinate import BaseRetryStrategy, JobContext, RetryDecision, RetryStrategy
from procrastinate.exceptions import ProcrastinateException
from procrastinate.jobs import Job, Status
from procrastinate.tasks import Task
from procrastinate.testing import InMemoryConnector
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import Jobs, Settings
from app.observability import metrics

logger = logging.getLogger(__name__)

# Every other module in app/jobs/ and every package's jobs.py (app/accounts/jobs.py) holds tasks:
# a worker imports them all. Found by name, so this package imports no domain.
APP = Path(__file__).parents[1]
TASK_MODULES = [
    f"app.jobs.{module.name}"
    for module in pkgutil.iter_modules([str(Path(__file__).parent)])
    if module.name != "queue"
] + [f"app.{path.parent.name}.jobs" for path in sorted(APP.glob("*/jobs.py"))]

# The connector is swapped for the real one when the queue opens (open_queue).
queue = procrastinate.App(connector=InMemoryConnector(), import_paths=TASK_MODULES)


class SettingsRetry(BaseRetryStrategy):
    """Settings.jobs' retry policy: retried up to retry_attempts times, waiting
    retry_backoff_seconds ** (attempt + 1) seconds in between. Tasks are declared at import, before
    any settings are read: open_queue sets the policy from the settings the process runs with."""

    def __init__(self, jobs: Jobs) -> None:
        self.use(jobs)

    def use(self, jobs: Jobs) -> None:
        self.strategy = RetryStrategy(
            max_attempts=jobs.retry_attempts, exponential_wait=jobs.retry_backoff_seconds
        )

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        return self.strategy.get_retry_decision(exception=exception, job=job)


# The retry of every app task (`@queue.task(retry=DEFAULT_RETRY)`); a task may pass its own.
DEFAULT_RETRY = SettingsRetry(Jobs())

# The queue's own connections per worker: LISTEN holds one; the others are held for one query.
QUEUE_CONNECTIONS = 4

# Names of the tasks that must never run twice (see at_most_once).
AT_MOST_ONCE: set[str] = set()

# procrastinate's own function, so a job is inserted (and its NOTIFY sent at commit) exactly as
# procrastinate's defer would, but through the app's connection and inside its transaction.
DEFER = text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW("
    ":queue_name, :task_name, :priority, :lock, :queueing_lock, CAST(:args AS jsonb), "
    "CAST(:scheduled_at AS timestamptz))::procrastinate_job_to_defer_v1])) AS id"
)
# Jobs waiting to run (due now), and how long the oldest has waited, per queue.
WAITING = text(
    "SELECT job.queue_name, count(*) AS waiting, "
    "EXTRACT(EPOCH FROM now() - min(coalesce(job.scheduled_at, deferred.at))) AS oldest "
    "FROM procrastinate_jobs job JOIN procrastinate_events deferred "
    "ON deferred.job_id = job.id AND deferred.type = 'deferred' "
    "WHERE job.status = 'todo' AND (job.scheduled_at IS NULL OR job.scheduled_at <= now()) "
    "GROUP BY job.queue_name"
)


def at_most_once(task: Task) -> Task:
    """Mark a task (put above `@queue.task`, which must not retry it) as one that must never run
    twice: if its worker dies mid-run, the job is failed instead of run again."""
    AT_MOST_ONCE.add(task.name)
    return task


def session_for(context: JobContext) -> AsyncSession:
    """A database session for a task that takes the job context (`pass_context=True`)."""
    sessionmaker: async_sessionmaker[AsyncSession] = context.additional_context["sessionmaker"]
    return sessionmaker()


async def enqueue(session: AsyncSession, task: Task, /, **task_kwargs: Any) -> None:
    """Enqueue `task(**task_kwargs)` in `session`'s transaction: it runs after the commit, and
    never if the transaction rolls back. Arguments must be JSON values."""
    job = task.configure().make_new_job(**task_kwargs)
    if session.bind.dialect.name == "postgresql":
        await session.exec(
            DEFER,  # type: ignore[call-overload]
            params={
                "queue_name": job.queue,
                "task_name": job.task_name,
                "priority": job.priority,
                "lock": job.lock,
                "queueing_lock": job.queueing_lock,
                "args": json.dumps(job.task_kwargs),
                "scheduled_at": job.scheduled_at,
            },
        )
        return
    # In-memory queue: hold the job until the session commits (dropped on rollback).
    sync_session = session.sync_session
    if "jobs_pending" not in sync_session.info:
        sync_session.info["jobs_pending"] = []
        event.listen(sync_session, "after_commit", _defer_pending)
        event.listen(sync_session, "after_rollback", _drop_pending)
    sync_session.info["jobs_pending"].append(job)


_deferring: set[asyncio.Task[Any]] = set()


def _defer_pending(session: Session) -> None:
    jobs, session.info["jobs_pending"] = session.info["jobs_pending"], []
    if jobs:
        deferring = asyncio.get_running_loop().create_task(
            queue.job_manager.batch_defer_jobs_async(jobs)
        )
        _deferring.add(deferring)  # held until done: the loop keeps only a weak reference
        deferring.add_done_callback(_deferring.discard)


async def deferred() -> None:
    """Wait until the in-memory queue holds every job committed so far (tests need this)."""
    await asyncio.gather(*_deferring)


def _drop_pending(session: Session) -> None:
    session.info["jobs_pending"] = []


@asynccontextmanager
async def open_queue(settings: Settings) -> AsyncIterator[procrastinate.App]:
    """The queue, connected: to PostgreSQL (psycopg, a small pool), or in memory for SQLite."""
    connector: Any
    if settings.is_sqlite:
        connector = InMemoryConnector()
    else:
        connector = procrastinate.PsycopgConnector(
            conninfo=settings.libpq_database_url,
            min_size=1,
            max_size=QUEUE_CONNECTIONS,
            # Behind PgBouncer's transaction pooling, no server-side prepared statements.
            kwargs={} if settings.db_prepared_statement_cache else {"prepare_threshold": None},
        )
    # The worker decides retries with the policy of the settings it was started with.
    DEFAULT_RETRY.use(settings.jobs)
    with queue.replace_connector(connector):
        async with queue.open_async():
            yield queue


def worker_options(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> dict[str, Any]:
    """How a worker runs, from Settings.jobs; tasks reach the database through `sessionmaker`."""
    jobs = settings.jobs
    return {
        "concurrency": jobs.concurrency,
        "fetch_job_polling_interval": jobs.poll_seconds,
        # The SQLite default's in-memory queue is woken at once: no PgBouncer stands in the way.
        "listen_notify": jobs.listen_notify or settings.is_sqlite,
        "update_heartbeat_interval": jobs.heartbeat_seconds,
        "stalled_worker_timeout": jobs.stalled_after_seconds,
        "shutdown_graceful_timeout": jobs.shutdown_grace_seconds,
        "additional_context": {"sessionmaker": sessionmaker, "settings": settings},
        "worker_middleware": [count_outcome],
    }


async def count_outcome(
    call_next: Callable[[], Awaitable[Any]], context: JobContext, worker: Any
) -> Any:
    """jobs_total{task, outcome}: done, retried (failed, will run again) or failed (for good)."""
    task_name = context.job.task_name
    try:
        result = await call_next()
    except Exception as error:
        task = context.app.tasks.get(task_name)
        retried = task is not None and task.get_retry_exception(error, context.job) is not None
        metrics.JOBS.labels(task_name, "retried" if retried else "failed").inc()
        raise
    metrics.JOBS.labels(task_name, "done").inc()
    return result


async def recover_stalled_jobs(settings: Settings) -> None:
    """Jobs whose worker stopped sending heartbeats (killed, its machine gone): run them again,
    or fail them if their task is at_most_once."""
    manager = queue.job_manager
    stalled = await manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.jobs.stalled_after_seconds
    )
    for job in stalled:
        try:
            if job.task_name in AT_MOST_ONCE:
                await manager.finish_job(job, status=Status.FAILED, delete_job=False)
                outcome = "failed"
            else:
                await manager.retry_job(job)
                outcome = "retried"
        except ProcrastinateException:
            continue  # another worker got to it first
        metrics.JOBS.labels(job.task_name, outcome).inc()
        logger.warning(
            "job %s (%s) was running on a worker that stopped: %s",
            job.id,
            job.task_name,
            "run again" if outcome == "retried" else "failed, as its task is at_most_once",
        )


async def measure_queue(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """jobs_waiting and jobs_oldest_waiting_seconds per queue, for /metrics and the alerts."""
    async with sessionmaker() as session:
        rows = (await session.exec(WAITING)).all()  # type: ignore[call-overload]
    metrics.JOBS_WAITING.clear()
    metrics.JOBS_OLDEST_WAITING.clear()
    for queue_name, waiting, oldest in rows:
        metrics.JOBS_WAITING.labels(queue_name).set(waiting)
        metrics.JOBS_OLDEST_WAITING.labels(queue_name).set(max(float(oldest), 0.0))


async def watch(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Forever, every jobs.check_seconds: recover stalled jobs and measure the queue."""
    while True:
        try:
            await recover_stalled_jobs(settings)
            await measure_queue(sessionmaker)
        except Exception:
            logger.exception("checking the job queue failed; trying again")
        await asyncio.sleep(settings.jobs.check_seconds)
