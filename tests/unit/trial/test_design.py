"""Design parsing: valid designs, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from neurodose.errors import DesignError
from neurodose.trial.design import load_design, parse_design

ROOT = Path(__file__).resolve().parents[3]


def _base(**kw: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": "t",
        "weeks": 4,
        "condition": "diabetic_neuropathy",
        "n_per_arm": 10,
        "seed": 1,
        "arms": [
            {"name": "placebo", "drug": "placebo"},
            {
                "name": "a",
                "drug": "amitriptyline",
                "regimen": [
                    {"start_day": 1, "dose_mg": 10, "every_h": 24},
                    {"start_day": 8, "dose_mg": 25, "every_h": 24},
                ],
            },
        ],
    }
    d.update(kw)
    return d


def test_demo_design_loads() -> None:
    d = load_design(ROOT / "examples" / "trials" / "demo.toml")
    assert d.weeks == 12 and len(d.arms) == 4 and d.placebo is not None
    assert d.condition == "diabetic_neuropathy"


def _doses(d, arm):
    x = d.regimen(arm).expand()
    return list(zip(x.times.tolist(), x.amounts.tolist(), strict=True))


def test_regimen_steps_hold_until_next_step() -> None:
    d = parse_design(_base())
    ev = _doses(d, d.arms[1])
    assert ev[0] == (0.0, 10.0) and ev[6] == (144.0, 10.0) and ev[7] == (168.0, 25.0)
    assert len(ev) == 28 and d.regimen(d.arms[0]) is None
    # one DoseEvent per run of equal doses, not one per dose
    assert len(d.regimen(d.arms[1]).events) == 2


def test_stop_with_taper_halves_the_dose() -> None:
    d = parse_design(_base(weeks=6, stop={"day": 29, "taper_steps": 2, "taper_step_days": 7}))
    ev = dict(_doses(d, d.arms[1]))
    assert ev[13 * 24.0] == 25.0 and ev[14 * 24.0] == 12.5 and ev[21 * 24.0] == 6.25
    assert max(ev) < 28 * 24.0
    flat = parse_design(_base(weeks=6, stop_day=29, taper_steps=2, taper_step_days=7))
    assert flat.stop == d.stop
    with pytest.raises(DesignError, match="stop"):
        parse_design(_base(weeks=6, stop_day=29, stop={"day": 29}))
    with pytest.raises(DesignError, match=r"stop\.day"):
        parse_design(_base(weeks=4, stop_day=40))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"condition": "diabetic_neuropaty"}, "condition"),
        ({"n_per_arm": 0}, "n_per_arm"),
        ({"weeks": 0}, "weeks"),
        ({"colour": 1}, "colour"),
    ],
)
def test_bad_top_level_fields(change: dict[str, Any], field: str) -> None:
    with pytest.raises(DesignError) as e:
        parse_design(_base(**change))
    assert field in str(e.value)


def test_misspelt_condition_suggests() -> None:
    with pytest.raises(DesignError, match="did you mean 'diabetic_neuropathy'"):
        parse_design(_base(condition="diabetic_neuropaty"))


def test_unknown_drug() -> None:
    arms = [
        {"name": "placebo", "drug": "placebo"},
        {
            "name": "x",
            "drug": "amitriptylin",
            "regimen": [{"start_day": 1, "dose_mg": 10, "every_h": 24}],
        },
    ]
    with pytest.raises(DesignError, match="amitriptyline"):
        parse_design(_base(arms=arms))


def test_overlapping_steps() -> None:
    arms = [
        {"name": "placebo", "drug": "placebo"},
        {
            "name": "x",
            "drug": "duloxetine",
            "regimen": [
                {"start_day": 8, "dose_mg": 30, "every_h": 24},
                {"start_day": 8, "dose_mg": 60, "every_h": 24},
            ],
        },
    ]
    with pytest.raises(DesignError, match="overlap"):
        parse_design(_base(arms=arms))


def test_missing_placebo_when_nnt_requested() -> None:
    arms = [
        {
            "name": "x",
            "drug": "duloxetine",
            "regimen": [{"start_day": 1, "dose_mg": 60, "every_h": 24}],
        }
    ]
    with pytest.raises(DesignError, match="placebo"):
        parse_design(_base(arms=arms))
    assert parse_design(_base(arms=arms, analysis={"nnt": False})).placebo is None


def test_bad_population_override_and_imputation() -> None:
    with pytest.raises(DesignError, match="baseline_pain_mean"):
        parse_design(_base(population={"baseline_pain_maen": 7}))
    with pytest.raises(DesignError, match="BOCF"):
        parse_design(_base(dropout={"imputation": "MI"}))


def test_every_example_design_loads() -> None:
    files = sorted((ROOT / "examples" / "trials").glob("*.toml"))
    assert len(files) >= 3
    for f in files:
        d = load_design(f)
        assert d.arms and d.n_per_arm >= 1, f.name


def _dose_by_dose(d, arm):
    """Reference: walk the trial dose by dose (day 1 at 0 h), halving in the taper."""
    stop_day = d.stop.day if d.stop else d.days + 1
    taper_from = stop_day
    if d.stop and d.stop.taper_steps:
        taper_from = stop_day - d.stop.taper_steps * d.stop.taper_step_days
    out = []
    steps = list(arm.regimen)
    for i, step in enumerate(steps):
        t_end = (steps[i + 1].start_day - 1) * 24.0 if i + 1 < len(steps) else 1e18
        t_end = min(t_end, (stop_day - 1) * 24.0)
        m = 0
        while (step.start_day - 1) * 24.0 + m * step.every_h < t_end - 1e-9:
            t = (step.start_day - 1) * 24.0 + m * step.every_h
            day = int(t // 24.0) + 1
            k = (day - taper_from) // d.stop.taper_step_days + 1 if day >= taper_from else 0
            out.append((t, step.dose_mg * 0.5**k))
            m += 1
    return out


@given(
    starts=st.lists(st.integers(1, 40), min_size=1, max_size=4, unique=True),
    doses=st.lists(st.sampled_from([5.0, 10.0, 25.0, 30.0]), min_size=4, max_size=4),
    every=st.lists(st.sampled_from([6.0, 8.0, 12.0, 24.0]), min_size=4, max_size=4),
    stop=st.one_of(st.none(), st.tuples(st.integers(2, 42), st.integers(0, 3), st.integers(1, 7))),
)
@settings(max_examples=60, deadline=None)
def test_regimen_gives_every_dose_of_the_design(starts, doses, every, stop) -> None:
    steps = [
        {"start_day": s, "dose_mg": doses[i], "every_h": every[i]}
        for i, s in enumerate(sorted(starts))
    ]
    kw: dict[str, Any] = {"weeks": 6}
    if stop is not None:
        day, k, days = stop
        if day - k * days < 1:
            k = 0
        kw["stop"] = {"day": day, "taper_steps": k, "taper_step_days": days}
    raw = _base(**kw)
    raw["arms"][1]["regimen"] = steps
    try:
        d = parse_design(raw)
    except DesignError:
        assume(False)
    ref = _dose_by_dose(d, d.arms[1])
    assume(ref)
    assert _doses(d, d.arms[1]) == ref
