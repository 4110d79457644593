"""Deprecated alias of :mod:`neurodose.case.patient` (no class is defined here).

>>> from neurodose.safety.patient import Patient, load_patient
>>> from neurodose import case
>>> Patient is case.Patient and load_patient is case.load_patient
True
"""

from neurodose.case.patient import (
    Labs,
    Medication,
    Patient,
    PatientIn,
    load_patient,
    load_patient_file,
)

__all__ = ["Labs", "Medication", "Patient", "PatientIn", "load_patient", "load_patient_file"]
