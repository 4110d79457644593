import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurodose.case import Comedication, Patient, Regimen
from neurodose.errors import GenotypeError, PatientError, UnknownDrugError, UnknownNameError
from neurodose.pk import get_model, individual_parameters, predict
from neurodose.pk.parameters import get_pkmodel, pkmodel_names


def test_all_parameter_sets_load_with_sources():
    assert {
        "amitriptyline",
        "nortriptyline",
        "duloxetine",
        "venlafaxine",
        "gabapentin",
        "pregabalin",
    } <= set(pkmodel_names())
    for name in pkmodel_names():
        spec = get_pkmodel(name)
        assert spec.sources()
        assert get_model(name).analytes == tuple(spec.analytes)


def test_unverified_placeholders_flagged():
    spec = get_pkmodel("amitriptyline")
    for ph in ("IM", "RM", "UM"):
        assert spec.genotype["CYP2C19"][ph].verified is False
    share = next(p for p in spec.pathways if p.parameter == "CL_other" and p.enzyme == "CYP2D6")
    assert share.fraction.calibrated and share.fraction.calibrated_to


def test_ami_pathways_respond_differently():
    base = individual_parameters("amitriptyline").values
    c19 = individual_parameters("amitriptyline", Patient().with_genotype(CYP2C19="*2/*2")).values
    d6 = individual_parameters("amitriptyline", Patient().with_genotype(CYP2D6="*4/*4")).values
    assert c19["CL_form"] == pytest.approx(base["CL_form"] * 0.28)
    assert c19["CL_m"] == base["CL_m"] and c19["CL_other"] == base["CL_other"]
    assert d6["CL_form"] == base["CL_form"]
    assert d6["CL_m"] == pytest.approx(base["CL_m"] * 0.4)
    assert base["CL_other"] * 0.7 < d6["CL_other"] < base["CL_other"]


def test_inhibition_is_fm_based_without_a_cap():
    """Issue 20: AUCR = 1/(fm/S + 1 - fm) with S the FDA band factor (strong 5); no
    2.5-fold cap at the PM value; a poor metaboliser is left unchanged."""
    nm = individual_parameters("nortriptyline", Patient().with_genotype(CYP2D6="NM"))
    nm_inh = individual_parameters(
        "nortriptyline", Patient().with_genotype(CYP2D6="NM"), ["bupropion:150 mg"]
    )
    pm = individual_parameters("nortriptyline", Patient().with_genotype(CYP2D6="PM"))
    pm_inh = individual_parameters(
        "nortriptyline", Patient().with_genotype(CYP2D6="PM"), ["bupropion:150 mg"]
    )
    # NT clearance is all CYP2D6 (fm 1): a strong inhibitor gives S = 5
    assert nm.values["CL"] / nm_inh.values["CL"] == pytest.approx(5.0)
    assert pm_inh.values["CL"] == pytest.approx(pm.values["CL"])
    assert any("fm-based, no cap" in n and "= 5 at S = 5" in n for n in nm_inh.notes)
    assert any("adds nothing" in n for n in pm_inh.notes)
    # a partial pathway: AMI CL_other is 41 % CYP2D6 -> 1/(0.414/5 + 0.586) on that part
    base = individual_parameters("amitriptyline").values["CL_other"]
    inh = individual_parameters("amitriptyline", None, ["paroxetine:20 mg"]).values["CL_other"]
    fm = next(
        p.fraction.canonical()
        for p in get_pkmodel("amitriptyline").pathways
        if p.parameter == "CL_other" and p.enzyme == "CYP2D6"
    )
    assert base / inh == pytest.approx(1.0 / (fm / 5.0 + 1.0 - fm))


def test_unknown_phenotype_effect_is_named():
    ps = individual_parameters("venlafaxine", Patient().with_genotype(CYP2D6="UM"))
    assert any("CYP2D6 UM: effect on venlafaxine UNKNOWN" in n for n in ps.notes)


def test_venlafaxine_poor_metaboliser_has_less_odv_than_intermediate():
    from neurodose.case.regimen import Regimen

    t = np.linspace(0.0, 24.0 * 7, 200)
    reg = Regimen.oral("75 mg", every="24 h", days=7)
    odv = {}
    for ph in ("NM", "IM", "PM"):
        ps = individual_parameters("venlafaxine", Patient().with_genotype(CYP2D6=ph))
        odv[ph] = float(predict("venlafaxine", ps.values, reg, t)["o_desmethylvenlafaxine"][-1])
    assert odv["PM"] < odv["IM"] < odv["NM"]


def test_duloxetine_covariates_and_measured_ddi():
    base = individual_parameters("duloxetine").values["CL"]
    f = individual_parameters("duloxetine", Patient(sex="female")).values["CL"]
    s = individual_parameters("duloxetine", Patient(smoker=True)).values["CL"]
    fv = individual_parameters("duloxetine", None, ["fluvoxamine:100 mg"]).values["CL"]
    assert f == pytest.approx(0.6 * base)
    assert s == pytest.approx(base / 0.7, rel=1e-3)
    assert fv == pytest.approx(base / 5.6, rel=1e-3)


def test_renal_covariates():
    lo = individual_parameters("pregabalin", Patient(crcl=30)).values["CL"]
    hi = individual_parameters("pregabalin", Patient(crcl=200)).values["CL"]
    assert lo == pytest.approx(3.97 * 30 / 86)
    assert hi == pytest.approx(3.97 * 107 / 86)
    g = individual_parameters("gabapentin", Patient(crcl=30, age=70, weight=70, sex="male"))
    g2 = individual_parameters("gabapentin", Patient(crcl=90, age=70, weight=70, sex="male"))
    assert g.values["CL"] < g2.values["CL"]


def test_interaction_disappears_after_washout():
    c = Comedication("bupropion", start_h=100.0, stop_h=300.0)
    ps = individual_parameters("nortriptyline", None, [c])
    base = individual_parameters("nortriptyline").values["CL"]
    assert ps.values["CL"] == base
    _t_last, last = ps.changes[-1]
    assert last["CL"] == pytest.approx(base, rel=1e-6)
    mid = [v["CL"] for t, v in ps.changes if 150 < t < 300]
    assert min(mid) < 0.5 * base


def test_bad_input_errors():
    with pytest.raises(UnknownDrugError):
        individual_parameters("amitriptylin")
    with pytest.raises(UnknownDrugError):
        individual_parameters("nortriptyline", None, ["notadrug:10 mg"])
    with pytest.raises(PatientError, match="weight"):
        Patient(weight=0)
    with pytest.raises(PatientError, match="age"):
        Patient(age=300)
    with pytest.raises(GenotypeError):
        Patient().with_genotype(CYP2D6="*1/*999")
    with pytest.raises(UnknownNameError):
        Patient().with_genotype(CYP2D6="superfast")


def test_predict_scalar_and_vector():
    ps = individual_parameters("amitriptyline")
    r = Regimen.oral("25 mg", days=3)
    one = predict("amitriptyline", ps.values, r, [10.0, 60.0])
    assert one["nortriptyline"].shape == (2,)
    vec = predict("amitriptyline", {**ps.values, "CL_m": np.array([30.0, 38.0])}, r, [60.0])
    assert vec["nortriptyline"].shape == (2, 1)
    assert vec["nortriptyline"][1, 0] == pytest.approx(one["nortriptyline"][1])
    assert ps.eta_names and ps.omega.shape == (len(ps.eta_names),) * 2
    assert "proportional" in ps.residual


@settings(max_examples=6, deadline=None)
@given(stop_day=st.integers(3, 20), dose=st.sampled_from([10.0, 25.0, 50.0]))
def test_interaction_effect_gone_after_washout_concentrations(stop_day, dose):
    from neurodose.pk import concentrations

    c = Comedication("bupropion", start_h=0.0, stop_h=stop_day * 24.0)
    ps = individual_parameters("nortriptyline", None, [c])
    base = individual_parameters("nortriptyline")
    reg = Regimen.oral(dose, days=stop_day + 60)
    t = np.array([(stop_day + 59) * 24.0 + 2.0])
    with_i = concentrations(ps.model, ps.values, reg, t, changes=ps.changes)["nortriptyline"]
    without = concentrations(base.model, base.values, reg, t)["nortriptyline"]
    during = concentrations(ps.model, ps.values, reg, [stop_day * 24.0], changes=ps.changes)
    ref_during = concentrations(base.model, base.values, reg, [stop_day * 24.0])
    assert during["nortriptyline"][0, 0] > 1.2 * ref_during["nortriptyline"][0, 0]
    np.testing.assert_allclose(with_i, without, rtol=1e-3)


def test_full_omega_from_correlations():
    spec = get_pkmodel("duloxetine")
    data = spec.model_dump()
    data["iiv_correlation"] = {
        "CL,V": {"value": 0.5, "unit": "1", "source": "lobo2009", "locator": "test only"}
    }
    corr = type(spec).model_validate(data)
    names, cov = corr.omega()
    assert names == ("CL", "V")
    sd = [corr.iiv[n].omega_sd for n in names]
    assert cov[0][1] == pytest.approx(0.5 * sd[0] * sd[1])
    data["iiv_correlation"] = {"CL,X": data["iiv_correlation"]["CL,V"]}
    with pytest.raises(ValueError, match="iiv_correlation"):
        type(spec).model_validate(data)


@pytest.mark.parametrize("drug", ["milnacipran", "pregabalin"])
def test_serum_creatinine_reaches_a_crcl_model_or_is_an_error(drug):
    """A CrCl-driven model given a serum creatinine: converted by Cockcroft-Gault when age,
    weight and sex are given (the same CL as that CrCl), otherwise an error naming crcl,
    never silently the reference."""
    scr, age, wt = 2.0, 60.0, 70.0
    crcl = (140 - age) * wt / (72 * scr)  # Cockcroft-Gault, man
    via_scr = individual_parameters(drug, Patient(scr=scr, age=age, weight=wt, sex="male"))
    via_crcl = individual_parameters(drug, Patient(crcl=crcl, age=age, weight=wt, sex="male"))
    assert via_scr.values["CL"] == pytest.approx(via_crcl.values["CL"])
    assert via_scr.values["CL"] < individual_parameters(drug).values["CL"]
    with pytest.raises(PatientError, match=r"^crcl:.*Cockcroft-Gault"):
        individual_parameters(drug, Patient(scr=scr))


# ---- formulations (issue 20 item 5)
def _tmax(ps, dose=75.0):
    from neurodose.pk.solve import concentrations

    t = np.arange(0.0, 72.0, 0.01)
    c = concentrations(ps.model, ps.values, Regimen.oral(dose), t)
    return {a: float(t[int(np.argmax(v[0]))]) for a, v in c.items()}


def test_venlafaxine_extended_release_is_slower_with_the_same_extent():
    from neurodose.pk.solve import concentrations

    ir = individual_parameters("venlafaxine")
    xr = individual_parameters("venlafaxine", formulation="extended_release")
    assert _tmax(ir)["venlafaxine"] == pytest.approx(2.0, abs=0.05)
    assert _tmax(xr)["venlafaxine"] == pytest.approx(5.5, abs=0.1)
    assert _tmax(xr)["o_desmethylvenlafaxine"] > _tmax(ir)["o_desmethylvenlafaxine"]
    assert xr.values["ka"] < ir.values["ka"]
    assert {k: v for k, v in xr.values.items() if k != "ka"} == {
        k: v for k, v in ir.values.items() if k != "ka"
    }
    # same extent: equal steady-state AUC over a dosing interval, lower peak
    from neurodose.case.regimen import DoseEvent

    reg = Regimen((DoseEvent(amt=150.0, time=0.0, ii=24.0, ss=1),))
    t = np.linspace(0.0, 24.0, 2401)
    a = concentrations(ir.model, ir.values, reg, t)["venlafaxine"][0]
    b = concentrations(xr.model, xr.values, reg, t)["venlafaxine"][0]
    assert np.trapezoid(b, t) == pytest.approx(np.trapezoid(a, t), rel=1e-3)
    assert b.max() < 0.7 * a.max()
    assert any("formulation extended_release" in n for n in xr.notes)


def test_duloxetine_default_formulation_is_the_delayed_release_capsule():
    plain = individual_parameters("duloxetine")
    dr = individual_parameters("duloxetine", formulation="delayed-release capsule")
    assert dr.values == plain.values
    assert plain.values["tlag"] == 2.0
    assert 5.5 < _tmax(plain, 60.0)["duloxetine"] < 7.5
    assert any("delayed_release_capsule" in n for n in dr.notes)


def test_unknown_formulation_names_the_allowed_ones():
    from neurodose.errors import InputError

    with pytest.raises(InputError, match=r"formulation.*extended_release, immediate_release"):
        individual_parameters("venlafaxine", formulation="patch")
    with pytest.raises(InputError, match=r"none .this model describes one formulation"):
        individual_parameters("nortriptyline", formulation="extended_release")


def test_formulation_schema_refuses_disposition_overrides_and_two_defaults():
    from pydantic import ValidationError

    from neurodose.pk.parameters import PKModelSpec

    base = get_pkmodel("venlafaxine").model_dump()
    q = base["parameters"]["ka"]
    bad = {**base, "formulations": {"x": {"description": "d", "parameters": {"CL_m": q}}}}
    with pytest.raises(ValidationError, match="'CL_m' not allowed"):
        PKModelSpec.model_validate(bad)
    two = {
        **base,
        "formulations": {
            "a": {"description": "d", "default": True},
            "b": {"description": "d", "default": True},
        },
    }
    with pytest.raises(ValidationError, match="one default at most"):
        PKModelSpec.model_validate(two)
    dflt = {
        **base,
        "formulations": {"a": {"description": "d", "default": True, "parameters": {"ka": q}}},
    }
    with pytest.raises(ValidationError, match="overrides nothing"):
        PKModelSpec.model_validate(dflt)


def test_formulation_reaches_population_bands_and_the_workflow():
    from neurodose.workflows import SimulateRequest, simulate

    reg = Regimen.oral("75 mg", every="24 h", days=1)
    base = SimulateRequest("venlafaxine", reg, hours=24.0, population=40, seed=3)
    ir = simulate(base).result
    xr = simulate(SimulateRequest(**{**base.__dict__, "formulation": "extended_release"})).result
    p50_ir = np.asarray(ir.population["venlafaxine"]["p50"])
    p50_xr = np.asarray(xr.population["venlafaxine"]["p50"])
    assert int(np.argmax(p50_xr)) > int(np.argmax(p50_ir))
    assert any("formulation extended_release" in n for n in xr.notes)


def test_every_pk_model_has_cited_between_subject_variability():
    """Issue 20 item 5: all 14 models carry IIV, each with a source (no silent zero)."""
    missing = [n for n in pkmodel_names() if not get_pkmodel(n).iiv]
    assert not missing, missing
    for n in pkmodel_names():
        for eta, e in get_pkmodel(n).iiv.items():
            assert e.quantity.source and e.quantity.locator, (n, eta)
            assert 0.0 < e.omega_sd < 1.5, (n, eta)
        notes = individual_parameters(n).notes
        assert not any("no between-subject variability" in x for x in notes), n
