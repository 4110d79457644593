"""Forecast intervals and dose search on the fixture model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from neurodose.errors import InputError
from neurodose.mipd.dose_search import (
    doses_from_strengths,
    search_dose,
    steady_state_metric,
    what_if,
)
from neurodose.mipd.estimate import fit_map
from neurodose.mipd.forecast import forecast, forecast_grid
from neurodose.mipd.levels import Observations


def _fit(toy, daily25, value=9.0):
    obs = Observations.from_arrays([647.0, 647.0], ["parent", "metabolite"], [value, 6.0])
    return fit_map(toy, daily25, obs)


def test_forecast_interval_brackets_map(toy, daily25):
    r = _fit(toy, daily25)
    t = forecast_grid(daily25, step_h=12.0)
    fc = forecast(r, t, n=300)
    for name in ("parent", "metabolite", "parent+metabolite"):
        s = fc.series[name]
        assert np.all(s["lower"] <= s["median"] + 1e-12)
        assert np.all(s["median"] <= s["upper"] + 1e-12)
    s = fc.series["parent+metabolite"]
    assert np.allclose(s["map"], fc.series["parent"]["map"] + fc.series["metabolite"]["map"])
    js = fc.to_json()
    assert set(js["parent"]) == {"time_h", "concentration_ng_per_ml", "median", "p05", "p95"}
    wide = forecast(r, t, n=300, include_residual=True).series["parent"]
    assert np.mean(wide["upper"] - wide["lower"]) > np.mean(s["upper"] - s["lower"]) * 0.5


def test_levels_narrow_the_interval(toy, daily25):
    prior = fit_map(toy, daily25)
    post = _fit(toy, daily25)
    t = [671.0]
    w0 = forecast(prior, t, n=400).series["parent"]
    w1 = forecast(post, t, n=400).series["parent"]
    assert (w1["upper"] - w1["lower"])[0] < (w0["upper"] - w0["lower"])[0]


def test_doses_from_strengths():
    assert doses_from_strengths([10, 25, 50], max_tablets=1) == [10.0, 25.0, 50.0]
    assert 75.0 in doses_from_strengths([10, 25, 50], max_tablets=2, max_dose=75)
    assert max(doses_from_strengths([10, 25, 50], max_dose=75)) <= 75
    with pytest.raises(InputError, match="strengths"):
        doses_from_strengths([0, 10])


def test_trough_is_linear_in_dose(toy, daily25):
    r = _fit(toy, daily25)
    a = steady_state_metric(toy, r.eta[None], daily25, 10, 24, 672, 30)
    b = steady_state_metric(toy, r.eta[None], daily25, 20, 24, 672, 30)
    c = steady_state_metric(toy, r.eta[None], daily25, 30, 24, 672, 30)
    assert b - a == pytest.approx(c - b, rel=1e-6)


def test_search_picks_dose_in_range(toy, daily25):
    r = _fit(toy, daily25)
    rec = search_dose(r, (15.0, 30.0), [10, 25, 50], max_daily_mg=150, intervals_h=(24, 12))
    assert rec.reachable
    assert 15 <= rec.predicted <= 30
    assert rec.daily_mg <= 150
    assert rec.dose_mg in doses_from_strengths([10, 25, 50], 3, 150)
    # no allowed candidate with a clearly higher probability and a lower daily dose
    better = [c for c in rec.candidates if c.p_in_range > rec.p_in_range + 0.05]
    assert not better
    js = rec.to_json()
    assert js["predicted_trough_ng_per_ml"] == pytest.approx(rec.predicted, abs=1e-3)


def test_search_respects_maximum_and_says_unreachable(toy, daily25):
    r = _fit(toy, daily25)
    rec = search_dose(r, (500.0, 800.0), [10, 25, 50], max_daily_mg=75)
    assert not rec.reachable
    assert rec.daily_mg <= 75
    assert "not reachable" in rec.notes[0]


def test_auc_metric(toy, daily25):
    r = _fit(toy, daily25)
    trough = steady_state_metric(toy, r.eta[None], daily25, 25, 24, 672, 40)[0]
    auc = steady_state_metric(toy, r.eta[None], daily25, 25, 24, 672, 40, metric="auc24")[0]
    assert trough * 24 < auc < trough * 24 * 1.5


def test_what_if_keeps_eta(toy, daily25, toy_factory):
    r = _fit(toy, daily25)
    with pytest.raises(InputError, match="rebuild"):
        what_if(r, comedications=["paroxetine"])
    m = replace(toy, rebuild=lambda **kw: toy_factory({"CLm": 38.0 * 0.4}))
    r = replace(r, model=m)
    r2 = what_if(r, comedications=["paroxetine"])
    assert np.all(r2.eta == r.eta)
    assert r2.individual["CLm"] == pytest.approx(r.individual["CLm"] * 0.4)


def test_unreachable_low_probability_picks_closest_not_lowest(toy, daily25):
    r = _fit(toy, daily25)
    top = steady_state_metric(toy, r.eta[None], daily25, 75, 24, 672, 42)[0]
    # a target just above what the maximum reaches: the largest dose is closest
    rec = search_dose(r, (top * 1.3, top * 3), [10, 25, 50], max_daily_mg=75, n=200)
    assert not rec.reachable
    assert rec.daily_mg == 75.0
    assert "largest allowed dose" in rec.notes[0]
