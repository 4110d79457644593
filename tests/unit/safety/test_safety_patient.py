"""Patient profile: schema, resolution, errors naming the field with close matches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neurodose.case.patient import load_patient, load_patient_file
from neurodose.errors import (
    GenotypeError,
    PatientError,
    UnknownDrugError,
    UnknownNameError,
)


def test_minimal_example_is_valid() -> None:
    p = load_patient({"age": 60, "conditions": ["diabetic_neuropathy"], "medications": []})
    assert p.age == 60
    # expanded: diabetic neuropathy implies diabetes
    assert p.conditions == frozenset({"diabetic_neuropathy", "diabetes"})
    assert p.pain_condition == "diabetic_neuropathy"
    assert p.medications == ()


def test_full_profile_resolves_names_genotypes_and_labs() -> None:
    p = load_patient(
        {
            "age": 70,
            "sex": "female",
            "weight_kg": 60,
            "height_cm": 160,
            "conditions": ["Diabetic neuropathy", "depression"],
            "medications": [
                "St John's wort",
                {"name": "Methylene blue", "stopped_days_ago": 1},
                {"name": "fluoxetine", "dose_mg": 20, "every_h": 24},
            ],
            "genotypes": {"CYP2D6": "*4/*41", "cyp2c19": "PM"},
            "labs": {"egfr": 50, "qtc_ms": 450, "alt_u_per_l": 30, "child_pugh": "A"},
            "pain": {"condition": "diabetic_neuropathy", "score": 7},
            "priorities": ["sleep", "mood"],
        }
    )
    assert [m.name for m in p.medications] == ["st_johns_wort", "methylene_blue", "fluoxetine"]
    assert p.current_names() == ["st_johns_wort", "fluoxetine"]
    assert p.medications[2].daily_mg == 20
    assert p.genotypes["CYP2D6"].activity_score == 0.5
    assert p.genotypes["CYP2D6"].phenotype == "IM"
    assert p.genotypes["CYP2C19"].phenotype == "PM"
    assert p.crcl is None and p.renal_function == 50 and p.renal_basis.startswith("eGFR")
    s = p.summary()
    assert s["pain"] == {"condition": "diabetic_neuropathy", "score": 7}
    json.dumps(s)


def test_child_pugh_and_pregnancy_become_conditions() -> None:
    p = load_patient({"age": 30, "pregnant": True, "labs": {"child_pugh": "C"}})
    assert {"pregnancy", "severe_hepatic_impairment", "hepatic_impairment"} <= p.conditions


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"age": 60, "medication": ["bisoprolol"]}, "medication"),
        ({"age": 60, "labs": {"qtcc_ms": 400}}, "labs.qtcc_ms"),
        ({"age": 60, "pain": {"condition": "diabetic_neuropathy", "level": 3}}, "pain.level"),
        ({"age": 60, "medications": [{"name": "morphine", "dose": 5}]}, "medications.0"),
        ({"age": 0}, "age"),
        ({"age": 60, "labs": {"child_pugh": "D"}}, "labs.child_pugh"),
        ({"age": 60, "pain": {"condition": "diabetic_neuropathy", "score": 11}}, "pain.score"),
        ({"age": 60, "priorities": ["money"]}, "priorities.0"),
    ],
)
def test_bad_fields_name_the_field(data: dict, field: str) -> None:
    with pytest.raises(PatientError) as exc:
        load_patient(data)
    assert str(exc.value).startswith(field)


def test_missing_age_is_an_error() -> None:
    with pytest.raises(PatientError, match="age"):
        load_patient({"conditions": []})


def test_unknown_names_suggest_close_matches() -> None:
    with pytest.raises(UnknownNameError, match="diabetic_neuropathy"):
        load_patient({"age": 60, "conditions": ["diabetic_neuropaty"]}, strict=True)
    with pytest.raises(UnknownDrugError, match="amitriptyline"):
        load_patient({"age": 60, "medications": ["amitriptylin"]}, strict=True)


def test_unknown_names_are_kept_as_unchecked_never_assumed() -> None:
    """Outside strict mode an unknown is listed with what was not checked; the close
    match is only suggested (spelling help never changes meaning)."""
    p = load_patient(
        {"age": 60, "conditions": ["diabetic_neuropaty"], "medications": ["amitriptylin"]}
    )
    assert p.medications == () and "diabetic_neuropathy" not in p.conditions
    kinds = {(u.kind, u.name) for u in p.unchecked}
    assert kinds == {("condition", "diabetic_neuropaty"), ("drug", "amitriptylin")}
    drug = next(u for u in p.unchecked if u.kind == "drug")
    assert "interactions" in drug.reason and "QT" in drug.reason
    assert "amitriptyline" in drug.reason and "not assumed" in drug.reason
    with pytest.raises(GenotypeError, match=r"\*9"):
        load_patient({"age": 60, "genotypes": {"CYP2D6": "*99/*1"}})
    with pytest.raises(UnknownNameError, match="CYP2D6"):
        load_patient({"age": 60, "genotypes": {"CYP2D7": "PM"}})


def test_pain_condition_must_be_a_pain_condition() -> None:
    with pytest.raises(PatientError, match=r"pain\.condition"):
        load_patient({"age": 60, "pain": {"condition": "depression"}})


def test_duplicate_medication_is_counted_once() -> None:
    p = load_patient({"age": 60, "medications": ["rifampicin", "rifampin"]})
    assert [m.name for m in p.medications] == ["rifampicin"]


def test_load_patient_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text("{not json")
    with pytest.raises(PatientError, match="valid JSON"):
        load_patient_file(bad)
    with pytest.raises(PatientError, match="an existing file"):
        load_patient_file(tmp_path / "none.json")
    good = tmp_path / "g.json"
    good.write_text(json.dumps({"age": 44}))
    assert load_patient_file(good).age == 44


def test_example_patients_are_valid() -> None:
    root = Path(__file__).resolve().parents[3] / "examples" / "patients"
    files = sorted(root.glob("*.json"))
    assert files
    for f in files:
        load_patient_file(f)
