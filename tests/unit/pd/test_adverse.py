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


# --- sedative, autonomic and anticholinergic pathways; age (issue 14 items 3-4) ---

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from neurodose.pd.adverse import FALL_RISK, age_susceptibility  # noqa: E402


def _inc(occ: dict[str, float], effect: str, age: float | None = None, n: int = 3000) -> float:
    days = 28
    arr = {k: np.full((n, days), v) for k, v in occ.items()}
    ages = None if age is None else np.full(n, age)
    res = simulate_adverse(arr, P, np.random.default_rng(11), age=ages)
    return float(res.incidence[effect].mean())


@settings(max_examples=15, deadline=None)
@given(st.floats(0.0, 0.95), st.floats(0.0, 0.05))
def test_more_h1_occupancy_never_lowers_sedation(occ: float, extra: float) -> None:
    # same patients (same seed): a higher H1 occupancy gives at least as much drowsiness
    assert _inc({"H1": occ + extra}, "drowsiness", n=800) >= _inc({"H1": occ}, "drowsiness", n=800)


@settings(max_examples=15, deadline=None)
@given(st.floats(18.0, 90.0), st.floats(0.0, 30.0))
def test_older_age_never_lowers_susceptibility(age: float, older: float) -> None:
    assert float(age_susceptibility(P, age + older)) >= float(age_susceptibility(P, age))
    for effect, occ in (
        ("confusion", {"muscarinic": 0.4}),
        ("orthostatic_hypotension", {"alpha1": 0.5}),
    ):
        assert _inc(occ, effect, age + older, n=800) >= _inc(occ, effect, age, n=800)


def _present(occ: dict[str, float], effect: str, age: float, n: int = 3000) -> float:
    arr = {k: np.full((n, 28), v) for k, v in occ.items()}
    res = simulate_adverse(arr, P, np.random.default_rng(11), age=np.full(n, age))
    return float(res.drug_present[effect].mean())


def test_age_changes_only_the_age_susceptible_effects() -> None:
    occ = {"SERT": 0.8, "muscarinic": 0.4}
    # serotonergic nausea has no age term (its incidence before withdrawal may still move,
    # because withdrawal for the age-susceptible effects comes earlier)
    assert _present(occ, "nausea", 80.0) == _present(occ, "nausea", 40.0)
    assert _inc(occ, "dry_mouth", 80.0) > _inc(occ, "dry_mouth", 40.0)
    # without an age the model is the age-free model (every patient at the reference age)
    ref = P.value("ae_age_reference")
    assert _inc(occ, "dry_mouth") == _inc(occ, "dry_mouth", ref)


def test_h1_daytime_drowsiness_fades_within_days() -> None:
    days, n = 28, 3000
    res = simulate_adverse({"H1": np.full((n, days), 0.9)}, P, np.random.default_rng(5))
    prev = res.drug_present["drowsiness"].mean(axis=0)
    # Richardson 2002: tolerance to the daytime sedation of an H1 blocker within ~3 days
    assert prev[0] > 0.3
    assert prev[4] < 0.1 * prev[0]
    # the generic tolerance (alpha2delta-driven drowsiness) is slower and partial
    res2 = simulate_adverse({"alpha2delta": np.full((n, days), 0.3)}, P, np.random.default_rng(5))
    prev2 = res2.drug_present["drowsiness"].mean(axis=0)
    assert prev2[4] > 0.5 * prev2[0] > 0


def test_fall_risk_composite_is_any_fall_risk_effect() -> None:
    n, days = 2000, 28
    res = simulate_adverse(
        {"alpha1": np.full((n, days), 0.6), "muscarinic": np.full((n, days), 0.3)},
        P,
        np.random.default_rng(2),
    )
    parts = [k for k, a in P.adverse_effects.items() if a.fall_risk]
    assert set(parts) >= {"drowsiness", "dizziness", "orthostatic_hypotension", "confusion"}
    anyof = np.zeros(n, dtype=bool)
    for k in parts:
        anyof |= res.incidence[k]
    assert np.array_equal(res.incidence[FALL_RISK], anyof)


def test_receptor_blockade_withdrawal_weight_scales_withdrawal() -> None:
    occ = {"H1": np.full((N, 56), 0.9), "alpha1": np.full((N, 56), 0.7)}
    lo = simulate_adverse(
        occ, P.with_values(withdrawal_weight_receptor_blockade=0.1), np.random.default_rng(4)
    )
    hi = simulate_adverse(
        occ, P.with_values(withdrawal_weight_receptor_blockade=1.0), np.random.default_rng(4)
    )
    assert np.isfinite(hi.withdrawal_day).mean() > np.isfinite(lo.withdrawal_day).mean()
    # the weight does not touch effects without receptor-blockade drive (SERT nausea)
    s = {"SERT": np.full((N, 56), 0.9)}
    a = simulate_adverse(
        s, P.with_values(withdrawal_weight_receptor_blockade=0.1), np.random.default_rng(4)
    )
    b = simulate_adverse(
        s, P.with_values(withdrawal_weight_receptor_blockade=1.0), np.random.default_rng(4)
    )
    assert np.array_equal(a.withdrawal_day, b.withdrawal_day)


def test_age_shape_is_checked() -> None:
    import pytest

    with pytest.raises(ValueError, match="age"):
        simulate_adverse({"SERT": np.zeros((3, 5))}, P, np.random.default_rng(0), age=np.ones(2))


def test_gabapentin_drive_factor_scales_only_gabapentin() -> None:
    # gabapentin's own alpha2delta drive factor (fitted to its trial AE rates): at the same
    # occupancy it has fewer alpha2delta effects than pregabalin; other drugs are untouched
    occ = {"alpha2delta": np.full((N, 28), 0.2)}
    p = P.with_values(ae_drive_factor_alpha2delta_gabapentin=0.5)
    pgb = simulate_adverse(occ, p, np.random.default_rng(3), drug="pregabalin")
    gbp = simulate_adverse(occ, p, np.random.default_rng(3), drug="gabapentin")
    none = simulate_adverse(occ, p, np.random.default_rng(3))
    assert gbp.incidence["dizziness"].mean() < pgb.incidence["dizziness"].mean()
    assert np.array_equal(pgb.incidence["dizziness"], none.incidence["dizziness"])


def test_unknown_gain_is_not_the_class_default() -> None:
    # the tricyclics' weight gain: H1 has no cited or fitted weight-gain gain, so H1 adds
    # nothing and the result names H1 as an unknown driver (not computable downstream)
    assert "H1" in P.adverse_effects["weight_gain"].unknown_gain
    res = simulate_adverse({"H1": np.full((N, 28), 0.9)}, P, np.random.default_rng(6))
    assert not res.drug_present["weight_gain"].any()
    assert res.unknown_drivers["weight_gain"] == ("H1",)
    # a driver with a gain still counts (pregabalin's alpha2delta)
    res2 = simulate_adverse({"alpha2delta": np.full((N, 28), 0.3)}, P, np.random.default_rng(6))
    assert res2.drug_present["weight_gain"].any()
    assert "weight_gain" not in res2.unknown_drivers


def test_stronger_effects_make_withdrawal_likelier_with_the_severity_exponent() -> None:
    # the same effects present; with a severity exponent the stronger drive (higher
    # occupancy) adds more to the withdrawal hazard than presence alone
    def wd(occ: float, gamma: float) -> float:
        p = P.with_values(withdrawal_severity_exponent=gamma)
        res = simulate_adverse({"alpha2delta": np.full((N, 56), occ)}, p, np.random.default_rng(8))
        return float(np.isfinite(res.withdrawal_day).mean())

    assert wd(0.4, 1.0) - wd(0.2, 1.0) > wd(0.4, 0.0) - wd(0.2, 0.0)
    assert wd(0.2, 1.0) >= wd(0.2, 0.0)


def test_a_driver_with_a_maximum_incidence_plateaus() -> None:
    # the fraction of patients a driver can reach caps its dose-response (the pregabalin
    # label's plateau from 300 to 600 mg/day); other effects are untouched
    occ = {"alpha2delta": np.full((N, 28), 0.9)}
    p = P.with_values(
        ae_max_incidence_dizziness_alpha2delta=0.25, ae_gain_dizziness_alpha2delta=50.0
    )
    res = simulate_adverse(occ, p, np.random.default_rng(9))
    assert 0.18 < res.drug_present["dizziness"].any(axis=1).mean() <= 0.25 + 0.02
    full = simulate_adverse(
        occ,
        P.with_values(
            ae_max_incidence_dizziness_alpha2delta=1.0, ae_gain_dizziness_alpha2delta=50.0
        ),
        np.random.default_rng(9),
    )
    assert full.drug_present["dizziness"].any(axis=1).mean() > 0.9
    assert np.array_equal(res.drug_present["oedema"], full.drug_present["oedema"])
