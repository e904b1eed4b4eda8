"""Shapes every domain's routes share: paging bounds, text rules, the error body."""

from sqlmodel import SQLModel

MAX_PAGE_SIZE = 100
# Bounded so an absurd offset is a 422, not an integer overflow in the database.
MAX_OFFSET = 1_000_000
# PostgreSQL text cannot hold NUL characters: refused (422) instead of failing the insert.
STORABLE_TEXT = {"pattern": r"^[^\x00]*$"}
# ...and a title needs a character one can see: whitespace or control characters alone are refused.
TITLE_TEXT = {"pattern": r"^[^\x00]*[^\s\x00-\x1f\x7f-\x9f][^\x00]*$"}


class Message(SQLModel):
    detail: str


class CodedMessage(Message):
    """A refusal the web app words by its machine-readable code (app/api/errors.py)."""

    code: str
