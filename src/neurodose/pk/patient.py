"""Deprecated alias of :mod:`neurodose.case.patient` (no class is defined here).

>>> from neurodose.pk.patient import Patient
>>> from neurodose import case
>>> Patient is case.Patient
True
"""

from neurodose.case.patient import Comedication, Patient, parse_comedication

__all__ = ["Comedication", "Patient", "parse_comedication"]
