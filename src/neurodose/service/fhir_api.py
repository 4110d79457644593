"""FHIR R4 out for stored patients: ``GET /api/v1/patients/{pid}/fhir/...`` (clinician token).

=================================================  =========================================
``GET /api/v1/patients/{pid}/fhir/assessment``     Bundle: a DetectedIssue per finding and the
                                                   CarePlan of the top-ranked option
``GET /api/v1/patients/{pid}/fhir/careplan``       the current plan as a CarePlan with a staged
                                                   MedicationRequest (404 when there is none)
``GET /api/v1/patients/{pid}/fhir/observations``   Bundle: diary pain scores (LOINC 72514-3)
=================================================  =========================================

Same auth rule as every patient route: a clinician's bearer token, own clinic only
(else a bare 401 / 404). Every resource is validated with ``fhir.resources``.
Translation only: :mod:`neurodose.fhir.outbound` builds the resources.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from neurodose.fhir.outbound import assessment_bundle, bundle, care_plan, diary_observations
from neurodose.service import store
from neurodose.service.api import State, User
from neurodose.service.problems import ERROR_RESPONSES
from neurodose.service.schemas import FhirBundle, FhirCarePlan

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["fhir"])


#: the resources pass through as built (a field left out stays out)
_AS_GIVEN: dict[str, Any] = {"responses": ERROR_RESPONSES, "response_model_exclude_unset": True}


@router.get("/patients/{pid}/fhir/assessment", response_model=FhirBundle, **_AS_GIVEN)
def fhir_assessment(st: State, user: User, pid: str) -> dict[str, Any]:
    """The assessment as a FHIR Bundle (DetectedIssue per finding, CarePlan of the top option)."""
    from neurodose.advice.assess import assess
    from neurodose.case.patient import load_patient

    with st.db.session() as s:
        rec = store.get_patient(s, user, pid)
        store.audit(s, user.name, "fhir.assessment.read", pid)
        profile = dict(rec.profile)
    return assessment_bundle(
        assess(load_patient(profile), start_date=store.today()), patient_id=pid
    )


@router.get("/patients/{pid}/fhir/careplan", response_model=FhirCarePlan, **_AS_GIVEN)
def fhir_careplan(st: State, user: User, pid: str) -> dict[str, Any]:
    """The current plan as a CarePlan (one staged MedicationRequest per drug)."""
    with st.db.session() as s:
        store.get_patient(s, user, pid)
        data = dict(store.read_plan(s, user.name, pid, "fhir.careplan.read").plan)
    return care_plan(data, patient_ref=f"Patient/{pid}")


@router.get("/patients/{pid}/fhir/observations", response_model=FhirBundle, **_AS_GIVEN)
def fhir_observations(st: State, user: User, pid: str) -> dict[str, Any]:
    """Diary pain scores as Observations (LOINC 72514-3) in a Bundle."""
    with st.db.session() as s:
        store.get_patient(s, user, pid)
        entries = store.diary_entries(s, pid, user.name)
    rows = [{"date": str(e["date"]), "pain": e.get("pain")} for e in entries]
    return bundle(diary_observations(rows, patient_ref=f"Patient/{pid}"))
