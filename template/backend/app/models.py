"""Tables and the API's request/response shapes, side by side (the migrations in alembic/ match)."""

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Self

from pydantic import EmailStr, StringConstraints, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy import DateTime, Index, TypeDecorator
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
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UserRegister(SQLModel):
    email: EmailStr = Field(max_length=254)  # the longest address SMTP can deliver to
    password: str = Field(
        min_length=8,
        max_length=128,
        description=PASSWORD_RULE,
        schema_extra={"json_schema_extra": {"pattern": PASSWORD_PATTERN}},
    )
    full_name: str | None = Field(default=None, max_length=255, schema_extra=STORABLE_TEXT)

    @field_validator("email")
    @classmethod
    def _lowercase(cls, value: str) -> str:
        return value.lower()

    @field_validator("password")
    @classmethod
    def _strong_enough(cls, value: str) -> str:
        if not re.search(PASSWORD_PATTERN, value):
            raise ValueError(f"Password is too weak. {PASSWORD_RULE}")
        return value


class UserPublic(SQLModel):
    id: uuid.UUID
    email: str
    full_name: str | None
    is_active: bool
    created_at: datetime


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
