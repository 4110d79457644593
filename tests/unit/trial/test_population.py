"""PD population: ranges, condition and moderator directions; dose compression."""

from __future__ import annotations

import numpy as np
import pytest

from neurodose.errors import UnknownNameError
from neurodose.pd.params import load_pd_parameters
from neurodose.trial.population import sample_population

P = load_pd_parameters()


def _pop(cond: str = "diabetic_neuropathy", **ov: float):
    return sample_population(20000, cond, P, np.random.default_rng(11), ov)


def test_ranges() -> None:
    pop = _pop()
    assert pop.baseline.min() >= 4.0 and pop.baseline.max() <= 10.0
    assert (pop.eta > 0).all() and len(pop) == 20000
    assert (pop.placebo < 0).mean() > 0.05  # some get worse


def test_condition_moderators_follow_cepeda_direction() -> None:
    pdn = _pop().placebo.mean()
    assert (
        _pop("hiv_neuropathy").placebo.mean() > pdn > _pop("postherpetic_neuralgia").placebo.mean()
    )
    assert _pop("central_post_stroke_pain").placebo.mean() < pdn
    with pytest.raises(UnknownNameError):
        _pop("migraine")


def test_freeman_directions_younger_and_higher_baseline_larger_placebo() -> None:
    assert _pop(age_mean=45).placebo.mean() > _pop(age_mean=75).placebo.mean()
    assert _pop(baseline_pain_mean=8).placebo.mean() > _pop(baseline_pain_mean=5).placebo.mean()


def test_design_regimen_has_one_event_per_run_of_doses() -> None:
    from neurodose.trial.design import parse_design

    d = parse_design(
        {
            "name": "t",
            "weeks": 2,
            "condition": "diabetic_neuropathy",
            "n_per_arm": 10,
            "seed": 1,
            "arms": [
                {
                    "name": "a",
                    "drug": "duloxetine",
                    "regimen": [
                        {"start_day": 1, "dose_mg": 10, "every_h": 24},
                        {"start_day": 8, "dose_mg": 5, "every_h": 12},
                    ],
                }
            ],
            "stop": {"day": 10},
            "analysis": {"nnt": False},
        }
    )
    reg = d.regimen(d.arms[0])
    x = reg.expand()
    ev = [(24.0 * i, 10.0) for i in range(7)] + [(168.0 + 12.0 * i, 5.0) for i in range(4)]
    assert list(zip(x.times.tolist(), x.amounts.tolist(), strict=True)) == ev
    assert len(reg.events) == 2
