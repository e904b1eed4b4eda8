"""Periodic jobs that keep the job queue's own tables from growing forever (each domain's jobs.py
cleans its own tables)."""

from procrastinate import JobContext

from app.core.config import Settings
from app.jobs.queue import DEFAULT_RETRY, queue


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
