"""Titration, taper and switch plans built from cited dose data."""

from __future__ import annotations

import datetime as dt

import pytest

from neurodose.advice.data import dose_guidance, review, strengths, switch_gap
from neurodose.advice.plans import switch_plan, taper_plan, titration_plan, units_for
from neurodose.case.patient import load_patient
from neurodose.errors import InputError, RegimenError

D0 = dt.date(2026, 1, 5)


def test_amitriptyline_titration_follows_nice_and_ni_formulary() -> None:
    p = titration_plan("amitriptyline", start_date=D0)
    g = dose_guidance("amitriptyline")
    assert p.steps[0].dose_mg == g["start"].value == 10
    assert all(s.time_of_day == "night" for s in p.steps)
    days = [s.day for s in p.steps]
    assert days == sorted(days) and days[1] - days[0] == 7
    assert max(s.daily_mg for s in p.steps) <= g["maximum"].value == 75
    assert [s.optional for s in p.steps if s.daily_mg <= g["usual_low"].value] == [False] * len(
        [s for s in p.steps if s.daily_mg <= g["usual_low"].value]
    )
    assert p.steps[0].date == D0 and p.steps[1].date == D0 + dt.timedelta(days=7)
    assert {"nice_cg96", "ni_formulary_473"} <= set(p.sources)


def test_reviews_at_two_weeks_and_effect_with_immpact_response() -> None:
    p = titration_plan("duloxetine", start_date=D0)
    assert [r.day for r in p.reviews] == [14, int(review("effect").value)]
    assert "30%" in p.reviews[1].text
    assert "dworkin2008_immpact" in p.reviews[1].sources
    tca = titration_plan("nortriptyline", start_date=D0)
    assert tca.reviews[1].day == 42  # 4-6 weeks for TCAs


def test_every_step_uses_marketed_strengths() -> None:
    for drug in ("amitriptyline", "nortriptyline", "duloxetine", "venlafaxine", "pregabalin"):
        for s in titration_plan(drug, start_date=D0).steps:
            assert "no marketed strength" not in s.units, (drug, s)


def test_renal_function_caps_the_gabapentinoid_maximum() -> None:
    p = load_patient({"age": 60, "labs": {"crcl_ml_min": 25}})
    plan = titration_plan("pregabalin", start_date=D0, patient=p)
    assert max(s.daily_mg for s in plan.steps) <= 150
    assert not plan.verified  # renal bands are unverified label values
    normal = titration_plan("pregabalin", start_date=D0)
    assert max(s.daily_mg for s in normal.steps) == 600


def test_cyp2d6_pm_lowers_the_tca_maximum_by_the_dpwg_factor() -> None:
    pm = load_patient({"age": 50, "genotypes": {"CYP2D6": "PM"}})
    plan = titration_plan("amitriptyline", start_date=D0, patient=pm)
    assert max(s.daily_mg for s in plan.steps) <= 75 * 0.6
    assert any("DPWG" in n for n in plan.notes)
    assert "dpwg_tca" in plan.sources


def test_phenoconversion_lowers_the_maximum_too() -> None:
    p = load_patient({"age": 50, "medications": ["bupropion"]})
    plan = titration_plan("nortriptyline", start_date=D0, patient=p)
    assert max(s.daily_mg for s in plan.steps) <= 75 * 0.4 + 1e-9
    assert any("bupropion" in n for n in plan.notes)


def test_taper_is_proportional_and_ends_with_stop() -> None:
    t = taper_plan("nortriptyline", 75, start_date=D0)
    daily = [s.daily_mg for s in t.steps]
    assert daily[-1] == 0 and t.steps[-1].note == "stop"
    assert all(b < a for a, b in zip([75, *daily], daily, strict=False))
    # each step at most the large step (50 %) of the previous dose, liquid below 10 mg
    for a, b in zip([75.0, *daily[:-2]], daily[:-1], strict=True):
        assert b >= a * 0.5 - 10 - 1e-9
    assert any("oral solution" in s.units for s in t.steps)
    assert t.extra["interval_days"] == 14


def test_high_withdrawal_risk_tapers_more_slowly() -> None:
    t = taper_plan("venlafaxine", 150, start_date=D0)
    assert t.extra["interval_days"] == 28
    assert any("most likely" in n for n in t.notes)


def test_hyperbolic_taper_uses_smaller_steps() -> None:
    prop = taper_plan("duloxetine", 120, start_date=D0)
    hyp = taper_plan("duloxetine", 120, start_date=D0, method="hyperbolic")
    assert len(hyp.steps) > len(prop.steps)


def test_bad_taper_inputs() -> None:
    with pytest.raises(RegimenError):
        taper_plan("duloxetine", 0)
    with pytest.raises(InputError):
        taper_plan("duloxetine", 60, method="linear")


def test_switch_to_maoi_needs_the_washout() -> None:
    p = switch_plan("amitriptyline", "phenelzine", 50, start_date=D0)
    last_ami = max(s.day for s in p.steps if s.drug == "amitriptyline")
    first_mao = min(s.day for s in p.steps if s.drug == "phenelzine")
    assert first_mao - last_ami >= switch_gap("maoi_after_tca").value == 14
    d = switch_plan("duloxetine", "moclobemide", 60, start_date=D0)
    gap = min(s.day for s in d.steps if s.drug == "moclobemide") - max(
        s.day for s in d.steps if s.drug == "duloxetine"
    )
    assert gap == switch_gap("maoi_after_duloxetine").value == 5


def test_fluoxetine_washout_before_maoi_is_five_weeks() -> None:
    p = switch_plan("fluoxetine", "tranylcypromine", 20, start_date=D0)
    first = min(s.day for s in p.steps if s.drug == "tranylcypromine")
    last = max(s.day for s in p.steps if s.drug == "fluoxetine")
    assert first - last == 35


def test_switch_from_maoi_waits_14_days_then_titrates() -> None:
    p = switch_plan("phenelzine", "duloxetine", 45, start_date=D0)
    assert p.extra["strategy"] == "washout"
    first = min(s.day for s in p.steps if s.drug == "duloxetine")
    last = max(s.day for s in p.steps if s.drug == "phenelzine")
    assert first - last >= 14


def test_cross_taper_overlaps_and_warns_for_two_serotonergic_drugs() -> None:
    p = switch_plan("amitriptyline", "duloxetine", 50, start_date=D0)
    assert p.extra["strategy"] == "cross-taper"
    assert p.steps[0].day == 0 and {s.drug for s in p.steps if s.day == 0} == {
        "amitriptyline",
        "duloxetine",
    }
    assert any("serotonin" in n for n in p.notes)
    g = switch_plan("gabapentin", "duloxetine", 900, start_date=D0)
    assert not any("serotonin" in n for n in g.notes)


def test_switch_to_same_drug_is_an_error() -> None:
    with pytest.raises(InputError):
        switch_plan("duloxetine", "Duloxetine", 60)


def test_units_for_uses_solid_then_liquid() -> None:
    assert units_for("amitriptyline", 35) == "1 x 25 mg + 1 x 10 mg"
    assert units_for("nortriptyline", 5) == "2.5 mL of 2 mg/mL oral solution"
    assert units_for("amitriptyline", 5) is None  # no liquid coded for amitriptyline
    assert [s.mg for s in strengths("duloxetine")] == [20, 30, 40, 60]


def test_plan_json_contract() -> None:
    d = titration_plan("gabapentin", start_date=D0).to_dict()
    for s in d["steps"]:
        assert {"day", "dose_mg", "every_h", "time_of_day"} <= set(s)
    assert d["steps"][2]["every_h"] == 8  # three times a day


def test_plan_steps_carry_their_doses_as_a_regimen() -> None:
    import datetime as dt

    from neurodose.advice.plans import taper_plan, titration_plan

    p = titration_plan("pregabalin", start_date=dt.date(2026, 1, 5))
    first = p.steps[0]
    ev = first.regimen.events[0]
    assert ev.time == first.day * 24.0 and ev.n_doses * ev.amt == first.daily_mg
    assert first.every_h == ev.ii == 24.0 / ev.n_doses
    course = p.regimen(days=p.steps[-1].day + 7, optional=True)
    for s in p.steps:  # each step's daily total holds from its day until the next step
        assert course.daily_dose_at(s.day * 24.0) == s.daily_mg
    t = taper_plan("duloxetine", 60, start_date=dt.date(2026, 1, 5))
    assert t.steps[-1].regimen is None and t.steps[-1].daily_mg == 0.0
    last_dose_day = t.steps[-2].day
    assert t.regimen().last_dose_time < t.steps[-1].day * 24.0
    assert t.regimen().daily_dose_at(last_dose_day * 24.0) == t.steps[-2].daily_mg
