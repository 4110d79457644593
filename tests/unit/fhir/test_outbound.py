"""FHIR out: every resource validates with fhir.resources and carries the library's content."""

from __future__ import annotations

import datetime as dt
import itertools

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.detectedissue import DetectedIssue
from fhir.resources.R4B.observation import Observation

from neurodose.advice.assess import assess
from neurodose.advice.plans import taper_plan, titration_plan
from neurodose.case.patient import load_patient
from neurodose.fhir.outbound import (
    SEVERITY,
    assessment_bundle,
    care_plan,
    detected_issues,
    diary_observations,
    tdm_observations,
)
from neurodose.safety.engine import screen

D0 = dt.date(2026, 1, 5)


def test_detected_issue_per_finding_with_severity_and_sources() -> None:
    p = load_patient({"age": 50, "medications": [{"name": "phenelzine", "stopped_days_ago": 3}]})
    fs = screen(p, "amitriptyline")
    issues = detected_issues(fs, patient_ref="Patient/p1")
    assert len(issues) == len(fs)
    for f, di in zip(fs, issues, strict=True):
        DetectedIssue.model_validate(di)
        assert di["code"]["coding"][0]["code"] == f.code
        assert di["severity"] == SEVERITY[f.severity]
        assert len(di.get("evidence", [])) == len(f.sources)
    crit = [d for d, f in zip(issues, fs, strict=True) if f.code == "maoi_irreversible_gap"]
    assert crit and crit[0]["severity"] == "high" and crit[0]["mitigation"]


def test_titration_care_plan_staged_dosage() -> None:
    plan = titration_plan("amitriptyline", start_date=D0)
    cp = care_plan(plan, patient_ref="Patient/p1")
    CarePlan.model_validate(cp)
    (mr,) = cp["contained"]
    di = mr["dosageInstruction"]
    assert [d["sequence"] for d in di] == list(range(1, len(plan.steps) + 1))
    assert [d["doseAndRate"][0]["doseQuantity"]["value"] for d in di] == [
        s.dose_mg for s in plan.steps
    ]
    # each step ends the day before the next starts
    for a, b in itertools.pairwise(di):
        end = dt.date.fromisoformat(a["timing"]["repeat"]["boundsPeriod"]["end"])
        start = dt.date.fromisoformat(b["timing"]["repeat"]["boundsPeriod"]["start"])
        assert end + dt.timedelta(days=1) == start
    assert len(cp["activity"]) == 1 + len(plan.reviews)


def test_taper_ends_with_stop_step() -> None:
    cp = care_plan(taper_plan("amitriptyline", 50, start_date=D0))
    last = cp["contained"][0]["dosageInstruction"][-1]
    assert "stop" in last["text"] and "doseAndRate" not in last


def test_assessment_bundle_validates() -> None:
    a = assess(load_patient({"age": 70, "conditions": ["diabetic_neuropathy"]}), start_date=D0)
    b = assessment_bundle(a)
    Bundle.model_validate(b)
    kinds = [e["resource"]["resourceType"] for e in b["entry"]]
    assert kinds[0] == "Patient" and kinds[-1] == "CarePlan" and "DetectedIssue" in kinds


def test_diary_and_tdm_observations() -> None:
    obs = diary_observations(
        [{"date": "2026-01-06", "pain": 6, "phq9": 11, "sleep_h": 5.5}], patient_ref="Patient/p1"
    )
    assert [o["code"]["coding"][0]["code"] for o in obs] == ["72514-3", "44261-6", "93832-4"]
    for o in obs:
        Observation.model_validate(o)
    rep = {
        "drug": "amitriptyline",
        "levels": [
            {
                "time_h": 36,
                "analyte": "amitriptyline",
                "value_ng_per_ml": 61.0,
                "blq": False,
                "lloq_ng_per_ml": 5,
                "ipred_ng_per_ml": 60.1,
                "pred_ng_per_ml": 48.0,
            },
            {
                "time_h": 48,
                "analyte": "nortriptyline",
                "value_ng_per_ml": 0.0,
                "blq": True,
                "lloq_ng_per_ml": 5,
                "ipred_ng_per_ml": 3.0,
                "pred_ng_per_ml": 4.0,
            },
        ],
    }
    t = tdm_observations(rep, first_dose=dt.datetime(2026, 1, 1, 22, 0))
    assert t[0]["valueQuantity"]["value"] == 61.0 and t[0]["effectiveDateTime"].startswith(
        "2026-01-03T10:00"
    )
    assert "below the limit" in t[1]["valueString"]


def test_care_plan_from_stored_plan_json_matches_the_object() -> None:
    plan = titration_plan("pregabalin", start_date=D0)
    a = care_plan(plan, patient_ref="Patient/p1")
    b = care_plan(plan.to_dict(), patient_ref="Patient/p1")
    strip = ("authoredOn",)
    ma = {k: v for k, v in a["contained"][0].items() if k not in strip}
    mb = {k: v for k, v in b["contained"][0].items() if k not in strip}
    assert ma == mb and a["activity"] == b["activity"]


def test_medication_concept_of_a_one_product_record_carries_its_product_codes() -> None:
    from neurodose.fhir.outbound import medication_concept
    from neurodose.knowledge.terminology import product_level

    rx = "http://www.nlm.nih.gov/research/umls/rxnorm"
    plaster = medication_concept("lidocaine_plaster")
    assert [(c["system"], c["code"]) for c in plaster["coding"]] == [
        (rx, "1745091"),
        (rx, "1011705"),
    ]
    assert product_level("lidocaine_plaster") and product_level("capsaicin_patch")
    # a drug with an ingredient code is ordered by it, not by one of its products (SCDs)
    dulox = medication_concept("duloxetine")
    assert not product_level("duloxetine")
    assert "596926" not in {c["code"] for c in dulox["coding"]}
    assert "72625" in {c["code"] for c in dulox["coding"]}
