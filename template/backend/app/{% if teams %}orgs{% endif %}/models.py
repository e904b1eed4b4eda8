"""Organisations' tables and request/response shapes: the organisation, who belongs to it with
which role, and the invitations emailed to join it (the migrations in alembic/ match)."""

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from app.accounts.models import Email, LinkToken, NewPassword
from app.api.schemas import STORABLE_TEXT, TITLE_TEXT
from app.core.db import UTCDateTime, utcnow

# What each role may do, most first: an owner does all an admin does, an admin all a member does.
ROLES = ("owner", "admin", "member")
Role = Literal["owner", "admin", "member"]
# The roles an admin hands out: ownership moves only by a transfer.
InvitedRole = Literal["admin", "member"]


def ranks(role: str, needed: str) -> bool:
    """Whether `role` may do what `needed` may (an owner may do an admin's work)."""
    return ROLES.index(role) <= ROLES.index(needed)


class Organisation(SQLModel, table=True):
    __tablename__ = "organisations"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=100)
    # Made at sign-up for each account: `/api/v1/items` are its items.
    personal_of: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", ondelete="CASCADE", unique=True
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Membership(SQLModel, table=True):
    """One role per member per organisation; exactly one owner (a unique index holds it)."""

    __tablename__ = "memberships"
    __table_args__ = (
        Index(
            "ix_memberships_one_owner",
            "org_id",
            unique=True,
            postgresql_where=text("role = 'owner'"),
            sqlite_where=text("role = 'owner'"),
        ),
    )

    org_id: uuid.UUID = Field(foreign_key="organisations.id", ondelete="CASCADE", primary_key=True)
    user_id: uuid.UUID = Field(
        foreign_key="users.id", ondelete="CASCADE", primary_key=True, index=True
    )
    role: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Invitation(SQLModel, table=True):
    """An address invited with a role. Its emailed link's token is made by the job that sends it
    (only its SHA-256 is stored); resending makes a new one, and the old link stops working. It
    works once, until it expires, unless revoked."""

    __tablename__ = "invitations"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    org_id: uuid.UUID = Field(foreign_key="organisations.id", ondelete="CASCADE", index=True)
    email: str = Field(max_length=255)
    role: str = Field(max_length=16)
    invited_by: uuid.UUID | None = Field(default=None)
    digest: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- what the API reads and writes ---------------------------------------------------------------
class OrgCreate(SQLModel):
    name: str = Field(min_length=1, max_length=100, schema_extra=TITLE_TEXT)


class OrgUpdate(OrgCreate):
    pass


class OrgDelete(SQLModel):
    # The organisation's name, typed again: deleting takes its data with it.
    confirm_name: str = Field(max_length=100, schema_extra=STORABLE_TEXT)


class OrgPublic(SQLModel):
    id: uuid.UUID
    name: str
    personal: bool
    created_at: datetime
    # The caller's role in it.
    role: str


class OrgsPublic(SQLModel):
    data: list[OrgPublic]
    count: int


class OrgAdminPublic(SQLModel):
    id: uuid.UUID
    name: str
    personal: bool
    created_at: datetime
    members: int


class OrgsAdminPublic(SQLModel):
    data: list[OrgAdminPublic]
    count: int


class MemberPublic(SQLModel):
    user_id: uuid.UUID
    email: str
    full_name: str | None
    role: str
    joined_at: datetime


class MembersPublic(SQLModel):
    data: list[MemberPublic]
    count: int


class MemberUpdate(SQLModel):
    role: InvitedRole


class Transfer(SQLModel):
    user_id: uuid.UUID


class InvitationCreate(SQLModel):
    email: Email
    role: InvitedRole = "member"


class InvitationPublic(SQLModel):
    id: uuid.UUID
    email: str
    role: str
    created_at: datetime
    expires_at: datetime


class InvitationsPublic(SQLModel):
    data: list[InvitationPublic]
    count: int


class InvitationAccept(SQLModel):
    token: LinkToken


class InvitationSignUp(SQLModel):
    """Sign up from an invitation's link: the account is the invited address's, verified (the link
    reached it), and joins the organisation at once."""

    token: LinkToken
    password: NewPassword
    full_name: str | None = Field(default=None, max_length=255, schema_extra=STORABLE_TEXT)
