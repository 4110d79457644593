"""SMART App Launch: launches in progress, EHR users and EHR patients linked to the clinic

``smart_launches`` holds each launch between its start and the clinic page (the hash of
its ``state``, the PKCE verifier, the expiry), in the database so that every worker
agrees; ``smart_user_links`` and ``smart_patient_links`` map an issuer's ``fhirUser``
and patient id to a clinic account and a clinic patient.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 00:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "smart_launches",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("browser_sha256", sa.String(length=64), nullable=False),
        sa.Column("iss", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("token_endpoint", sa.String(length=1000), nullable=False),
        sa.Column("redirect_uri", sa.String(length=1000), nullable=False),
        sa.Column("verifier", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("done_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_smart_launches_browser_sha256", "smart_launches", ["browser_sha256"])
    op.create_index("ix_smart_launches_expires_at", "smart_launches", ["expires_at"])
    op.create_table(
        "smart_user_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("iss", sa.String(length=500), nullable=False),
        sa.Column("fhir_user", sa.String(length=500), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["clinician_id"], ["clinicians.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("iss", "fhir_user", name="uq_smart_user"),
    )
    op.create_table(
        "smart_patient_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("iss", sa.String(length=500), nullable=False),
        sa.Column("ehr_patient", sa.String(length=200), nullable=False),
        sa.Column("clinic", sa.String(length=80), nullable=False),
        sa.Column("patient_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("iss", "ehr_patient", "clinic", name="uq_smart_patient"),
    )
    op.create_index("ix_smart_patient_links_patient_id", "smart_patient_links", ["patient_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_smart_patient_links_patient_id", table_name="smart_patient_links")
    op.drop_table("smart_patient_links")
    op.drop_table("smart_user_links")
    op.drop_index("ix_smart_launches_expires_at", table_name="smart_launches")
    op.drop_index("ix_smart_launches_browser_sha256", table_name="smart_launches")
    op.drop_table("smart_launches")
