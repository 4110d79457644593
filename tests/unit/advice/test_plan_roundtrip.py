"""A stored plan (``Plan.to_dict`` JSON) reads back as the same plan, and every door
turns it into the same dose list: ``Plan.regimen``."""

from __future__ import annotations

import datetime as dt

import pytest

from neurodose.advice.plans import Plan, join_course, switch_plan, taper_plan, titration_plan
from neurodose.advice.review import Course, review_status

START = dt.date(2026, 1, 5)

PLANS = [
    titration_plan("amitriptyline", start_date=START),
    titration_plan("pregabalin", start_date=START),
    titration_plan("gabapentin", start_date=START),
    titration_plan("lidocaine_plaster", start_date=START),
    taper_plan("duloxetine", 60, start_date=START),
    taper_plan("venlafaxine", 225, start_date=START),
    switch_plan("amitriptyline", "duloxetine", 50, start_date=START),
]


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: f"{p.kind}-{'-'.join(p.drugs)}")
def test_to_dict_from_dict_round_trips(plan):
    back = Plan.from_dict(plan.to_dict())
    assert back.to_dict() == plan.to_dict()
    assert back.steps == plan.steps and back.reviews == plan.reviews
    for drug in plan.drugs:
        for days in (1, 20, 90):
            assert back.regimen(drug, days=days) == plan.regimen(drug, days=days)


def test_amitriptyline_titration_peaks_at_the_target_not_the_optional_maximum():
    """Steps above the usual target (``usual_low`` 25 mg/day, so 30 mg) up to the maximum
    (75 mg/day, so 70 mg) are "only if needed and tolerated": decisions at a review, not
    planned doses. The clinic (TDM fit, expected levels) and the library agree."""
    from neurodose.service.library import _regimen

    p = titration_plan("amitriptyline", start_date=START)
    assert [s.daily_mg for s in p.steps if s.optional] == [40.0, 50.0, 60.0, 70.0]
    reg = p.regimen(days=84)
    stored = _regimen(p.to_dict(), "amitriptyline", START + dt.timedelta(days=83))
    assert stored == reg
    assert reg.max_daily_dose() == 30.0
    assert p.regimen(days=84, optional=True).max_daily_dose() == 70.0


def test_fhir_care_plan_of_stored_json_equals_that_of_the_plan():
    from neurodose.fhir import outbound

    p = switch_plan("amitriptyline", "duloxetine", 50, start_date=START)
    a = outbound.care_plan(p, patient_ref="Patient/x")
    b = outbound.care_plan(p.to_dict(), patient_ref="Patient/x")
    for r in (a, b):
        for c in r["contained"]:
            c.pop("authoredOn", None)
        r.pop("created", None)
    assert a == b


def test_a_course_joins_a_taper_to_its_titration():
    t = titration_plan("amitriptyline", start_date=START)
    d = taper_plan("amitriptyline", 30, start_date=START + dt.timedelta(days=28))
    c = join_course([t, d], "amitriptyline", START)
    reg = c.regimen(days=120)
    assert reg.daily_dose_at(27 * 24.0) == 30.0  # titration held at the target
    assert reg.daily_dose_at(28 * 24.0) == d.steps[0].daily_mg  # then the taper
    assert reg.last_dose_time < c.steps[-1].day * 24.0  # nothing after the stop
    later = START + dt.timedelta(days=1)  # a course started after the titration: taper only
    assert join_course([t, d], "amitriptyline", later).steps == tuple(
        s.at((s.date - later).days, later) for s in d.steps
    )


def test_review_status_week_and_due_flags():
    p = titration_plan("amitriptyline", start_date=START)
    c = Course("amitriptyline", START, plan=p, planned_on=START)
    before = review_status(c, START + dt.timedelta(days=13))
    after = review_status(c, START + dt.timedelta(days=14))
    assert (before.week, before.review_due, before.level_due) == (2, False, False)
    assert (after.week, after.review_due, after.level_due) == (3, True, True)
    measured = Course("amitriptyline", START, plan=p, planned_on=START, levels_since_start=1)
    assert not review_status(measured, START + dt.timedelta(days=14)).level_due
    made_later = Course("amitriptyline", START, plan=p, planned_on=START + dt.timedelta(days=15))
    assert not review_status(made_later, START + dt.timedelta(days=16)).review_due
    gaba = review_status(Course("gabapentin", START), START)
    assert gaba.week == 1 and not gaba.review_due and not gaba.level_due
    assert after.effect_review_date == START + dt.timedelta(days=42)
