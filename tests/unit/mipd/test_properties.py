"""Hypothesis properties of the estimator and the diary parser."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neurodose.case import Regimen
from neurodose.mipd.diary import Diary
from neurodose.mipd.estimate import fit_map
from neurodose.mipd.levels import Observations

from .conftest import make_toy

TOY = make_toy()
DOSES = Regimen.oral(25.0, 24.0, doses=14).expand()


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_obs=st.integers(1, 4),
    lloq=st.sampled_from([0.0, 2.0]),
)
def test_map_is_never_worse_than_prior_mode_or_truth(seed, n_obs, lloq):
    rng = np.random.default_rng(seed)
    eta = TOY.sample_prior(1, rng)[0]
    t = np.sort(rng.uniform(2.0, 330.0, n_obs))
    an = rng.choice(["parent", "metabolite"], n_obs).tolist()
    pred = TOY.predict(eta[None, :], DOSES, t)
    y = [max(pred[a][0, j] * (1 + 0.2 * rng.standard_normal()), 0.0) for j, a in enumerate(an)]
    obs = Observations.from_arrays(t, an, y, lloq=[lloq] * n_obs)
    r = fit_map(TOY, DOSES, obs)
    f = r.objective()
    assert r.ofv <= f(np.zeros((1, 3)))[0] + 1e-9
    assert r.ofv <= f(eta[None, :])[0] + 1e-9
    assert np.all(np.isfinite(r.cov_eta))
    assert np.all(np.linalg.eigvalsh(r.cov_eta) > 0)


@settings(max_examples=30, deadline=None)
@given(
    days=st.lists(st.integers(0, 60), min_size=1, max_size=30, unique=True),
    pain=st.integers(0, 10),
)
def test_diary_gaps_are_counted_not_filled(days, pain):
    start = dt.date(2026, 1, 1)
    rows = [{"date": (start + dt.timedelta(days=d)).isoformat(), "pain": str(pain)} for d in days]
    d = Diary.from_rows(rows)
    assert len(d) == len(days)
    assert d.n_gap_days == max(days) - min(days) + 1 - len(days)
    assert np.all(np.diff(d.day) > 0)
