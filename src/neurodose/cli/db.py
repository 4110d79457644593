"""``neurodose db``: upgrade, back up, restore, export and erase (``service/operations.py``).

Examples::

    neurodose db upgrade
    neurodose db backup clinic-2026-12-08.sqlite3          # created 0600, never overwritten
    neurodose db restore clinic-2026-12-08.sqlite3 --force # replaces a database with rows
    neurodose db export --patient P-4F2A --output export/  # export/P-4F2A.json (0600)
    neurodose db export --all --output export/
    neurodose db erase-patient P-4F2A --yes                # every row, one audit entry
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from neurodose.cli.serve import DatabaseOpt
from neurodose.errors import InputError

__all__ = ["db_app", "register"]

db_app = typer.Typer(
    help="Database operations: upgrade, backup, restore, export, erase-patient.",
    no_args_is_help=True,
)

T = TypeVar("T")
NewFileArg = Annotated[Path, typer.Argument(help="the backup file to create (must not exist)")]
PatientArg = Annotated[str, typer.Argument(help="the patient id")]
YesOpt = Annotated[bool, typer.Option("--yes", help="confirm (erasure cannot be undone)")]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="replace a database that already holds rows")
]


def _url(database: str | None) -> str:
    from neurodose.service.settings import Settings

    return Settings.from_env(database_url=database).database_url


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:120]
    except (KeyError, OSError):  # no name for this uid (containers)
        return "cli"


def _run(op: Callable[..., T], *args: Any, **kw: Any) -> T:
    """Run an operation; a database or file-system failure becomes one error line."""
    from sqlalchemy.exc import SQLAlchemyError

    from neurodose.service.operations import OperationError

    try:
        return op(*args, **kw)
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise OperationError(f"database: {first}") from exc
    except OSError as exc:
        raise OperationError(f"{exc.filename or 'file'}: {exc.strerror or exc}") from exc


@db_app.command("upgrade")
def upgrade(database: DatabaseOpt = None) -> None:
    """Run the schema migrations up to the newest revision (creates an empty database)."""
    from neurodose.service import operations

    res = _run(operations.upgrade, _url(database))
    if res["from"] == res["to"]:
        typer.echo(f"database already at revision {res['to']}")
    else:
        typer.echo(f"database upgraded from revision {res['from'] or '(none)'} to {res['to']}")


@db_app.command("backup")
def backup(file: NewFileArg, database: DatabaseOpt = None) -> None:
    """Back up the database to FILE (SQLite: online backup; PostgreSQL: pg_dump -Fc),
    created owner-only (0600)."""
    from neurodose.service import operations

    res = _run(operations.backup, _url(database), file)
    typer.echo(f"backup of the {res['dialect']} database written to {file} ({res['bytes']} bytes)")


@db_app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(help="a file written by `neurodose db backup`")],
    force: ForceOpt = False,
    database: DatabaseOpt = None,
) -> None:
    """Restore the database from FILE (verified first), then upgrade its schema."""
    from neurodose.service import operations

    res = _run(operations.restore, _url(database), file, force=force)
    typer.echo(f"restored {file}: revision {res['revision']}, {res['rows']} rows")


@db_app.command("export")
def export(
    output: Annotated[Path, typer.Option("--output", help="folder for <patient>.json files")],
    patient: Annotated[str | None, typer.Option("--patient", help="one patient id")] = None,
    all_patients: Annotated[bool, typer.Option("--all", help="every patient")] = False,
    database: DatabaseOpt = None,
) -> None:
    """Export patients as JSON (profile, regimens, plans, diary, levels, audit trail),
    one owner-only file per patient."""
    from neurodose.service import operations

    if (patient is None) == (not all_patients):
        raise InputError("--patient/--all", patient, "exactly one of --patient ID or --all")
    files = _run(operations.export_patients, _url(database), output, patient, actor=_actor())
    typer.echo(f"exported {len(files)} patient{'s' if len(files) != 1 else ''} to {output}")


@db_app.command("erase-patient")
def erase_patient(patient: PatientArg, yes: YesOpt = False, database: DatabaseOpt = None) -> None:
    """Delete every row of one patient in one transaction (an audit entry records who,
    when and the id; no patient data)."""
    from neurodose.service import operations

    if not yes:
        raise InputError("--yes", False, "--yes (erasure cannot be undone)")
    counts = _run(operations.erase_patient, _url(database), patient, actor=_actor())
    total = sum(counts.values())
    typer.echo(f"erased patient {patient!r}: {total} rows")


def register(app: typer.Typer) -> None:
    """Add the ``db`` group to the main app."""
    app.add_typer(db_app, name="db")
