"""Alembic environment.

Run by :func:`neurodose.service.db.migrate` (which passes its connection), or by the
``alembic`` command line from the repository root (``alembic.ini``): then the database
is ``-x database=URL``, else ``$NEURODOSE_DATABASE_URL``, else neurodose's default
SQLite file (created owner-only).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from neurodose.service.models import Base

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _from_command_line() -> None:
    """``alembic upgrade head`` as typed: the database neurodose would use."""
    from neurodose.service.db import make_engine
    from neurodose.service.settings import Settings

    url = context.get_x_argument(as_dictionary=True).get("database")
    engine = make_engine(Settings.from_env(database_url=url).database_url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


connection = config.attributes.get("connection")
if connection is None:
    _from_command_line()
else:
    _run(connection)
