"""PD population: ranges, condition and moderator directions; dose compression."""

from __future__ import annotations

import numpy as np
import pytest

from neurodose.errors import UnknownNameError
from neurodose.pd.params import load_pd_parameters
from neurodose.trial.exposure import compress_doses
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


def test_compress_doses_roundtrip() -> None:
    ev = [(24.0 * i, 10.0) for i in range(7)] + [(168.0 + 12.0 * i, 5.0) for i in range(4)]
    recs = compress_doses(ev)
    expanded = [(r.time + k * r.ii, r.amt) for r in recs for k in range(r.addl + 1)]
    assert expanded == ev and len(recs) == 2
