"""Deprecated alias of the dosing vocabulary, which lives in :mod:`neurodose.case`.

Kept so that code written against ``neurodose.dosing`` keeps working; new code imports
from :mod:`neurodose.case`. No class is defined here.

>>> from neurodose.dosing import Regimen
>>> from neurodose import case
>>> Regimen is case.Regimen
True
"""

from neurodose.case.nonmem import read_csv, read_csv_text, to_csv, write_csv
from neurodose.case.regimen import DoseEvent, ExpandedDoses, Regimen, TitrationStep

__all__ = [
    "DoseEvent",
    "ExpandedDoses",
    "Regimen",
    "TitrationStep",
    "read_csv",
    "read_csv_text",
    "to_csv",
    "write_csv",
]
