"""The REST API over HTTP against a real server, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import time
import tomllib
import uuid
from pathlib import Path

from typer.testing import CliRunner

from neurodose.cli.main import app

ROOT = Path(__file__).resolve().parents[2]


def _days_ago(n: int) -> str:
    return (dt.date.today() - dt.timedelta(days=n)).isoformat()


def test_health_names_the_database(clinic):
    r = clinic.server.client().get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"] == clinic.dialect and body["version"]


def test_ready_when_database_schema_and_knowledge_are(clinic):
    r = clinic.server.client().get("/ready")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "ready",
        "database": "ok",
        "migrations": "ok",
        "knowledge": "ok",
    }


def test_not_ready_names_the_failed_check(tmp_path):
    """A schema behind the newest migration, or a database that does not answer."""
    from sqlalchemy import create_engine, text

    from neurodose.service.readiness import _db_checks

    behind = create_engine(f"sqlite:///{tmp_path}/old.sqlite3")
    with behind.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0001')"))
    database, migrations = _db_checks(behind)
    assert database == "ok" and migrations.startswith("at 0001, newest ")
    empty = create_engine(f"sqlite:///{tmp_path}/empty.sqlite3")
    assert _db_checks(empty) == ("ok", "no schema")
    gone = create_engine(f"sqlite:///{tmp_path}/no/such/folder.sqlite3")
    assert _db_checks(gone) == ("unreachable (OperationalError)", "unknown")


def test_patient_assessment_plan_diary_response_levels_taper(clinic, sample_profile, make_entry):
    api = clinic.api()
    r = api.post("/api/v1/patients", json=sample_profile)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert api.get(f"/api/v1/patients/{pid}").json()["profile"]["age"] == 67

    # the assessment is `neurodose assess --json` of the stored profile
    served = api.get(f"/api/v1/patients/{pid}/assessment").json()
    prof = ROOT / "out-test-profile.json"
    try:
        prof.write_text(json.dumps(sample_profile))
        cli = CliRunner().invoke(
            app, ["assess", str(prof), "--json", "--start-date", dt.date.today().isoformat()]
        )
    finally:
        prof.unlink(missing_ok=True)
    assert cli.exit_code == 0, cli.output
    assert served == json.loads(cli.output)

    # start amitriptyline 14 days ago: the titration plan is the current plan
    start = _days_ago(14)
    r = api.post(
        f"/api/v1/patients/{pid}/regimen", json={"drug": "amitriptyline", "start_date": start}
    )
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["drugs"] == ["amitriptyline"] and plan["steps"][0]["date"] == start
    assert api.get(f"/api/v1/patients/{pid}/plan").json()["steps"] == plan["steps"]
    ics = api.get(f"/api/v1/patients/{pid}/plan.ics")
    assert ics.headers["content-type"].startswith("text/calendar")
    assert ics.text.startswith("BEGIN:VCALENDAR") and "amitriptyline" in ics.text.lower()

    # the patient writes 14 days through the diary link
    link = api.post(f"/api/v1/patients/{pid}/diary-link").json()
    assert link["url"].endswith("/d/" + link["token"])
    pat = clinic.server.client()
    for i in range(14):
        e = make_entry(_days_ago(14 - i), 7 - i * 0.25, sleep=6 - i * 0.3, side_effects=2 + i % 2)
        r = pat.post(f"/api/v1/diary/{link['token']}/entries", json=e)
        assert r.status_code == 201, r.text
    own = pat.get(f"/api/v1/diary/{link['token']}/entries").json()
    assert len(own) == 14 and own == api.get(f"/api/v1/patients/{pid}/diary").json()
    pplan = pat.get(f"/api/v1/diary/{link['token']}/plan").json()
    assert "patient_text" in pplan and pplan["steps"][0]["drug"] == "amitriptyline"

    resp = api.get(f"/api/v1/patients/{pid}/response")
    assert resp.status_code == 200, resp.text
    rj = resp.json()
    assert rj["drug"] == "amitriptyline" and rj["fit"]["n_pain_scores"] == 14
    assert {s["scenario"] for s in rj["scenarios"]} >= {"keep", "raise"}

    # levels as CSV, then the tdm contract
    csv_text = (
        "datetime,analyte,value,unit\n"
        f"{_days_ago(1)} 09:00,amitriptyline,35,ng/mL\n"
        f"{_days_ago(1)} 09:00,nortriptyline,20,ng/mL\n"
    )
    r = api.post(
        f"/api/v1/patients/{pid}/levels", content=csv_text, headers={"content-type": "text/csv"}
    )
    assert r.status_code == 201, r.text
    tdm = api.get(f"/api/v1/patients/{pid}/tdm").json()
    assert [lv["analyte"] for lv in tdm["levels"]] == ["amitriptyline", "nortriptyline"]
    assert tdm["levels"][0]["value_ng_per_ml"] == 35.0
    # a pain dose: the KB range is a depression range, so no default target (issue 14)
    assert tdm["recommendation"] is None
    assert any("depression" in n and "no dose recommendation" in n for n in tdm["notes"])
    with_target = api.get(f"/api/v1/patients/{pid}/tdm", params={"target": "50-150"})
    assert with_target.status_code == 200, with_target.text
    assert with_target.json()["recommendation"]["target"] == [50.0, 150.0]
    bad = api.get(f"/api/v1/patients/{pid}/tdm", params={"target": "150-50"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "target"]

    # taper from the current dose; the course continues under the taper plan
    r = api.post(f"/api/v1/patients/{pid}/plan/taper", json={})
    assert r.status_code == 201, r.text
    taper = r.json()
    assert taper["steps"][-1]["daily_mg"] == 0
    assert api.get(f"/api/v1/patients/{pid}/plan").json()["steps"] == taper["steps"]

    trail = api.get(f"/api/v1/patients/{pid}/audit").json()
    actions = {a["action"] for a in trail}
    assert {"patient.create", "assessment.read", "plan.titration", "diary.add"} <= actions
    assert all(a["actor"] in ("alice", "diary") for a in trail)


def test_diary_idempotent_replay_and_conflicts(clinic, sample_profile, make_entry):
    api = clinic.api()
    pid = api.post("/api/v1/patients", json=sample_profile).json()["id"]
    token = api.post(f"/api/v1/patients/{pid}/diary-link").json()["token"]
    pat = clinic.server.client()
    url = f"/api/v1/diary/{token}/entries"
    e = make_entry(_days_ago(2), 6, sleep=4, notes="dry mouth", missed_dose=True)
    first = pat.post(url, json=e)
    assert first.status_code == 201
    again = pat.post(url, json=e)
    assert again.status_code == 200 and again.json() == first.json()
    changed = pat.post(url, json={**e, "pain": 5})
    assert changed.status_code == 409
    same_day = pat.post(url, json=make_entry(_days_ago(2), 3))
    assert same_day.status_code == 409
    assert len(pat.get(url).json()) == 1


def test_bad_input_is_422_with_field_value_and_allowed(clinic, sample_profile, make_entry):
    api = clinic.api()
    r = api.post("/api/v1/patients", json={**sample_profile, "age": 300})
    assert r.status_code == 422
    item = r.json()["detail"][0]
    assert item["loc"] == ["body", "age"] and item["value"] == 300 and "120" in item["allowed"]
    bad = {**sample_profile, "conditions": ["diabetic_neuropathi"]}
    r = api.post("/api/v1/patients?strict=true", json=bad)
    assert r.status_code == 422
    item = r.json()["detail"][0]
    assert "diabetic_neuropathy" in item["suggestions"]
    assert item["msg"].startswith("unknown condition 'diabetic_neuropathi'")
    # without strict the unknown condition is kept and listed as unchecked, never guessed
    kept = api.post("/api/v1/patients", json=bad)
    assert kept.status_code == 201
    a = api.get(f"/api/v1/patients/{kept.json()['id']}/assessment").json()
    assert a["unchecked"][0]["kind"] == "condition"
    assert a["unchecked"][0]["name"] == "diabetic_neuropathi"
    pid = api.post("/api/v1/patients", json=sample_profile).json()["id"]
    r = api.post(f"/api/v1/patients/{pid}/regimen", json={"drug": "amitriptylin"})
    assert r.status_code == 422 and "amitriptyline" in r.json()["detail"][0]["suggestions"]
    token = api.post(f"/api/v1/patients/{pid}/diary-link").json()["token"]
    r = clinic.server.client().post(
        f"/api/v1/diary/{token}/entries", json=make_entry(_days_ago(1), 11)
    )
    assert r.status_code == 422
    item = r.json()["detail"][0]
    assert item["loc"] == ["body", "pain"] and item["value"] == 11 and "10" in item["allowed"]
    # levels before any drug was started: a conflict, not a server error
    r = api.post(
        f"/api/v1/patients/{pid}/levels",
        json={"rows": [{"time_h": 10, "analyte": "amitriptyline", "value": 30, "unit": "ng/mL"}]},
    )
    assert r.status_code == 409
    # unknown analyte for the current drug: 422 naming it
    api.post(f"/api/v1/patients/{pid}/regimen", json={"drug": "amitriptyline"})
    r = api.post(
        f"/api/v1/patients/{pid}/levels",
        json={"rows": [{"time_h": 10, "analyte": "dulox", "value": 30, "unit": "ng/mL"}]},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["value"] == "dulox"
    r = api.post(
        f"/api/v1/patients/{pid}/levels", content=b"\xff\xfe", headers={"content-type": "text/csv"}
    )
    assert r.status_code == 422


def test_patient_list_pages_and_flags(sqlite_clinic, sample_profile):
    api = sqlite_clinic.api("carol")
    ids = [api.post("/api/v1/patients", json=sample_profile).json()["id"] for _ in range(3)]
    page = api.get("/api/v1/patients", params={"limit": 2}).json()
    assert page["limit"] == 2 and len(page["items"]) == 2 and page["total"] >= 3
    rest = api.get("/api/v1/patients", params={"limit": 2, "offset": 2}).json()
    seen = {p["id"] for p in page["items"]} | {p["id"] for p in rest["items"]}
    assert set(ids) <= seen | {p["id"] for p in api.get("/api/v1/patients").json()["items"]}
    # a course started 8 weeks ago has passed its review dates: review and level are due
    pid = ids[0]
    api.post(
        f"/api/v1/patients/{pid}/regimen",
        json={"drug": "amitriptyline", "start_date": _days_ago(56)},
    )
    me = api.get(f"/api/v1/patients/{pid}").json()
    assert me["current_drug"] == "amitriptyline"
    assert me["review_due"] is False  # the plan was made today: nothing due since
    assert api.get("/api/v1/patients", params={"limit": 0}).status_code == 422


def test_trial_job_runs_with_progress_and_can_be_cancelled(sqlite_clinic):
    api = sqlite_clinic.api()
    design = tomllib.loads((ROOT / "examples/trials/demo.toml").read_text())
    design["n_per_arm"] = 200
    design["weeks"] = 6
    r = api.post("/api/v1/trials", json=design)
    assert r.status_code == 202, r.text
    job = r.json()["job"]
    for _ in range(600):
        st = api.get(f"/api/v1/trials/{job}").json()
        if st["state"] in ("done", "failed", "cancelled"):
            break
        time.sleep(0.2)
    assert st["state"] == "done", st
    assert st["progress"] == 1.0 and set(st["result"]["arms"]) == {
        a["name"] for a in design["arms"]
    }
    # the job's result over HTTP is the workflow's (the CLI's --json with the job's chunks)
    from neurodose.workflows import TrialRequest, trial, trial_design

    wf = trial(TrialRequest(trial_design(design))).to_json()
    assert st["result"] == json.loads(json.dumps(wf))
    # another clinician cannot see it; too large a design is a 422
    assert sqlite_clinic.api("bob").get(f"/api/v1/trials/{job}").status_code == 404
    big = {**design, "n_per_arm": 10**6}
    assert api.post("/api/v1/trials", json=big).status_code == 422
    r = api.post("/api/v1/trials", json={**design, "n_per_arm": 500})
    job2 = r.json()["job"]
    assert api.delete(f"/api/v1/trials/{job2}").status_code == 200
    for _ in range(600):
        st = api.get(f"/api/v1/trials/{job2}").json()
        if st["state"] in ("done", "failed", "cancelled"):
            break
        time.sleep(0.2)
    assert st["state"] in ("cancelled", "done")  # done only if it finished before the flag


def test_simulate_crcl_zero_gets_the_librarys_answer_not_the_schemas(sqlite_clinic):
    """CrCl 0 is a valid patient (anuric); the API passes it to the library, which
    refuses it for a PK model that needs a positive CrCl, as the CLI does."""
    api = sqlite_clinic.api()
    body = {"drug": "pregabalin", "regimen": {"dose": "75 mg", "every": "12 h", "days": 3}}
    r = api.post("/api/v1/simulate", json={**body, "crcl": 0})
    assert r.status_code == 422, r.text
    assert "crcl" in r.text and "positive CrCl" in r.text
    cli = CliRunner().invoke(
        app, ["simulate", "--drug", "pregabalin", "--dose", "75 mg", "--crcl", "0"]
    )
    assert cli.exit_code != 0 and "positive CrCl" in cli.output
    ok = api.post("/api/v1/simulate", json={**body, "crcl": 30})
    assert ok.status_code == 200, ok.text


def test_simulate_is_the_cli_contract(sqlite_clinic):
    api = sqlite_clinic.api()
    body = {
        "drug": "amitriptyline",
        "regimen": {"dose": "25 mg", "every": "24 h", "days": 3},
        "age": 70,
        "hours": 72,
    }
    r = api.post("/api/v1/simulate", json=body)
    assert r.status_code == 200, r.text
    cli = CliRunner().invoke(
        app,
        [
            "simulate",
            "--drug",
            "amitriptyline",
            "--dose",
            "25 mg",
            "--days",
            "3",
            "--age",
            "70",
            "--hours",
            "72",
            "--json",
        ],
    )
    assert cli.exit_code == 0, cli.output
    served, printed = r.json(), json.loads(cli.output)
    # the same contract; only the command line's record of its own option defaults differs
    printed.pop("defaults_applied")
    assert served == printed
    r = api.post("/api/v1/simulate", json={**body, "regimen": {"dose": "-5 mg"}})
    assert r.status_code == 422
    big = {**body, "regimen": {"dose": "500 mg", "every": "24 h", "days": 2}}
    r = api.post("/api/v1/simulate", json=big)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:2] == ["body", "regimen"]
    r = api.post("/api/v1/simulate", json={**big, "allow_above_max": True})
    assert r.status_code == 200 and "ABOVE MAXIMUM" in r.json()["warnings"][0]


def test_sessions_are_signed_and_scoped(sqlite_clinic):
    srv = sqlite_clinic.server
    r = srv.client().post("/api/v1/token", data={"username": "alice", "password": "wrong"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    nobody = srv.client().post("/api/v1/token", data={"username": "zed", "password": "wrong"})
    assert nobody.status_code == 401 and nobody.json() == r.json()
    forged = sqlite_clinic.tokens["alice"][:-4] + "AAAA"
    assert srv.client(forged).get("/api/v1/patients").status_code == 401
    assert uuid.UUID(str(uuid.uuid4()))  # ids are UUIDs (the diary contract)


def test_explain_is_the_cli_contract(sqlite_clinic):
    api = sqlite_clinic.api()
    body = {"drug": "duloxetine", "dose": "60 mg", "days": 14, "age": 60}
    r = api.post("/api/v1/explain", json=body)
    assert r.status_code == 200, r.text
    cli = CliRunner().invoke(
        app,
        [
            "explain",
            "--drug",
            "duloxetine",
            "--dose",
            "60 mg",
            "--days",
            "14",
            "--age",
            "60",
            "--json",
        ],
    )
    assert cli.exit_code == 0, cli.output
    printed = json.loads(cli.output)
    printed.pop("defaults_applied")
    assert r.json() == printed
    r = api.post("/api/v1/explain", json={**body, "drug": "dulox"})
    assert r.status_code == 422 and "duloxetine" in r.json()["detail"][0]["suggestions"]
