"""Alembic environment: runs on the connection :func:`neurodose.service.db.migrate` passes."""

from __future__ import annotations

from alembic import context

from neurodose.service.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - the package always passes a connection
    raise RuntimeError("run migrations through neurodose.service.db.migrate")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
