"""``neurodose db upgrade|backup|restore|export|erase-patient`` through the real CLI
(typer's CliRunner on the real ``neurodose`` app), on SQLite and on a PostgreSQL
server the tests start, checking the database afterwards. ``alembic upgrade head``
is run as typed in the repository root (a subprocess)."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from neurodose.cli.main import app
from neurodose.service import store
from neurodose.service.db import Database, migrate
from neurodose.service.models import (
    AuditEvent,
    DiaryEntry,
    DiaryLink,
    Level,
    PatientRecord,
    PlanRecord,
    RegimenRecord,
)
from neurodose.service.operations import head_revision

from .conftest import PASSWORD, Postgres, sqlite_url

ROOT = Path(__file__).resolve().parents[2]
RUNNER = CliRunner()
PATIENT_TABLES = (RegimenRecord, PlanRecord, Level, DiaryLink, DiaryEntry, AuditEvent)


def cli(*args: str) -> Any:
    res = RUNNER.invoke(app, ["db", *args])
    assert "Traceback" not in res.output, res.output
    return res


def ok(*args: str) -> str:
    res = cli(*args)
    assert res.exit_code == 0, res.output
    return str(res.output)


def refused(*args: str) -> str:
    res = cli(*args)
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: "), res.output
    return str(res.output)


@pytest.fixture(params=["sqlite", "postgresql"])
def new_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A factory of empty databases of one dialect."""
    n = [0]

    def make() -> str:
        if request.param == "sqlite":
            n[0] += 1
            folder = tmp_path / f"db{n[0]}"
            folder.mkdir()
            return sqlite_url(folder)
        pg: Postgres = request.getfixturevalue("postgres")
        return pg.new_database()

    yield make


def populate(url: str) -> list[str]:
    """Two patients with a plan, a regimen, a diary link, diary entries, a level and
    audit rows, written through the store; their ids."""
    from neurodose.cli.assess import SAMPLE_PATIENT

    db = Database(url)
    migrate(db.engine)
    ids = []
    with db.session() as s:
        user = store.add_user(s, f"ops_{uuid.uuid4().hex[:6]}", "clinician", PASSWORD, "a")
        s.flush()
        for k in range(2):
            pid = store.create_patient(s, user, dict(SAMPLE_PATIENT)).id
            store.make_plan(s, user, pid, "titration", {"drug": "amitriptyline"})
            store.create_diary_link(s, user, pid, 7)
            for d in range(3):
                day = store.today() - dt.timedelta(days=d)
                store.add_diary_entry(s, pid, {"id": str(uuid.uuid4()), "date": day, "pain": 6 + k})
            s.add(Level(patient_id=pid, row={"drug": "amitriptyline"}, created_by=user.id))
            store.audit(s, user.name, "patient.update", pid)
            ids.append(pid)
    db.dispose()
    return ids


def counts(url: str, pid: str | None = None) -> dict[str, int]:
    db = Database(url)
    out = {}
    with db.session() as s:
        for model in (*PATIENT_TABLES, PatientRecord):
            q = select(func.count()).select_from(model)
            if pid is not None:
                col = model.id if model is PatientRecord else model.patient_id
                q = q.where(col == pid)
            out[model.__tablename__] = int(s.scalar(q) or 0)
    db.dispose()
    return out


def test_upgrade_creates_the_schema_then_reports_it_is_current(new_url):
    url = new_url()
    out = ok("upgrade", "--database", url)
    assert f"from revision (none) to {head_revision()}" in out
    assert f"already at revision {head_revision()}" in ok("upgrade", "--database", url)
    assert counts(url)["patients"] == 0


def test_alembic_upgrade_head_as_typed_in_the_repository_root(new_url):
    url = new_url()
    env = {**os.environ, "NEURODOSE_DATABASE_URL": url, "PYTHONPATH": str(ROOT / "src")}
    alembic = Path(sys.executable).with_name("alembic")
    for args in (["upgrade", "head"], ["current"]):
        r = subprocess.run(
            [str(alembic), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert r.returncode == 0, r.stderr
    assert f"{head_revision()} (head)" in r.stdout
    assert counts(url)["patients"] == 0  # the tables exist


def test_backup_and_restore_round_trip(new_url, tmp_path):
    url = new_url()
    populate(url)
    before = counts(url)
    dump = tmp_path / "backup" / "clinic.bak"
    ok("backup", str(dump), "--database", url)
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert "never overwritten" in refused("backup", str(dump), "--database", url)
    # into a new, empty database
    fresh = new_url()
    out = ok("restore", str(dump), "--database", fresh)
    assert f"revision {head_revision()}" in out
    assert counts(fresh) == before
    # a database holding rows is kept unless --force
    other = new_url()
    populate(other)
    held = counts(other)
    assert "--force" in refused("restore", str(dump), "--database", other)
    assert counts(other) == held
    ok("restore", str(dump), "--force", "--database", other)
    assert counts(other) == before


def test_restore_verifies_the_file_before_touching_the_database(new_url, tmp_path):
    url = new_url()
    populate(url)
    held = counts(url)
    junk = tmp_path / "junk.bak"
    junk.write_bytes(b"not a backup at all\n" * 100)
    msg = refused("restore", str(junk), "--force", "--database", url)
    assert "FILE" in msg and str(junk) in msg
    assert "an existing backup file" in refused(
        "restore", str(tmp_path / "missing.bak"), "--database", url
    )
    assert counts(url) == held


def test_export_one_and_all_patients_owner_only(new_url, tmp_path):
    url = new_url()
    p1, p2 = populate(url)
    out = tmp_path / "export"
    assert "exported 1 patient " in ok(
        "export", "--patient", p1, "--output", str(out), "--database", url
    )
    assert sorted(f.name for f in out.iterdir()) == [f"{p1}.json"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    data = json.loads((out / f"{p1}.json").read_text())
    assert stat.S_IMODE((out / f"{p1}.json").stat().st_mode) == 0o600
    assert data["id"] == p1 and data["profile"]["age"] > 0
    assert len(data["diary"]) == 3 and len(data["plans"]) == 1 and len(data["levels"]) == 1
    assert len(data["regimens"]) == 1 and len(data["diary_links"]) == 1
    assert "token_sha256" not in data["diary_links"][0]
    assert {"patient.create", "patient.update"} <= {a["action"] for a in data["audit"]}
    ok("export", "--all", "--output", str(out), "--database", url)
    assert sorted(f.name for f in out.iterdir()) == sorted([f"{p1}.json", f"{p2}.json"])
    assert "exactly one of --patient ID or --all" in refused("export", "--output", str(out))
    assert "patient" in refused(
        "export", "--patient", "nobody", "--output", str(out), "--database", url
    )


def test_erase_patient_deletes_every_row_and_audits_without_phi(new_url):
    url = new_url()
    p1, p2 = populate(url)
    kept = counts(url, p2)
    assert "--yes" in refused("erase-patient", p1, "--database", url)
    assert counts(url, p1)["diary_entries"] == 3
    ok("erase-patient", p1, "--yes", "--database", url)
    left = counts(url, p1)
    assert left == {**{k: 0 for k in left}, "audit": 1}
    assert counts(url, p2) == kept
    db = Database(url)
    with db.session() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.patient_id == p1)).one()
    db.dispose()
    assert ev.action == "patient.erase" and ev.actor.startswith("cli")
    assert "diary_entries 3" in ev.detail and "amitriptyline" not in ev.detail
    assert "unknown patient" in refused("erase-patient", p1, "--yes", "--database", url)


def test_postgres_backup_without_pg_dump_names_what_is_missing(postgres, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    dump = tmp_path / "x.bak"
    msg = refused("backup", str(dump), "--database", postgres.new_database())
    assert "pg_dump not found on PATH" in msg and "postgresql-client" in msg
    assert not dump.exists()


def test_an_unreachable_database_is_one_error_line(tmp_path):
    url = f"postgresql+psycopg://nobody@/nd?host={tmp_path}&port=1"
    assert refused("upgrade", "--database", url).startswith("error: database:")
