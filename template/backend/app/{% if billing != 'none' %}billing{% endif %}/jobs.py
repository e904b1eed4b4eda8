"""Stripe's webhook events, applied by a durable job: the endpoint records the event and this job
in one transaction and answers at once; a worker that dies mid-run leaves the job to run again,
and an event applied before changes nothing."""

import logging

from procrastinate import JobContext

from app.billing import crud
from app.core.config import Settings
from app.jobs.queue import DEFAULT_RETRY, queue, session_for

logger = logging.getLogger(__name__)


@queue.task(pass_context=True, retry=DEFAULT_RETRY)
async def apply_stripe_event(context: JobContext, event_id: str) -> None:
    settings: Settings = context.additional_context["settings"]
    async with session_for(context) as session:
        outcome = await crud.apply_event(session, settings, event_id)
    logger.info("Stripe event %s: %s", event_id, outcome)
