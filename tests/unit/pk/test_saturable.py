"""The saturable (Michaelis-Menten) structure and its solver (paroxetine)."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from neurodose.case import Patient, Regimen
from neurodose.errors import InputError, NoPKModelError, RegimenError
from neurodose.pk import individual_parameters
from neurodose.pk.model import get_structure
from neurodose.pk.saturable import saturable_concentrations
from neurodose.pk.solve import concentrations, solve_ode

SAT = get_structure("one_compartment_saturable", ("drug",))
LIN = get_structure("one_compartment", ("drug",))

pos = st.floats(0.05, 5.0)


@settings(max_examples=25)
@given(ka=pos, cl=st.floats(1.0, 100.0), v=st.floats(20.0, 2000.0), dose=st.floats(1.0, 500.0))
def test_without_vmax_equals_the_exact_linear_solver(ka, cl, v, dose):
    p = {"F": 1.0, "ka": ka, "tlag": 0.0, "CL": cl, "V": v}
    reg = Regimen.oral(f"{dose} mg", every="24 h", days=5)
    t = np.linspace(0.0, 150.0, 61)
    exact = concentrations(LIN, p, reg, t)["drug"]
    rk = saturable_concentrations(SAT, {**p, "Vmax": 0.0, "Km": 1.0}, reg, t)["drug"]
    np.testing.assert_allclose(rk, exact, rtol=1e-4, atol=1e-6 * exact.max())


@settings(max_examples=10, deadline=None)
@given(
    vmax=st.floats(0.05, 3.0),
    km=st.floats(1.0, 100.0),
    ka=st.floats(0.2, 4.0),
    dose=st.floats(5.0, 100.0),
)
@example(vmax=2.0, km=1.0, ka=1.0, dose=23.0)  # fast MM elimination at C << Km (was 0.15 % off)
def test_michaelis_menten_agrees_with_lsoda(vmax, km, ka, dose):
    p = {"F": 1.0, "ka": ka, "tlag": 0.5, "CL": 20.0, "V": 1200.0}
    reg = Regimen.oral(f"{dose} mg", every="24 h", days=4)
    t = np.linspace(0.0, 120.0, 41)
    ref = solve_ode(LIN, p, reg, t, vmax=vmax, km=km)["drug"]
    rk = saturable_concentrations(SAT, {**p, "Vmax": vmax, "Km": km}, reg, t)["drug"]
    np.testing.assert_allclose(rk, ref, rtol=1e-3, atol=1e-5 * ref.max())


@settings(max_examples=20)
@given(dose=st.floats(1.0, 200.0), vmax=st.floats(0.0, 5.0), km=st.floats(0.5, 200.0))
def test_nonnegative_and_saturation_raises_exposure_more_than_dose(dose, vmax, km):
    p = {"F": 1.0, "ka": 0.9, "tlag": 0.0, "CL": 20.0, "V": 1200.0, "Vmax": vmax, "Km": km}
    t = np.linspace(0.0, 24.0 * 20, 200)
    c1 = saturable_concentrations(SAT, p, Regimen.oral(f"{dose} mg", every="24 h"), t)["drug"]
    c2 = saturable_concentrations(SAT, p, Regimen.oral(f"{2 * dose} mg", every="24 h"), t)["drug"]
    assert np.all(c1 >= 0)
    # doubling the dose at least doubles the exposure (equality when linear)
    assert c2.sum() >= 2 * c1.sum() * (1 - 1e-6)


def test_paroxetine_linear_in_pm_nonlinear_in_em():
    t = np.arange(0.0, 24.0 * 21, 1.0)

    def auc(dose, ph):
        ps = individual_parameters("paroxetine", Patient().with_genotype(CYP2D6=ph))
        reg = Regimen.oral(f"{dose} mg", every="24 h", days=21)
        return concentrations(ps.model, ps.values, reg, t)["paroxetine"].sum()

    assert auc(40, "PM") / auc(20, "PM") == pytest.approx(2.0, rel=1e-4)
    assert auc(40, "NM") / auc(20, "NM") > 2.2  # Sindrup 1992: nonlinear in EM


def test_population_and_changes_run_for_paroxetine():
    from neurodose.pk.population import sample, simulate_population

    pop = sample("paroxetine", 50, seed=3, draw_genotypes=True)
    c = simulate_population(pop, Regimen.oral("20 mg", every="24 h", days=10), [0, 100, 239])
    assert c["paroxetine"].shape == (50, 3)
    assert np.all(np.isfinite(c["paroxetine"])) and np.all(c["paroxetine"] >= 0)


def test_steady_state_records_and_bad_models_are_refused():
    from neurodose.case import DoseEvent

    p = {"F": 1.0, "ka": 0.9, "tlag": 0.0, "CL": 20.0, "V": 1200.0, "Vmax": 1.0, "Km": 10.0}
    ss = Regimen((DoseEvent(amt=20.0, time=0.0, ii=24.0, ss=1),))
    with pytest.raises(RegimenError, match="repeated doses"):
        saturable_concentrations(SAT, p, ss, [0.0, 1.0])
    with pytest.raises(InputError, match="saturable"):
        saturable_concentrations(LIN, p, Regimen.oral("1 mg"), [0.0])
    with pytest.raises(InputError, match="Km"):
        saturable_concentrations(SAT, {**p, "Km": 0.0}, Regimen.oral("1 mg"), [0.0])


def test_kb_drug_without_pk_model_says_so():
    with pytest.raises(NoPKModelError, match="in the knowledge base but has no PK model"):
        individual_parameters("bupropion")


@pytest.mark.parametrize(
    "drug",
    [
        "paroxetine",
        "fluoxetine",
        "sertraline",
        "citalopram",
        "escitalopram",
        "imipramine",
        "tramadol",
    ],
)
def test_round2_drugs_simulate(drug):
    from neurodose.simulation import simulate

    r = simulate(drug, Regimen.oral("20 mg", every="24 h", days=14))
    for a, s in r.summary.items():
        assert s["cmax_ng_per_ml"] > 0, a
        # a course shorter than steady state (norfluoxetine, t1/2 of days) shows the last
        # interval's trough instead of a steady-state trough above every simulated level
        trough = s["cmin_ss_ng_per_ml"] or s["cmin_last_interval_ng_per_ml"]
        assert trough is not None and 0 < trough <= s["cmax_ng_per_ml"], a
        if s["cmin_ss_ng_per_ml"] is None:
            assert any(n.startswith(f"{a}: steady state not reached") for n in r.notes), a


def test_fluoxetine_inhibition_carries_over_for_weeks_paroxetine_does_not():
    from neurodose.case import Comedication

    stop = 42 * 24.0

    def nt_cl(perp: str, day: float) -> float:
        c = Comedication(perp, 20.0, 24.0, start_h=0.0, stop_h=stop)
        ps = individual_parameters("amitriptyline", None, [c], horizon_h=120 * 24.0)
        seg = [v for t, v in ps.changes if t <= day * 24.0]
        return (seg[-1] if seg else ps.values)["CL_m"]

    base = individual_parameters("amitriptyline").values["CL_m"]
    for perp in ("fluoxetine", "paroxetine"):
        assert nt_cl(perp, 41) < 0.6 * base  # strong CYP2D6 inhibitor at steady state
    # two weeks after stopping: paroxetine washed out, fluoxetine/norfluoxetine still inhibit
    assert nt_cl("paroxetine", 56) > 0.95 * base
    assert nt_cl("fluoxetine", 56) < 0.75 * base
    # and it does go away
    assert nt_cl("fluoxetine", 119) > nt_cl("fluoxetine", 70) > nt_cl("fluoxetine", 56)
