"""Public test kits for neurodose's services (as scikit-learn ships ``check_estimator``).

:mod:`neurodose.testing.cds`: a CDS Hooks conformance harness that plays an EHR
(``neurodose cds-check URL``). Not imported by the runtime services.
"""
