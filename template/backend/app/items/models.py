"""The example resource: its table and request/response shapes (a founder copies this domain)."""

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.api.schemas import STORABLE_TEXT, TITLE_TEXT
from app.core.db import UTCDateTime, utcnow


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
