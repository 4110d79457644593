"""Plans (titrate, taper, switch) and a plan's dose list.

>>> import datetime as dt
>>> r = make_plan(PlanRequest("titration", "amitriptyline", dt.date(2026, 1, 5)))
>>> [s.daily_mg for s in r.plan.steps][:3], r.warnings
([10.0, 20.0, 30.0], ())
>>> planned_doses(r.plan, "amitriptyline", dt.date(2026, 3, 1)).max_daily_dose()
30.0
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from neurodose.advice.plans import Plan, switch_plan, taper_plan, titration_plan
from neurodose.case import Patient, Regimen
from neurodose.errors import InputError
from neurodose.knowledge.limits import check_daily_dose
from neurodose.limits import plan_date
from neurodose.plausibility import date_after_birth

__all__ = ["PlanRequest", "PlanResult", "make_plan", "planned_doses"]

Kind = Literal["titration", "taper", "switch"]


@dataclass(frozen=True)
class PlanRequest:
    """A plan to make.

    ``kind``: titration (start ``drug``, or continue from ``current_daily_mg``), taper
    (``drug`` from ``current_daily_mg`` mg/day, by ``method``) or switch (from ``drug``
    at ``current_daily_mg`` to ``to``). ``patient`` adjusts titrations and switches
    (renal function, CYP2D6). A current dose above the maximum only with
    ``allow_above_max``.
    """

    kind: Kind
    drug: str
    start_date: dt.date
    current_daily_mg: float | None = None
    patient: Patient | None = None
    method: str = "proportional"
    to: str | None = None
    allow_above_max: bool = False


@dataclass(frozen=True)
class PlanResult:
    """The plan and its warnings (a current dose above the maximum, allowed)."""

    plan: Plan
    warnings: tuple[str, ...] = ()

    @property
    def patient_text(self) -> str:
        """The plan in plain language for the patient."""
        from neurodose.advice.patient_text import patient_plan_text

        return patient_plan_text(self.plan)

    def to_json(self, *, patient_text: bool = True) -> dict[str, Any]:
        """The plan's JSON (``Plan.to_dict``) with ``patient_text``."""
        d = self.plan.to_dict()
        if patient_text:
            d["patient_text"] = self.patient_text
        return d


def make_plan(req: PlanRequest) -> PlanResult:
    """Check the current dose and make the plan."""
    plan_date(req.start_date, "start_date")
    date_after_birth(req.start_date, req.patient.age if req.patient else None, "start_date")
    warnings: list[str] = []
    mg = req.current_daily_mg
    if mg is not None:
        # the maximum only: a current dose below the usual start is a normal taper start
        warnings += check_daily_dose(
            req.drug, mg, field="current_daily_mg", allow_above_max=req.allow_above_max
        )
    if req.kind == "titration":
        plan = titration_plan(
            req.drug, start_date=req.start_date, patient=req.patient, current_daily_mg=mg
        )
    elif req.kind == "taper":
        if mg is None:
            raise InputError("current_daily_mg", None, "the current daily dose, mg/day")
        plan = taper_plan(req.drug, float(mg), start_date=req.start_date, method=req.method)
    elif req.kind == "switch":
        if mg is None:
            raise InputError("current_daily_mg", None, "the current daily dose, mg/day")
        if not req.to:
            raise InputError("to", req.to, "the drug to switch to")
        plan = switch_plan(
            req.drug, req.to, float(mg), start_date=req.start_date, patient=req.patient
        )
    else:
        raise InputError("kind", req.kind, "titration, taper or switch")
    return PlanResult(plan, tuple(warnings))


def planned_doses(plan: Plan | dict[str, Any], drug: str, until: dt.date) -> Regimen:
    """The planned doses of ``drug`` from the plan's first day to ``until``: the plan's
    one dose list, :meth:`~neurodose.advice.plans.Plan.regimen` (optional "raise if
    needed" steps and stop steps are not doses). A stored plan's JSON is read with
    :meth:`~neurodose.advice.plans.Plan.from_dict`."""
    p = plan if isinstance(plan, Plan) else Plan.from_dict(plan)
    reg = p.regimen(drug, days=max((until - p.start_date).days + 1, 1))
    if reg is None:
        raise InputError("regimen", drug, f"planned doses of {drug} before {until}")
    return reg
