"""``neurodose serve --workers 2`` on PostgreSQL: two processes that share nothing in
memory agree on what lives in the database. Each check uses a new connection per
request, so the requests spread over both workers: a token signed in on one works on
all; a diary entry stored through one is a replay (200, stored once) on all; an account
disabled from the command line is refused by all at once."""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from .conftest import Server

ROUNDS = 12


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            out |= {int(x) for x in (task / "children").read_text().split()}
    return out


def _fresh(method: str, url: str, **kw: object) -> httpx.Response:
    with httpx.Client(timeout=60) as c:  # a new connection each time
        return c.request(method, url, **kw)  # type: ignore[arg-type]


def test_two_workers_agree_on_tokens_replays_and_disabled_accounts(postgres, tmp_path):
    from neurodose.cli.assess import SAMPLE_PATIENT

    server = Server(postgres.new_database(), tmp_path)
    server.add_user("wendy")
    cmd = [sys.executable, "-m", "neurodose", "serve", "--port", str(server.port)]
    cmd += ["--database", server.db_url, "--workers", "2"]
    log = open(tmp_path / "workers.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=server.env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if _fresh("GET", server.url + "/health").status_code == 200:
                    break
            time.sleep(0.3)
        while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert len(_children(proc.pid)) >= 2, (tmp_path / "workers.log").read_text()

        token = server.token("wendy")
        auth = {"Authorization": f"Bearer {token}"}
        r = _fresh("POST", server.url + "/api/v1/patients", json=SAMPLE_PATIENT, headers=auth)
        pid = r.json()["id"]
        link = _fresh(
            "POST", f"{server.url}/api/v1/patients/{pid}/diary-link", headers=auth
        ).json()["token"]
        entry = {"id": str(uuid.uuid4()), "date": dt.date.today().isoformat(), "pain": 4}
        url = f"{server.url}/api/v1/diary/{link}/entries"
        codes = [_fresh("POST", url, json=entry).status_code for _ in range(ROUNDS)]
        assert codes == [201] + [200] * (ROUNDS - 1)
        reads = [
            _fresh("GET", f"{server.url}/api/v1/patients/{pid}", headers=auth).status_code
            for _ in range(ROUNDS)
        ]
        assert reads == [200] * ROUNDS
        diary = _fresh("GET", f"{server.url}/api/v1/patients/{pid}/diary", headers=auth).json()
        assert [e["id"] for e in diary] == [entry["id"]]

        db = server.db_url
        subprocess.run(
            [sys.executable, "-m", "neurodose", "users", "disable", "wendy", "--database", db],
            env=server.env(),
            check=True,
            capture_output=True,
        )
        after = [
            _fresh("GET", f"{server.url}/api/v1/patients/{pid}", headers=auth).status_code
            for _ in range(ROUNDS)
        ]
        assert after == [401] * ROUNDS
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
