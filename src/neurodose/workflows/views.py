"""Patient view: where each current neuropathic-pain drug stands today.

For each drug on the active list: its dose, the week of treatment and the effect
review date (from the start date where known; :func:`neurodose.advice.review.review_status`)
and the TDM reference range where the record has one. The CDS Hooks ``patient-view``
card and any other door render it.

>>> import datetime as dt
>>> v = patient_view(PatientViewRequest(
...     ({"name": "amitriptyline", "dose_mg": 10},), {"amitriptyline": dt.date(2026, 1, 5)},
...     dt.date(2026, 1, 26)))
>>> d = v.drugs[0]
>>> d.display_name, d.status.week, d.status.effect_review_date.isoformat()
('Amitriptyline', 4, '2026-02-16')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neurodose.advice.review import Course, ReviewStatus, review_status

__all__ = ["CurrentDrug", "PatientView", "PatientViewRequest", "patient_view"]


@dataclass(frozen=True)
class PatientViewRequest:
    """The current medications (``{"name", "dose_mg", "every_h"}``, names resolved),
    their start dates where known, and today."""

    medications: tuple[Mapping[str, Any], ...]
    starts: Mapping[str, dt.date]
    today: dt.date


@dataclass(frozen=True)
class CurrentDrug:
    """One current drug: name, dose, start, review status, TDM reference range."""

    drug: str
    display_name: str
    dose_mg: float | None
    every_h: float | None
    start: dt.date | None
    status: ReviewStatus
    reference_range: Any  # knowledge.schema TDM range, or None


@dataclass(frozen=True)
class PatientView:
    """The current drugs, in the order given."""

    drugs: tuple[CurrentDrug, ...]


def patient_view(req: PatientViewRequest) -> PatientView:
    """Review status and TDM range of each current drug."""
    from neurodose.knowledge import get_drug

    out = []
    for m in req.medications:
        rec = get_drug(m["name"])
        start = req.starts.get(m["name"])
        rr = rec.tdm.reference_range if rec.tdm is not None else None
        out.append(
            CurrentDrug(
                drug=m["name"],
                display_name=rec.display_name,
                dose_mg=m.get("dose_mg"),
                every_h=m.get("every_h"),
                start=start,
                status=review_status(Course(m["name"], start), req.today),
                reference_range=rr,
            )
        )
    return PatientView(tuple(out))
