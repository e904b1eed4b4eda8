"""An example job: app/jobs/accounts.py enqueues it when someone registers. Replace its body with
real work (a welcome email, a webhook), or delete it and its enqueue call."""

import logging

from app.jobs.queue import DEFAULT_RETRY, queue

logger = logging.getLogger(__name__)


@queue.task(retry=DEFAULT_RETRY)
async def welcome(user_id: str) -> None:
    logger.info("welcome job ran", extra={"user_id": user_id})
