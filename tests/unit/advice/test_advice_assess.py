"""Assessment: ranking, verdicts, JSON contract, patient text, CLI."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from neurodose.advice.assess import OPTIONS, VERDICTS, assess, non_drug_statement
from neurodose.advice.patient_text import patient_plan_text, reading_grade
from neurodose.advice.plans import taper_plan, titration_plan
from neurodose.case.patient import load_patient
from neurodose.cli.assess import SAMPLE_PATIENT, demo_section
from neurodose.cli.main import app

ROOT = Path(__file__).resolve().parents[3]
D0 = dt.date(2026, 1, 5)
runner = CliRunner()
SEVERITIES = {"contraindicated", "avoid", "caution", "monitor", "info"}


def test_ranks_are_a_permutation_and_ordered_by_verdict() -> None:
    a = assess(load_patient({"age": 60, "conditions": ["diabetic_neuropathy"]}), start_date=D0)
    assert sorted(o.rank for o in a.options) == list(range(1, len(OPTIONS) + 1))
    idx = [VERDICTS.index(o.verdict) for o in a.options]
    assert idx == sorted(idx)


def test_fit_reasons_move_the_ranking() -> None:
    base = {"age": 50, "conditions": ["diabetic_neuropathy"]}
    plain = assess(load_patient(base), start_date=D0)
    sleep = assess(load_patient({**base, "priorities": ["sleep"]}), start_date=D0)
    assert sleep.option("pregabalin").score > plain.option("pregabalin").score
    assert sleep.option("duloxetine").score < plain.option("duloxetine").score
    mood = assess(
        load_patient({**base, "conditions": ["diabetic_neuropathy", "depression"]}), start_date=D0
    )
    assert mood.option("duloxetine").score > plain.option("duloxetine").score
    assert any("boyle2012_sleep" in r.sources for r in sleep.option("pregabalin").reasons)


def test_json_contract() -> None:
    a = assess(load_patient(SAMPLE_PATIENT), start_date=D0)
    d = json.loads(json.dumps(a.to_dict()))
    assert set(d) >= {"patient_summary", "options", "findings", "sources"}
    for o in d["options"]:
        assert {"drug", "verdict", "rank", "findings", "plan"} <= set(o)
        assert o["verdict"] in VERDICTS
        for f in o["findings"]:
            assert {"severity", "code", "message", "sources"} <= set(f)
            assert f["severity"] in SEVERITIES
        for s in o["plan"]["steps"]:
            assert {"day", "dose_mg", "every_h", "time_of_day"} <= set(s)
    keys = {s["key"] for s in d["sources"]}
    used = {k for o in d["options"] for f in o["findings"] for k in f["sources"]}
    assert used <= keys


def test_contraindicated_option_has_no_plan() -> None:
    a = assess(load_patient({"age": 50, "medications": ["phenelzine"]}), start_date=D0)
    o = a.option("duloxetine")
    assert o.verdict == "contraindicated" and o.plan is None
    assert o.to_dict()["plan"] == {"steps": []}


def test_non_drug_section_is_honest_about_missing_evidence() -> None:
    nd = non_drug_statement()
    assert nd["items"] == [] and "no trial data" in nd["statement"]


def test_patient_text_is_plain_and_covers_the_key_messages() -> None:
    for plan in (
        titration_plan("amitriptyline", start_date=D0),
        titration_plan("duloxetine", start_date=D0),
        titration_plan("pregabalin", start_date=D0),
    ):
        text = patient_plan_text(plan)
        assert "not a cure" in text
        assert "Do not stop" in text
        assert "Call your doctor" in text
        assert reading_grade(text) < 9, reading_grade(text)
    ami = patient_plan_text(titration_plan("amitriptyline", start_date=D0))
    assert "sleep better" in ami and "4 to 6 weeks" in ami
    taper = patient_plan_text(taper_plan("venlafaxine", 150, start_date=D0))
    assert "step by step" in taper


def test_cli_assess_json_and_table(tmp_path: Path) -> None:
    f = ROOT / "examples" / "patients" / "sample.json"
    r = runner.invoke(app, ["assess", str(f), "--json", "--start-date", "2026-01-05"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert len(d["options"]) == 8
    r = runner.invoke(app, ["assess", str(f), "--drug", "Duloxetine"])
    assert r.exit_code == 0, r.output
    assert "Duloxetine" in r.output and "Amitriptyline" not in r.output.split("Sources")[0]


def test_cli_assess_errors(tmp_path: Path) -> None:
    from neurodose.cli.main import main

    bad = tmp_path / "p.json"
    bad.write_text(json.dumps({"age": 60, "conditions": ["diabetic_neuropaty"]}))
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "neurodose", "assess", str(bad), "--strict"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "diabetic_neuropathy" in out.stderr
    # without --strict the patient is assessed and the unknown is listed first
    out = subprocess.run(
        [sys.executable, "-m", "neurodose", "assess", str(bad), "--json"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert next(iter(d)) == "unchecked"
    assert d["unchecked"][0]["kind"] == "condition"
    assert d["unchecked"][0]["name"] == "diabetic_neuropaty"
    assert main is not None


def test_cli_plan_commands_write_ics(tmp_path: Path) -> None:
    ics = tmp_path / "a.ics"
    r = runner.invoke(
        app,
        [
            "plan",
            "titrate",
            "--drug",
            "amitriptyline",
            "--start-date",
            "2026-01-05",
            "--ics",
            str(ics),
        ],
    )
    assert r.exit_code == 0, r.output
    assert ics.read_bytes().startswith(b"BEGIN:VCALENDAR\r\n")
    r = runner.invoke(
        app, ["plan", "taper", "--drug", "venlafaxine", "--current-dose", "150 mg", "--json"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["steps"][-1]["daily_mg"] == 0
    r = runner.invoke(
        app,
        [
            "plan",
            "switch",
            "--from",
            "amitriptyline",
            "--to",
            "phenelzine",
            "--current-dose",
            "50",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["drugs"] == ["amitriptyline", "phenelzine"]
    p = ROOT / "examples" / "patients" / "older_falls_opioid.json"
    r = runner.invoke(
        app, ["plan", "titrate", "--drug", "pregabalin", "--patient", str(p), "--patient-text"]
    )
    assert r.exit_code == 0, r.output
    assert "For the patient" in r.output


def test_demo_section_prints_assessment_and_plan() -> None:
    buf = StringIO()
    demo_section(Console(file=buf, width=140, color_system=None))
    out = buf.getvalue()
    assert "Options, ranked" in out and "Plan:" in out and "For the patient" in out
