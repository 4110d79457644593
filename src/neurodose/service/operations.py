"""Database operations: upgrade, backup, restore, export and erase a patient.

The logic behind ``neurodose db ...`` (``cli/db.py`` only translates). Every function
takes the SQLAlchemy URL of the clinic database and raises a
:class:`~neurodose.errors.NeurodoseError` naming the field, the value and what is
allowed; nothing here prints.

- **upgrade**: Alembic migrations to the newest revision (:func:`neurodose.service.db.migrate`).
- **backup**: SQLite through its online backup API (a consistent copy while the
  service runs), PostgreSQL through ``pg_dump`` (custom format); the file is created
  owner-only (``0600``) and never overwrites an existing one.
- **restore**: the file is verified first (SQLite: ``integrity_check`` and a known
  schema revision; PostgreSQL: ``pg_restore --list``); a database that holds rows is
  only replaced with ``force``; the schema is then upgraded to the newest revision.
- **export**: one JSON file per patient (profile, regimens, plans, diary, levels,
  diary links without their token hashes, the patient's audit trail), owner-only.
- **erase_patient**: every row of one patient in every table, in one transaction,
  and one audit entry (who, when, which pseudonymous id, how many rows; no patient data).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, inspect, make_url, select, text
from sqlalchemy.orm import Session

from neurodose.errors import InputError, NeurodoseError, UnknownNameError, ref
from neurodose.service import models as m
from neurodose.service.db import MIGRATIONS, Database, migrate, private_folder

__all__ = [
    "OperationError",
    "backup",
    "erase_patient",
    "export_patients",
    "head_revision",
    "restore",
    "upgrade",
]

#: tables holding a patient's rows, children before parents (the erase order)
PATIENT_TABLES: tuple[Any, ...] = (
    m.RegimenRecord,
    m.PlanRecord,
    m.Level,
    m.DiaryLink,
    m.DiaryEntry,
    m.SmartPatientLink,
    m.AuditEvent,
)

_PATIENT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class OperationError(NeurodoseError):
    """A database operation cannot be done (a tool missing, a file not a backup, ...)."""


# ------------------------------------------------------------------ upgrade
def head_revision() -> str:
    """The newest schema revision the package ships."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return str(ScriptDirectory.from_config(cfg).get_current_head())


def _known_revisions() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return {s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()}


def current_revision(db: Database) -> str | None:
    """The revision the database is at (``None``: not created yet)."""
    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


@contextlib.contextmanager
def _open(url: str) -> Iterator[Database]:
    db = Database(url, pool_size=2)
    try:
        yield db
    finally:
        db.dispose()


def upgrade(url: str) -> dict[str, str | None]:
    """Migrate the database at ``url`` to the newest revision; the revisions before and after."""
    with _open(url) as db:
        before = current_revision(db)
        migrate(db.engine)
        return {"from": before, "to": current_revision(db)}


# ------------------------------------------------------------------ backup
def _new_private_file(path: Path) -> None:
    """Create ``path`` empty and owner-only; an existing file is never overwritten."""
    if path.exists():
        raise InputError("FILE", str(path), "a path that does not exist yet (never overwritten)")
    private_folder(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise InputError("FILE", str(path), f"a writable path ({exc.strerror})") from exc
    os.close(fd)
    os.chmod(path, 0o600)


def _sqlite_path(url: str) -> Path:
    name = make_url(url).database
    if not name or name == ":memory:":
        raise InputError("database", url, "a SQLite file (not an in-memory database)")
    return Path(name)


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise OperationError(
            f"{name} not found on PATH: install the PostgreSQL client tools "
            "(Debian/Ubuntu package postgresql-client, the same major version as the server)"
        )
    return found


def _pg_conninfo(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for ``url`` and the environment (password) for the tools."""
    u = make_url(url)
    host = u.query.get("host") or u.host
    port = u.query.get("port") or u.port
    parts = {"dbname": u.database, "user": u.username, "host": host, "port": port}
    conninfo = " ".join(f"{k}='{v}'" for k, v in parts.items() if v)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    return conninfo, env


def _run_pg(args: list[str], env: dict[str, str], what: str) -> str:
    proc = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        detail = " ".join(proc.stderr.split())[:400] or f"exit status {proc.returncode}"
        raise OperationError(f"{what} failed: {detail}")
    return proc.stdout


def backup(url: str, dest: Path) -> dict[str, Any]:
    """Write a backup of the database at ``url`` to the new file ``dest`` (``0600``)."""
    dialect = make_url(url).get_backend_name()
    if dialect == "postgresql":
        pg_dump = _pg_tool("pg_dump")
        conninfo, env = _pg_conninfo(url)
        _new_private_file(dest)
        try:
            _run_pg([pg_dump, "-Fc", "--no-owner", "-f", str(dest), conninfo], env, "pg_dump")
        except OperationError:
            dest.unlink(missing_ok=True)
            raise
    else:
        src = _sqlite_path(url)
        if not src.is_file():
            raise InputError("database", str(src), "an existing SQLite database file")
        _new_private_file(dest)
        with (
            contextlib.closing(sqlite3.connect(src)) as s,
            contextlib.closing(sqlite3.connect(dest)) as d,
        ):
            s.backup(d)
    return {"file": str(dest), "bytes": dest.stat().st_size, "dialect": dialect}


# ------------------------------------------------------------------ restore
def _verify_sqlite_backup(path: Path) -> str:
    """The schema revision of the SQLite backup ``path``; an error if it is not one."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as c:
            ok = c.execute("PRAGMA integrity_check").fetchone()[0]
            row = c.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise InputError("FILE", str(path), f"a neurodose SQLite backup ({exc})") from exc
    if ok != "ok":
        raise InputError("FILE", str(path), f"an intact SQLite backup (integrity check: {ok})")
    return _known_revision(path, row[0] if row else None)


def _known_revision(path: Path, rev: str | None) -> str:
    known = _known_revisions()
    if rev not in known:
        raise InputError(
            "FILE", str(path), f"a backup at a schema revision this version knows ({sorted(known)})"
        )
    return str(rev)


def _verify_pg_backup(path: Path) -> None:
    pg_restore = _pg_tool("pg_restore")
    try:
        listing = _run_pg([pg_restore, "--list", str(path)], dict(os.environ), "pg_restore --list")
    except OperationError as exc:
        raise InputError("FILE", str(path), f"a pg_dump custom-format file ({exc})") from exc
    if "alembic_version" not in listing:
        raise InputError("FILE", str(path), "a pg_dump of a neurodose database")


def row_count(db: Database) -> int:
    """Rows in every table of the database but the schema revision."""
    with db.engine.connect() as conn:
        tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
        total = 0
        for t in tables:
            total += conn.execute(select(func.count()).select_from(text(f'"{t}"'))).scalar() or 0
    return total


def restore(url: str, src: Path, *, force: bool = False) -> dict[str, Any]:
    """Replace the database at ``url`` by the backup ``src`` (verified first); a
    database holding rows only with ``force``. The schema is upgraded afterwards."""
    if not src.is_file():
        raise InputError("FILE", str(src), "an existing backup file")
    dialect = make_url(url).get_backend_name()
    if dialect == "postgresql":
        _verify_pg_backup(src)
    else:
        _verify_sqlite_backup(src)
    with _open(url) as db:
        rows = row_count(db)
        if rows and not force:
            raise InputError(
                "force", False, f"{ref('force')} to replace a database that holds {rows} rows"
            )
        if dialect == "postgresql":
            conninfo, env = _pg_conninfo(url)
            args = [_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner"]
            _run_pg([*args, "--single-transaction", "-d", conninfo, str(src)], env, "pg_restore")
        else:
            db.engine.dispose()
            with (
                contextlib.closing(sqlite3.connect(src)) as s,
                contextlib.closing(sqlite3.connect(_sqlite_path(url), timeout=10)) as d,
            ):
                s.backup(d)
        migrate(db.engine)
        return {"file": str(src), "revision": current_revision(db), "rows": row_count(db)}


# ------------------------------------------------------------------ export
def _iso(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _rows(s: Session, model: Any, pid: str, skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    cols = [c.name for c in model.__table__.columns if c.name not in skip]
    q = select(model).where(model.patient_id == pid).order_by(model.id)
    return [{c: _iso(getattr(r, c)) for c in cols} for r in s.scalars(q)]


def patient_record(s: Session, pid: str) -> dict[str, Any]:
    """Everything stored about patient ``pid`` (diary-link token hashes left out)."""
    rec = s.get(m.PatientRecord, pid)
    if rec is None:
        raise _unknown_patient(s, pid)
    return {
        "id": rec.id,
        "clinic": rec.clinic,
        "created_at": _iso(rec.created_at),
        "updated_at": _iso(rec.updated_at),
        "profile": rec.profile,
        "regimens": _rows(s, m.RegimenRecord, pid),
        "plans": _rows(s, m.PlanRecord, pid),
        "diary": _rows(s, m.DiaryEntry, pid),
        "levels": _rows(s, m.Level, pid),
        "diary_links": _rows(s, m.DiaryLink, pid, skip=("token_sha256",)),
        "audit": _rows(s, m.AuditEvent, pid),
    }


def _unknown_patient(s: Session, pid: str) -> NeurodoseError:
    ids = s.scalars(select(m.PatientRecord.id)).all()
    if not ids:
        return InputError("patient", pid, "an existing patient id (the database holds none)")
    return UnknownNameError("patient", pid, ids)


def _write_private_json(path: Path, data: Any) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")


def _check_pid(pid: str) -> str:
    if not _PATIENT_ID.match(pid):
        raise InputError("patient", pid, "a patient id (1-32 letters, digits, '_', '-', '.')")
    return pid


def export_patients(
    url: str, out: Path, patient: str | None = None, *, actor: str = "cli"
) -> list[Path]:
    """Write ``<id>.json`` per patient (one, or every one when ``patient`` is None)
    into ``out`` (created ``0700``; files ``0600``); each export is audited."""
    if out.exists() and not out.is_dir():
        raise InputError("output", str(out), "a folder (an existing file was named)")
    private_folder(out)
    with _open(url) as db:
        migrate(db.engine)
        written = _export_all(db, out, patient, actor)
    return written


def _export_all(db: Database, out: Path, patient: str | None, actor: str) -> list[Path]:
    from neurodose.service.store import audit

    written: list[Path] = []
    with db.session() as s:
        ids = [_check_pid(patient)] if patient else list(s.scalars(select(m.PatientRecord.id)))
        for pid in ids:
            data = {"exported_at": _iso(dt.datetime.now(dt.UTC)), **patient_record(s, pid)}
            path = out / f"{_check_pid(pid)}.json"
            _write_private_json(path, data)
            audit(s, actor, "patient.export", pid, f"to {out.name}/")
            written.append(path)
    return written


# ------------------------------------------------------------------ erase
def erase_patient(url: str, pid: str, *, actor: str = "cli") -> dict[str, int]:
    """Delete every row of patient ``pid`` in one transaction; one audit entry names
    who, when and the pseudonymous id with the number of rows per table (no patient
    data). The rows deleted per table."""
    from neurodose.service.store import audit

    _check_pid(pid)
    counts: dict[str, int] = {}
    with _open(url) as db:
        migrate(db.engine)
        with db.session() as s:
            if s.get(m.PatientRecord, pid) is None:
                raise _unknown_patient(s, pid)
            for model in PATIENT_TABLES:
                res = s.execute(delete(model).where(model.patient_id == pid))
                counts[model.__tablename__] = int(getattr(res, "rowcount", 0) or 0)
            s.execute(delete(m.PatientRecord).where(m.PatientRecord.id == pid))
            counts["patients"] = 1
            detail = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
            audit(s, actor, "patient.erase", pid, f"erased rows: {detail}")
    return counts
