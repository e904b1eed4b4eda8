"""Tables and the API's request/response shapes, side by side (the migrations in alembic/ match)."""

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, EmailStr, StringConstraints, model_validator
from pydantic import Field as Constraints
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy import JSON, DateTime, Index, TypeDecorator
from sqlmodel import Field, SQLModel

MAX_PAGE_SIZE = 100
# Bounded so an absurd offset is a 422, not an integer overflow in the database.
MAX_OFFSET = 1_000_000
# PostgreSQL text cannot hold NUL characters: refused (422) instead of failing the insert.
STORABLE_TEXT = {"pattern": r"^[^\x00]*$"}
# ...and a title needs a character one can see: whitespace or control characters alone are refused.
TITLE_TEXT = {"pattern": r"^[^\x00]*[^\s\x00-\x1f\x7f-\x9f][^\x00]*$"}
PASSWORD_RULE = "Use at least 8 characters, with letters and at least one digit or symbol."  # noqa: S105
# A letter and a non-letter, in either order; published in the schema, so clients can check first.
PASSWORD_PATTERN = r"[^\W\d_][\s\S]*[\W\d_]|[\W\d_][\s\S]*[^\W\d_]"  # noqa: S105


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite stores it without the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


# --- users ---------------------------------------------------------------------------------------
class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # Stored lowercased, so the unique index makes emails unique regardless of case.
    email: str = Field(max_length=255, unique=True, index=True)
    hashed_password: str = Field(max_length=255)
    full_name: str | None = Field(default=None, max_length=255)
    is_active: bool = True
    # member or admin: what each may do is in app/core/permissions.py.
    role: str = Field(default="member", max_length=16)
    email_verified: bool = False
    # Raised to sign out every session at once: access tokens carry the version they were issued
    # under, and one from an older version is refused (password reset, "sign out everywhere").
    session_version: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def _strong_enough(value: str) -> str:
    if not re.search(PASSWORD_PATTERN, value):
        raise ValueError(f"Password is too weak. {PASSWORD_RULE}")
    return value


# A password a user chooses: 8-128 characters, letters and a digit or symbol.
NewPassword = Annotated[
    str,
    Constraints(
        min_length=8,
        max_length=128,
        description=PASSWORD_RULE,
        json_schema_extra={"pattern": PASSWORD_PATTERN},
    ),
    AfterValidator(_strong_enough),
]
# A password a user types to prove who they are: checked against the hash, never validated.
CurrentPassword = Annotated[str, Constraints(max_length=1024)]
# The longest address SMTP can deliver to, stored lowercased.
Email = Annotated[EmailStr, Constraints(max_length=254), AfterValidator(str.lower)]
# A token from an emailed link (43 URL-safe characters; longer is refused before any lookup).
LinkToken = Annotated[str, Constraints(min_length=1, max_length=128)]


class UserRegister(SQLModel):
    email: Email
    password: NewPassword
    full_name: str | None = Field(default=None, max_length=255, schema_extra=STORABLE_TEXT)


class UserPublic(SQLModel):
    id: uuid.UUID
    email: str
    full_name: str | None
    is_active: bool
    role: str
    email_verified: bool
    created_at: datetime


class UsersPublic(SQLModel):
    data: list[UserPublic]
    count: int


class UserAdminUpdate(SQLModel):
    """What an admin may change about a user; a field left out stays as it is."""

    role: Literal["member", "admin"] | SkipJsonSchema[None] = None
    is_active: bool | SkipJsonSchema[None] = None


# --- audit trail ---------------------------------------------------------------------------------
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


# --- account lifecycle ---------------------------------------------------------------------------
class AccountToken(SQLModel, table=True):
    """The token of an emailed link: verify an address (a new one, for an email change) or reset a
    password. Only its SHA-256 is stored; it works once, until it expires."""

    __tablename__ = "account_tokens"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    purpose: str = Field(max_length=32)  # verify_email, reset_password
    digest: str = Field(max_length=64, unique=True)
    # For an email change: the address the link confirms.
    new_email: str | None = Field(default=None, max_length=255)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EmailRequest(SQLModel):
    email: Email


class LinkTokenBody(SQLModel):
    token: LinkToken


class PasswordResetConfirm(SQLModel):
    token: LinkToken
    new_password: NewPassword


class PasswordChange(SQLModel):
    current_password: CurrentPassword
    new_password: NewPassword


class EmailChange(SQLModel):
    new_email: Email
    password: CurrentPassword


class PasswordConfirm(SQLModel):
    password: CurrentPassword


# --- auth ----------------------------------------------------------------------------------------
class RefreshToken(SQLModel, table=True):
    """One row per issued refresh token: a token works once, and reuse revokes the user's others."""

    __tablename__ = "refresh_tokens"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Token(SQLModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105  (the OAuth2 token type, not a secret)


class RefreshRequest(SQLModel):
    refresh_token: str = Field(max_length=2048)


# --- items ---------------------------------------------------------------------------------------
class ItemBase(SQLModel):
    title: str = Field(min_length=1, max_length=255, schema_extra=TITLE_TEXT)
    description: str | None = Field(default=None, max_length=2000, schema_extra=STORABLE_TEXT)


class Item(ItemBase, table=True):
    __tablename__ = "items"
    # The list query: one owner's items, newest first.
    __table_args__ = (Index("ix_items_owner_id_created_at", "owner_id", "created_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ItemCreate(ItemBase):
    pass


class ItemUpdate(SQLModel):
    # Optional, but never null: the schema does not offer null, and the validator refuses it.
    title: (
        Annotated[str, StringConstraints(min_length=1, max_length=255, **TITLE_TEXT)]
        | SkipJsonSchema[None]
    ) = None
    description: str | None = Field(default=None, max_length=2000, schema_extra=STORABLE_TEXT)

    @model_validator(mode="after")
    def _title_not_null(self) -> Self:
        if "title" in self.model_fields_set and self.title is None:
            raise ValueError("title cannot be null; leave it out to keep the current title")
        return self


class ItemPublic(ItemBase):
    id: uuid.UUID
    owner_id: uuid.UUID
    created_at: datetime
    updated_at: datetime


class ItemsPublic(SQLModel):
    data: list[ItemPublic]
    count: int


class Message(SQLModel):
    detail: str
