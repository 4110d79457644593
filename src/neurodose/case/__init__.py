"""The case: one patient and the doses given, the vocabulary every layer above shares.

- :class:`Patient` -- covariates, labs, conditions, genotypes, medications (one class;
  :func:`load_patient` / :func:`load_patient_file` read the patient JSON)
- :class:`Medication`, :class:`Comedication` -- what else the patient takes
- :class:`DoseEvent`, :class:`Regimen`, :class:`ExpandedDoses` -- the only dose list
  (NONMEM-style records, titration builders, CSV I/O in :mod:`neurodose.case.nonmem`)

>>> from neurodose.case import Patient, Regimen
>>> Regimen.oral("25 mg", every="24 h", days=28).last_dose_time
648.0
>>> Patient(age=70, crcl=45).renal_function
45.0
"""

from neurodose.case.nonmem import read_csv, read_csv_text, to_csv, write_csv
from neurodose.case.patient import (
    Comedication,
    Labs,
    Medication,
    Patient,
    PatientIn,
    load_patient,
    load_patient_file,
    parse_comedication,
)
from neurodose.case.regimen import DoseEvent, ExpandedDoses, Regimen, TitrationStep

__all__ = [
    "Comedication",
    "DoseEvent",
    "ExpandedDoses",
    "Labs",
    "Medication",
    "Patient",
    "PatientIn",
    "Regimen",
    "TitrationStep",
    "load_patient",
    "load_patient_file",
    "parse_comedication",
    "read_csv",
    "read_csv_text",
    "to_csv",
    "write_csv",
]
