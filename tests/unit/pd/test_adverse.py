"""Adverse-effect model: occupancy-driven incidence, tolerance, withdrawal, discontinuation."""

from __future__ import annotations

import numpy as np

from neurodose.pd.adverse import discontinuation_symptoms, simulate_adverse
from neurodose.pd.params import load_pd_parameters

P = load_pd_parameters()
N = 4000


def _ae(occ: dict[str, float], days: int = 56, seed: int = 1):
    arr = {k: np.full((N, days), v) for k, v in occ.items()}
    return simulate_adverse(arr, P, np.random.default_rng(seed))


def test_incidence_rises_with_occupancy() -> None:
    lo = _ae({"muscarinic": 0.2}).incidence["dry_mouth"].mean()
    hi = _ae({"muscarinic": 0.7}).incidence["dry_mouth"].mean()
    assert hi > lo > 0.0


def test_placebo_rates_are_the_cited_nocebo_rates() -> None:
    res = _ae({"SERT": 0.0})
    assert abs(res.incidence["nausea"].mean() - 0.10) < 0.02  # Sultan 2008 placebo 10 %
    assert res.incidence["dry_mouth"].mean() == 0.0  # no cited placebo rate: none modelled


def test_tolerance_makes_effects_fade() -> None:
    res = _ae({"SERT": 0.9})
    prev = res.drug_present["nausea"].mean(axis=0)
    assert prev[-1] < prev[0]


def test_withdrawal_more_likely_with_more_effects() -> None:
    none = np.isfinite(_ae({"SERT": 0.0}).withdrawal_day).mean()
    many = np.isfinite(_ae({"SERT": 0.9, "muscarinic": 0.8, "NET": 0.8}).withdrawal_day).mean()
    assert many > none


def test_taper_reduces_discontinuation_symptoms() -> None:
    days, stop = 112, 85
    abrupt = np.full((N, days), 0.85)
    abrupt[:, stop - 1 :] = 0.0
    taper = abrupt.copy()
    taper[:, 70:77] = 0.6
    taper[:, 77:84] = 0.4
    a = discontinuation_symptoms({"SERT": abrupt}, stop, P, np.random.default_rng(3), True).mean()
    t = discontinuation_symptoms({"SERT": taper}, stop, P, np.random.default_rng(3), True).mean()
    assert t < a
