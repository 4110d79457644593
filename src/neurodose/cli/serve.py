"""``neurodose serve`` (the clinic web service) and ``neurodose users`` (accounts).

Examples::

    neurodose serve                       # SQLite in ./neurodose-data, http://127.0.0.1:8000
    neurodose serve --database postgresql+psycopg://clinic@db/neurodose --host 0.0.0.0
    printf '%s' "$PW" | neurodose users add alice --role clinician --password-stdin
    neurodose users list
    neurodose users disable alice         # her sessions and tokens end at once
    neurodose users enable alice
    printf '%s' "$PW" | neurodose users reset-password alice --password-stdin
    neurodose users remove alice --yes    # the id is kept (never reused), the name freed
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from neurodose.errors import InputError

__all__ = ["register", "users_app"]

T = TypeVar("T")

users_app = typer.Typer(help="Clinic accounts (clinicians and admins).", no_args_is_help=True)

LoginName = Annotated[str, typer.Argument(help="login name")]
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
    workers: Annotated[
        int,
        typer.Option(
            help="server processes sharing nothing in memory (more than 1 needs PostgreSQL)",
            min=1,
            max=64,
        ),
    ] = 1,
    dask_scheduler: Annotated[
        str | None,
        typer.Option(
            "--dask-scheduler",
            help="Dask scheduler address (tcp://host:8786) for trial jobs "
            "(default: $NEURODOSE_DASK_SCHEDULER, else in the server process)",
        ),
    ] = None,
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

    from neurodose.service.app import serve as run
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
    if dask_scheduler is not None:
        os.environ["NEURODOSE_DASK_SCHEDULER"] = dask_scheduler
    settings = Settings.from_env(database_url=database)
    typer.echo(
        f"neurodose clinic on http://{host}:{port} ({settings.dialect}, {workers} "
        f"worker{'s' if workers > 1 else ''}); "
        "decision support, not a substitute for clinical judgement",
        err=True,
    )
    run(settings, host=host, port=port, workers=workers)


@users_app.command("add")
def add_user(
    name: LoginName,
    role: Annotated[str, typer.Option(help="clinician or admin")] = "clinician",
    clinic: Annotated[str, typer.Option(help="the clinic the account belongs to")] = "default",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
    database: DatabaseOpt = None,
) -> None:
    """Create an account; the password comes from stdin (never from the command line)."""
    from neurodose.service import store

    password = _password_from_stdin(password_stdin)

    def add(s: Any) -> None:
        user = store.add_user(s, name, role, password, clinic)
        store.audit(s, "cli", "user.add", None, f"{user.name} ({user.role})")

    _in_session(database, add)
    typer.echo(f"added {role} {name!r} (clinic {clinic!r})")


def _db(database: str | None) -> Any:
    from neurodose.service.db import Database, migrate
    from neurodose.service.settings import Settings

    settings = Settings.from_env(database_url=database)
    db = Database(settings.database_url)
    migrate(db.engine)
    return db


def _in_session(database: str | None, op: Callable[[Any], T]) -> T:
    """Run ``op`` in one session of the clinic database (migrated first), then close it."""
    db = _db(database)
    try:
        with db.session() as s:
            return op(s)
    finally:
        db.dispose()


def _password_from_stdin(password_stdin: bool) -> str:
    """The password piped in on standard input; refused without ``--password-stdin``
    (a password never comes from the command line)."""
    if not password_stdin:
        raise InputError("--password-stdin", False, "--password-stdin (pipe the password in)")
    return sys.stdin.readline().rstrip("\r\n")


@users_app.command("list")
def list_users(
    removed: Annotated[
        bool, typer.Option("--removed", help="also list removed accounts (their tombstones)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    database: DatabaseOpt = None,
) -> None:
    """List the accounts: id, name, role, clinic, state (active, disabled, removed)."""
    from neurodose.service import accounts

    rows = _in_session(database, lambda s: accounts.list_users(s, removed=removed))
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no accounts (add one with `neurodose users add`)")
        return
    typer.echo(f"{'id':>4}  {'name':<24} {'role':<10} {'clinic':<16} state")
    for r in rows:
        state = "removed" if r["removed_at"] else ("active" if r["active"] else "disabled")
        typer.echo(f"{r['id']:>4}  {r['name']:<24} {r['role']:<10} {r['clinic']:<16} {state}")


def _account_change(change: str, done: str, doc: str) -> Callable[..., None]:
    """A ``users`` command that runs ``accounts.<change>(session, name)`` and says
    ``done`` (formatted with ``name``)."""

    def command(name: LoginName, database: DatabaseOpt = None) -> None:
        from neurodose.service import accounts

        _in_session(database, lambda s: getattr(accounts, change)(s, name))
        typer.echo(done.format(name=name))

    command.__doc__ = doc
    command.__name__ = f"{change}_user"
    return command


users_app.command("disable")(
    _account_change(
        "disable",
        "disabled {name!r}: its sessions and tokens ended",
        "Refuse sign-in to an account and end its sessions and API tokens at once.",
    )
)
users_app.command("enable")(
    _account_change(
        "enable",
        "enabled {name!r}",
        "Allow a disabled account to sign in again (its old tokens stay void).",
    )
)


@users_app.command("remove")
def remove_user(
    name: LoginName,
    yes: Annotated[bool, typer.Option("--yes", help="confirm the removal")] = False,
    database: DatabaseOpt = None,
) -> None:
    """Remove an account: sessions and tokens end at once; its id is never reused
    (records that name it keep it); the name is free for a new account."""
    from neurodose.service import accounts

    if not yes:
        raise InputError("--yes", False, "--yes (removal cannot be undone)")
    uid = _in_session(database, lambda s: accounts.remove(s, name).id)
    typer.echo(f"removed {name!r} (id {uid} is kept, never reused)")


@users_app.command("reset-password")
def reset_password(
    name: LoginName,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the new password from standard input")
    ] = False,
    database: DatabaseOpt = None,
) -> None:
    """Set a new password (from stdin, never the command line); the account's sessions
    and tokens end at once."""
    from neurodose.service import accounts

    password = _password_from_stdin(password_stdin)
    _in_session(database, lambda s: accounts.reset_password(s, name, password))
    typer.echo(f"new password set for {name!r}: its sessions and tokens ended")


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``users`` group to the main app."""
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
