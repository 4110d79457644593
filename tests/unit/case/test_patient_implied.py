"""A patient built with the constructor has the conditions its fields imply, as the same
patient read from JSON does: one patient, the same findings, from every door."""

from __future__ import annotations

import pytest

from neurodose.case import Patient, load_patient
from neurodose.safety.engine import screen

CASES = [
    (Patient(age=60, hepatic="C"), {"age": 60, "labs": {"child_pugh": "C"}}),
    (Patient(age=60, hepatic="B"), {"age": 60, "labs": {"child_pugh": "B"}}),
    (Patient(age=30, sex="female", pregnant=True), {"age": 30, "sex": "female", "pregnant": True}),
    (Patient(age=50, smoker=True), {"age": 50, "conditions": ["smoker"]}),
]


@pytest.mark.parametrize(("built", "data"), CASES)
def test_constructor_and_json_give_the_same_patient_and_findings(built, data):
    read = load_patient(data)
    assert built.conditions == read.conditions and built.smoker == read.smoker
    for drug in ("duloxetine", "amitriptyline", "pregabalin"):
        assert screen(built, drug) == screen(read, drug)


def test_child_pugh_c_gives_hepatic_findings():
    conds = Patient(age=60, hepatic="C").conditions
    assert {"severe_hepatic_impairment", "hepatic_impairment"} <= conds
    hepatic = screen(Patient(age=60, hepatic="C"), "duloxetine")
    plain = screen(Patient(age=60), "duloxetine")
    extra = [f for f in hepatic if f not in plain]
    assert len(extra) == 2 and all(f.severity == "contraindicated" for f in extra)


def test_smoker_condition_sets_the_covariate_and_aliases_resolve():
    assert Patient(conditions=frozenset({"smoker"})).smoker
    assert Patient().conditions == frozenset()


def test_unknown_condition_is_an_error_with_close_matches():
    from neurodose.errors import NeurodoseError

    with pytest.raises(NeurodoseError, match="pregnancy"):
        Patient(conditions=frozenset({"pregnancyy"}))
