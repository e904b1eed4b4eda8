"""Prometheus metrics. With several worker processes (PROMETHEUS_MULTIPROC_DIR set, as
`python -m app` does), every worker writes its samples to that directory and /metrics adds them up.
"""

import asyncio
import contextlib
import glob
import os
import re

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy.pool import Pool, QueuePool

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests by method, route template and status code.",
    ["method", "route", "status"],
)
REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0),
)
REQUESTS_SHED = Counter(
    "http_requests_shed_total",
    "Requests answered 503 at once: the worker had max_in_flight requests already, or too many "
    "logins waiting for password hashing.",
)
CACHE_HITS = Counter("cache_hits_total", "Cached reads answered from the cache.", ["resource"])
CACHE_MISSES = Counter("cache_misses_total", "Cached reads served by the database.", ["resource"])
CACHE_COPIES = Counter(
    "cache_copy_reads_total",
    "Cache keys read from the worker's own copies of Redis's entries (hit) or from Redis (miss).",
    ["outcome"],
)
RATE_LIMIT_REJECTIONS = Counter(
    "rate_limit_rejections_total", "Requests refused with 429, by limit.", ["scope"]
)
REDIS_FAIL_OPEN = Counter(
    "redis_fail_open_total",
    "Operations answered without Redis because it failed or is being skipped after a failure.",
    ["component"],
)
DB_POOL_CONNECTIONS = Gauge(
    "db_pool_connections",
    "Database connections held by the pool, by state (in_use, idle).",
    ["state"],
    multiprocess_mode="livesum",
)
DB_POOL_CAPACITY = Gauge(
    "db_pool_capacity",
    "Most connections the pool may open (size + max_overflow), summed over workers.",
    multiprocess_mode="livesum",
)
DEPENDENCY_UP = Gauge(
    "dependency_up",
    "1 when the latest check reached the dependency (database, redis), else 0. Each worker "
    "checks every dependency_check_seconds, and on every /health/ready.",
    ["dependency"],
    multiprocess_mode="livemostrecent",
)
DB_POOL_TIMEOUTS = Counter(
    "db_pool_timeouts_total",
    "Requests answered 503 because no database connection was free within the pool timeout.",
)

# Background jobs (app/jobs/): counted by the process that runs them, the worker (its own
# /metrics on METRICS_PORT) or, with the SQLite default, the API.
JOBS = Counter(
    "jobs",
    "Jobs run, by task and outcome: done, retried (failed, will run again), failed (for good).",
    ["task", "outcome"],
)
JOBS_WAITING = Gauge(
    "jobs_waiting",
    "Jobs due to run that no worker has started yet, by queue (measured by the worker).",
    ["queue"],
    multiprocess_mode="livemax",
)
JOBS_OLDEST_WAITING = Gauge(
    "jobs_oldest_waiting_seconds",
    "How long the oldest job due to run has waited, by queue (measured by the worker).",
    ["queue"],
    multiprocess_mode="livemax",
)


async def watch_pool(pool: Pool, *, capacity: int, interval_seconds: float = 1.0) -> None:
    """Keep this worker's pool gauges current, sampled every `interval_seconds` until cancelled."""
    DB_POOL_CAPACITY.set(capacity)
    if not isinstance(pool, QueuePool):  # an in-memory SQLite database has no pool to watch
        return
    in_use, idle = DB_POOL_CONNECTIONS.labels("in_use"), DB_POOL_CONNECTIONS.labels("idle")
    while True:
        in_use.set(pool.checkedout())
        idle.set(pool.checkedin())
        await asyncio.sleep(interval_seconds)


def forget_pool() -> None:
    """Zero this process's pool gauges when its engine is disposed."""
    DB_POOL_CAPACITY.set(0)
    DB_POOL_CONNECTIONS.labels("in_use").set(0)
    DB_POOL_CONNECTIONS.labels("idle").set(0)


def exposition() -> tuple[bytes, str]:
    """The Prometheus text for /metrics: all workers' samples in multiprocess mode."""
    directory = os.environ.get(MULTIPROC_DIR_ENV)
    if not directory:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def forget_dead_workers() -> None:
    """Drop live gauges of worker processes that died (a restarted worker gets a new pid)."""
    directory = os.environ.get(MULTIPROC_DIR_ENV)
    if not directory:
        return
    for path in glob.glob(os.path.join(directory, "gauge_live*_*.db")):
        match = re.search(r"_(\d+)\.db$", path)
        if match and not _alive(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):
                multiprocess.mark_process_dead(int(match.group(1)), directory)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
