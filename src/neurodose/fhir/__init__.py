"""neurodose.fhir: FHIR R4 in and out (validated with ``fhir.resources`` R4B models).

A translation layer above ``advice`` and below ``service``/``cli``: no clinical
logic lives here. In: Patient, MedicationRequest/MedicationStatement, Condition
and Observation resources (and PharmCAT JSON reports) become the neurodose patient
profile (:mod:`neurodose.case.patient` schema) plus a list of what could not be
mapped (never dropped). Out: findings as DetectedIssue, plans as a CarePlan with a
staged MedicationRequest, TDM results and diary scores as Observations.

Modules: :mod:`~neurodose.fhir.validate` (structure checks, element paths),
:mod:`~neurodose.fhir.ucum` (UCUM units at the boundary),
:mod:`~neurodose.fhir.inbound`, :mod:`~neurodose.fhir.pharmcat`,
:mod:`~neurodose.fhir.outbound`.
"""
