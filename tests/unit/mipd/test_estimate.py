"""MAP estimation: objective, optimiser, restarts, Laplace and SIR."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from neurodose.case import Regimen
from neurodose.errors import InputError
from neurodose.mipd.estimate import fit_map
from neurodose.mipd.levels import Observations
from neurodose.mipd.objective import Objective


def _obs_for(model, doses, eta, times, analytes, rng, noise=True):
    t = np.asarray(times, dtype=float)
    pred = model.predict(np.atleast_2d(eta), doses, t)
    vals = []
    for ti, a in zip(t, analytes, strict=True):
        f = pred[a][0, list(t).index(ti)]
        sd = model.residual[a].sd(np.array(f))
        vals.append(f + (sd * rng.standard_normal() if noise else 0.0))
    return Observations.from_arrays(t, analytes, vals)


def test_no_levels_gives_prior_mode(toy, daily25):
    r = fit_map(toy, daily25)
    assert np.all(r.eta == 0)
    assert np.allclose(r.cov_eta, toy.omega)
    assert r.individual == pytest.approx({"CL": 70.0, "V": 2300.0, "CLm": 38.0})
    assert "a-priori" in r.diagnostics.warnings[0]


def test_objective_matches_hand_computation(toy, daily25):
    obs = Observations.from_arrays([100.0, 100.0], ["parent", "metabolite"], [8.0, 5.0])
    f = Objective(toy, daily25, obs)
    eta = np.array([[0.1, -0.2, 0.05]])
    pred = toy.predict(eta, daily25, [100.0])
    total = 0.0
    for a, y in (("parent", 8.0), ("metabolite", 5.0)):
        fa = pred[a][0, 0]
        var = 1.0 + (0.2 * fa) ** 2
        total += np.log(2 * np.pi * var) + (y - fa) ** 2 / var
    total += float(eta[0] @ np.linalg.inv(toy.omega) @ eta[0])
    assert f(eta)[0] == pytest.approx(total, rel=1e-12)


def test_blq_uses_m3(toy, daily25):
    obs = Observations.from_arrays([100.0], ["parent"], [0.5], lloq=[2.0])
    assert obs.blq.tolist() == [True]
    f = Objective(toy, daily25, obs)
    eta = np.zeros((1, 3))
    fa = toy.predict(eta, daily25, [100.0])["parent"][0, 0]
    from scipy.stats import norm

    sd = np.sqrt(1.0 + (0.2 * fa) ** 2)
    assert f(eta)[0] == pytest.approx(-2 * norm.logcdf((2.0 - fa) / sd), rel=1e-10)


def test_map_matches_multistart_reference(toy, daily25):
    rng = np.random.default_rng(3)
    for _ in range(5):
        eta_true = toy.sample_prior(1, rng)[0]
        obs = _obs_for(
            toy, daily25, eta_true, [647, 647, 671], ["parent", "metabolite", "parent"], rng
        )
        r = fit_map(toy, daily25, obs)
        f = r.objective()
        best = np.inf
        for s in [np.zeros(3), *toy.sample_prior(6, rng)]:
            res = minimize(
                lambda e, f=f: f(e)[0],
                s,
                method="Nelder-Mead",
                options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 20000},
            )
            best = min(best, res.fun)
        assert r.ofv - best < 1e-4
        assert r.diagnostics.converged


def test_rich_precise_data_recover_truth(toy):
    from dataclasses import replace

    from neurodose.mipd.model import ResidualError

    res = ResidualError(0.02, 0.01)
    toy = replace(toy, residual={"parent": res, "metabolite": res})
    doses = Regimen.oral(25.0, 24.0, doses=10).expand()
    rng = np.random.default_rng(5)
    eta_true = np.array([0.4, -0.2, -0.3])
    times = [1, 2, 4, 8, 12, 24, 72, 120, 200, 216, 230, 240] * 2
    analytes = ["parent"] * 12 + ["metabolite"] * 12
    obs = _obs_for(toy, doses, eta_true, times, analytes, rng, noise=False)
    r = fit_map(toy, doses, obs)
    assert r.eta == pytest.approx(eta_true, abs=0.02)
    assert max(r.diagnostics.posterior_sd_ratio.values()) < 0.2


def test_laplace_covariance_shrinks_with_data(toy, daily25):
    rng = np.random.default_rng(2)
    obs = _obs_for(toy, daily25, np.zeros(3), [647, 647], ["parent", "metabolite"], rng)
    r = fit_map(toy, daily25, obs)
    assert np.all(np.diag(r.cov_eta) <= np.diag(toy.omega) * 1.0001)
    lo_hi = r.interval(0.9)
    for p, (lo, hi) in lo_hi.items():
        assert lo < r.individual[p] < hi


def test_sir_agrees_with_laplace_roughly(toy, daily25):
    rng = np.random.default_rng(4)
    obs = _obs_for(
        toy, daily25, np.zeros(3), [647, 647, 671], ["parent", "metabolite", "parent"], rng
    )
    r = fit_map(toy, daily25, obs)
    s = r.sample(1000, np.random.default_rng(0), method="sir")
    assert s.shape == (1000, 3)
    sd_sir = s.std(axis=0)
    sd_lap = np.sqrt(np.diag(r.cov_eta))
    assert np.all(np.abs(np.log(sd_sir / sd_lap)) < 0.5)
    assert np.all(np.abs(s.mean(axis=0) - r.eta) < 0.5 * sd_lap + 0.02)


def test_levels_before_first_dose_rejected(toy):
    doses = Regimen.oral(25.0, 24.0, doses=5, start=10.0).expand()
    obs = Observations.from_arrays([5.0], ["parent"], [3.0])
    with pytest.raises(InputError, match="time_h"):
        fit_map(toy, doses, obs)


def test_outlier_flagged(toy, daily25):
    obs = Observations.from_arrays([647.0], ["parent"], [300.0])
    r = fit_map(toy, daily25, obs)
    assert any("population" in w for w in r.diagnostics.warnings)


def test_restarts_are_reported(toy, daily25):
    rng = np.random.default_rng(8)
    obs = _obs_for(toy, daily25, np.zeros(3), [647], ["parent"], rng)
    r = fit_map(toy, daily25, obs, n_starts=4)
    assert r.diagnostics.n_starts == 4
    assert r.diagnostics.ofv_spread_between_starts < 1e-4


def test_summed_observation_objective(toy, daily25):
    obs = Observations.from_arrays([100.0], ["parent+metabolite"], [14.0])
    f = Objective(toy, daily25, obs)
    eta = np.array([[0.1, -0.1, 0.2]])
    pred = toy.predict(eta, daily25, [100.0])
    fp, fm = pred["parent"][0, 0], pred["metabolite"][0, 0]
    var = (1.0 + (0.2 * fp) ** 2) + (1.0 + (0.2 * fm) ** 2)
    expect = np.log(2 * np.pi * var) + (14.0 - fp - fm) ** 2 / var
    expect += float(eta[0] @ np.linalg.inv(toy.omega) @ eta[0])
    assert f(eta)[0] == pytest.approx(expect, rel=1e-12)
    r = fit_map(toy, daily25, obs)
    assert r.diagnostics.converged and len(r.diagnostics.iwres) == 1
