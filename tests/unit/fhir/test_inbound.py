"""FHIR in: resources -> patient profile; unknown codes listed, bad resources named."""

from __future__ import annotations

import datetime as dt

import pytest

from neurodose.errors import FhirError
from neurodose.fhir.inbound import case_from_bundle, case_from_resources, orders_from
from neurodose.fhir.pharmcat import calls_from_pharmcat
from neurodose.fhir.ucum import quantity_value
from neurodose.knowledge.terminology import code_tables, condition_for_code, drug_for_code

RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
TODAY = dt.date(2026, 1, 5)


def _patient(**kw: object) -> dict:
    return {"resourceType": "Patient", "id": "p1", "birthDate": "1950-06-01", **kw}


def _mr(
    concept: dict,
    *,
    status: str = "active",
    dose: dict | None = None,
    timing: dict | None = None,
    **kw: object,
) -> dict:
    res: dict = {
        "resourceType": "MedicationRequest",
        "status": status,
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": concept,
        **kw,
    }
    if dose or timing:
        di: dict = {}
        if dose:
            di["doseAndRate"] = [{"doseQuantity": dose}]
        if timing:
            di["timing"] = timing
        res["dosageInstruction"] = [di]
    return res


def _obs(code: str, value: dict | None = None, **kw: object) -> dict:
    res: dict = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        **kw,
    }
    if value is not None:
        res["valueQuantity"] = value
    return res


def test_age_sex_from_patient() -> None:
    case = case_from_resources([_patient(gender="male")], today=TODAY)
    assert case.profile["age"] == 75
    assert case.profile["sex"] == "male"
    assert case.patient().age == 75


def test_birthday_not_yet_reached_counts() -> None:
    case = case_from_resources([_patient(birthDate="1950-01-06")], today=TODAY)
    assert case.profile["age"] == 75
    case = case_from_resources([_patient(birthDate="1950-01-05")], today=TODAY)
    assert case.profile["age"] == 76


def test_rxnorm_scd_tablets_times_strength_and_timing_code() -> None:
    # 856834 = amitriptyline 25 mg tablet; 2 tablets at bedtime -> 50 mg every 24 h
    mr = _mr(
        {"coding": [{"system": RX, "code": "856834"}]},
        dose={"value": 2, "unit": "tablet", "code": "{tbl}"},
        timing={"code": {"coding": [{"code": "BED"}]}},
    )
    case = case_from_resources([_patient(), mr], today=TODAY)
    (med,) = case.profile["medications"]
    assert med == {"name": "amitriptyline", "dose_mg": 50.0, "every_h": 24.0}


def test_atc_and_name_and_repeat_frequency() -> None:
    duloxetine_atc = drug_for_code("ATC", "N06AX21")
    assert duloxetine_atc is not None and duloxetine_atc[0] == "duloxetine"
    mr1 = _mr(
        {"coding": [{"system": "http://www.whocc.no/atc", "code": "N06AX21"}]},
        dose={"value": 0.03, "unit": "g", "system": "http://unitsofmeasure.org", "code": "g"},
        timing={"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
    )
    mr2 = _mr(
        {"text": "Gabapentin 300 mg capsule"},
        dose={"value": 300, "unit": "mg"},
        timing={"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
    )
    meds = {
        m["name"]: m
        for m in case_from_resources([_patient(), mr1, mr2], today=TODAY).profile["medications"]
    }
    assert meds["duloxetine"]["dose_mg"] == pytest.approx(30.0)
    assert meds["gabapentin"]["every_h"] == pytest.approx(8.0)


def test_unknown_drug_code_listed_not_dropped() -> None:
    mr = _mr({"coding": [{"system": RX, "code": "123456789", "display": "Unobtainium 5 MG"}]})
    case = case_from_resources([_patient(), mr], today=TODAY)
    assert case.profile["medications"] == []
    (u,) = case.unrecognised
    assert u.kind == "medication" and f"{RX}|123456789" in u.codes and "not checked" in u.reason


def test_stopped_maoi_gives_days_since_stop() -> None:
    mr = _mr(
        {"text": "phenelzine"},
        status="stopped",
        dose={"value": 15, "unit": "mg"},
        timing={
            "repeat": {
                "boundsPeriod": {"start": "2025-11-01", "end": "2025-12-29"},
                "frequency": 3,
                "period": 1,
                "periodUnit": "d",
            }
        },
    )
    case = case_from_resources([_patient(), mr], today=TODAY)
    (med,) = case.profile["medications"]
    assert med["stopped_days_ago"] == 7.0
    from neurodose.safety.engine import screen

    codes = {f.code for f in screen(case.patient(), "amitriptyline")}
    assert "maoi_irreversible_gap" in codes


def test_stopped_without_end_date_counts_as_today_with_note() -> None:
    mr = _mr({"text": "phenelzine"}, status="completed")
    case = case_from_resources([_patient(), mr], today=TODAY)
    assert case.profile["medications"][0]["stopped_days_ago"] == 0.0
    assert any("no end date" in n for n in case.notes)


def test_conditions_snomed_icd10_prefix_and_unmapped() -> None:
    conds = [
        {
            "resourceType": "Condition",
            "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "230572002"}]},
        },
        {
            "resourceType": "Condition",
            "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F32.1"}]},
        },
        {
            "resourceType": "Condition",
            "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
        },
        {
            "resourceType": "Condition",
            "subject": {"reference": "Patient/p1"},
            "id": "c3",
            "code": {
                "coding": [{"system": "http://snomed.info/sct", "code": "1234567"}],
                "text": "Ingrown toenail",
            },
        },
        {
            "resourceType": "Condition",
            "subject": {"reference": "Patient/p1"},
            "clinicalStatus": {"coding": [{"code": "resolved"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "G40.9"}]},
        },
    ]
    case = case_from_resources([_patient(), *conds], today=TODAY)
    # SNOMED 44054006 (type 2 diabetes) maps since the round 3 vocabulary
    assert case.profile["conditions"] == ["depression", "diabetic_neuropathy", "type_2_diabetes"]
    assert [(u.where, u.text) for u in case.unrecognised] == [("Condition/c3", "Ingrown toenail")]


def test_observations_ucum_latest_wins_and_pain() -> None:
    res = [
        _patient(),
        {
            "resourceType": "Condition",
            "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "230572002"}]},
        },
        _obs("33914-3", {"value": 55, "code": "mL/min/{1.73_m2}"}, effectiveDateTime="2025-06-01"),
        _obs("62238-1", {"value": 0.4, "code": "mL/s/{1.73_m2}"}, effectiveDateTime="2025-12-01"),
        _obs("8636-3", {"value": 0.51, "code": "s"}),
        _obs("72514-3", {"value": 7, "code": "{score}"}),
        _obs("8867-4", {"value": 70, "code": "/min"}),
    ]
    case = case_from_resources(res, today=TODAY)
    assert case.profile["labs"]["egfr"] == pytest.approx(24.0)
    assert case.profile["labs"]["qtc_ms"] == pytest.approx(510.0)
    assert case.profile["pain"] == {"condition": "diabetic_neuropathy", "score": 7.0}
    # round 3: heart rate (LOINC 8867-4) is a measurement the screen reads
    assert case.profile["labs"]["heart_rate_bpm"] == pytest.approx(70.0)
    assert case.unrecognised == ()
    other = case_from_resources(
        [_patient(), _obs("8867-4", {"value": 70, "code": "Hz"}), _obs("1234-5", {"value": 1})],
        today=TODAY,
    )
    reasons = [u.reason for u in other.unrecognised]
    assert any("unit 'Hz'" in r for r in reasons) and any("not used" in r for r in reasons)


def test_weight_height_and_breastfeeding_observations_set_the_profile() -> None:
    res = [
        _patient(gender="female"),
        _obs("29463-7", {"value": 60, "code": "kg"}, effectiveDateTime="2025-01-01"),
        _obs("29463-7", {"value": 55, "code": "kg"}, effectiveDateTime="2025-12-01"),
        _obs("8302-2", {"value": 1.58, "code": "m"}),
        _obs("63895-7", valueBoolean=True),
    ]
    case = case_from_resources(res, today=TODAY)
    # the latest weight wins; height converted from metres
    assert case.profile["weight_kg"] == pytest.approx(55.0)
    assert case.profile["height_cm"] == pytest.approx(158.0)
    assert case.profile["breastfeeding"] is True
    assert case.patient().breastfeeding and case.patient().weight == pytest.approx(55.0)
    coded = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0136", "code": "N"}]}
    no = case_from_resources([_patient(), _obs("63895-7", valueCodeableConcept=coded)], today=TODAY)
    assert no.profile["breastfeeding"] is False
    # a value that is not yes/no is named, never read as "not breastfeeding"
    odd = case_from_resources([_patient(), _obs("63895-7", valueString="sometimes")], today=TODAY)
    assert "breastfeeding" not in odd.profile
    assert [u.kind for u in odd.unrecognised] == ["observation"]
    assert "yes/no" in odd.unrecognised[0].reason


def test_pregnancy_status_answers_set_pregnant_and_unknown_is_named() -> None:
    def status(answer: str) -> dict:
        return _obs("82810-3", valueCodeableConcept={"coding": [{"system": LOINC, "code": answer}]})

    woman = _patient(gender="female", birthDate="1995-02-01")
    yes = case_from_resources([woman, status("LA15173-0")], today=TODAY)
    assert yes.profile["pregnant"] is True
    assert "pregnancy" in yes.patient().conditions
    no = case_from_resources([woman, status("LA26683-5")], today=TODAY)
    assert no.profile["pregnant"] is False
    unknown = case_from_resources([woman, status("LA4489-6")], today=TODAY)
    assert "pregnant" not in unknown.profile
    assert unknown.unrecognised[0].reason.startswith("pregnancy status without")
    # an implausible status (a man, or a woman of 75) is named and left out, not a refusal
    for who in (_patient(gender="male", birthDate="1995-02-01"), _patient(gender="female")):
        odd = case_from_resources([who, status("LA15173-0")], today=TODAY)
        assert "pregnant" not in odd.profile
        assert "pregnancy only" in odd.unrecognised[0].reason
        assert odd.patient().pregnant is False
    # a weight in a unit that is not a body mass is named, not guessed, and not refused
    lb = case_from_resources([_patient(), _obs("29463-7", {"value": 9, "code": "mg/dL"})])
    assert "weight_kg" not in lb.profile
    assert "mg/dL" in lb.unrecognised[0].reason


def test_wrong_unit_is_an_error_naming_the_path() -> None:
    with pytest.raises(FhirError, match=r"valueQuantity.code.*renal_function"):
        case_from_resources([_patient(), _obs("33914-3", {"value": 55, "code": "mg"})], today=TODAY)


def test_genomics_reporting_genotype_and_implication() -> None:
    geno = {
        "resourceType": "Observation",
        "id": "g1",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "84413-4"}]},
        "valueCodeableConcept": {"text": "CYP2D6 *4/*4"},
        "component": [
            {
                "code": {"coding": [{"system": LOINC, "code": "48018-6"}]},
                "valueCodeableConcept": {
                    "coding": [{"system": "http://www.genenames.org/geneId", "code": "HGNC:2625"}]
                },
            }
        ],
    }
    tx = {
        "resourceType": "Observation",
        "status": "final",
        "code": {
            "coding": [
                {
                    "system": "http://hl7.org/uv/genomics-reporting/CodeSystem/tbd-codes-cs",
                    "code": "therapeutic-implication",
                }
            ]
        },
        "derivedFrom": [{"reference": "Observation/g2"}],
        "component": [
            {
                "code": {"coding": [{"system": LOINC, "code": "53040-2"}]},
                "valueCodeableConcept": {"text": "Ultrarapid metabolizer"},
            },
            {
                "code": {"coding": [{"system": LOINC, "code": "48018-6"}]},
                "valueCodeableConcept": {"text": "CYP2C19"},
            },
        ],
    }
    case = case_from_resources([_patient(), geno, tx], today=TODAY)
    assert case.profile["genotypes"] == {"CYP2D6": "*4/*4", "CYP2C19": "Ultrarapid metabolizer"}
    p = case.patient()
    assert p.genotypes["CYP2D6"].phenotype == "PM" and p.genotypes["CYP2C19"].phenotype == "UM"


def _pheno_obs(
    oid: str, value: dict, code_text: str | None = None, gene: str | None = None
) -> dict:
    obs: dict = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {
            "coding": [{"system": LOINC, "code": "53040-2"}],
            **({"text": code_text} if code_text else {}),
        },
        "valueCodeableConcept": value,
    }
    if gene:
        obs["component"] = [
            {
                "code": {"coding": [{"system": LOINC, "code": "48018-6"}]},
                "valueCodeableConcept": {
                    "coding": [{"system": "http://www.genenames.org/geneId", "code": gene}]
                },
            }
        ]
    return obs


def test_phenotype_observation_53040_2_sets_the_phenotype() -> None:
    d6 = _pheno_obs(
        "p1",
        {"coding": [{"system": LOINC, "code": "LA9657-3", "display": "Poor metabolizer"}]},
        code_text="CYP2D6 phenotype",
    )
    c19 = _pheno_obs("p2", {"text": "Rapid metabolizer"}, gene="HGNC:2621")
    case = case_from_resources([_patient(), d6, c19], today=TODAY)
    p = case.patient()
    assert p.genotypes["CYP2D6"].phenotype == "PM"
    assert p.genotypes["CYP2C19"].phenotype == "RM"
    assert case.unrecognised == ()


def test_activity_score_observation_sets_the_score_and_wins_over_a_phenotype() -> None:
    score = {
        "resourceType": "Observation",
        "id": "s1",
        "status": "final",
        "code": {"text": "CYP2D6 activity score"},
        "valueQuantity": {"value": 0.5},
    }
    d6 = _pheno_obs("p1", {"text": "Poor metabolizer"}, code_text="CYP2D6")
    case = case_from_resources([_patient(), d6, score], today=TODAY)
    call = case.patient().genotypes["CYP2D6"]
    assert call.activity_score == 0.5 and call.phenotype == "IM"
    assert any("Observation/s1" in n and "Poor metabolizer" in n for n in case.notes)


def test_unreadable_phenotype_or_score_is_unrecognised_never_refused() -> None:
    no_gene = _pheno_obs("p1", {"text": "Poor metabolizer"})
    wobbly = _pheno_obs("p2", {"text": "Wobbly metabolizer"}, code_text="CYP2D6 phenotype")
    score_c19 = {
        "resourceType": "Observation",
        "id": "s1",
        "status": "final",
        "code": {"text": "CYP2C19 activity score"},
        "valueQuantity": {"value": 1.0},
    }
    case = case_from_resources([_patient(), no_gene, wobbly, score_c19], today=TODAY)
    assert "genotypes" not in case.profile
    why = {u.where: u.reason for u in case.unrecognised}
    assert "without a gene" in why["Observation/p1"]
    assert "Wobbly metabolizer" in why["Observation/p2"]
    assert "CYP2C19" in why["Observation/s1"]
    assert all(u.kind == "genotype" for u in case.unrecognised)
    assert len(case.patient().unchecked) == 3


def test_bad_allele_is_an_error() -> None:
    geno = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "84413-4"}]},
        "valueCodeableConcept": {"text": "CYP2D6 *999/*4"},
    }
    with pytest.raises(FhirError, match="genotype"):
        case_from_resources([_patient(), geno], today=TODAY)


def test_pharmcat_vcf_cyp2d6_flagged_and_outside_call_not() -> None:
    report = {
        "pharmcatVersion": "3.0.0",
        "genes": {
            "CPIC": {
                "CYP2D6": {
                    "callSource": "MATCHER",
                    "sourceDiplotypes": [
                        {"label": "*1/*4", "phenotypes": ["Intermediate Metabolizer"]}
                    ],
                },
                "CYP2C19": {
                    "callSource": "MATCHER",
                    "sourceDiplotypes": [{"label": "*1/*17", "phenotypes": ["Rapid Metabolizer"]}],
                },
            }
        },
    }
    calls = {c.gene: c for c in calls_from_pharmcat(report)}
    assert "unreliable" in calls["CYP2D6"].notes[0]
    assert calls["CYP2C19"].notes == ()
    report["genes"]["CPIC"]["CYP2D6"]["callSource"] = "OUTSIDE"
    assert calls_from_pharmcat(report)[0].notes == ()
    case = case_from_resources([_patient()], today=TODAY, pharmcat=report)
    assert case.profile["genotypes"] == {"CYP2D6": "*1/*4", "CYP2C19": "*1/*17"}


def test_pharmcat_ambiguous_differing_phenotypes_not_used() -> None:
    report = {
        "geneReports": {
            "CYP2C19": {
                "callSource": "MATCHER",
                "sourceDiplotypes": [
                    {"label": "*1/*2", "phenotypes": ["Intermediate Metabolizer"]},
                    {"label": "*1/*17", "phenotypes": ["Rapid Metabolizer"]},
                ],
            }
        }
    }
    (call,) = calls_from_pharmcat(report)
    assert call.value is None and "not usable" in call.notes[0]


def test_invalid_resource_names_first_bad_element() -> None:
    bad = _obs("8636-3", {"value": "long", "code": "ms"})
    with pytest.raises(FhirError, match=r"Observation\.valueQuantity\.value"):
        case_from_resources([_patient(), bad], today=TODAY)


def test_bundle_required_and_orders() -> None:
    with pytest.raises(FhirError, match="a FHIR Bundle"):
        orders_from({"resourceType": "Patient"})
    b = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": _mr(
                    {"text": "nortriptyline"},
                    status="draft",
                    id="o1",
                    dose={"value": 10, "unit": "mg"},
                )
            },
            {
                "resource": {
                    "resourceType": "ServiceRequest",
                    "status": "draft",
                    "intent": "order",
                    "subject": {"reference": "Patient/p1"},
                }
            },
        ],
    }
    (o,) = orders_from(b)
    assert (o.ref, o.drug, o.dose_mg) == ("MedicationRequest/o1", "nortriptyline", 10.0)
    b["entry"][0]["resource"].pop("medicationCodeableConcept")
    with pytest.raises(FhirError, match=r"MedicationRequest.*medicationCodeableConcept"):
        orders_from(b)
    with pytest.raises(FhirError, match="Patient"):
        case_from_bundle({"resourceType": "Bundle", "type": "collection", "entry": []})


def test_ucum_conversion_rejects_other_dimension() -> None:
    assert quantity_value({"value": 480, "code": "ms"}, "interval") == 480.0
    with pytest.raises(FhirError):
        quantity_value({"value": 480, "code": "mg"}, "interval")


def test_code_tables_cited_and_consistent() -> None:
    t = code_tables()
    assert t.conditions and t.observations and t.timings
    # every row names a source; the condition ids resolve
    for c in t.conditions:
        assert c.source and c.locator
        assert condition_for_code(c.system, c.code) is not None
    # rows the evidence marks UNVERIFIED stay unverified
    phn = condition_for_code("SNOMED", "2177002")
    assert phn is not None and phn.verified is False


# ---------------------------------------------------------------- medicationReference


def _mref(ref: str, *, dose: dict | None = None, **kw: object) -> dict:
    res = _mr({"text": "x"}, dose=dose, **kw)
    res.pop("medicationCodeableConcept")
    res["medicationReference"] = {"reference": ref}
    return res


def _med(mid: str, concept: dict, **kw: object) -> dict:
    return {"resourceType": "Medication", "id": mid, "code": concept, **kw}


def test_medication_reference_contained_is_resolved_in_its_own_resource() -> None:
    a = _mref("#m", id="a", contained=[_med("m", {"text": "paroxetine"})])
    b = _mref("#m", id="b", contained=[_med("m", {"text": "duloxetine"})])
    case = case_from_resources([_patient(), a, b], today=TODAY)
    assert sorted(m["name"] for m in case.profile["medications"]) == ["duloxetine", "paroxetine"]


def test_medication_reference_to_bundle_entry_by_urn_uuid_and_by_id() -> None:
    urn = "urn:uuid:7f3c9a52-1d7e-4b5e-9c1a-2f0e5d6b8a11"
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": urn,
                "resource": _med("med-1", {"coding": [{"system": RX, "code": "856834"}]}),
            },
            {"resource": _med("med-2", {"text": "duloxetine"})},
            {"resource": _mref(urn, id="o1", status="draft", dose={"value": 2, "unit": "tablet"})},
            {"resource": _mref("Medication/med-2", id="o2", status="draft")},
        ],
    }
    o1, o2 = orders_from(bundle)
    # 856834 = amitriptyline 25 mg tablet: 2 tablets = 50 mg (strength from the RxNorm SCD)
    assert (o1.drug, o1.dose_mg, o1.problems) == ("amitriptyline", 50.0, ())
    assert o2.drug == "duloxetine"


def test_medication_reference_to_prefetched_medication_and_ingredient_strength() -> None:
    from neurodose.fhir.inbound import medication_index

    med = _med(
        "nt",
        {"text": "nortriptyline"},
        ingredient=[
            {
                "itemCodeableConcept": {"text": "nortriptyline"},
                "strength": {
                    "numerator": {
                        "value": 10,
                        "unit": "mg",
                        "system": "http://unitsofmeasure.org",
                        "code": "mg",
                    },
                    "denominator": {"value": 1, "unit": "capsule"},
                },
            }
        ],
    )
    prefetch = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": med}]}
    index = medication_index(prefetch)
    order = _mref("https://ehr.test/fhir/Medication/nt", dose={"value": 3, "unit": "capsule"})
    case = case_from_resources([_patient(), order], today=TODAY, medications=index)
    assert case.profile["medications"] == [{"name": "nortriptyline", "dose_mg": 30.0}]
    (o,) = orders_from([order], medications=index)
    assert o.dose_mg == 30.0


def test_unresolved_medication_reference_is_named_not_refused() -> None:
    order = _mref("Medication/missing")
    order["medicationReference"]["display"] = "Zzz tablet"
    case = case_from_resources([_patient(), order], today=TODAY)
    assert case.profile["medications"] == []
    (u,) = case.unrecognised
    assert (u.kind, u.text) == ("medication", "Zzz tablet")
    assert "Medication/missing" in u.reason and "no such Medication" in u.reason
    assert any(x.kind == "drug" and x.name == "Zzz tablet" for x in case.patient().unchecked)


@pytest.mark.parametrize("status", ["active", "stopped"])
@pytest.mark.parametrize("dose", [{"value": 1}, {"value": 2, "unit": "tablet"}])
def test_tablet_count_without_strength_keeps_the_medicine_dose_unknown(
    status: str, dose: dict
) -> None:
    order = _mr({"text": "paroxetine"}, status=status, dose=dose, id="p")
    case = case_from_resources([_patient(), order], today=TODAY)
    (med,) = case.profile["medications"]
    assert med["name"] == "paroxetine" and "dose_mg" not in med
    (u,) = case.unrecognised
    assert u.kind == "dose" and u.where == "MedicationRequest/p"
    assert "no strength per unit" in u.reason and "dose checks not done" in u.reason
    assert any(x.name == "paroxetine dose" for x in case.patient().unchecked)


def test_tablet_count_without_unit_uses_the_scd_strength() -> None:
    order = _mr({"coding": [{"system": RX, "code": "856834"}]}, dose={"value": 1})
    case = case_from_resources([_patient(), order], today=TODAY)
    assert case.profile["medications"] == [{"name": "amitriptyline", "dose_mg": 25.0}]
    assert case.unrecognised == ()


@pytest.mark.parametrize(
    ("code", "drug"),
    [
        ("1745091", "lidocaine_plaster"),
        ("1011705", "lidocaine_plaster"),
        ("1039679", "capsaicin_patch"),
        ("1039681", "capsaicin_patch"),
    ],
)
def test_product_level_rxnorm_code_alone_is_the_product(code: str, drug: str) -> None:
    case = case_from_resources([_patient(), _mr({"coding": [{"system": RX, "code": code}]})])
    assert [m["name"] for m in case.profile["medications"]] == [drug]
    assert case.unrecognised == ()
    hit = drug_for_code(RX, code)
    assert hit is not None and hit[1].verified is False and hit[1].source.startswith("openfda")


@pytest.mark.parametrize(
    ("concept", "why"),
    [
        ({"text": "lidocaine"}, "names the ingredient of Lidocaine 5 % plaster"),
        (
            {"coding": [{"system": RX, "code": "999999001", "display": "lidocaine"}]},
            "not checked as Lidocaine 5 % plaster",
        ),
        ({"text": "lidocaine 4% patch"}, "is 4 %, not Lidocaine 5 % plaster"),
        ({"text": "lidocaine 2 % injection"}, "is 2 %, not Lidocaine 5 % plaster"),
        ({"text": "capsaicin 0.075% cream"}, "not Capsaicin 8 % patch"),
        ({"text": "capsaicin cream"}, "names the ingredient of Capsaicin 8 % patch"),
    ],
)
def test_ingredient_or_other_product_never_becomes_the_plaster_or_patch(
    concept: dict, why: str
) -> None:
    case = case_from_resources([_patient(), _mr(concept)], today=TODAY)
    assert case.profile["medications"] == []
    (u,) = case.unrecognised
    assert u.kind == "medication" and why in u.reason and "not checked" in u.reason
    # and it reaches the patient as an unchecked medicine
    assert any(x.kind == "drug" for x in case.patient().unchecked)


@pytest.mark.parametrize(
    ("text", "drug"),
    [
        ("Lidoderm", "lidocaine_plaster"),
        ("lidocaine 5% patch", "lidocaine_plaster"),
        ("Lidocaine 5 % plaster", "lidocaine_plaster"),
        ("Qutenza", "capsaicin_patch"),
        ("capsaicin 8 % patch", "capsaicin_patch"),
    ],
)
def test_a_text_that_names_the_product_is_the_product(text: str, drug: str) -> None:
    case = case_from_resources([_patient(), _mr({"text": text})], today=TODAY)
    assert [m["name"] for m in case.profile["medications"]] == [drug]


NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"


def _cp(code: str, **value: object) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": NCIT, "code": code}]},
        **value,
    }


@pytest.mark.parametrize(
    ("obs", "cls"),
    [
        (
            _cp("C121007", valueCodeableConcept={"coding": [{"system": NCIT, "code": "C113691"}]}),
            "A",
        ),
        (
            _cp("C121075", valueCodeableConcept={"coding": [{"system": NCIT, "code": "C113692"}]}),
            "B",
        ),
        (
            _cp("C121007", valueCodeableConcept={"coding": [{"system": NCIT, "code": "C113694"}]}),
            "C",
        ),
        (_cp("C121074", valueInteger=6), "A"),
        (_cp("C121074", valueInteger=7), "B"),
        (_cp("C121074", valueQuantity={"value": 10, "unit": "{score}"}), "C"),
    ],
    ids=["class-A", "grade-B", "class-C", "score-6", "score-7", "score-10"],
)
def test_child_pugh_class_or_score_as_ncit_observation(obs: dict, cls: str) -> None:
    case = case_from_resources([_patient(), obs], today=TODAY)
    assert case.profile["labs"] == {"child_pugh": cls}
    assert case.patient().hepatic == cls and case.unrecognised == ()


@pytest.mark.parametrize(
    "obs",
    [
        _cp("C121007", valueCodeableConcept={"coding": [{"system": NCIT, "code": "C159867"}]}),
        _cp("C121007", valueString="B"),
        _cp("C121074", valueInteger=4),
        _cp("C121074", valueInteger=16),
    ],
    ids=["unknown-class", "text-only", "score-4", "score-16"],
)
def test_unreadable_child_pugh_is_named_never_guessed(obs: dict) -> None:
    case = case_from_resources([_patient(), obs], today=TODAY)
    assert "labs" not in case.profile
    (u,) = case.unrecognised
    assert u.kind == "observation" and "not read" in u.reason and f"{NCIT}|" in u.codes[0]


ISCO = "https://profiles.ihe.net/PCC/ODH/CodeSystem/ISCO08"


def _occupation(code: str, system: str = ISCO, loinc: str = "21843-8") -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "valueCodeableConcept": {"coding": [{"system": system, "code": code}]},
    }


@pytest.mark.parametrize(
    "obs",
    [
        _occupation("8322"),  # car, taxi and van drivers
        _occupation("8332", loinc="11341-5"),  # heavy truck drivers, US Core occupation
        _occupation("83"),  # the sub-major group itself
        _occupation("8344", "http://www.ilo.org/public/english/bureau/stat/isco/isco08/"),
    ],
    ids=["van-driver-usual", "truck-driver-current", "group-83", "ilo-uri-forklift"],
)
def test_a_driving_occupation_in_isco08_sets_drives(obs: dict) -> None:
    case = case_from_resources([_patient(), obs], today=TODAY)
    assert case.profile["drives"] is True and case.unrecognised == ()
    assert case.patient().drives is True


def test_other_occupations_say_nothing_and_other_code_systems_are_named() -> None:
    nurse = case_from_resources([_patient(), _occupation("2221")], today=TODAY)
    assert "drives" not in nurse.profile and nurse.unrecognised == ()
    # a US Census occupation code (driver/sales workers and truck drivers) is not mapped
    census = _occupation("9130", "urn:oid:2.16.840.1.114222.4.5.314")
    case = case_from_resources([_patient(), census], today=TODAY)
    assert "drives" not in case.profile
    (u,) = case.unrecognised
    assert "not coded in ISCO-08" in u.reason and "9130" in u.codes[0]
