"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-12-02 00:34:50.880948
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


# The tables this revision creates, in order, with the index each has (dropped in reverse).
_INDEXES = {
    "audit": "ix_audit_patient_at",
    "clinicians": None,
    "patients": "ix_patients_clinic",
    "trial_jobs": None,
    "diary_entries": None,
    "diary_links": "ix_diary_links_patient_id",
    "levels": "ix_levels_patient_id",
    "plans": "ix_plans_patient_id",
    "regimens": "ix_regimens_patient_id",
}


def _index(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_{columns[0]}"), list(columns), unique=False)


def _table(
    table: str,
    id_type: sa.types.TypeEngine[Any],
    *columns: sa.Column[Any],
    after: tuple[sa.Column[Any], ...] = (),
    references: tuple[tuple[str, str], ...] = (),
    unique: tuple[str, ...] = (),
    unique_name: str | None = None,
) -> None:
    """Create a table of this revision: ``id`` (the primary key), ``columns``, ``created_at``,
    then ``after``; a foreign key to ``<table>.id`` for each ``(column, table)`` of
    ``references``, and a unique constraint on the ``unique`` columns if given.

    The constraints are made here, in the order the schema lists them (SQLAlchemy orders
    a table's constraints by when they were made).
    """
    op.create_table(
        table,
        sa.Column("id", id_type, nullable=False),
        *columns,
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *after,
        *(sa.ForeignKeyConstraint([column], [f"{target}.id"]) for column, target in references),
        sa.PrimaryKeyConstraint("id"),
        *([sa.UniqueConstraint(*unique, name=unique_name)] if unique else []),
    )


def _patient_record(
    table: str,
    *columns: sa.Column[Any],
    after: tuple[sa.Column[Any], ...] = (),
    also_references: tuple[tuple[str, str], ...] = (),
    unique: tuple[str, ...] = (),
) -> None:
    """A table of rows about one patient that a clinician wrote, indexed by patient."""
    _table(
        table,
        sa.Integer(),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        *columns,
        sa.Column("created_by", sa.Integer(), nullable=False),
        after=after,
        references=(("created_by", "clinicians"), ("patient_id", "patients"), *also_references),
        unique=unique,
    )
    _index(table, "patient_id")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.create_index("ix_audit_patient_at", ["patient_id", "at"], unique=False)

    _table(
        "clinicians",
        sa.Integer(),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("clinic", sa.String(length=80), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        unique=("name",),
    )
    _table(
        "patients",
        sa.String(length=32),
        sa.Column("clinic", sa.String(length=80), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        after=(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),),
        references=(("created_by", "clinicians"),),
    )
    _index("patients", "clinic")
    _table(
        "trial_jobs",
        sa.String(length=32),
        sa.Column("owner", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("design", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        references=(("owner", "clinicians"),),
    )
    _table(
        "diary_entries",
        sa.String(length=36),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("pain", sa.Float(), nullable=False),
        sa.Column("sleep", sa.Float(), nullable=True),
        sa.Column("side_effects", sa.Float(), nullable=True),
        sa.Column("dose_mg", sa.Float(), nullable=True),
        sa.Column("missed_dose", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        references=(("patient_id", "patients"),),
        unique=("patient_id", "date"),
        unique_name="uq_diary_patient_date",
    )
    _patient_record(
        "diary_links",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        unique=("token_sha256",),
    )
    _patient_record("levels", sa.Column("row", sa.JSON(), nullable=False))
    _patient_record(
        "plans",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("patient_text", sa.Text(), nullable=False),
    )
    _patient_record(
        "regimens",
        sa.Column("drug", sa.String(length=64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        after=(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),),
        also_references=(("plan_id", "plans"),),
    )


def downgrade() -> None:
    """Revert this revision."""
    for table, index in reversed(_INDEXES.items()):
        if index is not None:
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.drop_index(batch_op.f(index))
        op.drop_table(table)
