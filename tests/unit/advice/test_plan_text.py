"""Plan text from one renderer (:func:`neurodose.advice.plans.schedule_text`): for every
titration and taper the knowledge base can produce, each step's text states the dose,
the frequency and the times of day its structured regimen holds, and the patient's text
uses the same words; no step changes frequency without its text saying so."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from neurodose.advice.patient_text import patient_plan_text
from neurodose.advice.plans import (
    Plan,
    Step,
    frequency_text,
    schedule_text,
    taper_plan,
    titration_plan,
)
from neurodose.errors import InputError
from neurodose.knowledge.registry import drug_names

START = dt.date(2026, 1, 5)
WORDS = {1: "once a day", 2: "twice a day", 3: "three times a day", 4: "four times a day"}


def _titrations() -> list[Plan]:
    out = []
    for name in drug_names():
        try:
            out.append(titration_plan(name, start_date=START, include_optional=True))
        except InputError:  # no cited starting dose: no titration plan
            continue
    return out


TITRATIONS = _titrations()


def _tapers() -> list[Plan]:
    out = []
    for t in TITRATIONS:
        if t.unit != "mg":
            continue
        drug = t.drugs[0]
        for daily in sorted({s.daily_mg for s in t.steps if s.daily_mg > 0}):
            for method in ("proportional", "hyperbolic"):
                try:
                    out.append(taper_plan(drug, daily, start_date=START, method=method))
                except InputError:  # below the lowest dose the coded forms can give
                    continue
    return out


PLANS = TITRATIONS + _tapers()


def _check_step(s: Step, unit: str) -> str:
    text = schedule_text(s, unit)
    if s.regimen is None:
        assert text == "stop" or text == s.units, text
        return text
    ev = s.regimen.events[0]
    n = ev.n_doses
    assert s.daily_mg == pytest.approx(s.dose_mg * n, abs=1e-3)
    if s.units.startswith("uneven split"):
        assert text.startswith(f"{s.daily_mg:g} mg a day in "), text
        return text
    assert text.startswith(f"{s.dose_mg:g} {'mg' if unit == 'mg' else 'patch'} "), text
    freq = frequency_text(s)
    assert text.endswith(freq)
    if ev.ii > 24:
        assert freq.startswith(f"once every {ev.ii / 24:g} days"), freq
        return text
    assert n * ev.ii == pytest.approx(24.0), (n, ev.ii)  # the step's doses fill one day
    assert freq.startswith(WORDS[n]), (freq, n)
    # times of day never name more (or fewer) administrations than the frequency
    if "morning and night" in freq:
        assert n == 2, freq
    if re.search(r"\b(at night|in the morning|in the evening)$", freq):
        assert n == 1, freq
    for k, w in WORDS.items():
        if k != n:
            assert w not in freq, freq
    return text


@pytest.mark.parametrize(
    "plan", PLANS, ids=lambda p: f"{p.kind}-{p.drugs[0]}-{p.steps[0].daily_mg:g}"
)
def test_step_text_agrees_with_the_structured_doses(plan: Plan) -> None:
    text = patient_plan_text(plan)
    for s in plan.steps:
        shown = _check_step(s, plan.unit)
        if s.regimen is not None:
            assert shown in text, (shown, text)


def test_every_drug_with_a_starting_dose_is_covered() -> None:
    names = {t.drugs[0] for t in TITRATIONS}
    assert {"amitriptyline", "nortriptyline", "duloxetine", "venlafaxine"} <= names
    assert {"gabapentin", "pregabalin", "lidocaine_plaster", "capsaicin_patch"} <= names
    assert len(PLANS) > 8 * len(TITRATIONS)


def test_pregabalin_taper_from_300_mg_says_once_or_twice_on_each_row() -> None:
    """The case of issue 24: every row said 'morning and night', at 225 mg every 24 h."""
    p = taper_plan("pregabalin", 300, start_date=START)
    texts = [schedule_text(s) for s in p.steps]
    assert texts[0] == "225 mg once a day, at night"
    assert texts[1] == "75 mg twice a day, morning and night"
    assert "225 mg, morning and night" not in patient_plan_text(p)
