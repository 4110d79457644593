"""Accounts that end, with a real server and the real CLI (``neurodose users ...`` in
a subprocess on the server's database): disable, enable, remove and reset-password
end every token and session at once; ids are never reused; "Sign out" ends the
session on the server, not only in the browser.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from .conftest import PASSWORD, SECRET, Server, sqlite_url
from .test_hardening import sign_in


def users(server: Server, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = server.env()
    return subprocess.run(
        [sys.executable, "-m", "neurodose", "users", *args, "--database", server.db_url],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def ok(server: Server, *args: str, stdin: str | None = None) -> str:
    r = users(server, *args, stdin=stdin)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    d = tmp_path_factory.mktemp("accounts")
    srv = Server(sqlite_url(d), d)
    for name in ("dora", "ed", "fay", "gus"):
        srv.add_user(name, "a")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _me(server: Server, token: str) -> int:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        return c.get("/api/v1/patients", headers={"Authorization": f"Bearer {token}"}).status_code


def _login(server: Server, name: str, password: str = PASSWORD) -> int:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        r = c.post("/api/v1/token", data={"username": name, "password": password})
        return r.status_code


def test_list_shows_accounts(server):
    rows = json.loads(ok(server, "list", "--json"))
    assert {"dora", "ed", "fay", "gus"} <= {r["name"] for r in rows}
    assert all(r["active"] and r["removed_at"] is None for r in rows)
    text = ok(server, "list")
    assert "dora" in text and "active" in text


def test_disable_ends_tokens_and_sessions_at_once(server):
    tok = server.token("dora")
    browser, _csrf = sign_in(server.url, "dora")
    assert _me(server, tok) == 200
    assert browser.get("/patients").status_code == 200
    ok(server, "disable", "dora")
    assert _me(server, tok) == 401
    r = browser.get("/patients")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert _login(server, "dora") == 401
    rows = {r["name"]: r for r in json.loads(ok(server, "list", "--json"))}
    assert rows["dora"]["active"] is False
    ok(server, "enable", "dora")
    assert _login(server, "dora") == 200
    assert _me(server, tok) == 401  # an old token stays void
    assert _me(server, server.token("dora")) == 200
    browser.close()


def test_reset_password_ends_tokens(server):
    tok = server.token("ed")
    ok(server, "reset-password", "ed", "--password-stdin", stdin="a new long password\n")
    assert _me(server, tok) == 401
    assert _login(server, "ed") == 401
    assert _login(server, "ed", "a new long password") == 200
    # the policy: too short is refused and changes nothing
    r = users(server, "reset-password", "ed", "--password-stdin", stdin="short\n")
    assert r.returncode != 0 and "password" in (r.stdout + r.stderr)
    assert _login(server, "ed", "a new long password") == 200


def test_remove_never_reuses_the_id(server):
    before = {r["name"]: r["id"] for r in json.loads(ok(server, "list", "--json"))}
    tok = server.token("gus")
    browser, _ = sign_in(server.url, "gus")
    r = users(server, "remove", "gus")
    assert r.returncode != 0 and "--yes" in (r.stdout + r.stderr)
    assert _me(server, tok) == 200  # not removed without --yes
    ok(server, "remove", "gus", "--yes")
    assert _me(server, tok) == 401
    assert browser.get("/patients").status_code == 303
    assert _login(server, "gus") == 401
    # a new account (even of the same name, in another clinic) gets a new id and
    # the removed account's token does not open it
    server.add_user("gus", "b")
    server.add_user("hal", "b")
    after = {r["name"]: r["id"] for r in json.loads(ok(server, "list", "--json"))}
    assert after["gus"] > max(before.values()) and after["hal"] > after["gus"]
    assert "gus" in after and before["gus"] not in after.values()
    assert _me(server, tok) == 401
    assert _me(server, server.token("gus")) == 200
    tombs = [r for r in json.loads(ok(server, "list", "--json", "--removed")) if r["removed_at"]]
    assert [t["id"] for t in tombs] == [before["gus"]]
    browser.close()


def test_forged_token_of_another_version_is_refused(server):
    """A correctly signed token without the account's current version is refused."""
    from neurodose.service.security import issue_token

    uid = {r["name"]: r["id"] for r in json.loads(ok(server, "list", "--json"))}["fay"]
    old_style, _ = issue_token(SECRET, str(uid), "access", 30, role="clinician")
    assert _me(server, old_style) == 401
    assert _me(server, server.token("fay")) == 200


def test_sign_out_ends_the_session_on_the_server(server):
    browser, csrf = sign_in(server.url, "fay")
    cookie = browser.cookies.get("nd_session")
    assert cookie
    r = browser.post("/logout", data={"csrf": csrf})
    assert r.status_code == 303
    # the old cookie, replayed (a copy kept by an attacker or another tab), is dead
    with httpx.Client(base_url=server.url, timeout=60, cookies={"nd_session": cookie}) as c:
        r = c.get("/patients")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    browser.close()


def test_unknown_name_is_a_clear_error(server):
    r = users(server, "disable", "dorra")
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert "dorra" in out and "dora" in out


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_upgrade_from_0001_keeps_accounts_and_voids_old_tokens(dialect, request, tmp_path):
    """An existing database (revision 0001) gains the token version (random per account,
    so tokens issued before the upgrade stop working) and the removal column."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from neurodose.service.db import MIGRATIONS, Database, migrate
    from neurodose.service.security import hash_password

    if dialect == "sqlite":
        url = sqlite_url(tmp_path)
    else:
        url = request.getfixturevalue("postgres").new_database()
    db = Database(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with db.engine.begin() as conn:
        for name in ("old1", "old2"):
            conn.execute(
                sa.text(
                    "INSERT INTO clinicians (name, role, clinic, password_hash, active, created_at)"
                    " VALUES (:n, 'clinician', 'a', :h, :t, CURRENT_TIMESTAMP)"
                ),
                {"n": name, "h": hash_password(PASSWORD), "t": True},
            )
    migrate(db.engine)
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT name, token_version, removed_at FROM clinicians ORDER BY id")
        ).all()
    db.dispose()
    assert [r[0] for r in rows] == ["old1", "old2"]
    assert all(r[1] >= 1 and r[2] is None for r in rows)
    assert rows[0][1] != rows[1][1]  # random (a 1 in 2**31 chance of a tie)
