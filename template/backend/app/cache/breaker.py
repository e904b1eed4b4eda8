"""When to stop asking Redis: a circuit breaker shared by a process's Redis stores."""

import logging
import time

logger = logging.getLogger(__name__)


class RedisBreaker:
    """Shared by every RedisStore of a process: once `threshold` calls in a row have failed,
    Redis is skipped for `retry_seconds`, then the next call tries again. redis-py has already
    retried each failed call on a fresh connection (see create_redis), so the dead sockets a Redis
    restart leaves in the pool cost nothing here: only a Redis that keeps failing opens it.
    Failures are logged at most once per `log_seconds`."""

    def __init__(self, retry_seconds: float, threshold: int = 3, log_seconds: float = 30) -> None:
        self.retry_seconds = retry_seconds
        self.threshold = threshold
        self.log_seconds = log_seconds
        self._failures = 0
        self._skip_until = 0.0
        self._last_logged = float("-inf")
        self._unlogged = 0

    def open(self) -> bool:
        return time.monotonic() < self._skip_until

    def succeeded(self) -> None:
        self._failures = 0

    def failed(self, component: str, error: Exception) -> None:
        now = time.monotonic()
        self._failures += 1
        if self._failures >= self.threshold:
            self._skip_until = now + self.retry_seconds
        self._unlogged += 1
        if now - self._last_logged >= self.log_seconds:
            logger.warning(
                "Redis unavailable, answering without it (%s operations failed open since the "
                "last report; skipped for %.0f s after %s failures in a row): %s",
                self._unlogged,
                self.retry_seconds,
                self.threshold,
                error,
                extra={"component": component},
            )
            self._last_logged, self._unlogged = now, 0
