"""Response learning on the PD model: the fit recovers a simulated patient."""

from __future__ import annotations

import datetime as dt

import numpy as np

from neurodose.case.regimen import Regimen
from neurodose.mipd.diary import Diary
from neurodose.mipd.response import (
    daily_occupancy,
    fit_response,
    pain_prior,
    run_response,
    simulate_patient_pain,
)
from neurodose.pd.params import load_pd_parameters


def _diary_from(pain, start=dt.date(2026, 3, 1), skip=()):
    rows = [
        {"date": (start + dt.timedelta(days=i)).isoformat(), "pain": f"{p:.0f}"}
        for i, p in enumerate(pain)
        if i not in skip
    ]
    return Diary.from_rows(rows)


def test_fit_moves_towards_a_good_responder():
    pd = load_pd_parameters()
    reg = Regimen.oral("25 mg", every="24 h", days=60)

    occ = daily_occupancy("amitriptyline", reg.expand(), 56, None, (), pd)
    prior = pain_prior(pd, None, "diabetic_neuropathy")
    truth = np.array([7.0, 0.1, np.log(3.0)])
    sim = simulate_patient_pain(truth, occ, 56, pd).pain[0]
    days = np.arange(1, 43)
    rng = np.random.default_rng(1)
    y = np.clip(np.round(sim[days] + 0.5 * rng.standard_normal(days.size)), 0, 10)
    fit = fit_response(days, y, occ, 56, pd, prior)
    assert fit.converged
    assert fit.u[2] > 0.3  # more sensitive than the population typical (log 0)
    assert abs(fit.u[0] - 7.0) < 1.0


def test_scenarios_and_gaps():
    reg = Regimen.oral("25 mg", every="24 h", days=40)
    d = _diary_from([7, 7, 7, 6, 6, 6, 6, 5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 4, 4, 4], skip=(3, 4))
    rep = run_response("amitriptyline", reg, d, n_draws=100)
    j = rep.to_json()
    assert j["fit"]["gap_days"] == 2 and j["fit"]["n_pain_scores"] == 18
    by = {s["scenario"]: s for s in j["scenarios"]}
    assert by["raise"]["p_relief_30_week8"] >= by["keep"]["p_relief_30_week8"] - 0.05
    assert "switch to duloxetine" in by


def test_a_worsening_diary_never_reports_a_negative_placebo_share():
    """Pain that rises on the drug: the fitted placebo fraction falls below 0; the report
    shows 0 (a share of relief) and a note gives the fitted value and what it means."""
    reg = Regimen.oral("25 mg", every="24 h", days=40)
    rising = [5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8, 8, 9, 9, 9, 9, 9, 10, 10, 10]
    rep = run_response("amitriptyline", reg, _diary_from(rising), n_draws=50)
    assert rep.fit.u[1] < 0  # the fit itself: natural worsening
    j = rep.to_json()
    assert j["individual"]["placebo_fraction"] == 0.0
    note = [n for n in j["notes"] if n.startswith("placebo_fraction:")]
    assert len(note) == 1 and "shown as 0" in note[0], j["notes"]
