"""The admin page over HTTP on a real server: the clinic's accounts (disable and enable
through the functions ``neurodose users`` calls, with real effect on tokens) and CDS Hooks
feedback counts per service and card outcome; admins only (a clinician gets 403)."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from typing import Any

import httpx
import pytest

from neurodose.errors import InputError

from .conftest import Clinic
from .test_hardening import sign_in

ADMIN = "ada"


def ensure_user(clinic: Clinic, name: str, role: str = "clinician", where: str = "a") -> None:
    """Add an account to the running clinic unless a test module added it already."""
    with contextlib.suppress(InputError):
        clinic.server.add_user(name, where, role=role)


def admin_session(clinic: Clinic) -> tuple[httpx.Client, str]:
    """A browser-like client signed in as the admin of clinic ``a``, and its CSRF token."""
    ensure_user(clinic, ADMIN, "admin")
    return sign_in(clinic.server.url, ADMIN)


@pytest.fixture(scope="module")
def admin(sqlite_clinic) -> Any:
    client, csrf = admin_session(sqlite_clinic)
    yield client, csrf
    client.close()


def _status(clinic: Clinic, token: str) -> int:
    return clinic.server.client(token).get("/api/v1/patients").status_code


def test_admin_lists_own_clinic_accounts_only(sqlite_clinic, admin):
    client, _ = admin
    r = client.get("/admin")
    assert r.status_code == 200
    users = re.search(r'<table id="users">(.*?)</table>', r.text, re.S)
    assert users
    names = set(re.findall(r"<tr><td>([a-z_]+)</td>", users.group(1)))
    assert {"alice", "carol", ADMIN} <= names and "bob" not in names  # bob: clinic b
    assert '<a href="/admin">Admin</a>' in r.text


def test_disable_and_enable_from_the_page_end_and_restore_access(sqlite_clinic, admin):
    client, csrf = admin
    ensure_user(sqlite_clinic, "cleo")
    token = sqlite_clinic.server.token("cleo")
    assert _status(sqlite_clinic, token) == 200
    r = client.post("/admin/users/cleo/disable", data={"csrf": csrf})
    assert r.status_code == 200 and "Account cleo disabled" in r.text
    assert _status(sqlite_clinic, token) == 401  # her token ended at once
    with httpx.Client(base_url=sqlite_clinic.server.url, timeout=60) as c:
        login = {"username": "cleo", "password": "correct horse battery"}
        assert c.post("/api/v1/token", data=login).status_code == 401
        r = client.post("/admin/users/cleo/enable", data={"csrf": csrf})
        assert r.status_code == 200 and "Account cleo enabled" in r.text
        assert c.post("/api/v1/token", data=login).status_code == 200
    # the audit trail names the admin as the actor, as `neurodose users` names "cli"
    from neurodose.service.db import Database
    from neurodose.service.models import AuditEvent

    db = Database(sqlite_clinic.server.db_url)
    with db.session() as s:
        rows = s.query(AuditEvent.actor, AuditEvent.action).filter(AuditEvent.detail == "cleo")
        assert {(ADMIN, "user.disable"), (ADMIN, "user.enable")} <= set(rows.all())
    db.dispose()


def test_forms_need_the_csrf_token(sqlite_clinic, admin):
    client, _ = admin
    ensure_user(sqlite_clinic, "cleo")
    token = sqlite_clinic.server.token("cleo")
    for csrf in ("", "forged"):
        r = client.post("/admin/users/cleo/disable", data={"csrf": csrf})
        assert r.status_code == 303 and r.headers["location"] == "/login?expired=1"
    assert _status(sqlite_clinic, token) == 200  # nothing changed


def test_admin_cannot_disable_self_nor_another_clinic_nor_unknown(sqlite_clinic, admin):
    client, csrf = admin
    r = client.post(f"/admin/users/{ADMIN}/disable", data={"csrf": csrf})
    assert r.status_code == 409 and "cannot disable your own account" in r.text
    assert client.get("/admin").status_code == 200  # still signed in
    r = client.post("/admin/users/bob/disable", data={"csrf": csrf})
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert _status(sqlite_clinic, sqlite_clinic.tokens["bob"]) == 200
    r = client.post("/admin/users/nobody/disable", data={"csrf": csrf})
    assert r.status_code == 422 and "unknown user" in r.text


def test_cds_feedback_counts_per_service_and_outcome(sqlite_clinic, admin):
    from sqlalchemy import create_engine

    from neurodose.service.cds.store import CdsStore

    engine = create_engine(sqlite_clinic.server.db_url)
    cds = CdsStore(engine)
    tag = f"svc-{dt.datetime.now().timestamp():.0f}"
    cds.record_cards(tag, [(f"{tag}-{i}", "rule-x", "warning") for i in range(3)])
    now = dt.datetime.now(dt.UTC)
    fb = [("accepted", 0), ("overridden", 1), ("overridden", 2)]
    cds.add_feedback(
        [
            {
                "service": tag,
                "card": f"{tag}-{i}",
                "rule": "rule-x",
                "outcome": o,
                "outcome_time": now,
            }
            for o, i in fb
        ]
    )
    engine.dispose()
    client, _ = admin
    html = client.get("/admin").text
    row = re.search(rf"<tr><td>{tag}</td>(.*?)</tr>", html)
    assert row, html[-2000:]
    assert re.findall(r"<td>(\d+)</td>", row.group(1)) == ["3", "1", "2"]
