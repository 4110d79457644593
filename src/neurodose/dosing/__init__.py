"""Dosing: NONMEM-style dose events, regimens, titration builders, CSV I/O.

>>> from neurodose.dosing import Regimen
>>> Regimen.oral("25 mg", every="24 h", days=28).last_dose_time
648.0
"""

from neurodose.dosing.nonmem import read_csv, read_csv_text, to_csv, write_csv
from neurodose.dosing.regimen import DoseEvent, ExpandedDoses, Regimen, TitrationStep

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
