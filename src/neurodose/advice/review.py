"""Where a drug course stands: week of treatment, effect review, review and level due.

One definition for every door: the clinic's patient list (``review_due``, ``level_due``)
and the CDS Hooks patient-view card (week, effect review date) both call
:func:`review_status`.

* Week of treatment: ``(today - start) // 7 + 1`` (the start day is in week 1).
* Effect review: the cited review point after the start (``knowledge/plans.toml``:
  ``reviews.effect_tca`` for a TCA, else ``reviews.effect``).
* Review due: a review date of the course's plan has come (on or before today) and is
  not before the day the plan was made.
* Level due: a review is due, the drug has a TDM range in its record, and no level has
  been measured since the course started.

Examples
--------
>>> import datetime as dt
>>> from neurodose.advice.plans import titration_plan
>>> plan = titration_plan("amitriptyline", start_date=dt.date(2026, 1, 5))
>>> c = Course("amitriptyline", dt.date(2026, 1, 5), plan=plan, planned_on=dt.date(2026, 1, 5))
>>> s = review_status(c, dt.date(2026, 1, 26))
>>> s.week, s.effect_review_date.isoformat(), s.review_due, s.level_due
(4, '2026-02-16', True, True)
>>> review_status(c, dt.date(2026, 1, 10)).review_due
False
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from neurodose.advice.data import review
from neurodose.advice.plans import Plan
from neurodose.knowledge import record, resolve_name
from neurodose.knowledge.schema import Quantity

__all__ = ["Course", "ReviewStatus", "effect_review", "review_status"]


@dataclass(frozen=True)
class Course:
    """A drug course: the drug, its first day (None where unknown, e.g. an EHR order
    without a start date), the plan it follows and the day that plan was made, and how
    many drug levels were measured since it started."""

    drug: str
    start_date: dt.date | None
    plan: Plan | None = None
    planned_on: dt.date | None = None
    levels_since_start: int = 0


@dataclass(frozen=True)
class ReviewStatus:
    """Where a :class:`Course` stands on a day (see the module docstring)."""

    week: int | None
    effect_review: Quantity
    effect_review_date: dt.date | None
    review_due: bool
    level_due: bool
    has_tdm_range: bool


def effect_review(drug: str) -> Quantity:
    """The cited effect review point of ``drug`` (``effect_tca`` for a TCA, else
    ``effect``), time after the start."""
    return review("effect_tca" if "tca" in record(resolve_name(drug)).classes else "effect")


def review_status(course: Course, today: dt.date) -> ReviewStatus:
    """Week of treatment, effect review date, and whether a review and a level are due
    for ``course`` on ``today``."""
    rec = record(resolve_name(course.drug))
    rv = effect_review(course.drug)
    start = course.start_date
    week = (today - start).days // 7 + 1 if start is not None else None
    due_date = start + dt.timedelta(days=float(rv.canonical()) / 24.0) if start else None
    plan = course.plan
    made = course.planned_on or (plan.start_date if plan is not None else None)
    review_due = plan is not None and any(
        (made is None or made <= r.date) and r.date <= today for r in plan.reviews
    )
    has_range = rec.tdm is not None
    level_due = review_due and has_range and not course.levels_since_start
    return ReviewStatus(week, rv, due_date, review_due, level_due, has_range)
