"""Assess: screen, rank and plan the neuropathic-pain options for one patient.

The ``neurodose assess`` command, the clinic's ``GET /patients/{id}/assessment`` (and its
pages) and the CDS alternative all take :func:`assess` of an :class:`AssessRequest`.

>>> import datetime as dt
>>> from neurodose.case import load_patient
>>> r = assess(AssessRequest(load_patient({"age": 50}), dt.date(2026, 1, 5), ("duloxetine",)))
>>> [o.drug for o in r.assessment.options], sorted(r.to_json())[:2]
(['duloxetine'], ['current_checks', 'disclaimer'])
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from neurodose.advice.assess import Assessment, OptionResult
from neurodose.case import Patient

__all__ = ["AssessRequest", "AssessResult", "assess"]


@dataclass(frozen=True)
class AssessRequest:
    """Assess ``patient`` with plans dated from ``start_date``; ``drugs`` (any knowledge-
    base name, resolved here) narrows the options (default: all of them)."""

    patient: Patient
    start_date: dt.date
    drugs: tuple[str, ...] | None = None


@dataclass(frozen=True)
class AssessResult:
    """The :class:`~neurodose.advice.assess.Assessment` and the drugs it was asked for
    (resolved names; ``None``: all options)."""

    assessment: Assessment
    drugs: tuple[str, ...] | None = None

    @property
    def top(self) -> OptionResult | None:
        """The best-ranked option with a plan (the one the plan and patient text show)."""
        return next((o for o in self.assessment.options if o.plan is not None), None)

    def patient_text(self) -> str | None:
        """The plain-language plan of :attr:`top` (``None`` where no option has a plan)."""
        from neurodose.advice.patient_text import patient_plan_text

        top = self.top
        return patient_plan_text(top.plan, top.findings) if top and top.plan else None

    def to_json(self) -> dict[str, Any]:
        """``neurodose assess --json`` (without the door's ``defaults_applied``)."""
        return self.assessment.to_dict()


def assess(req: AssessRequest) -> AssessResult:
    """Resolve the drug names and assess (errors name the drug as given)."""
    from neurodose.advice.assess import assess as run
    from neurodose.knowledge import resolve_name
    from neurodose.plausibility import date_after_birth

    date_after_birth(req.start_date, req.patient.age, "start_date")
    drugs = tuple(resolve_name(d) for d in req.drugs) if req.drugs is not None else None
    a = run(req.patient, list(drugs) if drugs is not None else None, start_date=req.start_date)
    return AssessResult(a, drugs)
