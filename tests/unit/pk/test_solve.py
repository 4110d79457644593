import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurodose.case import DoseEvent, Regimen
from neurodose.errors import InputError, RegimenError, SolverError
from neurodose.pk.model import get_structure
from neurodose.pk.solve import concentrations, predict_at, solve_ode

ONE = get_structure("one_compartment", ("d",))
TWO = get_structure("two_compartment", ("d",))
PM = get_structure("parent_metabolite", ("p", "m"))


def bateman(t, dose, F, ka, CL, V, tlag=0.0):
    k = CL / V
    dt = np.maximum(t - tlag, 0.0)
    return 1000 * F * dose * ka / (V * (ka - k)) * (np.exp(-k * dt) - np.exp(-ka * dt))


def test_single_dose_matches_bateman():
    p = {"F": 0.8, "ka": 1.3, "tlag": 0.5, "CL": 2.0, "V": 30.0}
    t = np.linspace(0, 48, 97)
    c = concentrations(ONE, p, Regimen.oral("100 mg"), t)["d"][0]
    np.testing.assert_allclose(c, bateman(t, 100, **p), rtol=1e-10, atol=1e-9)


def test_repr_shows_flows():
    text = repr(PM)
    assert "first-pass" in text and "CL_form/V" in text and "metabolite / V_m" in text


def test_vectorised_over_subjects():
    cl = np.array([0.5, 1.0, 1.5])
    p = {"F": 1.0, "ka": 1.0, "tlag": 0.0, "CL": cl, "V": 20.0}
    t = np.arange(0, 49.0)
    c = concentrations(ONE, p, Regimen.oral("100 mg", doses=2), t)["d"]
    assert c.shape == (3, 49)
    for i in range(3):
        one = concentrations(ONE, {**p, "CL": cl[i]}, Regimen.oral("100 mg", doses=2), t)["d"][0]
        np.testing.assert_allclose(c[i], one, rtol=1e-12)


def test_bad_parameters_named():
    with pytest.raises(InputError, match="CL"):
        concentrations(ONE, {"F": 1, "ka": 1, "tlag": 0, "CL": -1, "V": 20}, Regimen.oral(10), [1])
    with pytest.raises(InputError, match="V"):
        concentrations(ONE, {"F": 1, "ka": 1, "tlag": 0, "CL": 1}, Regimen.oral(10), [1])
    with pytest.raises(InputError, match="times_h"):
        concentrations(ONE, {"F": 1, "ka": 1, "tlag": 0, "CL": 1, "V": 2}, Regimen.oral(10), [2, 1])


def test_ss_with_lag_longer_than_interval_rejected():
    p = {"F": 1, "ka": 1, "tlag": 30, "CL": 1, "V": 2}
    with pytest.raises(RegimenError, match="lag"):
        concentrations(ONE, p, Regimen.from_events([DoseEvent(10, 0, ii=24, ss=1)]), [1])


def test_saturable_bioavailability():
    p = {"F": 1.0, "ka": 0.778, "tlag": 0.0, "CL": 5.73, "V": 44.6, "Dmax": 823.0, "D50": 1120.0}
    t = np.arange(0, 24.0)
    c300 = concentrations(ONE, p, Regimen.oral("300 mg"), t)["d"][0]
    c600 = concentrations(ONE, p, Regimen.oral("600 mg"), t)["d"][0]
    ratio = c600[5] / c300[5]
    np.testing.assert_allclose(ratio, 2 * (823 / 1720) / (823 / 1420), rtol=1e-10)


params_1c = st.fixed_dictionaries(
    {
        "F": st.floats(0.1, 1.0),
        "ka": st.floats(0.05, 5.0),
        "tlag": st.floats(0.0, 2.0),
        "CL": st.floats(0.1, 100.0),
        "V": st.floats(5.0, 3000.0),
    }
)
params_pm = st.fixed_dictionaries(
    {
        "F": st.floats(0.1, 1.0),
        "ka": st.floats(0.1, 3.0),
        "tlag": st.just(0.0),
        "CL_form": st.floats(1.0, 50.0),
        "CL_other": st.floats(1.0, 80.0),
        "V": st.floats(50.0, 3000.0),
        "CL_m": st.floats(1.0, 60.0),
        "V_m": st.floats(50.0, 3000.0),
        "f_pre": st.floats(0.0, 0.5),
    }
)
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(p=params_1c, d1=st.floats(1, 500), d2=st.floats(1, 500), t2=st.floats(1, 100))
def test_superposition(p, d1, d2, t2):
    t = np.linspace(0, 150, 61)
    a = concentrations(ONE, p, Regimen.from_events([DoseEvent(d1, 0)]), t)["d"]
    b = concentrations(ONE, p, Regimen.from_events([DoseEvent(d2, t2)]), t)["d"]
    ab = concentrations(ONE, p, Regimen.from_events([DoseEvent(d1, 0), DoseEvent(d2, t2)]), t)["d"]
    # rtol 1e-7: coincident eigenvalues are separated by a ~3e-9 perturbation
    np.testing.assert_allclose(ab, a + b, rtol=1e-7, atol=1e-9 * ab.max())


@FAST
@given(p=params_pm, ii=st.sampled_from([8.0, 12.0, 24.0]))
def test_steady_state_equals_long_run(p, ii):
    # slowest half-life bounded, so 400 intervals reach steady state to < 1e-9
    amt = 50.0
    ss = concentrations(PM, p, Regimen.from_events([DoseEvent(amt, 0, ii=ii, ss=1)]), [ii / 2])
    lam_min = min(p["ka"], (p["CL_form"] + p["CL_other"]) / p["V"], p["CL_m"] / p["V_m"])
    n = int(np.ceil(40 / (lam_min * ii))) + 1
    long = Regimen.from_events([DoseEvent(amt, 0, ii=ii, addl=n)])
    t = n * ii + ii / 2
    lr = concentrations(PM, p, long, [t])
    for a in ("p", "m"):
        np.testing.assert_allclose(ss[a], lr[a], rtol=1e-7)


@FAST
@given(p=params_pm)
def test_mass_balance_and_nonnegative(p):
    # all of F*dose is eventually eliminated: AUC_parent*(CL_form+CL_other) = F*dose*(1-f_pre)
    t = np.concatenate([[0.0], np.geomspace(1e-3, 5000, 20000)])
    c = concentrations(PM, p, Regimen.oral("100 mg"), t)
    assert np.all(c["p"] >= 0) and np.all(c["m"] >= 0)
    k_slow = min(p["ka"], (p["CL_form"] + p["CL_other"]) / p["V"], p["CL_m"] / p["V_m"])
    if k_slow * 5000 < 40:
        return
    auc_p = np.trapezoid(c["p"][0], t) / 1000
    auc_m = np.trapezoid(c["m"][0], t) / 1000
    dose_in = p["F"] * 100
    expect_p = dose_in * (1 - p["f_pre"]) / (p["CL_form"] + p["CL_other"])
    formed = dose_in * (
        p["f_pre"] + (1 - p["f_pre"]) * p["CL_form"] / (p["CL_form"] + p["CL_other"])
    )
    np.testing.assert_allclose(auc_p, expect_p, rtol=2e-3)
    np.testing.assert_allclose(auc_m * p["CL_m"], formed, rtol=2e-3)


@settings(max_examples=8, deadline=None)
@given(p=params_pm)
def test_exact_matches_ode(p):
    t = np.linspace(0.5, 96, 40)
    r = Regimen.oral("25 mg", every="12 h", doses=6)
    a = concentrations(PM, p, r, t)
    b = solve_ode(PM, p, r, t, rtol=1e-11, atol=1e-14)
    for k in ("p", "m"):
        np.testing.assert_allclose(a[k], b[k], rtol=1e-6, atol=1e-9 * a[k].max())


def test_two_compartment_matches_ode():
    p = {"F": 1.0, "ka": 1.0, "tlag": 0.3, "CL": 1.0, "V": 20.0, "Q": 2.0, "V2": 10.0}
    t = np.linspace(1, 200, 50)
    r = Regimen.oral("100 mg", every="24 h", doses=5)
    np.testing.assert_allclose(
        concentrations(TWO, p, r, t)["d"],
        solve_ode(TWO, p, r, t, rtol=1e-11, atol=1e-14)["d"],
        rtol=1e-6,
    )


@FAST
@given(p=params_1c)
def test_unit_invariance(p):
    mg = concentrations(ONE, p, Regimen.oral("25 mg", every="12 h", doses=3), [30.0])["d"]
    g = concentrations(ONE, p, Regimen.oral("0.025 g", every="0.5 d", doses=3), [30.0])["d"]
    np.testing.assert_allclose(mg, g, rtol=1e-12)


def test_parameter_change_segments_match_ode():
    p = {"F": 1.0, "ka": 1.0, "tlag": 0.0, "CL": 2.0, "V": 50.0}
    p2 = {**p, "CL": 0.5}
    t = np.linspace(1, 200, 60)
    r = Regimen.oral("100 mg", every="24 h", doses=8)
    a = concentrations(ONE, p, r, t, changes=[(50.0, p2)])["d"]
    b = solve_ode(ONE, p, r, t, multipliers=lambda tt: {"CL": 0.25 if tt >= 50 else 1.0})["d"]
    np.testing.assert_allclose(a, b, rtol=1e-5)


def test_michaelis_menten_ode_runs_and_is_lower():
    p = {"F": 1.0, "ka": 1.0, "tlag": 0.0, "CL": 1.0, "V": 20.0}
    r = Regimen.oral("100 mg")
    lin = solve_ode(ONE, p, r, [10.0])["d"]
    mm = solve_ode(ONE, p, r, [10.0], vmax=5.0, km=1000.0, method="BDF")["d"]
    assert mm[0, 0] < lin[0, 0]


def test_steady_state_with_lag_equals_long_run():
    p = {"F": 0.7, "ka": 0.8, "tlag": 1.5, "CL": 3.0, "V": 40.0}
    ii = 12.0
    t = np.array([0.5, 1.0, 1.6, 5.0, 11.9])
    ss = concentrations(ONE, p, Regimen.from_events([DoseEvent(20.0, 0.0, ii=ii, ss=1)]), t)["d"]
    n = 200
    long = Regimen.from_events([DoseEvent(20.0, 0.0, ii=ii, addl=n)])
    lr = concentrations(ONE, p, long, t + n * ii)["d"]
    np.testing.assert_allclose(ss, lr, rtol=1e-9)


def test_iv_bolus_is_monoexponential():
    p = {"F": 0.5, "ka": 1.0, "tlag": 2.0, "CL": 2.0, "V": 40.0}
    t = np.array([0.0, 1.0, 10.0])
    c = concentrations(ONE, p, Regimen.from_events([DoseEvent(100.0, 0.0, route="iv")]), t)["d"]
    np.testing.assert_allclose(c[0], 1000 * 100 / 40 * np.exp(-0.05 * t), rtol=1e-12)


# --- predict_at: the public fast path (pre-expanded doses, optional checks) -----------
@FAST
@given(p=params_pm, n=st.integers(1, 4), check=st.booleans())
def test_predict_at_equals_concentrations(p, n, check):
    rng = np.random.default_rng(n)
    rows = {
        k: v * np.exp(0.3 * rng.standard_normal(n)) if k != "f_pre" else v for k, v in p.items()
    }
    reg = Regimen.from_events(
        [DoseEvent(50.0, 0.0, ii=12.0, ss=1), DoseEvent(25.0, 30.0, addl=3, ii=8)]
    )
    t = np.array([0.0, 1.0, 29.9, 30.0, 31.0, 70.0])
    ref = concentrations(PM, rows, reg, t)
    for doses in (reg, reg.expand()):
        got = predict_at(PM, rows, doses, t, check=check)
        assert set(got) == {"p", "m"}
        for a in ("p", "m"):
            assert got[a].shape == (n, t.size)
            np.testing.assert_array_equal(got[a], ref[a])


def test_predict_at_lag_override_only_from_a_regimen():
    p = {"F": 1.0, "ka": 1.0, "tlag": 0.0, "CL": 1.0, "V": 20.0}
    reg = Regimen.oral("100 mg", doses=1, lag=2.0)
    t = [1.0, 3.0]
    ref = concentrations(ONE, p, reg, t)["d"]
    np.testing.assert_array_equal(predict_at(ONE, p, reg, t)["d"], ref)
    # expanded doses carry no lag override: the parameter tlag (0 h) applies
    assert ref[0, 0] == 0.0
    assert predict_at(ONE, p, reg.expand(), t)["d"][0, 0] > 0.0


def test_predict_at_bad_input_named_even_unchecked():
    p = {"F": 1.0, "ka": 1.0, "tlag": 0.0, "CL": 1.0, "V": 20.0}
    doses = Regimen.oral(10).expand()
    with pytest.raises(InputError, match="CL"):
        predict_at(ONE, {**p, "CL": -1.0}, doses, [1.0])
    for check in (True, False):
        with pytest.raises(InputError, match="V"):
            predict_at(ONE, {k: v for k, v in p.items() if k != "V"}, doses, [1.0], check=check)
        with pytest.raises(InputError, match="CL"):
            predict_at(ONE, {**p, "CL": np.ones((2, 2))}, doses, [1.0], check=check)
        with pytest.raises(InputError, match="times_h"):
            predict_at(ONE, p, doses, [2.0, 1.0], check=check)


def test_predict_at_unchecked_non_finite_is_a_solver_error():
    p = {"F": 1.0, "ka": 1.0, "tlag": 0.0, "CL": np.array([1.0, np.nan]), "V": 20.0}
    with pytest.raises(SolverError, match="1 parameter set"):
        predict_at(ONE, p, Regimen.oral(10).expand(), [1.0, 2.0], check=False)
