"""Database engine, sessions and migrations.

SQLite runs in WAL mode with ``synchronous=FULL`` (an acknowledged write survives
a crash of the process or the machine) and a busy timeout so concurrent writers
wait instead of failing; its file is created ``0600`` in a folder created ``0700``
(patient data: no other account on the machine reads it). PostgreSQL is used as
configured. :func:`migrate` brings either to the newest Alembic revision.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["MIGRATIONS", "Database", "migrate", "private_folder", "private_sqlite_file"]

#: the Alembic script folder shipped with the package
MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def private_folder(folder: Path) -> None:
    """Create ``folder`` (and missing parents) owner-only (``0700``); an existing
    folder is left as it is (its owner chose its mode)."""
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir(mode=0o700, exist_ok=True)
        os.chmod(d, 0o700)  # mkdir's mode is reduced by the umask, never widened


def private_sqlite_file(path: Path) -> None:
    """Create the SQLite file owner-only (``0600``) before SQLite opens it, and take
    group and other permissions off an existing one. SQLite gives its ``-wal`` and
    ``-shm`` files the database file's permissions."""
    private_folder(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, mode & 0o700)


def make_engine(url: str, pool_size: int = 8) -> Engine:
    """An engine for ``url``; SQLite gets WAL, ``synchronous=FULL`` and a busy timeout,
    and its file (and any folder made for it) is owner-only. A server database gets a
    pool of ``pool_size`` connections (and as many more at peaks) per process: with N
    workers the server sees at most ``2 N pool_size`` (docs/deployment.md)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:" and not path.startswith("file:"):
            private_sqlite_file(Path(path))
        eng = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(eng, "connect", _sqlite_pragmas)
        return eng
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size)


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest revision (creates it on an empty database)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Database:
    """The engine and a session factory; ``with db.session() as s`` is one transaction.

    Writes that must be durable can share a transaction and its sync with other
    requests' writes (:attr:`group`, :class:`~neurodose.service.store_commit.GroupCommitter`);
    audit rows of reads wait in :attr:`audit` and are written with the next transaction
    that changes something, or by a background flush (``store_commit``).

    Parameters
    ----------
    url : str
        SQLAlchemy URL.
    pool_size : int
        Connections per process for a server database (:func:`make_engine`).
    """

    def __init__(self, url: str, pool_size: int = 8) -> None:
        from neurodose.service.store_commit import AuditBuffer, GroupCommitter

        self.url = url
        self.engine = make_engine(url, pool_size)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self._factory, "after_flush", _mark_written)
        self.audit = AuditBuffer(self._write_rows)
        sqlite = self.engine.dialect.name == "sqlite"
        self.group = GroupCommitter(self.session, begin=_write_lock if sqlite else None)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return str(self.engine.dialect.name)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error.
        A transaction that wrote something also writes the waiting audit rows."""
        rows: list[dict[str, Any]] = []
        with self._factory() as s:
            s.info["db"] = self
            try:
                with s.begin():
                    yield s
                    if len(self.audit) and (s.info.get("written") or s.new or s.dirty):
                        rows = self.audit.drain()
                        s.add_all(_audit_rows(rows))
            except BaseException:
                self.audit.put_back(rows)
                raise

    def _write_rows(self, rows: list[dict[str, Any]]) -> None:
        with self._factory() as s, s.begin():
            s.add_all(_audit_rows(rows))

    def dispose(self) -> None:
        """Finish queued writes, write waiting audit rows, close every pooled connection."""
        self.group.close()
        self.audit.close()
        self.engine.dispose()


def _write_lock(s: Session) -> None:
    """SQLite: begin the transaction holding the write lock (waiting up to the busy
    timeout for it), instead of a read snapshot that may not be upgradable later."""
    s.connection().exec_driver_sql("BEGIN IMMEDIATE")


def _mark_written(s: Session, _ctx: Any) -> None:
    s.info["written"] = True


def _audit_rows(rows: list[dict[str, Any]]) -> list[Any]:
    from neurodose.service.models import AuditEvent

    return [AuditEvent(**r) for r in rows]
