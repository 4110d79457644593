"""Sign-in limits with a real server: a burst of wrong passwords locks the name
(``429`` with ``Retry-After``, on the API and on the page) while other accounts still
sign in; too many failures from one address lock that address only; the lockout ends
after its configured time; every failure is in the audit trail, never the password.

Each test speaks from its own loopback address (127.0.0.x) and locks its own account
names, so the tests do not depend on each other (or on their order).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from .conftest import PASSWORD, Server, sqlite_url

ACCOUNT_FAILURES = 3
ADDRESS_FAILURES = 10
LOCKOUT_S = 3
WRONG = "not-the-password-zz9"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    d = tmp_path_factory.mktemp("login-limits")
    srv = Server(sqlite_url(d), d)
    srv.env_extra.update(
        NEURODOSE_LOGIN_ACCOUNT_FAILURES=str(ACCOUNT_FAILURES),
        NEURODOSE_LOGIN_ADDRESS_FAILURES=str(ADDRESS_FAILURES),
        NEURODOSE_LOGIN_WINDOW_SECONDS="60",
        NEURODOSE_LOGIN_LOCKOUT_SECONDS=str(LOCKOUT_S),
    )
    for name in ("dora", "ed", "fay", "gus", "hal"):
        srv.add_user(name, "a")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _client(server: Server, address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.url, transport=transport, timeout=60)


def _token(c: httpx.Client, name: str, password: str = PASSWORD) -> httpx.Response:
    return c.post("/api/v1/token", data={"username": name, "password": password})


def _page_login(c: httpx.Client, name: str, password: str) -> httpx.Response:
    html = c.get("/login").text
    m = re.search(r'name="csrf" value="([^"]*)"', html)
    assert m
    return c.post(
        "/login", data={"username": name, "password": password, "csrf": m.group(1), "next": "/"}
    )


def _audit_rows(server: Server) -> list[tuple[str, str, str]]:
    """Every audit row of the server's database (read as the operator would)."""
    from neurodose.service.db import Database
    from neurodose.service.models import AuditEvent

    db = Database(server.db_url)
    try:
        with db.session() as s:
            return [(e.actor, e.action, e.detail) for e in s.scalars(select(AuditEvent))]
    finally:
        db.dispose()


def _retry_after(r: httpx.Response) -> int:
    value = int(r.headers["Retry-After"])
    assert 1 <= value <= LOCKOUT_S
    return value


def test_burst_locks_the_name_not_other_accounts_and_ends(server):
    with _client(server, "127.0.0.2") as c:
        codes = [_token(c, "ed", WRONG).status_code for _ in range(ACCOUNT_FAILURES + 3)]
        assert codes == [401] * ACCOUNT_FAILURES + [429] * 3
        locked = _token(c, "ed", WRONG)
        assert locked.status_code == 429
        assert "try again" in locked.json()["detail"]
        _retry_after(locked)
        # the right password does not open a locked name either
        assert _token(c, "ed").status_code == 429
        # another account from the same address still signs in
        assert _token(c, "fay").status_code == 200
        # the page shows the wait in the form, with the same header
        page = _page_login(c, "ed", PASSWORD)
        assert page.status_code == 429
        assert "Too many failed sign-ins" in page.text and 'name="password"' in page.text
        wait = _retry_after(page)
        time.sleep(wait + 0.5)
        assert _token(c, "ed").status_code == 200


def test_page_burst_locks_with_the_form_again(server):
    with _client(server, "127.0.0.3") as c:
        codes = [_page_login(c, "gus", WRONG).status_code for _ in range(ACCOUNT_FAILURES + 1)]
        assert codes == [401] * ACCOUNT_FAILURES + [429]
        r = _page_login(c, "gus", WRONG)
        assert r.status_code == 429 and "Too many failed sign-ins" in r.text
        _retry_after(r)


def test_address_limit_locks_that_address_only(server):
    with _client(server, "127.0.0.4") as c:
        # distinct names: no name reaches its own limit, the address does
        codes = [_token(c, f"nobody{i}", WRONG).status_code for i in range(ADDRESS_FAILURES)]
        assert codes == [401] * ADDRESS_FAILURES
        r = _token(c, "dora")
        assert r.status_code == 429
        _retry_after(r)
    with _client(server, "127.0.0.5") as other:
        assert _token(other, "dora").status_code == 200
    locks = [r for r in _audit_rows(server) if r[1] == "login.locked"]
    assert any(r[2].startswith("address 127.0.0.4 locked for") for r in locks)


def test_failed_logins_are_audited_never_the_password(server):
    from neurodose.service.login import name_actor

    with _client(server, "127.0.0.6") as c:
        assert _token(c, "hal", WRONG).status_code == 401
        assert _page_login(c, "hal", WRONG).status_code == 401
        assert _token(c, "mallory", WRONG).status_code == 401
        for _ in range(ACCOUNT_FAILURES - 2):
            assert _token(c, "hal", WRONG).status_code == 401
    rows = _audit_rows(server)
    assert ("hal", "login.failed", "from 127.0.0.6: wrong password") in rows
    assert ("hal", "login.browser.failed", "from 127.0.0.6: wrong password") in rows
    assert (name_actor("mallory"), "login.failed", "from 127.0.0.6: no such account") in rows
    assert ("hal", "login.locked", f"name locked for {LOCKOUT_S} s after 3 failed sign-ins") in rows
    assert not any("mallory" in " ".join(r) for r in rows)
    assert not any(WRONG in " ".join(r) for r in rows)


def _burst_one(server: Server, address: str) -> int:
    with _client(server, address) as c:
        return _token(c, "kim", WRONG).status_code


def test_two_servers_on_one_postgres_database_share_the_lockout(postgres, tmp_path):
    """The counts live in the database: a name locked through one server process is
    locked on another process on the same database (PostgreSQL, as in a scaled-out
    deployment)."""
    url = postgres.new_database()
    env = {
        "NEURODOSE_LOGIN_ACCOUNT_FAILURES": str(ACCOUNT_FAILURES),
        "NEURODOSE_LOGIN_ADDRESS_FAILURES": str(ADDRESS_FAILURES),
        "NEURODOSE_LOGIN_LOCKOUT_SECONDS": "60",
    }
    a = Server(url, tmp_path / "a", env_extra=dict(env))
    b = Server(url, tmp_path / "b", env_extra=dict(env))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a.add_user("ida", "a")
    a.add_user("jo", "a")
    a.start()
    b.start()
    try:
        with _client(a, "127.0.0.7") as ca, _client(b, "127.0.0.7") as cb:
            codes = [_token(ca, "ida", WRONG).status_code for _ in range(ACCOUNT_FAILURES)]
            assert codes == [401] * ACCOUNT_FAILURES
            r = _token(cb, "ida")
            assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
            assert _token(cb, "jo").status_code == 200
        # a concurrent burst at both processes for one new name: counted without
        # conflicts (never a 500), and the name ends locked
        with ThreadPoolExecutor(8) as pool:
            codes = list(
                pool.map(lambda i: _burst_one(a if i % 2 else b, f"127.0.0.{8 + i % 2}"), range(16))
            )
        assert set(codes) <= {401, 429} and 401 in codes, codes
        with _client(a, "127.0.0.10") as c:
            assert _token(c, "kim", WRONG).status_code == 429
    finally:
        a.stop()
        b.stop()


def test_a_lockout_seen_here_is_refused_without_the_database(tmp_path):
    """A process that saw a lockout refuses that name from memory until the lockout ends
    (a flood costs no database work), then asks the database again."""
    import asyncio

    from neurodose.service import store
    from neurodose.service.db import Database, migrate
    from neurodose.service.login import LoginGate
    from neurodose.service.models import LoginThrottle
    from neurodose.service.settings import Settings

    url = sqlite_url(tmp_path)
    settings = Settings.from_env(
        url,
        tmp_path,
        login_account_failures=2,
        login_address_failures=100,
        login_window_s=60,
        login_lockout_s=2,
    )
    db = Database(url)
    migrate(db.engine)
    with db.session() as s:
        store.add_user(s, "ivy", "clinician", PASSWORD, "a")
    gate = LoginGate(settings, db)
    try:

        def attempt(password: str) -> int:
            return asyncio.run(gate.attempt("ivy", password, "127.0.0.9", "login")).status

        assert [attempt(WRONG), attempt(WRONG)] == [401, 401]
        assert attempt(PASSWORD) == 429  # locked in the database, and remembered here
        with db.session() as s:  # the database forgets the lockout; this process does not
            s.execute(LoginThrottle.__table__.delete())
        assert attempt(PASSWORD) == 429
        time.sleep(2.2)  # the lockout is over: the database is asked again, and it is clear
        assert attempt(PASSWORD) == 200
    finally:
        gate.close()
        db.dispose()
