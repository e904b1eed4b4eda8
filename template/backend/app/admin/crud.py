"""The admin area's reads: users and the audit trail, searched and paged."""

import uuid
from collections.abc import Sequence

from sqlalchemy import and_, or_, true
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts.models import User
from app.audit.models import AuditEvent


def _like(text: str) -> str:
    """`text` as a LIKE pattern that matches it anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_users(
    session: AsyncSession, q: str | None, offset: int, limit: int
) -> tuple[Sequence[User], int]:
    """Users whose email or name contains `q` (any case), newest first, and how many match."""
    condition = true()
    if q:
        pattern = _like(q.lower())
        condition = or_(
            col(User.email).like(pattern, escape="\\"),
            func.lower(col(User.full_name)).like(pattern, escape="\\"),
        )
    count = await session.exec(select(func.count()).select_from(User).where(condition))
    users = await session.exec(
        select(User)
        .where(condition)
        .order_by(col(User.created_at).desc(), col(User.id))
        .offset(offset)
        .limit(limit)
    )
    return users.all(), count.one()


async def list_audit_events(
    session: AsyncSession,
    user_id: uuid.UUID | None,
    kind: str | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[AuditEvent], int]:
    """Events about or by `user_id`, of `kind`, newest first, and how many match."""
    condition = true()
    if user_id is not None:
        condition = or_(
            col(AuditEvent.target_user_id) == user_id, col(AuditEvent.actor_id) == user_id
        )
    if kind:
        condition = and_(condition, col(AuditEvent.kind) == kind)
    count = await session.exec(select(func.count()).select_from(AuditEvent).where(condition))
    events = await session.exec(
        select(AuditEvent)
        .where(condition)
        .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id))
        .offset(offset)
        .limit(limit)
    )
    return events.all(), count.one()
