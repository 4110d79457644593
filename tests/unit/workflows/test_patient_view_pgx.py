"""The patient view's pharmacogenomics: phenotypes on record and the safety screen's
pharmacogenetic findings about the current medicines (nothing computed anew)."""

from __future__ import annotations

import datetime as dt

from neurodose.case import load_patient
from neurodose.safety.engine import screen_current
from neurodose.workflows import PatientViewRequest, patient_view

TODAY = dt.date(2026, 1, 26)
AMI = {"name": "amitriptyline", "dose_mg": 25}


def test_pgx_findings_are_the_screens_for_current_drugs() -> None:
    patient = load_patient(
        {
            "age": 60,
            "genotypes": {"CYP2D6": "poor metabolizer", "CYP2C19": "*1/*17"},
            "medications": [AMI, {"name": "duloxetine", "dose_mg": 60, "stopped_days_ago": 3}],
        }
    )
    view = patient_view(PatientViewRequest((AMI,), {}, TODAY, patient))
    assert [(g.gene, g.phenotype, g.words) for g in view.phenotypes] == [
        ("CYP2C19", "RM", "rapid metaboliser"),
        ("CYP2D6", "PM", "poor metaboliser"),
    ]
    assert view.phenotypes[0].diplotype == "*1/*17"
    codes = {f.code for f in view.pgx_findings}
    assert "cpic_tca_genotype" in codes
    assert all(f.drug == "amitriptyline" for f in view.pgx_findings)
    # the very findings of the safety screen, not a second opinion
    screened = screen_current(patient)
    assert all(f in screened for f in view.pgx_findings)


def test_without_the_patient_no_pgx_section() -> None:
    view = patient_view(PatientViewRequest((AMI,), {}, TODAY))
    assert view.phenotypes == () and view.pgx_findings == ()
