"""Fewer syncs per request: group commit for writes, and audit rows of reads in batches.

:class:`GroupCommitter`: a write that must be durable (a diary entry) is handed to one
committer thread per process as a function of a session. The thread takes every write
waiting at that moment, runs each in its own savepoint of one transaction (a write that
fails rolls back alone and its caller gets its exception), commits once (one fsync on
SQLite, one WAL flush on PostgreSQL) and only then wakes the callers: each write is
acknowledged after it is durable, and concurrent writes share the sync. While one batch
syncs the next one gathers, so a lone write waits for nothing.

:class:`AuditBuffer`: the audit row of a read (a patient read, an assessment) is kept in
memory, stamped with the time of the read, instead of making the read a write
transaction with its own sync. Pending rows go to the database with the next write
transaction of this process (any session that changes something, so a durable write
never commits before the reads audited ahead of it), or at the latest after
``interval_s`` from a background thread, and on shutdown. What a ``kill -9`` or a power
loss can lose is the read audits of that last interval; no write.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = ["AuditBuffer", "GroupCommitter"]

_log = logging.getLogger(__name__)
T = TypeVar("T")


class AuditBuffer:
    """Audit rows (unsaved ORM objects) waiting for a transaction.

    Parameters
    ----------
    write : callable
        Writes a list of rows in one transaction (the flusher thread's fallback).
    interval_s : float
        The longest a row waits when no write transaction comes by.
    max_rows : int
        A flush is started at once when this many rows wait.
    """

    def __init__(
        self, write: Callable[[list[Any]], None], interval_s: float = 0.2, max_rows: int = 200
    ) -> None:
        self._write = write
        self.interval_s = interval_s
        self.max_rows = max_rows
        self._rows: list[Any] = []
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def __len__(self) -> int:
        return len(self._rows)

    def post(self, row: Any) -> None:
        """Keep ``row`` for the next transaction (never blocks on the database)."""
        with self._cv:
            self._rows.append(row)
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._loop, name="neurodose-audit", daemon=True
                )
                self._thread.start()
            if len(self._rows) >= self.max_rows:
                self._cv.notify()

    def drain(self) -> list[Any]:
        """Take every waiting row (the caller adds them to its transaction)."""
        with self._cv:
            rows, self._rows = self._rows, []
        return rows

    def put_back(self, rows: list[Any]) -> None:
        """Return rows whose transaction did not commit (they keep their order)."""
        if rows:
            with self._cv:
                self._rows[:0] = rows

    def flush(self) -> None:
        """Write every waiting row now, in this thread."""
        rows = self.drain()
        if not rows:
            return
        try:
            self._write(rows)
        except Exception:
            self.put_back(rows)
            raise

    def _loop(self) -> None:
        while True:
            with self._cv:
                if not self._closed:
                    self._cv.wait(self.interval_s)
                closed = self._closed
            try:
                self.flush()
            except Exception:  # the database is away: keep the rows, try again later
                _log.exception("audit rows not written yet; retrying")
            if closed:
                return

    def close(self) -> None:
        """Write what waits and stop the thread."""
        _stop(self, 10)
        self.flush()


@dataclass
class _Job(Generic[T]):
    fn: Callable[[Any], T]
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class GroupCommitter:
    """Runs writes in shared transactions on one thread; :meth:`run` returns after the
    write's transaction is committed (or raises the write's or the commit's error).

    Parameters
    ----------
    session : callable
        A context manager factory: one transaction per ``with`` (``Database.session``).
    max_batch : int
        The most writes in one transaction.
    begin : callable, optional
        Run first in each transaction (SQLite: take the write lock at once, so a read
        inside the batch never has to upgrade its snapshot to a write, which SQLite
        refuses without waiting when another connection wrote in between).
    """

    def __init__(
        self,
        session: Callable[[], Any],
        max_batch: int = 128,
        begin: Callable[[Any], None] | None = None,
    ) -> None:
        self._session = session
        self._begin = begin
        self.max_batch = max_batch
        self._queue: list[_Job[Any]] = []
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        #: (batches, writes) committed: writes / batches is the sharing achieved
        self.batches = 0
        self.writes = 0

    def run(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(session)`` in the next shared transaction; its result once durable."""
        job: _Job[T] = _Job(fn)
        with self._cv:
            if self._closed:
                raise RuntimeError("the service is shutting down")
            self._queue.append(job)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="neurodose-commit", daemon=True
                )
                self._thread.start()
            self._cv.notify()
        job.done.wait()
        if job.error is not None:
            raise job.error
        result: T = job.result
        return result

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._closed:
                    self._cv.wait()
                if not self._queue:
                    return
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
            self._commit(batch)

    def _commit(self, batch: list[_Job[Any]]) -> None:
        try:
            with self._session() as s:
                if self._begin is not None:
                    self._begin(s)
                for job in batch:
                    try:
                        with s.begin_nested():
                            job.result = job.fn(s)
                    except Exception as exc:  # this write alone is rolled back
                        job.error = exc
            self.batches += 1
            self.writes += len(batch)
        except Exception as exc:  # the commit failed: no write of the batch is durable
            for job in batch:
                if job.error is None:
                    job.error = exc
        finally:
            for job in batch:
                job.done.set()

    def close(self) -> None:
        """Finish the queued writes and stop the thread."""
        _stop(self, 30)


def _stop(owner: AuditBuffer | GroupCommitter, timeout_s: float) -> None:
    """Mark ``owner`` closed, wake its thread and wait for it to finish."""
    with owner._cv:
        owner._closed = True
        owner._cv.notify()
        thread = owner._thread
    if thread is not None:
        thread.join(timeout_s)
