"""Cache invalidations that Redis did not take (down, or stalled, as a write committed): each is
kept as a job, so it outlives the API process that lost it, and done again until Redis takes it.
Until then, other workers, and a process started after it, may read what the write replaced."""

import logging
import math

from procrastinate import BaseRetryStrategy, JobContext, RetryDecision
from procrastinate.jobs import Job
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.cache import Cache, RedisBreaker, RedisStore, ReplayLater, create_redis
from app.core.config import CacheTTLSeconds, Settings
from app.jobs.queue import enqueue, queue

logger = logging.getLogger(__name__)

# The longest a replay waits between tries: how long entries may stay stale after Redis is back.
REPLAY_MAX_WAIT_SECONDS = 10
# Breaks the worker's replays off Redis while it keeps failing (every job's try is then instant).
_BREAKER = RedisBreaker(retry_seconds=1.0)


class InvalidationNotTaken(Exception):
    """Redis did not take the replayed invalidation (the job is retried)."""


class UntilExpired(BaseRetryStrategy):
    """Retries InvalidationNotTaken, waiting 1, 2, 4 ... seconds, at most REPLAY_MAX_WAIT_SECONDS,
    until the waits span `longest_ttl_seconds`: by then, whatever the write changed has expired."""

    def __init__(self, longest_ttl_seconds: int) -> None:
        # The first waits are shorter than the longest one: a few more tries make up for them.
        self.max_attempts = math.ceil(longest_ttl_seconds / REPLAY_MAX_WAIT_SECONDS) + 4

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if not isinstance(exception, InvalidationNotTaken) or job.attempts >= self.max_attempts:
            return None
        return RetryDecision(retry_in={"seconds": min(2**job.attempts, REPLAY_MAX_WAIT_SECONDS)})


# Below other jobs (emails): a long Redis outage leaves many of these waiting.
@queue.task(
    pass_context=True,
    retry=UntilExpired(max(CacheTTLSeconds().model_dump().values())),
    priority=-1,
)
async def replay_invalidation(context: JobContext, owner: str, keys: list[str]) -> None:
    """The invalidation `Cache.invalidate(owner, *keys)` could not make; Redis tells every API
    worker's copies (tracking.py) once it takes it."""
    settings: Settings = context.additional_context["settings"]
    if settings.redis_url is None:
        return
    client = create_redis(settings)
    try:
        cache = Cache(RedisStore(client, _BREAKER, "cache"), settings.cache_ttl_seconds)
        if not await cache.replay(owner, keys):
            raise InvalidationNotTaken(f"Redis did not take the invalidation of {owner}'s entries")
    finally:
        await client.aclose()


def replay_later(sessionmaker: async_sessionmaker[AsyncSession]) -> ReplayLater:
    """The Cache's `replay_later`: a replay_invalidation job, committed on its own (the write
    that caused it has committed already)."""

    async def defer(owner: str, keys: list[str]) -> None:
        try:
            async with sessionmaker() as session:
                await enqueue(session, replay_invalidation, owner=owner, keys=keys)
                await session.commit()
        except (SQLAlchemyError, OSError):
            # The write has committed: answer it. Only this worker replays the invalidation now.
            logger.exception("could not keep a lost cache invalidation in the job queue")

    return defer
