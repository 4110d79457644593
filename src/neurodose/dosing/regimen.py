"""Deprecated alias of :mod:`neurodose.case.regimen` (no class is defined here)."""

from neurodose.case.regimen import DoseEvent, ExpandedDoses, Regimen, TitrationStep

__all__ = ["DoseEvent", "ExpandedDoses", "Regimen", "TitrationStep"]
