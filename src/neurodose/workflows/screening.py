"""Order screening: each draft medication order against the patient, the active list
and the other drafts of the same request (the CDS Hooks ``order-select`` and
``order-sign`` services).

Every draft of a request is screened together with the others: a draft's interaction
with another draft ordered at the same time is found even though neither is on the
active list yet (a draft of a drug already on the list adds nothing). Where an order
draws a ``contraindicated`` or ``avoid`` finding, the result carries the best-ranked
option the assessment recommends instead (with its first plan step).

>>> import datetime as dt
>>> from neurodose.case import load_patient
>>> p = load_patient({"age": 60, "medications": [{"name": "tramadol", "dose_mg": 50}]})
>>> r = screen_orders(OrderScreenRequest(p, (DraftOrder("duloxetine", 60, 24, 60),),
...                                      today=dt.date(2026, 1, 5)))
>>> s = r.screens[0]
>>> s.order.drug, any(f.drug == "duloxetine" for f in s.findings)
('duloxetine', True)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from neurodose.case import Patient
from neurodose.findings import Finding

__all__ = [
    "DraftOrder",
    "OrderScreen",
    "OrderScreenRequest",
    "OrderScreenResult",
    "alternative_candidates",
    "screen_orders",
]

#: the ranked alternatives of a patient on a date: ``((drug, first plan step), ...)``
Candidates = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class DraftOrder:
    """One recognised draft order: the drug (resolved name), each dose (mg), the
    interval (h) and the planned daily dose (mg/day, ``None`` where not known)."""

    drug: str
    dose_mg: float | None = None
    every_h: float | None = None
    daily_mg: float | None = None


@dataclass(frozen=True)
class OrderScreenRequest:
    """Screen ``orders`` for ``patient``; ``drafts`` are all the recognised drafts of the
    request (default: ``orders``), screened together; ``today`` dates the alternative's plan;
    ``candidates`` gives the alternatives (default :func:`alternative_candidates`; a door
    may pass a cached one: the result depends only on the patient, the date and the
    knowledge base)."""

    patient: Patient
    orders: tuple[DraftOrder, ...]
    drafts: tuple[DraftOrder, ...] | None = None
    today: dt.date | None = None
    candidates: Callable[[Patient, dt.date], Candidates] | None = None


@dataclass(frozen=True)
class OrderScreen:
    """One order's findings (sorted by severity) and, where it should not be given, the
    alternative: ``(drug, first plan step or None)``."""

    order: DraftOrder
    findings: tuple[Finding, ...]
    alternative: tuple[str, Any] | None = None


@dataclass(frozen=True)
class OrderScreenResult:
    """One :class:`OrderScreen` per order, in the order given."""

    screens: tuple[OrderScreen, ...]


def alternative_candidates(patient: Patient, today: dt.date) -> Candidates:
    """The options the assessment recommends or accepts, with a plan, best first:
    ``(drug, first plan step or None)`` each (one :func:`~neurodose.workflows.assess`)."""
    from neurodose.workflows.assessment import AssessRequest, assess

    return tuple(
        (o.drug, o.plan.steps[0] if o.plan.steps else None)
        for o in assess(AssessRequest(patient, today)).assessment.options
        if o.verdict in ("recommended", "acceptable") and o.plan
    )


def screen_orders(req: OrderScreenRequest) -> OrderScreenResult:
    """Screen each order with the other drafts added to the patient's medicines."""
    from neurodose.case.patient import Medication
    from neurodose.safety.engine import screen

    today = req.today or dt.date.today()
    drafts = req.orders if req.drafts is None else req.drafts
    patient = req.patient
    on_list = {m.name for m in patient.medications if m.current}
    assessed: list[Candidates] = []  # the alternatives, computed once per request if needed
    candidates = req.candidates or alternative_candidates

    def alternative(order: DraftOrder) -> tuple[str, Any] | None:
        if not assessed:
            assessed.append(candidates(patient, today))
        return next((c for c in assessed[0] if c[0] != order.drug), None)

    out = []
    for order in req.orders:
        others = tuple(
            Medication(d.drug, dose_mg=d.dose_mg, every_h=d.every_h)
            for d in drafts
            if d.drug != order.drug and d.drug not in on_list
        )
        with_drafts = replace(patient, medications=(*patient.medications, *others))
        findings = screen(with_drafts, order.drug, planned_daily_mg=order.daily_mg)
        alt = None
        if any(f.severity in ("contraindicated", "avoid") for f in findings):
            alt = alternative(order)
        out.append(OrderScreen(order, tuple(findings), alt))
    return OrderScreenResult(tuple(out))
