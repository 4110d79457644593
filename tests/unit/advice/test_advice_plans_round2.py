"""Plans a pharmacist would sign: taper ends, real strengths, switches that name interactions."""

from __future__ import annotations

import datetime as dt

import pytest

from neurodose.advice.data import dose_guidance, strengths
from neurodose.advice.plans import switch_plan, taper_plan, units_for
from neurodose.case.patient import load_patient
from neurodose.errors import PatientError
from neurodose.knowledge import drug_names

D0 = dt.date(2026, 1, 5)
#: drugs with marketed strengths (RxNorm SCDs in the record) and a cited usual dose
TAPERED = [
    n
    for n in drug_names()
    if strengths(n) and any(k in dose_guidance(n) for k in ("usual_high", "maximum"))
]


def _usual(name: str) -> float:
    g = dose_guidance(name)
    q = g.get("usual_low") or g.get("start") or g.get("usual_high") or g["maximum"]
    return q.point


def test_tapered_drugs_cover_the_options() -> None:
    assert {"amitriptyline", "duloxetine", "venlafaxine", "pregabalin", "gabapentin"} <= set(
        TAPERED
    )


@pytest.mark.parametrize("drug", TAPERED)
def test_last_reduction_is_at_most_half_or_names_a_liquid(drug: str) -> None:
    plan = taper_plan(drug, _usual(drug) * 2, start_date=D0)
    steps = [s for s in plan.steps if s.daily_mg > 0]
    assert plan.steps[-1].daily_mg == 0
    if len(steps) < 1:
        return
    last = steps[-1]
    lowest_solid = min(s.mg for s in strengths(drug) if s.form == "solid")
    names_liquid = "liquid" in last.units or "solution" in last.units
    assert names_liquid or last.daily_mg <= 0.5 * lowest_solid + 1e-9, (drug, last)


@pytest.mark.parametrize("drug", TAPERED)
def test_every_taper_dose_is_a_marketed_strength_or_names_the_form_it_needs(drug: str) -> None:
    plan = taper_plan(drug, _usual(drug) * 2, start_date=D0)
    for s in plan.steps:
        if s.daily_mg == 0:
            continue
        real = units_for(drug, s.dose_mg) is not None
        assert real or "liquid" in s.units or "compounded" in s.units, (drug, s.dose_mg, s.units)


def test_venlafaxine_does_not_drop_from_37_5_mg_to_nothing() -> None:
    plan = taper_plan("venlafaxine", 75, start_date=D0)
    before_stop = plan.steps[-2]
    assert before_stop.daily_mg < 37.5 and "liquid" in before_stop.units


@pytest.mark.parametrize(
    ("a", "b", "word"),
    [
        ("duloxetine", "nortriptyline", "CYP2D6"),
        ("paroxetine", "amitriptyline", "CYP2D6"),
        ("amitriptyline", "pregabalin", "CNS"),
    ],
)
def test_a_cross_taper_names_the_interaction_it_carries(a: str, b: str, word: str) -> None:
    plan = switch_plan(a, b, 20, start_date=D0)
    overlap = [n for n in plan.notes if n.startswith("While both are taken")]
    assert any(word in n for n in overlap), plan.notes


def test_a_switch_without_interaction_says_so() -> None:
    plan = switch_plan("pregabalin", "lidocaine_plaster", 150, start_date=D0)
    assert any("No interaction" in n for n in plan.notes) or any(
        n.startswith("While both") for n in plan.notes
    )


def test_fluoxetine_tail_is_named_and_never_overlapped() -> None:
    """Safety round 3: no overlap with a long-lasting inhibitor (its residual window)."""
    for b in ("nortriptyline", "amitriptyline"):
        plan = switch_plan("fluoxetine", b, 20, start_date=D0)
        assert any("lasts about" in n and "CYP2D6" in n for n in plan.notes), plan.notes
        last_a = max(s.day for s in plan.steps if s.drug == "fluoxetine")
        assert min(s.day for s in plan.steps if s.drug == b) > last_a


def test_a_dose_given_as_text_says_it_must_be_a_number_in_mg() -> None:
    with pytest.raises(PatientError, match=r"medications\.0\.dose_mg.*a number in mg"):
        load_patient({"age": 50, "medications": [{"name": "pregabalin", "dose_mg": "75 mg"}]})


def test_every_unknown_name_is_reported() -> None:
    with pytest.raises(PatientError) as exc:
        load_patient(
            {"age": 50, "conditions": ["parkinson"], "medications": ["Lyrika", "amitriptylin"]},
            strict=True,
        )
    msg = str(exc.value)
    for bad in ("parkinson", "Lyrika", "amitriptylin"):
        assert bad in msg
    assert "parkinsons_disease" in msg and "lyrica" in msg and "amitriptyline" in msg


def test_brand_names_resolve() -> None:
    p = load_patient({"age": 50, "medications": ["Lyrica", "Cymbalta", "Effexor XR", "Elavil"]})
    assert [m.name for m in p.medications] == [
        "pregabalin",
        "duloxetine",
        "venlafaxine",
        "amitriptyline",
    ]


def test_a_titration_for_a_drug_rated_avoid_says_so_at_the_top() -> None:
    from neurodose.advice.plans import titration_plan

    p = load_patient({"age": 80, "conditions": ["falls_history"]})
    plan = titration_plan("amitriptyline", start_date=D0, patient=p)
    assert plan.notes[0].startswith("SAFETY: the screen rates Amitriptyline AVOID")
    assert plan.extra["safety_worst"] == "avoid"
    ok = titration_plan("amitriptyline", start_date=D0, patient=load_patient({"age": 40}))
    assert ok.extra["safety_worst"] is None
    assert not any(n.startswith("SAFETY") for n in ok.notes)


def test_a_titration_continues_from_the_patients_current_dose() -> None:
    from neurodose.advice.plans import titration_plan

    p = load_patient(
        {"age": 45, "medications": [{"name": "pregabalin", "dose_mg": 75, "every_h": 12}]}
    )
    plan = titration_plan("pregabalin", start_date=D0, patient=p)
    assert plan.steps[0].daily_mg == 150
