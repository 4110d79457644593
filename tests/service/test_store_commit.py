"""Group commit and batched read audits on a real SQLite database: concurrent writes
share transactions, each is durable when acknowledged, a failing write fails alone;
read audits reach the database with the next write or the background flush."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from neurodose.service.db import Database, migrate
from neurodose.service.store import audit


def _db(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path}/c.sqlite3")
    migrate(db.engine)
    return db


def _count(tmp_path: Path, where: str = "1=1") -> int:
    """Rows as another connection sees them (what a restart would find)."""
    eng = create_engine(f"sqlite:///{tmp_path}/c.sqlite3")
    with eng.connect() as c:
        n = int(c.execute(text(f"select count(*) from audit where {where}")).scalar_one())
    eng.dispose()
    return n


def test_concurrent_writes_share_commits_and_are_durable_when_acknowledged(tmp_path):
    db = _db(tmp_path)
    n = 40
    seen_when_acked: list[int] = []
    lock = threading.Lock()

    def write(i: int) -> None:
        db.group.run(lambda s: audit(s, "t", "test.write", None, str(i)))
        with lock:  # acknowledged: another connection must already see it
            seen_when_acked.append(_count(tmp_path, f"detail = '{i}'"))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen_when_acked == [1] * n
    assert db.group.writes == n
    assert db.group.batches < n  # some writes shared a transaction (and its sync)
    db.dispose()


def test_a_failing_write_fails_alone(tmp_path):
    db = _db(tmp_path)
    errors: list[BaseException] = []
    gate = threading.Event()

    def bad(s):  # type: ignore[no-untyped-def]
        audit(s, "t", "test.bad", None)
        s.flush()
        raise ValueError("refused")

    def run(fn) -> None:  # type: ignore[no-untyped-def]
        gate.wait()
        try:
            db.group.run(fn)
        except ValueError as exc:
            errors.append(exc)

    fns = [bad] + [lambda s, i=i: audit(s, "t", "test.good", None, str(i)) for i in range(9)]
    threads = [threading.Thread(target=run, args=(f,)) for f in fns]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    assert [str(e) for e in errors] == ["refused"]
    assert _count(tmp_path, "action = 'test.good'") == 9
    assert _count(tmp_path, "action = 'test.bad'") == 0
    db.dispose()


def test_read_audits_wait_for_a_write_or_the_flush(tmp_path):
    db = _db(tmp_path)
    db.audit.interval_s = 30.0  # no background flush during the test
    with db.session() as s:
        audit(s, "t", "patient.read", "p1")
    assert _count(tmp_path, "action = 'patient.read'") == 0  # the read wrote nothing
    assert len(db.audit) == 1
    with db.session() as s:  # the next write transaction takes it along
        audit(s, "t", "patient.update", "p1")
    assert _count(tmp_path, "action = 'patient.read'") == 1
    assert len(db.audit) == 0
    with db.session() as s:
        audit(s, "t", "assessment.read", "p1")
    db.audit.interval_s = 0.05
    with db.audit._cv:  # wake the flusher with its new interval
        db.audit._cv.notify()
    deadline = time.monotonic() + 10
    while _count(tmp_path, "action = 'assessment.read'") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _count(tmp_path, "action = 'assessment.read'") == 1
    db.dispose()


def test_shutdown_writes_the_waiting_read_audits(tmp_path):
    db = _db(tmp_path)
    db.audit.interval_s = 30.0
    with db.session() as s:
        audit(s, "t", "diary.read", "p1")
    db.dispose()
    assert _count(tmp_path, "action = 'diary.read'") == 1


def test_a_write_that_fails_keeps_the_waiting_audits(tmp_path):
    db = _db(tmp_path)
    db.audit.interval_s = 30.0
    with db.session() as s:
        audit(s, "t", "patient.read", "p1")
    with pytest.raises(RuntimeError), db.session() as s:
        audit(s, "t", "patient.update", "p1")
        s.flush()
        raise RuntimeError("rolled back")
    assert len(db.audit) == 1
    db.dispose()
    assert _count(tmp_path, "action = 'patient.read'") == 1
    assert _count(tmp_path, "action = 'patient.update'") == 0
