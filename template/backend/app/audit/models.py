"""The audit trail's table and what the admin area reads of it."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    """Who did what to whom, when, from where: written in the transaction of the change it records
    and never updated. The ids are plain columns, not foreign keys: an event outlives its users."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_target_user_id_at", "target_user_id", "at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    kind: str = Field(max_length=64, index=True)
    actor_id: uuid.UUID | None = Field(default=None)
    target_user_id: uuid.UUID | None = Field(default=None)
    ip: str | None = Field(default=None, max_length=64)
    request_id: str | None = Field(default=None, max_length=64)
    # What changed (old and new role, say): never a password, a token or a hash.
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class AuditEventPublic(SQLModel):
    id: uuid.UUID
    at: datetime
    kind: str
    actor_id: uuid.UUID | None
    target_user_id: uuid.UUID | None
    ip: str | None
    request_id: str | None
    detail: dict[str, Any]


class AuditEventsPublic(SQLModel):
    data: list[AuditEventPublic]
    count: int
