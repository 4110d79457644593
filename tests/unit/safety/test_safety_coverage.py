"""Silence is never read as safety: every screen says what it checked and what it could not."""

from __future__ import annotations

import datetime as dt
import json

from typer.testing import CliRunner

from neurodose.advice.assess import assess
from neurodose.case.patient import load_patient
from neurodose.cli.main import app
from neurodose.safety.coverage import DOMAINS, checks


def _by_domain(patient: dict, drug: str, mg: float | None = None) -> dict:
    return {c.domain: c for c in checks(load_patient(patient), drug, mg)}


def test_every_domain_is_reported_for_every_drug() -> None:
    for drug in ("amitriptyline", "pregabalin", "warfarin", "lidocaine_plaster"):
        cs = checks(load_patient({"age": 60}), drug)
        assert [c.domain for c in cs] == list(DOMAINS)
        for c in cs:
            assert c.status in ("checked", "not checked")
            assert (c.status == "checked") == (c.reason == "")


def test_missing_knowledge_is_said_not_hidden() -> None:
    cs = _by_domain({"age": 60}, "gabapentin", 900)
    assert cs["pharmacogenetics"].status == "not checked"
    assert "no pharmacogenetics rule or data for Gabapentin" in cs["pharmacogenetics"].reason
    w = _by_domain({"age": 60}, "warfarin")
    assert w["dose limits"].status == "not checked"
    assert w["interactions"].status == "checked"  # screened as the co-medication (bleeding)


def test_missing_patient_input_is_said() -> None:
    cs = _by_domain({"age": 60}, "pregabalin", 150)
    assert cs["kidney"].reason == "no CrCl or eGFR given"
    ok = _by_domain({"age": 60, "labs": {"egfr": 80}}, "pregabalin", 150)
    assert ok["kidney"].status == "checked" and ok["kidney"].rules
    assert _by_domain({"age": 60}, "pregabalin")["dose limits"].reason == "no dose given"
    geno = _by_domain({"age": 60, "genotypes": {"CYP2D6": "PM"}}, "amitriptyline", 25)
    assert geno["pharmacogenetics"].status == "checked"
    assert "cpic_tca_genotype" in geno["pharmacogenetics"].rules


def test_assessment_json_and_text_state_what_was_not_checked(tmp_path) -> None:
    patient = {"age": 70, "conditions": ["diabetic_neuropathy"], "medications": ["warfarin"]}
    a = assess(load_patient(patient), start_date=dt.date(2026, 1, 5))
    d = a.to_dict()
    pg = next(o for o in d["options"] if o["drug"] == "pregabalin")
    assert {c["domain"] for c in pg["checks"]} == set(DOMAINS)
    assert any(c["domain"] == "kidney" and c["status"] == "not checked" for c in pg["checks"])
    cur = [c for c in d["current_checks"] if c["drug"] == "warfarin"]
    assert {c["domain"] for c in cur} == set(DOMAINS)
    f = tmp_path / "p.json"
    f.write_text(json.dumps(patient), encoding="utf-8")
    r = CliRunner().invoke(app, ["assess", str(f), "--start-date", "2026-01-05"])
    assert r.exit_code == 0, r.output
    assert "Not checked" in r.output and "no CrCl or eGFR given" in r.output
