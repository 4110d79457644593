"""Safety round 3: any real list is screened by what each drug does; unknowns are named."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurodose.advice.assess import assess
from neurodose.advice.plans import switch_plan
from neurodose.case.patient import load_patient
from neurodose.errors import PatientError, UnknownNameError
from neurodose.knowledge import record, resolve_name
from neurodose.knowledge.substances import (
    class_defs,
    combinations,
    properties_of,
    property_defs,
    resolve_formulary,
    substances,
)
from neurodose.safety.context import drug_tags
from neurodose.safety.engine import _enzyme_tier, screen, screen_current
from neurodose.safety.rules import rule

# ------------------------------------------------------------------ formulary


def test_formulary_has_500_coded_substances_with_valid_properties() -> None:
    subs = substances()
    assert len(subs) >= 500
    props = property_defs()
    for s in subs.values():
        for pid in [*s.properties, *(f.property for f in s.facts)]:
            assert pid in props, (s.id, pid)
        for c in s.atc:
            assert re.fullmatch(r"[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}", c), (s.id, c)
        assert s.rxnorm is None or s.rxnorm.isdigit()
        assert s.source and s.locator
    for c in class_defs().values():
        assert all(p in props for p in c.properties), c.id
    coded = [s for s in subs.values() if s.rxnorm]
    assert len(coded) >= 250
    for combo in combinations().values():
        for ing in combo.ingredients:
            assert resolve_name(ing), (combo.id, ing)


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("metoprolol", ("metoprolol",)),
        ("Lopressor", ("metoprolol",)),
        ("metoprolol succinate 50 mg", ("metoprolol",)),
        ("Zydol SR", ("tramadol",)),
        ("co-codamol 30/500", ("paracetamol", "codeine")),
        ("timolol 0.5% eye drops", ("timolol",)),
        ("acetaminophen", ("paracetamol",)),
        ("no such medicine", None),
        ("tablets", None),
    ],
)
def test_names_as_written_resolve_without_changing_the_substance(name: str, want: object) -> None:
    assert resolve_formulary(name) == want


def test_properties_come_from_class_and_substance_with_their_source() -> None:
    facts = properties_of("metoprolol")
    assert "bradycardia" in facts and facts["bradycardia"].via == "class:beta_blocker"
    assert "cyp2d6_substrate_major" in facts or "cyp2d6_substrate" in facts
    tags = drug_tags(record("ondansetron"))
    assert "qt_risk" in tags and "serotonergic" in tags


def test_drugs_list_json_contract() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "neurodose", "drugs", "list", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(out.stdout)
    assert len(rows) >= 500
    by = {r["name"]: r for r in rows}
    m = by["metoprolol"]
    assert isinstance(m["rxnorm"], str) and m["atc"] == ["C07AB02"]
    assert "bradycardia" in m["properties"]
    assert all({"rxnorm", "atc", "properties", "name", "record"} <= set(r) for r in rows)


# ------------------------------------------------------------------ unknowns


def test_a_real_list_is_assessed_and_every_unknown_named() -> None:
    p = load_patient(
        {
            "age": 70,
            "conditions": ["diabetic_neuropathy", "wobbly knees syndrome"],
            "medications": ["bisoprolol", "Zorblax 5 mg", {"name": "co-codamol", "dose": "2 tabs"}],
            "other_medicines": ["herbal tea from the market"],
        }
    )
    names = {(u.kind, u.name) for u in p.unchecked}
    assert ("drug", "Zorblax 5 mg") in names
    assert ("condition", "wobbly knees syndrome") in names
    assert ("text", "herbal tea from the market") in names
    assert {m.name for m in p.medications} >= {"bisoprolol", "paracetamol", "codeine"}
    a = assess(p).to_dict()
    assert next(iter(a)) == "unchecked" and len(a["unchecked"]) == len(p.unchecked)
    for u in a["unchecked"]:
        assert set(u) == {"kind", "name", "reason"} and u["reason"]


def test_strict_keeps_refusal_and_malformed_values_are_still_errors() -> None:
    with pytest.raises(UnknownNameError):
        load_patient({"age": 60, "medications": ["Zorblax"]}, strict=True)
    with pytest.raises(PatientError, match="dose"):
        load_patient({"age": 60, "medications": [{"name": "bisoprolol", "dose": "-5 mg"}]})
    with pytest.raises(PatientError, match="sodium"):
        load_patient({"age": 60, "labs": {"sodium_mmol_l": 5000}})
    with pytest.raises(PatientError, match="frequency"):
        load_patient({"age": 60, "medications": [{"name": "x", "frequency": "sometimes"}]})


_KNOWN = ["bisoprolol", "ondansetron", "apixaban", "omeprazole", "sertraline", "oxycodone"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    meds=st.lists(st.sampled_from(_KNOWN), max_size=4, unique=True),
    junk=st.text(alphabet="qxzjkvw", min_size=5, max_size=12),
)
def test_an_unknown_medicine_never_removes_a_finding(meds: list[str], junk: str) -> None:
    """Adding an unknown never refuses the patient and never hides what was found."""
    base = load_patient({"age": 70, "medications": meds})
    more = load_patient({"age": 70, "medications": [*meds, junk]})
    assert [u.name for u in more.unchecked] == [junk]
    for drug in ("amitriptyline", "duloxetine", "pregabalin"):
        before = {(f.code, f.severity) for f in screen(base, drug)}
        after = {(f.code, f.severity) for f in screen(more, drug)}
        assert before == after


# ------------------------------------------------------------------ measurements


def test_measurements_imply_conditions_that_rules_read() -> None:
    p = load_patient({"age": 60, "sex": "male", "labs": {"potassium_mmol_l": 3.1, "qtc_ms": 460}})
    assert {"hypokalaemia", "qt_risk_factor", "qt_prolongation"} <= p.conditions
    f = [x for x in screen(p, "amitriptyline") if "qt_risk_factors" in x.codes]
    assert f and "potassium 3.1 mmol/L" in f[0].message
    woman = load_patient({"age": 60, "sex": "female", "labs": {"qtc_ms": 460}})
    assert "qt_prolongation" not in woman.conditions  # 470 ms for women
    cit = {c for x in screen(p, "citalopram") for c in x.codes}
    assert "qt_label_prolonged" in cit


def test_creatinine_gives_cockcroft_gault_crcl() -> None:
    p = load_patient(
        {"age": 88, "sex": "female", "weight_kg": 48, "labs": {"creatinine_umol_l": 110}}
    )
    assert p.crcl == pytest.approx((140 - 88) * 48 / (72 * 110 / 88.42) * 0.85)
    assert any("renal_dose_limit" in f.codes for f in screen(p, "pregabalin"))


# ------------------------------------------------------------------ rules by property


def test_enzyme_tier_combines_both_fda_classes() -> None:
    r = rule("enzyme_inhibition")
    assert _enzyme_tier(r, "strong", "strong") == "avoid"
    assert _enzyme_tier(r, "strong", "weak") == "caution"
    assert _enzyme_tier(r, "moderate", "strong") == "caution"
    assert _enzyme_tier(r, "moderate", "weak") == "monitor"
    assert _enzyme_tier(r, "weak", "strong") == "monitor"


def test_option_as_perpetrator_on_a_comedicine() -> None:
    p = load_patient({"age": 60, "medications": ["flecainide"]})
    hits = [f for f in screen(p, "paroxetine") if "option_inhibits_comedication" in f.codes]
    assert hits and hits[0].severity == "avoid"


def test_a_stopped_long_half_life_drug_still_counts() -> None:
    p = load_patient({"age": 50, "medications": [{"name": "fluoxetine", "stopped_days_ago": 10}]})
    codes = {c for f in screen(p, "nortriptyline") for c in f.codes}
    assert "stopped_drug_residual" in codes
    later = load_patient(
        {"age": 50, "medications": [{"name": "fluoxetine", "stopped_days_ago": 200}]}
    )
    assert "stopped_drug_residual" not in {
        c for f in screen(later, "nortriptyline") for c in f.codes
    }


def test_nothing_wrong_is_not_over_warned() -> None:
    p = load_patient(
        {
            "age": 45,
            "medications": ["atorvastatin", "ramipril", "metformin", "paracetamol"],
            "labs": {"egfr": 90},
        }
    )
    worst = {f.severity for f in screen(p, "pregabalin")}
    assert not worst & {"contraindicated", "avoid", "caution"}
    assert screen_current(p) == () or all(
        f.severity in ("monitor", "info") for f in screen_current(p)
    )


def test_every_option_with_a_line_of_therapy_is_assessable() -> None:
    p = load_patient({"age": 50, "conditions": ["diabetic_neuropathy"]})
    a = assess(p, ["sertraline", "milnacipran", "tramadol"]).to_dict()
    lines = {o["drug"]: o["line_of_therapy"]["line"] for o in a["options"]}
    assert lines == {
        "sertraline": "no_recommendation",
        "milnacipran": "no_recommendation",
        "tramadol": "second",
    }
    assert all(o["verdict"] != "recommended" for o in a["options"])


# ------------------------------------------------------------------ plans


def test_switch_from_a_long_lasting_inhibitor_never_overlaps() -> None:
    import datetime as dt

    plan = switch_plan("fluoxetine", "nortriptyline", 20, start_date=dt.date(2027, 1, 4))
    last_a = max(s.day for s in plan.steps if s.drug == "fluoxetine")
    first_b = min(s.day for s in plan.steps if s.drug == "nortriptyline")
    assert first_b > last_a
    for s in plan.steps:
        assert s.date == dt.date(2027, 1, 4) + dt.timedelta(days=s.day)
    assert any("withdrawal" in n.lower() for n in plan.notes)


def test_switch_to_an_snri_monitors_blood_pressure() -> None:
    plan = switch_plan("sertraline", "venlafaxine", 100)
    assert any("blood pressure" in n for n in plan.notes)


def test_fhir_output_names_what_was_not_checked_first() -> None:
    from neurodose.fhir.outbound import assessment_bundle

    p = load_patient({"age": 60, "medications": ["bisoprolol", "Zorblax"]})
    b = assessment_bundle(assess(p, ["pregabalin"]))
    issues = [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "DetectedIssue"]
    assert issues[0]["code"]["coding"][0]["code"] == "unchecked"
    assert "Zorblax" in issues[0]["detail"] and "QT" in issues[0]["detail"]


def test_no_finding_message_has_an_unfilled_placeholder() -> None:
    """Every message template is filled for every vignette patient and option."""
    from pathlib import Path

    from neurodose.advice.assess import OPTIONS

    here = Path(__file__).parents[2] / "safety" / "vignettes"
    bad = []
    for path in sorted(here.glob("r3_*.json")):
        p = load_patient(json.loads(path.read_text(encoding="utf-8"))["patient"])
        for drug in OPTIONS:
            bad += [(path.stem, drug, f.message) for f in screen(p, drug) if "{" in f.message]
        bad += [(path.stem, "current", f.message) for f in screen_current(p) if "{" in f.message]
    assert not bad, bad[:5]


def test_child_pugh_is_computed_when_its_items_are_given() -> None:
    severe = load_patient(
        {"age": 60, "labs": {"bilirubin_umol_l": 60, "albumin_g_l": 25, "inr": 2.0}}
    )
    assert severe.hepatic == "C" and "severe_hepatic_impairment" in severe.conditions
    assert "at least C" in severe.condition_basis["severe_hepatic_impairment"]
    normal = {"bilirubin_umol_l": 20, "albumin_g_l": 40, "inr": 1.1}
    assert load_patient({"age": 60, "labs": normal}).hepatic is None  # a lower bound of A
    full = {**normal, "ascites": "none", "encephalopathy": "none"}
    assert load_patient({"age": 60, "labs": full}).hepatic == "A"
    with pytest.raises(PatientError, match=r"labs\.ascites"):
        load_patient({"age": 60, "labs": {**normal, "ascites": "lots"}})


def test_other_names_records_use_mean_the_same_fields() -> None:
    p = load_patient(
        {
            "age": 60,
            "gender": "F",
            "egfr": 25,
            "sodium": 129,
            "smoker": True,
            "diagnoses": ["copd"],
            "meds": [
                {"drug": "sertraline", "prn": True, "stopped": True},
                {"name": "metoprolol", "daily_dose_mg": 100},
                {"name": "oxycodone", "dose_mg": 5, "times_per_day": 4},
            ],
        }
    )
    assert p.sex == "female" and p.egfr == 25 and p.measurements["sodium_mmol_l"] == 129
    assert {"copd", "smoker", "hyponatraemia"} <= p.conditions and p.smoker
    by = {m.name: m for m in p.medications}
    assert by["sertraline"].as_needed and by["sertraline"].stopped_days_ago == 0
    assert by["metoprolol"].daily_mg == 100 and by["oxycodone"].every_h == 6
    assert p.unchecked == ()
