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
``assessment``      :func:`assess` (screen, rank and plan the options)
``patients``        :func:`build_patient` (profile, options or a translated FHIR case)
``screening``       :func:`screen_orders` (draft orders, screened together)
``models``          :func:`simulate`, :func:`explain`
``plans``           :func:`make_plan` (titrate, taper, switch), :func:`planned_doses`
``monitoring``      :func:`tdm` (MAP fit, forecast, dose) and :func:`course_tdm`
``diary``           :func:`response` (diary -> week-8 forecast)
``views``           :func:`patient_view` (week, reviews, levels of current drugs)
``trials``          :func:`trial_design`, :func:`trial` (a virtual trial job)
==================  ===================================================

Layer: above ``advice``, ``mipd``, ``trial`` and ``simulation``; below ``fhir``,
``service`` and ``cli`` (the import-linter contract in ``pyproject.toml``).
"""

from __future__ import annotations

import importlib
from typing import Any

#: name -> submodule; imported on first use, so that a door loads only what it calls
_WHERE = {
    "AssessRequest": "assessment",
    "AssessResult": "assessment",
    "CourseTdmRequest": "monitoring",
    "DraftOrder": "screening",
    "ExplainRequest": "models",
    "ExplainResult": "models",
    "OrderScreenRequest": "screening",
    "OrderScreenResult": "screening",
    "PatientOptions": "patients",
    "PatientRequest": "patients",
    "PatientResult": "patients",
    "PatientSource": "patients",
    "PatientViewRequest": "views",
    "PlanRequest": "plans",
    "PlanResult": "plans",
    "ResponseRequest": "diary",
    "ResponseResult": "diary",
    "SimulateRequest": "models",
    "SimulateResult": "models",
    "TdmRequest": "monitoring",
    "TdmResult": "monitoring",
    "TrialJobResult": "trials",
    "TrialRequest": "trials",
    "assess": "assessment",
    "build_patient": "patients",
    "course_tdm": "monitoring",
    "explain": "models",
    "make_plan": "plans",
    "patient_view": "views",
    "planned_doses": "plans",
    "response": "diary",
    "screen_orders": "screening",
    "simulate": "models",
    "tdm": "monitoring",
    "trial": "trials",
    "trial_design": "trials",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'neurodose.workflows' has no attribute {name!r}")
    return getattr(importlib.import_module(f"neurodose.workflows.{_WHERE[name]}"), name)


__all__ = [
    "AssessRequest",
    "AssessResult",
    "CourseTdmRequest",
    "DraftOrder",
    "ExplainRequest",
    "ExplainResult",
    "OrderScreenRequest",
    "OrderScreenResult",
    "PatientOptions",
    "PatientRequest",
    "PatientResult",
    "PatientSource",
    "PatientViewRequest",
    "PlanRequest",
    "PlanResult",
    "ResponseRequest",
    "ResponseResult",
    "SimulateRequest",
    "SimulateResult",
    "TdmRequest",
    "TdmResult",
    "TrialJobResult",
    "TrialRequest",
    "assess",
    "build_patient",
    "course_tdm",
    "explain",
    "make_plan",
    "patient_view",
    "planned_doses",
    "response",
    "screen_orders",
    "simulate",
    "tdm",
    "trial",
    "trial_design",
]
