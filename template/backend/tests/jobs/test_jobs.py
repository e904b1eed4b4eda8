"""Background jobs on the real queue: PostgreSQL when TEST_DATABASE_URL is set, else the in-memory
queue of the SQLite default. A job commits or rolls back with its write, runs once, is retried,
survives its worker being killed, and shows in the metrics."""

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import procrastinate
import pytest
from alembic import command
from alembic.config import Config
from prometheus_client import REGISTRY
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import jobs as accounts_jobs
from app.accounts.models import RefreshToken, User
from app.core.config import BACKEND_DIR, Jobs, Settings
from app.core.db import create_engine, create_sessionmaker, utcnow
from app.jobs import housekeeping
from app.jobs.queue import deferred, enqueue, measure_queue, open_queue, worker_options
from tests.conftest import SECRET_KEY, MakeClient, make_settings
from tests.jobs import tasks
from tests.utils import closed_port, register

pytestmark = pytest.mark.anyio

on_postgresql = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)"
)


@pytest.fixture
async def sessionmaker(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def queue(settings: Settings) -> AsyncIterator[procrastinate.App]:
    """The open queue (the in-memory one lives only this long: the test's jobs go in it)."""
    async with open_queue(settings) as opened:
        yield opened


@pytest.fixture
def run_jobs(
    queue: procrastinate.App, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        """Run every job that is due, in this process, then return."""
        await deferred()
        await queue.run_worker_async(
            **worker_options(settings, sessionmaker), wait=False, install_signal_handlers=False
        )

    return run


RunJobs = Callable[[], Awaitable[None]]


def jobs_total(task: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("jobs_total", {"task": task, "outcome": outcome}) or 0.0


def a_user() -> User:
    return User(email=f"{uuid.uuid4().hex}@example.com", hashed_password="x")


async def test_a_job_commits_or_rolls_back_with_its_write_and_runs_once(
    sessionmaker: async_sessionmaker[AsyncSession], run_jobs: RunJobs
) -> None:
    kept, dropped = f"kept-{uuid.uuid4()}", f"dropped-{uuid.uuid4()}"
    async with sessionmaker() as session:
        session.add(a_user())
        await enqueue(session, tasks.record, key=dropped)
        await session.rollback()
        session.add(a_user())
        await enqueue(session, tasks.record, key=kept)
        await session.commit()
    await run_jobs()
    await run_jobs()  # nothing is left to run a second time
    assert dropped not in tasks.RUNS
    assert len(tasks.RUNS[kept]) == 1


async def test_a_failing_job_is_retried_with_backoff_then_failed_and_counted(
    sessionmaker: async_sessionmaker[AsyncSession], run_jobs: RunJobs
) -> None:
    key, name = f"fails-{uuid.uuid4()}", tasks.always_fails.name
    before = {outcome: jobs_total(name, outcome) for outcome in ("retried", "failed", "done")}
    async with sessionmaker() as session:
        await enqueue(session, tasks.always_fails, key=key)
        await session.commit()
    # A retry waits 1 s: run the worker until the third try has come and gone.
    for _ in range(40):
        await run_jobs()
        if jobs_total(name, "failed") > before["failed"]:
            break
        await asyncio.sleep(0.25)
    runs = tasks.RUNS[key]
    assert len(runs) == 3
    assert all(later - earlier >= 0.9 for earlier, later in itertools.pairwise(runs))
    assert jobs_total(name, "retried") == before["retried"] + 2
    assert jobs_total(name, "failed") == before["failed"] + 1
    assert jobs_total(name, "done") == before["done"]


async def test_the_retry_settings_the_queue_opens_with_are_the_ones_jobs_retry_by(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """JOBS__RETRY_ATTEMPTS=1, JOBS__RETRY_BACKOFF_SECONDS=1: one retry, 1 s later (the tier's
    default retries more, seconds apart), then failed."""
    configured = settings.model_copy(
        update={"jobs": Jobs(retry_attempts=1, retry_backoff_seconds=1)}
    )
    key, name = f"configured-{uuid.uuid4()}", tasks.fails_as_configured.name
    failed = jobs_total(name, "failed")
    async with open_queue(configured) as opened:
        async with sessionmaker() as session:
            await enqueue(session, tasks.fails_as_configured, key=key)
            await session.commit()
        await deferred()
        options = worker_options(configured, sessionmaker)
        for _ in range(40):
            await opened.run_worker_async(**options, wait=False, install_signal_handlers=False)
            if jobs_total(name, "failed") > failed:
                break
            await asyncio.sleep(0.25)
    runs = tasks.RUNS[key]
    assert jobs_total(name, "failed") == failed + 1
    assert len(runs) == 2
    assert runs[1] - runs[0] >= 0.9


async def test_the_sqlite_default_runs_jobs_inside_the_api(
    make_client: MakeClient, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'dev.sqlite3'}"
    config = Config(str(BACKEND_DIR / "alembic.ini"))
    config.attributes["settings"] = make_settings(database_url=url)
    config.attributes["configure_logger"] = False
    await asyncio.to_thread(command.upgrade, config, "head")
    name = "app.accounts.jobs.welcome"
    before = jobs_total(name, "done")
    async with make_client(database_url=url, redis_url=None) as client:
        await register(client)  # enqueues the example job with the new user
        for _ in range(100):
            if jobs_total(name, "done") > before:
                break
            await asyncio.sleep(0.05)
    assert jobs_total(name, "done") == before + 1


async def test_expired_refresh_tokens_are_deleted_by_the_periodic_job(
    sessionmaker: async_sessionmaker[AsyncSession], run_jobs: RunJobs
) -> None:
    user = a_user()
    expired = RefreshToken(user_id=user.id, expires_at=utcnow() - timedelta(seconds=1))
    live = RefreshToken(user_id=user.id, expires_at=utcnow() + timedelta(days=1))
    async with sessionmaker() as session:
        session.add(user)
        await session.flush()
        session.add_all([expired, live])
        await enqueue(session, accounts_jobs.delete_expired_refresh_tokens, timestamp=0)
        await session.commit()
    await run_jobs()
    async with sessionmaker() as session:
        assert await session.get(RefreshToken, expired.id) is None
        assert await session.get(RefreshToken, live.id) is not None


@on_postgresql
async def test_finished_jobs_are_deleted_after_the_tier_s_retention(
    sessionmaker: async_sessionmaker[AsyncSession], run_jobs: RunJobs
) -> None:
    old, recent = f"old-{uuid.uuid4()}", f"recent-{uuid.uuid4()}"
    async with sessionmaker() as session:
        for key in (old, recent):
            await enqueue(session, tasks.record, key=key)
        await session.commit()
    await run_jobs()
    keep = timedelta(hours=Jobs().keep_finished_hours)
    async with sessionmaker() as session:
        # The old job finished longer ago than the retention.
        await session.exec(  # type: ignore[call-overload]
            text(
                "UPDATE procrastinate_events SET at = :at "
                "WHERE job_id IN (SELECT id FROM procrastinate_jobs WHERE args->>'key' = :key)"
            ),
            params={
                "at": utcnow() - keep - timedelta(hours=1),
                "key": old,
            },
        )
        await enqueue(session, housekeeping.delete_finished_jobs, timestamp=0)
        await session.commit()
    await run_jobs()
    async with sessionmaker() as session:
        rows = await session.exec(  # type: ignore[call-overload]
            text("SELECT args->>'key' FROM procrastinate_jobs WHERE args->>'key' IN (:a, :b)"),
            params={"a": old, "b": recent},
        )
        assert [key for (key,) in rows.all()] == [recent]


@on_postgresql
async def test_the_queue_s_depth_and_age_are_measured(
    sessionmaker: async_sessionmaker[AsyncSession], run_jobs: RunJobs
) -> None:
    async with sessionmaker() as session:
        await session.exec(text("DELETE FROM procrastinate_jobs WHERE status = 'todo'"))  # type: ignore[call-overload]
        for _ in range(2):
            await enqueue(session, tasks.record, key=f"waiting-{uuid.uuid4()}")
        await session.commit()
    await asyncio.sleep(0.2)
    await measure_queue(sessionmaker)
    waiting = REGISTRY.get_sample_value("jobs_waiting", {"queue": "default"})
    oldest = REGISTRY.get_sample_value("jobs_oldest_waiting_seconds", {"queue": "default"})
    assert waiting == 2
    assert oldest is not None and oldest >= 0.2
    await run_jobs()


@pytest.fixture
async def job_runs(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    """The table the slow test tasks write their phases to (not one of the app's tables)."""

    async def run(statement: str) -> None:
        async with sessionmaker() as session:
            await session.exec(text(statement))  # type: ignore[call-overload]
            await session.commit()

    await run("CREATE TABLE job_runs (key text, phase text)")
    yield
    await run("DROP TABLE job_runs")


def start_worker(
    settings: Settings, metrics_port: int, **environment: str
) -> subprocess.Popen[bytes]:
    """`python -m app.worker`, as the worker container runs it, with the test tasks imported."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "ENVIRONMENT": "test",
        "SECRET_KEY": SECRET_KEY,
        "API_HOST": "127.0.0.1",
        "METRICS_PORT": str(metrics_port),
        # A worker silent for 2 s is dead; the others look every 0.5 s.
        "JOBS__HEARTBEAT_SECONDS": "0.5",
        "JOBS__STALLED_AFTER_SECONDS": "2",
        "JOBS__CHECK_SECONDS": "0.5",
        "JOBS__POLL_SECONDS": "0.5",
        **environment,
    }
    code = "import tests.jobs.tasks; from app.worker import main; main()"
    return subprocess.Popen([sys.executable, "-c", code], cwd=BACKEND_DIR, env=env)  # noqa: S603


async def phases(sessionmaker: async_sessionmaker[AsyncSession], key: str) -> list[str]:
    async with sessionmaker() as session:
        rows = await session.exec(  # type: ignore[call-overload]
            text("SELECT phase FROM job_runs WHERE key = :key ORDER BY phase DESC"),
            params={"key": key},
        )
        return [phase for (phase,) in rows.all()]


async def job_status(sessionmaker: async_sessionmaker[AsyncSession], key: str) -> str | None:
    async with sessionmaker() as session:
        rows = await session.exec(  # type: ignore[call-overload]
            text("SELECT status FROM procrastinate_jobs WHERE args->>'key' = :key"),
            params={"key": key},
        )
        row = rows.first()
        return row[0] if row else None


async def eventually(check, expected, seconds: float = 30.0):  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.2)):
        if (value := await check()) == expected:
            return value
        await asyncio.sleep(0.2)
    return await check()


@on_postgresql
@pytest.mark.parametrize(
    ("task", "after_restart", "status"),
    [
        (tasks.slow, ["started", "started", "finished"], "succeeded"),
        (tasks.slow_at_most_once, ["started"], "failed"),
    ],
    ids=["at-least-once", "at-most-once"],
)
async def test_a_job_killed_with_its_worker_is_run_again_or_failed(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    task,  # type: ignore[no-untyped-def]
    after_restart: list[str],
    status: str,
    job_runs: None,
) -> None:
    key = f"killed-{uuid.uuid4()}"
    async with sessionmaker() as session:
        await enqueue(session, task, key=key)
        await session.commit()
    first = start_worker(settings, closed_port())
    try:
        assert await eventually(lambda: phases(sessionmaker, key), ["started"]) == ["started"]
    finally:
        first.send_signal(signal.SIGKILL)  # mid-job: no chance to finish or to say goodbye
        first.wait()
    port = closed_port()
    second = start_worker(settings, port)
    try:
        assert await eventually(lambda: job_status(sessionmaker, key), status) == status
        await asyncio.sleep(0.5)
        assert sorted(await phases(sessionmaker, key), reverse=True) == after_restart
        async with httpx.AsyncClient() as client:
            exposition = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
        outcome = "retried" if status == "succeeded" else "failed"
        assert f'jobs_total{{outcome="{outcome}",task="{task.name}"}} 1.0' in exposition
    finally:
        second.send_signal(signal.SIGTERM)  # a graceful stop: exits 0
        assert second.wait(timeout=30) == 0


async def listening(sessionmaker: async_sessionmaker[AsyncSession], name: str) -> int:
    """How many LISTEN connections the worker called `name` holds."""
    async with sessionmaker() as session:
        rows = await session.exec(  # type: ignore[call-overload]
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name = :name AND query ILIKE 'LISTEN%'"
            ),
            params={"name": name},
        )
        return rows.one()[0]


class Restartable:
    """A TCP proxy in front of PostgreSQL that restarts as the server does: `restart()` cuts
    every connection and refuses new ones for a moment."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.port = closed_port()
        self.connections: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> "Restartable":
        self.server = await asyncio.start_server(self.accept, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.down()

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self.connections |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
            sink.close()

        await asyncio.gather(
            pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True
        )

    async def down(self) -> None:
        if self.server is not None:
            self.server.close()
        for connection in self.connections:
            connection.transport.abort()
        self.connections.clear()

    async def restart(self, seconds: float) -> None:
        await self.down()
        await asyncio.sleep(seconds)
        await self.__aenter__()


@on_postgresql
async def test_the_worker_exits_non_zero_when_the_database_restarts(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """PostgreSQL restarts: the worker's LISTEN connection drops and cannot connect again at
    once. procrastinate then stops the worker as if it were asked to; it must exit non-zero, to
    be restarted (compose's restart policy, Kubernetes) and to show as a failure, not a stop."""
    if not settings.jobs.listen_notify:
        # Behind PgBouncer's transaction pooling a LISTEN does not hold a server connection.
        pytest.skip("this tier's worker polls: it holds no LISTEN connection")
    url = make_url(settings.database_url)
    name = f"worker-{uuid.uuid4().hex[:12]}"
    async with Restartable(url.host or "127.0.0.1", url.port or 5432) as database:
        proxied = url.set(host="127.0.0.1", port=database.port).render_as_string(False)
        worker = start_worker(
            settings.model_copy(update={"database_url": proxied}),
            closed_port(),
            PGAPPNAME=name,
            JOBS__LISTEN_NOTIFY="true",
        )
        try:
            assert await eventually(lambda: listening(sessionmaker, name), 1) == 1
            await database.restart(seconds=2)
            assert await asyncio.to_thread(worker.wait, 30) != 0
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


async def test_the_worker_refuses_the_sqlite_default_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}"}
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.worker", cwd=BACKEND_DIR, env=env, stderr=subprocess.PIPE
    )
    _, stderr = await worker.communicate()
    assert worker.returncode == 1
    assert stderr.decode().strip().startswith("Nothing to do: with the SQLite default")
    assert len(stderr.decode().strip().splitlines()) == 1
