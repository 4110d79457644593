"""One Patient for every layer: the JSON loader, the PK covariates and the screen share it."""

from __future__ import annotations

import pytest

from neurodose import case
from neurodose.errors import PatientError


def test_old_import_paths_are_aliases_not_copies():
    from neurodose import pk

    assert pk.Patient is case.Patient
    assert pk.Comedication is case.Comedication


@pytest.mark.parametrize(
    "module", ["neurodose.dosing", "neurodose.pk.patient", "neurodose.safety.patient"]
)
def test_removed_aliases_are_gone(module):
    import importlib

    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(module)


def test_json_patient_feeds_the_pk_covariate_model():
    from neurodose.pk.individual import covariate_values

    p = case.load_patient(
        {
            "age": 70,
            "sex": "female",
            "weight_kg": 60,
            "conditions": ["smoker"],
            "labs": {"egfr": 40, "child_pugh": "B"},
            "genotypes": {"CYP2D6": "*4/*4"},
        }
    )
    assert isinstance(p, case.Patient)
    assert p.weight == 60 and p.smoker and p.hepatic == "B"
    assert p.renal_function == 40 and p.renal_basis.startswith("eGFR")
    cov = covariate_values(p)
    assert cov["crcl"] == 40 and cov["weight"] == 60 and cov["smoker"] is True
    assert p.phenotype("CYP2D6") == "PM"


def test_direct_and_json_patients_are_equal():
    direct = case.Patient(age=60, sex="male", weight=80, crcl=90).with_genotype(CYP2C19="*2/*2")
    loaded = case.load_patient(
        {
            "age": 60,
            "sex": "male",
            "weight_kg": 80,
            "labs": {"crcl_ml_min": 90},
            "genotypes": {"CYP2C19": "*2/*2"},
        }
    )
    assert direct == loaded


def test_comedications_are_the_current_medications_except_the_drug_dosed():
    p = case.load_patient(
        {
            "age": 50,
            "medications": [
                {"name": "paroxetine", "dose_mg": 20, "every_h": 24},
                {"name": "fluoxetine", "stopped_days_ago": 3},
                "amitriptyline",
            ],
        }
    )
    got = p.comedications(exclude="amitriptyline")
    assert [(c.drug, c.dose_mg, c.every_h) for c in got] == [("paroxetine", 20.0, 24.0)]


def test_zero_crcl_is_allowed_for_screening_but_an_error_for_pk():
    from neurodose.pk import individual_parameters

    p = case.Patient(age=60, crcl=0)
    assert p.renal_function == 0
    with pytest.raises(PatientError, match="crcl"):
        individual_parameters("pregabalin", p)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"age": 0}, "age"),
        ({"weight": -1}, "weight"),
        ({"crcl": 301}, "crcl"),
        ({"egfr": float("nan")}, "egfr"),
        ({"qtc_ms": 100}, "qtc_ms"),
        ({"sex": "x"}, "sex"),
        ({"hepatic": "D"}, "hepatic"),
        ({"pregnant": "yes"}, "pregnant"),
    ],
)
def test_bad_values_name_the_field(kwargs, field):
    with pytest.raises(PatientError) as exc:
        case.Patient(**kwargs)
    assert str(exc.value).startswith(f"{field}:")
