"""Periodic jobs that keep the database from growing forever."""

import logging
from datetime import timedelta

from procrastinate import JobContext
from sqlmodel import col, delete

from app.core.config import Settings
from app.jobs.queue import DEFAULT_RETRY, queue, session_for
from app.models import AuditEvent, RefreshToken, utcnow

logger = logging.getLogger(__name__)


# Hourly, off the hour. `timestamp` is when the run was due (procrastinate's periodic argument).
@queue.periodic(cron="23 * * * *")
@queue.task(pass_context=True, retry=DEFAULT_RETRY, queueing_lock="delete_expired_refresh_tokens")
async def delete_expired_refresh_tokens(context: JobContext, timestamp: int) -> None:
    """Expired refresh tokens can never be used again: every sign-in adds one."""
    async with session_for(context) as session:
        result = await session.exec(
            delete(RefreshToken).where(col(RefreshToken.expires_at) < utcnow())
        )
        await session.commit()
    logger.info("deleted expired refresh tokens", extra={"deleted": result.rowcount})


@queue.periodic(cron="43 * * * *")
@queue.task(pass_context=True, retry=DEFAULT_RETRY, queueing_lock="delete_finished_jobs")
async def delete_finished_jobs(context: JobContext, timestamp: int) -> None:
    """Done and failed jobs, once older than jobs.keep_finished_hours (the tier's retention)."""
    settings: Settings = context.additional_context["settings"]
    await context.app.job_manager.delete_old_jobs(
        nb_hours=settings.jobs.keep_finished_hours,
        include_failed=True,
        include_cancelled=True,
        include_aborted=True,
    )


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
