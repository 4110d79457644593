"""accounts that end: token version and removal tombstone

Every token carries the account's token version; disabling, removing, a password
reset and "Sign out" move it on. Existing accounts get a random version (no token
issued before this revision matches it: everyone signs in again once).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 23:00:00
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("clinicians", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
    conn = op.get_bind()
    ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM clinicians"))]
    for uid in ids:
        conn.execute(
            sa.text("UPDATE clinicians SET token_version = :v WHERE id = :id"),
            {"v": secrets.randbelow(2**31 - 1) + 1, "id": uid},
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("clinicians", schema=None) as batch_op:
        batch_op.drop_column("removed_at")
        batch_op.drop_column("token_version")
