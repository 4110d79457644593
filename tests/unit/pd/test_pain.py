"""Pain-pathway model: behaviour of each pathway, time course, offset after stopping."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurodose.pd.pain import PATHWAYS, simulate_pain
from neurodose.pd.params import load_pd_parameters

P = load_pd_parameters()


def _run(occ: dict[str, float], days: int = 84, stop: int | None = None, **kw: float):
    params = kw.pop("params", P)
    arr = {}
    for k, v in occ.items():
        a = np.full((1, days), v)
        if stop is not None:
            a[:, stop - 1 :] = 0.0
        arr[k] = a
    return simulate_pain(
        arr,
        np.array([7.0]),
        np.array([kw.get("placebo", 0.0)]),
        np.array([kw.get("eta", 1.0)]),
        params,  # type: ignore[arg-type]
    )


def test_no_drug_no_placebo_means_no_change() -> None:
    r = _run({"SERT": 0.0})
    assert np.allclose(r.pain, 7.0)


def test_monoamine_relief_builds_over_weeks() -> None:
    r = _run({"SERT": 0.8, "NET": 0.6})
    p = r.pain[0]
    assert p[7] < p[0]  # starts within the first week
    assert p[42] < p[14] < p[7]  # keeps building
    assert (p[0] - p[42]) > 0.6 * (p[0] - p[84])  # most of it by week 6


def test_sodium_block_acts_faster_than_descending() -> None:
    fast = _run({"sodium_channel": 0.2}).relief_drug[0]
    slow = _run({"SERT": 0.8, "NET": 0.8}).relief_drug[0]
    assert fast[3] / fast[84] > slow[3] / slow[84]


def test_each_pathway_lowers_pain_and_shares_sum_to_one() -> None:
    for key in ("SERT", "NET", "sodium_channel", "NMDA", "alpha2delta"):
        r = _run({key: 0.3})
        assert r.pain[0, -1] < 7.0, key
    r = _run({"SERT": 0.7, "NET": 0.5, "sodium_channel": 0.1, "NMDA": 0.05})
    total = sum(r.pathways[k][0, -1] for k in PATHWAYS)
    assert total == pytest.approx(1.0)
    assert all(r.pathways[k][0, -1] > 0 for k in PATHWAYS if k != "alpha2delta")
    # with equal weights the transporter occupied more carries the larger descending share
    # (the size of either against NMDA depends on the calibrated descending gain)
    assert (
        r.pathways["descending_serotonergic"][0, -1] > r.pathways["descending_noradrenergic"][0, -1]
    )


def test_stopping_brings_pain_back() -> None:
    r = _run({"SERT": 0.8, "NET": 0.6, "sodium_channel": 0.2}, days=140, stop=85)
    p = r.pain[0]
    assert p[84] < 7.0 - 0.5  # relief on the drug
    assert p[140] > p[84] + 0.6 * (7.0 - p[84])  # no repair state: pain returns
    assert np.all(np.diff(p[85:]) >= -1e-12)


def test_sensitivity_zero_is_a_non_responder_and_placebo_can_worsen() -> None:
    assert np.allclose(_run({"SERT": 0.9}, eta=0.0).pain[0], 7.0)
    worse = _run({"SERT": 0.0}, placebo=-0.2).pain[0, -1]
    assert worse > 7.0


def test_sedation_improves_sleep_before_pain() -> None:
    r = _run({"alpha2delta": 0.3}, params=P.with_values(sleep_sedation_effect=0.5))
    sleep_gain = (r.sleep[0, 0] - r.sleep[0, 2]) / r.sleep[0, 0]
    pain_gain = (r.pain[0, 0] - r.pain[0, 2]) / r.pain[0, 0]
    assert sleep_gain > pain_gain


def test_without_sedative_effect_sleep_follows_pain() -> None:
    # sleep_sedation_effect = 0 (the lower end of its fitted range): sleep interference
    # is the pain trajectory, whatever the sedative occupancy
    r = _run({"alpha2delta": 0.3, "H1": 0.9}, params=P.with_values(sleep_sedation_effect=0.0))
    assert np.allclose(r.sleep, r.pain)


def test_sleep_uses_the_drowsiness_potency_scale() -> None:
    # the sedative drive on sleep is the daytime-drowsiness drive (same gains): doubling the
    # H1 drowsiness gain acts on sleep like doubling the H1 occupancy
    p = P.with_values(sleep_sedation_effect=0.5)
    g = p.get("ae_gain_drowsiness_H1", p.value("ae_gain_default"))
    a = _run({"H1": 0.8}, params=p).sleep
    b = _run({"H1": 0.4}, params=p.with_values(ae_gain_drowsiness_H1=2 * g)).sleep
    assert np.allclose(a, b)


def test_shape_errors() -> None:
    with pytest.raises(ValueError):
        simulate_pain({}, np.array([7.0]), np.array([0.0]), np.array([1.0]), P)
    with pytest.raises(ValueError):
        simulate_pain(
            {"SERT": np.zeros((2, 5)), "NET": np.zeros((2, 6))},
            np.array([7.0, 7.0]),
            np.zeros(2),
            np.ones(2),
            P,
        )


@settings(max_examples=20, deadline=None)
@given(st.floats(0.0, 0.95), st.floats(0.0, 0.05))
def test_more_h1_occupancy_never_worsens_sleep(occ: float, extra: float) -> None:
    p = P.with_values(sleep_sedation_effect=max(P.value("sleep_sedation_effect"), 0.1))
    lo = _run({"H1": occ, "SERT": 0.5}, params=p).sleep[0, 1:]
    hi = _run({"H1": occ + extra, "SERT": 0.5}, params=p).sleep[0, 1:]
    assert np.all(hi <= lo + 1e-12)


def test_h1_sleep_benefit_is_immediate_and_lasts() -> None:
    # H1 block (e.g. amitriptyline at night) improves sleep from day 1 and, unlike the
    # daytime drowsiness, has no tolerance in the model (an assumption, docs/model.md)
    r = _run({"H1": 0.9}, params=P.with_values(sleep_sedation_effect=0.5))
    assert r.sleep[0, 1] < 0.7 * r.sleep[0, 0]
    assert r.sleep[0, -1] == pytest.approx(r.sleep[0, 1])
    assert r.pain[0, -1] == pytest.approx(r.pain[0, 0])  # H1 is not an analgesic pathway


def test_descending_inhibition_is_saturable_and_not_capped_by_its_form() -> None:
    from neurodose.pd.pain import descending_log_gain

    d = np.linspace(0.0, 1.0, 11)
    lg = descending_log_gain(d, 0.8, 0.2)
    assert lg[0] == 0.0 and np.all(np.diff(lg) < 0)  # more drive, lower spinal gain
    assert np.exp(lg[-1]) == pytest.approx(0.2)  # full SERT+NET occupancy reaches I_max
    steps = -np.diff(lg)
    assert steps[0] > steps[-1]  # saturable: the first tenth of drive does the most
    # a large fitted maximum gives large relief (the earlier 1/(1 + g D) fit gave <= 9 %)
    r = simulate_pain(
        {"SERT": np.ones((1, 200)), "NET": np.ones((1, 200))},
        np.array([7.0]),
        np.array([0.0]),
        np.array([1.0]),
        P.with_values(descending_max_inhibition=0.8),
    )
    assert r.relief_drug[0, -1] > 0.9  # (1 - 0.8)^(1 + kappa) at steady state
    for bad in ((1.01, 0.2), (-0.1, 0.2), (0.5, 0.0)):
        with pytest.raises(ValueError, match="descending"):
            descending_log_gain(d, *bad)
