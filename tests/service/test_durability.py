"""kill -9 while 8 clients write diary entries; after a restart every acknowledged
entry is there exactly once (SQLite in WAL + synchronous=FULL, and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from typing import Any

import httpx
import pytest

from .conftest import Server, sqlite_url

WRITERS = 8


def _kill_and_check(server: Server) -> None:
    from neurodose.cli.assess import SAMPLE_PATIENT

    server.add_user("dora")
    server.start()
    api = server.client(server.token("dora"))
    links = []
    for _ in range(WRITERS):
        pid = api.post("/api/v1/patients", json=SAMPLE_PATIENT).json()["id"]
        links.append((pid, api.post(f"/api/v1/patients/{pid}/diary-link").json()["token"]))
    acked: list[list[dict[str, Any]]] = [[] for _ in range(WRITERS)]
    tried: list[list[dict[str, Any]]] = [[] for _ in range(WRITERS)]
    stop = threading.Event()

    def write(i: int) -> None:
        token = links[i][1]
        with httpx.Client(base_url=server.url, timeout=10) as c:
            for k in range(10_000):
                if stop.is_set():
                    return
                e = {
                    "id": str(uuid.uuid4()),
                    "date": (dt.date.today() - dt.timedelta(days=k)).isoformat(),
                    "pain": k % 11,
                    "sleep": (k * 3) % 11,
                    "notes": f"w{i} k{k}",
                }
                tried[i].append(e)
                try:
                    r = c.post(f"/api/v1/diary/{token}/entries", json=e)
                except httpx.HTTPError:
                    return  # the server is gone
                assert r.status_code == 201, r.text
                acked[i].append(e)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while sum(map(len, acked)) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill9()
    stop.set()
    for t in threads:
        t.join(30)
    n_acked = sum(map(len, acked))
    assert n_acked >= 40, "the writers did not get going"

    server.start()
    api = server.client(server.token("dora"))
    for i, (pid, token) in enumerate(links):
        stored = api.get(f"/api/v1/patients/{pid}/diary").json()
        ids = [e["id"] for e in stored]
        assert len(ids) == len(set(ids)), "duplicated entries"
        assert len({e["date"] for e in stored}) == len(stored)
        tried_ids = {e["id"] for e in tried[i]}
        assert set(ids) <= tried_ids
        missing = {e["id"] for e in acked[i]} - set(ids)
        assert not missing, f"acknowledged entries lost after kill -9: {len(missing)}"
        by_id = {e["id"]: e for e in stored}
        for e in acked[i]:
            assert by_id[e["id"]]["notes"] == e["notes"]
        # the client retries what was in flight: stored once, never a conflict
        last = tried[i][-1]
        r = server.client().post(f"/api/v1/diary/{token}/entries", json=last)
        assert r.status_code in (200, 201), r.text
        assert len(api.get(f"/api/v1/patients/{pid}/diary").json()) == len(stored) + (
            r.status_code == 201
        )
    server.stop()


def test_kill9_sqlite(tmp_path):
    server = Server(sqlite_url(tmp_path), tmp_path)
    try:
        _kill_and_check(server)
    finally:
        server.stop()


def test_kill9_postgresql(postgres, tmp_path):
    server = Server(postgres.new_database(), tmp_path)
    try:
        _kill_and_check(server)
    finally:
        server.stop()


@pytest.mark.parametrize("dialect", ["sqlite"])
def test_fresh_start_creates_and_migrates_the_default_store(tmp_path, dialect):
    """`neurodose users add` then `neurodose serve` with no --database: SQLite in the
    data folder, WAL journal."""
    import sqlite3
    import subprocess
    import sys

    from .conftest import PASSWORD

    server = Server("", tmp_path / "data")
    server.data_dir.mkdir()
    env = server.env()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "neurodose",
            "users",
            "add",
            "erin",
            "--role",
            "clinician",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        text=True,
        capture_output=True,
        env=env,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert PASSWORD not in r.stdout + r.stderr
    db = server.data_dir / "neurodose.sqlite3"
    assert db.exists()
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT name, role FROM clinicians").fetchall() == [
            ("erin", "clinician")
        ]
    try:
        server.start()
        assert server.client().get("/health").json()["database"] == dialect
        assert server.client(server.token("erin")).get("/api/v1/patients").status_code == 200
        token = (
            server.client(server.token("erin"))
            .post("/api/v1/patients", json={"age": 50})
            .json()["id"]
        )
        link = server.client(server.token("erin")).post(f"/api/v1/patients/{token}/diary-link")
        diary = link.json()["token"]
        assert server.client().get(f"/api/v1/diary/{diary}/entries").status_code == 200
        log = server.log()
        assert PASSWORD not in log and diary not in log and "/api/v1/diary/***/entries" in log
    finally:
        server.stop()
