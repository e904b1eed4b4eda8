"""The audit trail's retention: events older than the tier's retention are deleted daily."""

import logging
from datetime import timedelta

from procrastinate import JobContext
from sqlmodel import col, delete

from app.audit.models import AuditEvent
from app.core.config import Settings
from app.core.db import utcnow
from app.jobs.queue import DEFAULT_RETRY, queue, session_for

logger = logging.getLogger(__name__)


@queue.periodic(cron="53 4 * * *")
@queue.task(pass_context=True, retry=DEFAULT_RETRY, queueing_lock="delete_old_audit_events")
async def delete_old_audit_events(context: JobContext, timestamp: int) -> None:
    """Daily: audit events older than audit_retention_days (the tier's retention)."""
    settings: Settings = context.additional_context["settings"]
    cutoff = utcnow() - timedelta(days=settings.audit_retention_days)
    async with session_for(context) as session:
        result = await session.exec(delete(AuditEvent).where(col(AuditEvent.at) < cutoff))
        await session.commit()
    logger.info("deleted old audit events", extra={"deleted": result.rowcount})
