"""One plausibility model (:mod:`neurodose.plausibility`) at every door: the same impossible
patient, the same oversized or unit-less dose, the same double-counted co-medication and
the same diary are refused at the command line, from a JSON profile, from a FHIR bundle,
at the REST API (a real server over HTTP), in a trial design and from a diary, each with
an error that names the field; never a traceback, a 500 or a silent result."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from neurodose.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date.today()

#: the impossible patients: (profile fields, the field the error must name)
PATIENTS: list[tuple[dict[str, Any], str]] = [
    ({"age": 40, "weight_kg": 0.5}, "weight"),
    ({"age": 5, "sex": "female", "pregnant": True}, "pregnant"),
    ({"age": 40, "sex": "male", "pregnant": True}, "pregnant"),
]


def _cli(args: list[str]) -> tuple[int, str]:
    res = CliRunner().invoke(app, args)
    out = res.output
    assert "Traceback" not in out, out
    assert res.exception is None or isinstance(res.exception, SystemExit), (args, res.exception)
    return res.exit_code, out


def _refused(code: int, out: str, field: str) -> None:
    assert code == 2, out
    err = [ln for ln in out.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and field in err[0], out


def _profile(extra: dict[str, Any]) -> dict[str, Any]:
    return {"age": 60, "conditions": ["diabetic_neuropathy"], "medications": [], **extra}


@pytest.mark.parametrize(("fields", "field"), PATIENTS)
def test_json_profile_door(fields: dict[str, Any], field: str, tmp_path: Path) -> None:
    p = tmp_path / "p.json"
    p.write_text(json.dumps(_profile(fields)), encoding="utf-8")
    _refused(*_cli(["assess", str(p)]), field)
    sim = ["simulate", "--drug", "duloxetine", "--dose", "60 mg", "--days", "3"]
    _refused(*_cli([*sim, "--patient", str(p)]), field)


def test_cli_flag_door() -> None:
    sim = ["simulate", "--drug", "duloxetine", "--dose", "60 mg", "--days", "3"]
    _refused(*_cli([*sim, "--age", "40", "--weight", "0.5"]), "weight")
    _refused(*_cli([*sim, "--with", "duloxetine:60 mg"]), "--with")
    _refused(*_cli([*sim, "--with", "fluoxetine:20 mg", "--with", "Prozac:20 mg"]), "--with")
    _refused(*_cli(["simulate", "--drug", "duloxetine", "--dose", "6000 mg"]), "dose")
    # above the maximum only with the escape, and then loudly
    code, out = _cli(["simulate", "--drug", "duloxetine", "--dose", "240 mg", "--days", "3",
                      "--allow-above-max"])  # fmt: skip
    assert code == 0 and "ABOVE MAXIMUM" in out, out
    # a 6-month-old runs only with the loud licensed-age warning
    code, out = _cli([*sim, "--age", "0.5"])
    assert code == 0 and "UNDER 18" in out and "under_18_not_licensed" in out, out
    # a micro dose runs, flagged with the cited lowest dose
    for dose in ("25mcg", "0.0001 mg"):
        code, out = _cli(["simulate", "--drug", "duloxetine", "--dose", dose, "--days", "3"])
        assert code == 0 and "BELOW CITED DOSES" in out, out


def _bundle(age_years: int, sex: str, pregnant: bool) -> dict[str, Any]:
    born = TODAY.replace(year=TODAY.year - age_years, day=1)
    entry: list[dict[str, Any]] = [
        {"resource": {"resourceType": "Patient", "id": "p1", "birthDate": born.isoformat(),
                      "gender": sex}},
    ]  # fmt: skip
    if pregnant:
        code = {"coding": [{"system": "http://snomed.info/sct", "code": "77386006"}]}
        entry.append(
            {"resource": {"resourceType": "Condition", "subject": {"reference": "Patient/p1"},
                          "clinicalStatus": {"coding": [{"code": "active"}]}, "code": code}}
        )  # fmt: skip
    return {"resourceType": "Bundle", "type": "collection", "entry": entry}


@pytest.mark.parametrize(("age", "sex"), [(5, "female"), (40, "male")])
def test_fhir_bundle_door(age: int, sex: str, tmp_path: Path) -> None:
    p = tmp_path / "b.json"
    p.write_text(json.dumps(_bundle(age, sex, True)), encoding="utf-8")
    _refused(*_cli(["assess", str(p)]), "pregnan")


TRIAL = """
name = "x"
weeks = 2
condition = "diabetic_neuropathy"
n_per_arm = 10
seed = 1
[[arms]]
name = "placebo"
drug = "placebo"
[[arms]]
name = "d"
drug = "duloxetine"
regimen = [{start_day = 1, dose_mg = DOSE, every_h = 24}]
"""


def test_trial_design_door(tmp_path: Path) -> None:
    f = tmp_path / "t.toml"
    f.write_text(TRIAL.replace("DOSE", "6000"), encoding="utf-8")
    _refused(*_cli(["trial", str(f)]), "arms[1].regimen.dose_mg")
    f.write_text("allow_above_max = true\n" + TRIAL.replace("DOSE", "240"), encoding="utf-8")
    code, out = _cli(["trial", str(f), "--json"])
    assert code == 0, out
    assert any("ABOVE MAXIMUM" in w for w in json.loads(out)["warnings"]), out


def _diary(tmp_path: Path, days: list[dt.date], dose: float | None = None) -> Path:
    rows = ["date,pain" + (",dose_mg" if dose is not None else "")]
    rows += [f"{d.isoformat()},6" + (f",{dose:g}" if dose is not None else "") for d in days]
    p = tmp_path / "diary.csv"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return p


def test_diary_door(tmp_path: Path) -> None:
    base = ["response", "--drug", "duloxetine", "--dose", "60 mg", "--days", "30"]
    week = [TODAY - dt.timedelta(days=20 - i) for i in range(10)]
    _refused(*_cli([*base, "--diary", str(_diary(tmp_path, week[:1]))]), "diary")
    future = [dt.date(2099, 1, 1) + dt.timedelta(days=i) for i in range(10)]
    _refused(*_cli([*base, "--diary", str(_diary(tmp_path, future))]), "diary.date")
    _refused(*_cli([*base, "--diary", str(_diary(tmp_path, week, 25000))]), "diary.dose_mg")
    # a regimen shorter than the diary is stated, never cut silently
    short = ["response", "--drug", "duloxetine", "--dose", "60 mg", "--days", "3", "--json"]
    code, out = _cli([*short, "--diary", str(_diary(tmp_path, week))])
    assert code == 0, out
    said = [w for w in json.loads(out)["warnings"] if w.startswith("regimen:")]
    assert said and "day 3" in said[0] and "day 10" in said[0], out


def test_rest_api_door(sqlite_clinic) -> None:
    api = sqlite_clinic.api()
    ok = {"drug": "duloxetine", "regimen": {"dose": "60 mg", "every": "24 h", "days": 3}}
    bad: list[tuple[dict[str, Any], str]] = [
        ({**ok, "regimen": {"dose": "60", "every": "24 h", "days": 3}}, "dose"),
        ({**ok, "regimen": {"dose": "60 mg", "every": "24", "days": 3}}, "every"),
        ({**ok, "regimen": {"dose": "6000 mg", "every": "24 h", "days": 3}}, "dose"),
        ({**ok, "age": 40, "weight": 0.5}, "weight"),
        ({**ok, "with": ["duloxetine:60 mg"]}, "with"),
        ({**ok, "with": ["fluoxetine:20 mg", "fluoxetine:20 mg"]}, "with"),
    ]
    for body, field in bad:
        r = api.post("/api/v1/simulate", json=body)
        assert r.status_code == 422, (body, r.status_code, r.text)
        item = r.json()["detail"][0]
        assert field in " ".join(map(str, item["loc"])) + item.get("msg", ""), (body, item)
    for fields, field in PATIENTS:
        r = api.post("/api/v1/patients", json=_profile(fields))
        assert r.status_code == 422, (fields, r.status_code, r.text)
        assert field in json.dumps(r.json()["detail"]), r.text
    r = api.post("/api/v1/simulate", json=ok)
    assert r.status_code == 200, r.text


def test_dates_before_birth_at_every_door(tmp_path: Path, sqlite_clinic) -> None:
    p = tmp_path / "p.json"
    p.write_text(json.dumps(_profile({"age": 30})), encoding="utf-8")
    _refused(*_cli(["assess", str(p), "--start-date", "1950-01-01"]), "start_date")
    b = tmp_path / "b.json"
    bundle = _bundle(40, "female", False)
    bundle["entry"][0]["resource"]["birthDate"] = (TODAY + dt.timedelta(days=400)).isoformat()
    b.write_text(json.dumps(bundle), encoding="utf-8")
    _refused(*_cli(["assess", str(b)]), "birthDate")
    api = sqlite_clinic.api()
    pid = api.post("/api/v1/patients", json=_profile({"age": 30})).json()["id"]
    r = api.post(f"/api/v1/patients/{pid}/regimen",
                 json={"drug": "amitriptyline", "start_date": "1950-01-01"})  # fmt: skip
    assert r.status_code == 422, r.text
    assert "start_date" in json.dumps(r.json()["detail"]), r.text
