"""Use cases: one typed request -> result function per thing a clinician asks for.

**Doors translate, workflows decide.** The doors (the CLI in :mod:`neurodose.cli`, the
clinic API and pages in :mod:`neurodose.service`, the CDS Hooks services, the FHIR
translation) parse their input into a request, call one workflow and render its
result; they assemble no library calls of their own. A workflow takes typed, already
parsed values (a :class:`~neurodose.case.Patient`, a :class:`~neurodose.case.Regimen`,
an advice :class:`~neurodose.advice.plans.Plan`), checks what the use case needs
(doses against the knowledge-base maximum, co-medication doses), calls the library and
returns a frozen result with its warnings and notes. Errors name fields by their path
in the request (:func:`neurodose.errors.ref`); each door maps them to its own terms.

==================  ===================================================
module              use cases
==================  ===================================================
``simulate``        :func:`simulate`, :func:`explain`
``plan``            :func:`make_plan` (titrate, taper, switch), :func:`planned_doses`
``tdm``             :func:`tdm` (MAP fit, forecast, dose) and :func:`course_tdm`
``patient_view``    :func:`patient_view` (week, reviews, levels of current drugs)
==================  ===================================================

Layer: above ``advice``, ``mipd``, ``trial`` and ``simulation``; below ``fhir``,
``service`` and ``cli`` (the import-linter contract in ``pyproject.toml``).
"""

from __future__ import annotations

from neurodose.workflows.patient_view import PatientViewRequest, patient_view
from neurodose.workflows.plan import PlanRequest, PlanResult, make_plan, planned_doses
from neurodose.workflows.simulate import (
    ExplainRequest,
    ExplainResult,
    SimulateRequest,
    SimulateResult,
    explain,
    simulate,
)
from neurodose.workflows.tdm import CourseTdmRequest, TdmRequest, course_tdm, tdm

__all__ = [
    "CourseTdmRequest",
    "ExplainRequest",
    "ExplainResult",
    "PatientViewRequest",
    "PlanRequest",
    "PlanResult",
    "SimulateRequest",
    "SimulateResult",
    "TdmRequest",
    "course_tdm",
    "explain",
    "make_plan",
    "patient_view",
    "planned_doses",
    "simulate",
    "tdm",
]
