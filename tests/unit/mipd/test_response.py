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


def test_a_diary_without_worsening_never_gives_a_negative_placebo_response():
    """Five diaries that fall, stay flat or wobble (no pain above the patient's own
    baseline): the placebo prior stays truncated at 0, so no fit reports a negative
    placebo fraction; the rising diary above is the evidence that lifts the truncation."""
    reg = Regimen.oral("25 mg", every="24 h", days=40)
    diaries = [
        [7] * 14,
        [7, 7, 7, 7, 6, 7, 7, 6, 7, 7, 7, 6, 7, 7],
        [7, 7, 6, 6, 6, 6, 5, 5, 5, 5, 5, 5, 5, 5],
        [6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7],
        [8, 8, 8, 8, 8, 8, 8, 8, 7, 7, 7, 7, 7, 7],
    ]
    for pain in diaries:
        rep = run_response("amitriptyline", reg, _diary_from(pain), n_draws=50)
        assert rep.fit.prior.nonnegative_placebo, pain
        assert rep.fit.u[1] > 0, (pain, rep.fit.u)
        assert rep.fit.placebo_note() is None
    rising = [5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8, 8, 9, 9, 9, 9, 9, 10, 10, 10]
    rep = run_response("amitriptyline", reg, _diary_from(rising), n_draws=50)
    assert not rep.fit.prior.nonnegative_placebo


def test_relief_is_measured_against_the_patients_own_baseline():
    """Three scores of 7 before the first dose: the baseline is their mean, whatever the
    model's fitted baseline; without pre-treatment scores it is the first day's score."""
    reg = Regimen.oral("25 mg", every="24 h", days=40)
    pain = [7, 7, 7, 6, 6, 5, 5, 5, 4, 4, 4, 4, 4, 4]
    d = _diary_from(pain)
    rep = run_response("amitriptyline", reg, d, first_dose=d.start + dt.timedelta(days=3))
    j = rep.to_json()
    assert j["baseline"]["value"] == 7.0 and j["baseline"]["n_scores"] == 3
    assert "before the first dose" in j["baseline"]["how"]
    j2 = run_response("amitriptyline", reg, _diary_from([8, 7, 7, 6]), n_draws=50).to_json()
    assert j2["baseline"]["value"] == 8.0 and "treatment day 1" in j2["baseline"]["how"]


def test_a_short_diary_never_gives_certainty_and_every_probability_has_an_interval():
    """Two weeks falling steeply: the model alone is near certain, the report is not
    (Jeffreys interval with the diary's 14 scores), and the text never says 0 or 100 %."""
    reg = Regimen.oral("25 mg", every="24 h", days=40)
    pain = [8, 8, 7, 6, 5, 4, 3, 3, 2, 2, 2, 2, 2, 2]
    j = run_response("amitriptyline", reg, _diary_from(pain), n_draws=200).to_json()
    for s in j["scenarios"]:
        p, (lo, hi) = s["p_relief_30_week8"], s["p_relief_90"]
        assert 0.0 < lo < p < hi <= 1.0, s
        assert p < 0.99, s
        assert "100 %" not in s["p_relief_text"] and "interval" in s["p_relief_text"]


def test_a_fit_that_did_not_converge_shows_no_probability():
    """A fit flagged as not converged: every scenario withholds its probability, the
    text says why, and the report's first finding names the problem."""
    import dataclasses

    from neurodose.mipd.response import Baseline, _Course, _forecast, _not_converged

    pd = load_pd_parameters()
    reg = Regimen.oral("25 mg", every="24 h", days=60)
    occ = daily_occupancy("amitriptyline", reg.expand(), 56, None, (), pd)
    days = np.arange(1, 15)
    y = np.array([7, 7, 7, 6, 6, 6, 6, 5, 5, 5, 5, 5, 4, 4], dtype=float)
    fit = fit_response(days, y, occ, 56, pd, pain_prior(pd, None, "diabetic_neuropathy"))
    bad = dataclasses.replace(fit, converged=False, problems=("the optimiser did not converge",))
    rng = np.random.default_rng(0)
    draws = bad.sample(50, rng)
    course = _Course("amitriptyline", None, (), pd, None, 56)
    s = _forecast(
        "keep", "", bad, draws, bad.noise_draws(50, rng), occ, course, rng, Baseline(7, 1, "")
    ).to_json()
    assert s["p_relief_30_week8"] is None and s["p_relief_90"] is None
    assert s["p_relief_text"].startswith("not shown")
    f = _not_converged(bad, _diary_from(list(y)))
    assert f.severity == "caution" and "no probability" in f.message
