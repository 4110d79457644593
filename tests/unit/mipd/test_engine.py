"""The PK-engine adapter: fast path equals the public solver; prior from the KB."""

from __future__ import annotations

import numpy as np
import pytest

from neurodose.case.regimen import Regimen
from neurodose.mipd.engine import prior_model
from neurodose.mipd.estimate import fit_map
from neurodose.mipd.levels import Observations
from neurodose.pk.parameters import get_pkmodel
from neurodose.pk.solve import concentrations, predict_at


def test_fast_path_matches_public_solver():
    fast = prior_model("amitriptyline")
    slow = prior_model("amitriptyline", fast=False)
    d = Regimen.oral(25.0, 24.0, doses=20).expand()
    eta = fast.sample_prior(40, np.random.default_rng(1))
    t = [1.0, 100.0, 455.9, 480.0]
    a, b = fast.predict(eta, d, t), slow.predict(eta, d, t)
    for k in ("amitriptyline", "nortriptyline"):
        np.testing.assert_allclose(a[k], b[k], rtol=1e-10, atol=0)


def test_prior_comes_from_the_pk_parameter_set():
    spec = get_pkmodel("amitriptyline")
    m = prior_model("amitriptyline")
    assert m.moiety == ("amitriptyline", "nortriptyline")
    for e, entry in spec.iiv.items():
        i = m.param_names.index(e)
        assert m.omega[i, i] == pytest.approx(entry.omega_sd**2)
        assert m.applies_to[e] == tuple(entry.applies_to)
    assert m.residual["amitriptyline"].proportional == spec.residual["proportional"].canonical()
    assert m.typical["CL_form"] == spec.parameters["CL_form"].canonical()
    assert any("placeholder" in n for n in m.notes)
    assert m.sources


def test_prediction_equals_engine_with_regimen():
    m = prior_model("amitriptyline")
    reg = Regimen.oral("25 mg", every="24 h", days=14)
    h = reg.expand()
    p = {k: q.canonical() for k, q in get_pkmodel("amitriptyline").parameters.items()}
    ref = concentrations(m.predict_fn.model, p, reg, [10.0, 330.0])
    got = m.predict(np.zeros((1, m.k)), h, [10.0, 330.0])
    np.testing.assert_allclose(got["nortriptyline"], ref["nortriptyline"], rtol=1e-12)
    assert len(h) == 14


def test_steady_state_flag_reaches_the_engine():
    reg = Regimen.oral("25 mg", every="24 h", days=3, ss=True)
    h = reg.expand()
    assert h.ss.tolist() == [1, 0, 0]
    m = prior_model("amitriptyline")
    ss = m.predict(np.zeros((1, m.k)), h, [71.9])["nortriptyline"][0, 0]
    cold = m.predict(np.zeros((1, m.k)), Regimen.oral(25, 24, doses=3).expand(), [71.9])[
        "nortriptyline"
    ]
    long = m.predict(np.zeros((1, m.k)), Regimen.oral(25, 24, doses=60).expand(), [60 * 24 - 0.1])
    assert ss > 1.3 * cold[0, 0]
    assert ss == pytest.approx(long["nortriptyline"][0, 0], rel=0.01)


def test_map_on_engine_model_moves_towards_data():
    m = prior_model("amitriptyline")
    d = Regimen.oral(25.0, 24.0, doses=28).expand()
    typ = m.predict_moiety(np.zeros((1, m.k)), d, [671.0])[0, 0]
    obs = Observations.from_arrays(
        [671.0, 671.0], ["amitriptyline", "nortriptyline"], [typ, typ], analytes=m.analytes
    )
    r = fit_map(m, d, obs)
    assert r.diagnostics.converged
    # both levels higher than typical for NT -> lower NT clearance
    assert r.individual["CL_m"] < m.typical["CL_m"]


def test_genotype_and_comedication_change_the_prior():
    from neurodose.case import Patient

    base = prior_model("amitriptyline")
    pm = prior_model("amitriptyline", Patient().with_genotype(CYP2D6="*4/*4"))
    assert pm.typical["CL_m"] < base.typical["CL_m"]
    inh = prior_model("amitriptyline", comedications=["paroxetine:20 mg"])
    assert inh.typical["CL_m"] < base.typical["CL_m"]


def test_what_if_adding_an_inhibitor_raises_the_forecast():
    from neurodose.mipd.dose_search import what_if
    from neurodose.mipd.forecast import forecast

    m = prior_model("amitriptyline")
    d = Regimen.oral(25.0, 24.0, doses=28).expand()
    obs = Observations.from_arrays(
        [671.0, 671.0], ["amitriptyline", "nortriptyline"], [12.0, 9.0], analytes=m.analytes
    )
    r = fit_map(m, d, obs)
    r2 = what_if(r, comedications=["paroxetine:20 mg"])
    assert np.all(r2.eta == r.eta)
    a = forecast(r, [671.0], n=50).series["amitriptyline+nortriptyline"]["map"][0]
    b = forecast(r2, [671.0], n=50).series["amitriptyline+nortriptyline"]["map"][0]
    assert b > a


def test_time_varying_comedication_uses_segments():
    from neurodose.case import Comedication

    c = Comedication("paroxetine", 20.0, 24.0, start_h=240.0)
    m = prior_model("amitriptyline", comedications=[c])
    assert m.predict_fn.changes
    d = Regimen.oral(25.0, 24.0, doses=28).expand()
    eta = m.sample_prior(3, np.random.default_rng(0))
    before = m.predict(eta, d, [200.0, 671.0])
    steady = prior_model("amitriptyline").predict(eta, d, [200.0, 671.0])
    np.testing.assert_allclose(before["nortriptyline"][:, 0], steady["nortriptyline"][:, 0])
    assert np.all(before["nortriptyline"][:, 1] > steady["nortriptyline"][:, 1])


def _fast_raises(*args, **kwargs):
    raise TypeError("predict_at() changed its signature")


def _fast_disagrees(*args, **kwargs):
    return {k: v * 1.001 for k, v in predict_at(*args, **kwargs).items()}


@pytest.mark.parametrize("broken", [_fast_raises, _fast_disagrees])
def test_fast_path_switches_itself_off_if_engine_internals_change(monkeypatch, broken):
    from neurodose.mipd import engine

    m = prior_model("amitriptyline")
    d = Regimen.oral(25.0, 24.0, doses=5).expand()
    monkeypatch.setattr(engine, "predict_at", broken)
    a = m.predict(np.zeros((2, m.k)), d, [10.0, 100.0])
    assert m.predict_fn.fast is False
    b = prior_model("amitriptyline", fast=False).predict(np.zeros((2, m.k)), d, [10.0, 100.0])
    np.testing.assert_allclose(a["nortriptyline"], b["nortriptyline"])
    assert prior_model("amitriptyline").predict_fn.fast is True


def test_iv_doses_are_refused_for_map():
    from neurodose.case import DoseEvent
    from neurodose.errors import InputError

    m = prior_model("amitriptyline")
    iv = Regimen.from_events([DoseEvent(amt=25.0, time=0.0, route="iv")]).expand()
    with pytest.raises(InputError, match="oral doses"):
        fit_map(m, iv)


def test_dose_history_is_gone_with_a_pointer_to_the_case_layer():
    import neurodose.mipd.model as model

    with pytest.raises(AttributeError, match="ExpandedDoses"):
        model.DoseHistory  # noqa: B018
