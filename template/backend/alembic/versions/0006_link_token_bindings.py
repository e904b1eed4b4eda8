"""Emailed links bound to the account's address and session version when they were made.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
# After 0004 in every project: where 0005 exists (sign-in with providers), 0007 joins the two, so a
# project that adds providers later still gets 0005 (a parent after 0005 would count it done).
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("account_tokens") as tokens:
        tokens.add_column(sa.Column("email", sa.String(length=255), nullable=True))
        tokens.add_column(sa.Column("session_version", sa.Integer(), nullable=True))
    # Links already sent stay good: bound to their account as it is now.
    op.execute(
        "UPDATE account_tokens SET"
        " email = (SELECT email FROM users WHERE users.id = account_tokens.user_id),"
        " session_version = (SELECT session_version FROM users"
        " WHERE users.id = account_tokens.user_id)"
    )
    with op.batch_alter_table("account_tokens") as tokens:
        tokens.alter_column("email", existing_type=sa.String(length=255), nullable=False)
        tokens.alter_column("session_version", existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("account_tokens") as tokens:
        tokens.drop_column("session_version")
        tokens.drop_column("email")
