"""CDS Hooks services (HL7 CDS Hooks 2.0): discovery, order-select, order-sign, patient-view.

A translation layer: FHIR in through :mod:`neurodose.fhir.inbound`, screening by
:mod:`neurodose.safety` and ranking by :mod:`neurodose.advice`, findings out as
cards. Every request carries a client JWT (:mod:`~neurodose.service.cds.security`).
Routes and configuration: ``docs/cds_hooks.md``.
"""
