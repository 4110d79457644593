"""The doors call the same workflows: the CLI's ``--json`` and the clinic API's body are
the workflow's result (plus, on the CLI, the defaults it applied)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neurodose.case import Regimen, load_patient, parse_comedication
from neurodose.cli.main import app
from neurodose.errors import InputError
from neurodose.service import library
from neurodose.workflows import (
    AssessRequest,
    DraftOrder,
    ExplainRequest,
    OrderScreenRequest,
    PatientOptions,
    PatientRequest,
    PlanRequest,
    SimulateRequest,
    assess,
    build_patient,
    explain,
    make_plan,
    screen_orders,
    simulate,
)


def _cli(*args: str) -> dict:
    res = CliRunner().invoke(app, list(args), prog_name="neurodose")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_simulate_cli_api_and_workflow_agree():
    reg = {"dose": "25 mg", "every": "24 h", "days": 5}
    wf = simulate(SimulateRequest("amitriptyline", Regimen.from_mapping(reg), hours=72.0))
    api = library.simulate_json("amitriptyline", reg, {}, [], 72.0)
    cli = _cli(
        "simulate",
        "--drug",
        "amitriptyline",
        "--dose",
        "25 mg",
        "--days",
        "5",
        "--hours",
        "72",
        "--json",
    )
    cli.pop("defaults_applied")
    assert json.loads(json.dumps(wf.to_json())) == api == cli


def test_explain_api_and_workflow_agree():
    reg = Regimen.oral("60 mg", every="24 h", days=7)
    wf = explain(ExplainRequest("duloxetine", reg, days=7))
    api = library.explain_json("duloxetine", "60 mg", "24 h", 7, {}, [])
    assert json.loads(json.dumps(wf.to_json(), default=str)) == api


def test_plan_cli_api_and_workflow_agree():
    start = dt.date(2026, 1, 5)
    wf = make_plan(PlanRequest("taper", "venlafaxine", start, current_daily_mg=150))
    api = library.make_plan(
        None,
        {
            "kind": "taper",
            "drug": "venlafaxine",
            "start_date": "2026-01-05",
            "current_daily_mg": 150,
        },
    )
    cli = _cli(
        "plan",
        "taper",
        "--drug",
        "venlafaxine",
        "--current-dose",
        "150",
        "--start-date",
        "2026-01-05",
        "--json",
        "--patient-text",
    )
    for k in ("warnings", "defaults_applied"):
        cli.pop(k)
    assert wf.to_json() == api == cli


def test_a_dose_above_the_maximum_names_the_field_of_each_door():
    with pytest.raises(InputError) as exc:
        simulate(SimulateRequest("amitriptyline", Regimen.oral("500 mg", every="24 h", days=2)))
    assert exc.value.field == "regimen.dose"
    with pytest.raises(InputError) as exc:
        library.explain_json("amitriptyline", "500 mg", "24 h", 2, {}, [])
    assert exc.value.field == "dose"
    res = CliRunner().invoke(
        app, ["simulate", "--drug", "amitriptyline", "--dose", "500 mg", "--json"]
    )
    assert res.exit_code == 2 and "error: --dose: " in res.stderr
    with pytest.raises(InputError) as exc:
        simulate(
            SimulateRequest(
                "duloxetine",
                Regimen.oral("60 mg", every="24 h", days=2),
                comedications=(parse_comedication("amitriptyline:900 mg"),),
            )
        )
    assert exc.value.field == "comedications"


# ------------------------------------------------------------------ assess, patients


ROOT = Path(__file__).resolve().parents[3]
START = dt.date(2026, 1, 5)
PROFILE = {
    **json.loads((ROOT / "examples/patients/sample.json").read_text()),
    "medications": [{"name": "omeprazole", "dose_mg": 20}, {"name": "zzzoxetine", "dose_mg": 5}],
}


def test_assess_cli_api_and_workflow_agree(tmp_path):
    patient = build_patient(PatientRequest(PROFILE)).patient
    wf = assess(AssessRequest(patient, START)).to_json()
    api = library.assessment(PROFILE, START)
    f = tmp_path / "p.json"
    f.write_text(json.dumps(PROFILE))
    cli = _cli("assess", str(f), "--json", "--start-date", START.isoformat())
    assert json.loads(json.dumps(wf, default=str)) == api == cli
    # the unknown medicine is assessed around and listed, in every door
    assert [u["name"] for u in cli["unchecked"]] == ["zzzoxetine"]


def test_assess_of_one_drug_resolves_its_name_as_the_cli_does(tmp_path):
    patient = build_patient(PatientRequest(PROFILE)).patient
    wf = assess(AssessRequest(patient, START, ("Cymbalta",)))
    assert wf.drugs == ("duloxetine",) and [o.drug for o in wf.assessment.options] == ["duloxetine"]
    f = tmp_path / "p.json"
    f.write_text(json.dumps(PROFILE))
    cli = _cli("assess", str(f), "--json", "--drug", "Cymbalta", "--start-date", "2026-01-05")
    assert json.loads(json.dumps(wf.to_json(), default=str)) == cli


def test_patient_from_a_fhir_bundle_is_the_same_in_the_cli_and_the_workflow(tmp_path):
    from neurodose.fhir.inbound import case_from_bundle

    bundle = json.loads((ROOT / "examples/cds/01_interaction_tramadol_duloxetine.json").read_text())
    bundle = bundle["patient"]
    built = build_patient(PatientRequest(case_from_bundle(bundle)))
    assert built.patient_id == "p01" and built.patient.age is not None
    f = tmp_path / "b.json"
    f.write_text(json.dumps(bundle))
    cli = _cli("assess", str(f), "--json", "--start-date", "2026-01-05")
    wf = assess(AssessRequest(built.patient, START)).to_json()
    assert json.loads(json.dumps(wf, default=str)) == cli


def test_strict_refuses_an_unknown_name_from_every_source(tmp_path):
    from neurodose.errors import NeurodoseError

    loose = build_patient(PatientRequest(PROFILE))
    assert [(u.kind, u.name) for u in loose.unchecked] == [("drug", "zzzoxetine")]
    with pytest.raises(NeurodoseError, match="zzzoxetine"):
        build_patient(PatientRequest(PROFILE, strict=True))
    with pytest.raises(NeurodoseError, match="zzzoxetine"):
        library.profile_patient(PROFILE, strict=True)
    f = tmp_path / "p.json"
    f.write_text(json.dumps(PROFILE))
    res = CliRunner().invoke(app, ["assess", str(f), "--json", "--strict"])
    assert res.exit_code != 0 and "zzzoxetine" in res.stderr


def test_patient_from_options_is_the_same_at_every_door():
    from neurodose.cli.options import patient_from_options

    opts = {"age": 70, "weight": 60, "crcl": 40, "cyp2d6": "poor"}
    wf = build_patient(PatientRequest(PatientOptions(**opts))).patient
    assert patient_from_options(**opts) == wf
    assert library._options_patient({**opts, "sex": None}) == wf
    assert wf.genotypes["CYP2D6"].phenotype == "PM" and wf.unchecked == ()


# ------------------------------------------------------------------ CDS order screening


def test_order_screening_cds_and_workflow_agree():
    """The order-sign cards are the workflow's findings, drafts screened together."""
    import re

    from neurodose.service.cds.config import CdsConfig
    from neurodose.service.cds.hooks import handle_hook

    def draft(i: str, name: str, mg: float) -> dict:
        return {
            "resourceType": "MedicationRequest",
            "id": i,
            "status": "draft",
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": {"text": name},
            "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg"}}]}],
        }

    body = {
        "hook": "order-sign",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {
            "patientId": "p1",
            "userId": "Practitioner/1",
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [
                    {"resource": draft("d1", "duloxetine", 60)},
                    {"resource": draft("d2", "tramadol", 50)},
                ],
            },
        },
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1940-01-01"},
            "medications": {"resourceType": "Bundle", "type": "searchset", "entry": []},
            **dict.fromkeys(("recentMedications", "conditions", "observations", "allergies")),
        },
    }
    cards, _ = handle_hook(
        "neurodose-order-sign", body, CdsConfig(public_url="https://cds.test"), today=START
    )
    codes = [m for c in cards for m in re.findall(r"\*\*Rule:\*\* `([^`]+)`", c.get("detail", ""))]

    patient = load_patient({"age": 86})
    orders = (DraftOrder("duloxetine", 60, None, 60), DraftOrder("tramadol", 50, None, 50))
    wf = screen_orders(OrderScreenRequest(patient, orders, today=START))
    assert codes == [f.code for s in wf.screens for f in s.findings]
    assert any("serotonergic" in f.code for f in wf.screens[0].findings)
    # each order alone misses the other draft's interaction
    alone = screen_orders(OrderScreenRequest(patient, orders[:1], today=START))
    assert len(alone.screens[0].findings) < len(wf.screens[0].findings)


# ------------------------------------------------------------------ response (diary)


def test_response_cli_and_workflow_agree():
    from neurodose.mipd.diary import read_diary_csv
    from neurodose.workflows import ResponseRequest, response

    diary = ROOT / "examples/tdm/diary.csv"
    reg = Regimen.oral("25 mg", every="24 h", days=30)
    comeds = (parse_comedication("fluoxetine"),)
    wf = response(
        ResponseRequest("amitriptyline", reg, read_diary_csv(diary), comedications=comeds)
    )
    cli = _cli(
        "response",
        "--diary",
        str(diary),
        "--drug",
        "amitriptyline",
        "--dose",
        "25 mg",
        "--days",
        "30",
        "--with",
        "fluoxetine",
        "--json",
    )
    assert cli.pop("comedication_notes") == list(wf.notes) and wf.notes
    assert cli.pop("warnings") == list(wf.warnings)
    cli.pop("defaults_applied")
    assert json.loads(json.dumps(wf.report.to_json())) == cli


# ------------------------------------------------------------------ virtual trial job


def test_trial_cli_api_job_and_workflow_agree(tmp_path):
    """``neurodose trial --json``, the clinic's trial job and the workflow give one result
    (the CLI with the job's chunk size, which the result's design records)."""
    import tomllib

    from neurodose.workflows import TrialRequest, trial, trial_design
    from neurodose.workflows.trials import job_chunk_size

    text = (
        (ROOT / "examples/trials/demo.toml")
        .read_text()
        .replace("n_per_arm = 4000", "n_per_arm = 120")
    )
    f = tmp_path / "small.toml"
    f.write_text(text)
    design = tomllib.loads(text)
    des = trial_design(f)
    assert des.n_per_arm == 120 and trial_design(design) == des
    wf = trial(TrialRequest(des)).to_json()
    progress: list[float] = []
    api = library.run_trial_job(design, progress.append)
    cli = _cli("trial", str(f), "--json", "--chunk-size", str(job_chunk_size(des)))
    assert json.loads(json.dumps(wf)) == api == cli
    assert api["design"]["chunk_size"] == 30 and set(api["arms"]) == {
        a["name"] for a in design["arms"]
    }
    # the job reports each chunk's share, ending at 1
    assert len(progress) == 16 and progress == sorted(progress) and progress[-1] == 1.0


def test_trial_job_stops_when_progress_raises_and_the_size_cap_names_the_field():
    from neurodose.errors import InputError
    from neurodose.workflows import TrialRequest, trial, trial_design

    design = trial_design(ROOT / "examples/trials/demo.toml")

    class StopError(Exception):
        pass

    def cancel(p: float) -> None:
        raise StopError

    with pytest.raises(StopError):
        trial(TrialRequest(design, chunk_size=1000, on_progress=cancel))
    body = {
        "name": "x",
        "condition": "diabetic_neuropathy",
        "n_per_arm": 600,
        "seed": 1,
        "weeks": 4,
        "arms": [
            {"name": "placebo", "drug": "placebo"},
            {
                "name": "d",
                "drug": "duloxetine",
                "regimen": [{"start_day": 1, "dose_mg": 60, "every_h": 24}],
            },
        ],
    }
    assert trial_design(body, max_patients=1200).n_per_arm == 600
    with pytest.raises(InputError) as exc:
        trial_design(body, max_patients=1000)
    assert exc.value.field == "n_per_arm" and "500 per arm" in str(exc.value)
