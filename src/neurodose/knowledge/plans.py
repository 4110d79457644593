"""Cited plan data (``knowledge/plans.toml``, schema :class:`~neurodose.knowledge.schema.
PlanData`): review points, taper steps, switch gaps, titration fill-ins for what a drug
record lacks, and ranking evidence fall-backs. Loaded once through
:func:`neurodose.knowledge.registry.load_validated` (schema, units, ranges and source
keys checked); :mod:`neurodose.advice.data` reads it.

>>> plan_data().reviews["response_fraction"].value
0.3
>>> plan_data().titration["pregabalin"].doses_per_day
2
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from neurodose.knowledge.registry import DATA_DIR, load_validated
from neurodose.knowledge.schema import PlanData

__all__ = ["PATH", "plan_data"]

PATH: Path = DATA_DIR / "plans.toml"


@cache
def plan_data() -> PlanData:
    """The validated plan data (cached)."""
    return load_validated(PATH, PlanData)
