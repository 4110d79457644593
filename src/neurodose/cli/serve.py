"""``neurodose serve`` (the clinic web service) and ``neurodose users add``.

Examples::

    neurodose serve                       # SQLite in ./neurodose-data, http://127.0.0.1:8000
    neurodose serve --database postgresql+psycopg://clinic@db/neurodose --host 0.0.0.0
    printf '%s' "$PW" | neurodose users add alice --role clinician --password-stdin
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from neurodose.errors import InputError

__all__ = ["register", "users_app"]

users_app = typer.Typer(help="Clinic accounts (clinicians and admins).", no_args_is_help=True)

DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db "
        "(default: $NEURODOSE_DATABASE_URL, else SQLite in $NEURODOSE_DATA_DIR)",
    ),
]


def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port", min=1, max=65535)] = 8000,
    database: DatabaseOpt = None,
    workers: Annotated[int, typer.Option(help="server processes", min=1, max=64)] = 1,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            help="base URL EHRs and browsers use (CDS Hooks JWT aud is built from it; "
            "default: $NEURODOSE_PUBLIC_URL)",
        ),
    ] = None,
    cds_clients: Annotated[
        str | None,
        typer.Option(
            "--cds-clients",
            help="CDS Hooks clients file (JSON: iss + jwks or jwks_url); turns the CDS Hooks "
            "services on (default: $NEURODOSE_CDS_CLIENTS)",
        ),
    ] = None,
    dev_insecure: Annotated[
        bool,
        typer.Option(
            "--dev-insecure",
            help="CDS Hooks without JWT checks, for local demos only (warns on every request)",
        ),
    ] = False,
) -> None:
    """Start the clinic web service (creates and migrates the database on first start)."""
    import os

    import uvicorn

    from neurodose.service.app import create_app
    from neurodose.service.db import Database, migrate
    from neurodose.service.settings import Settings

    if public_url is not None:
        os.environ["NEURODOSE_PUBLIC_URL"] = public_url
    if cds_clients is not None:
        os.environ["NEURODOSE_CDS_CLIENTS"] = cds_clients
    if dev_insecure:
        os.environ["NEURODOSE_CDS_DEV_INSECURE"] = "1"
        typer.echo("WARNING: --dev-insecure: CDS Hooks requests are NOT authenticated", err=True)
    if os.environ.get("NEURODOSE_CDS_CLIENTS") or dev_insecure:
        from neurodose.service.cds.config import CdsConfig

        CdsConfig.from_env()  # a bad clients file or URL is one error line, before starting
    settings = Settings.from_env(database_url=database)
    db = Database(settings.database_url)
    migrate(db.engine)
    db.dispose()
    typer.echo(
        f"neurodose clinic on http://{host}:{port} ({settings.dialect}); "
        "decision support, not a substitute for clinical judgement",
        err=True,
    )
    if workers > 1:
        if settings.dialect == "sqlite":
            raise InputError("--workers", workers, "1 with SQLite (use PostgreSQL for more)")
        os.environ["NEURODOSE_DATABASE_URL"] = settings.database_url
        os.environ["NEURODOSE_SECRET_KEY"] = settings.secret_key
        uvicorn.run(
            "neurodose.service.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
        )
        return
    uvicorn.run(create_app(settings, migrate_db=False), host=host, port=port, log_level="info")


@users_app.command("add")
def add_user(
    name: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[str, typer.Option(help="clinician or admin")] = "clinician",
    clinic: Annotated[str, typer.Option(help="the clinic the account belongs to")] = "default",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
    database: DatabaseOpt = None,
) -> None:
    """Create an account; the password comes from stdin (never from the command line)."""
    from neurodose.service import store
    from neurodose.service.db import Database, migrate
    from neurodose.service.settings import Settings

    if not password_stdin:
        raise InputError("--password-stdin", False, "--password-stdin (pipe the password in)")
    password = sys.stdin.readline().rstrip("\r\n")
    settings = Settings.from_env(database_url=database)
    db = Database(settings.database_url)
    migrate(db.engine)
    with db.session() as s:
        user = store.add_user(s, name, role, password, clinic)
        store.audit(s, "cli", "user.add", None, f"{user.name} ({user.role})")
    db.dispose()
    typer.echo(f"added {role} {name!r} (clinic {clinic!r})")


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``users`` group to the main app."""
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
