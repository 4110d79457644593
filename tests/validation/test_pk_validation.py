"""Validation tier for the PK engine (make validate).

Validation rows (values not used to build the model) must be within 2-fold except the
documented misses, which are strict xfails (if one starts to pass, the test fails and
the documentation must be updated). Calibration and consistency checks use tight
tolerances: they check that the code reproduces what was fitted or encoded.
"""

import pytest

from neurodose.pk.calibration import calibrate_ami_cyp2d6_share
from neurodose.pk.parameters import get_pkmodel
from neurodose.pk.validation import (
    comparisons,
    independence,
    parameter_sources,
    run,
    summary_stats,
)

pytestmark = pytest.mark.validation

KNOWN_MISSES = {
    "ven_css_75": "VEN Css 2.2-fold low at 75 mg/day (label CL, low-trust patient data)",
    "odv_css_75": "ODV Css 2.2-fold low at 75 mg/day (label CL, low-trust patient data)",
    "gbp_half_life_crcl_lt30": "Al-Zubaydi SCr model + Cockcroft-Gault SCr: 14 h; Blum: 52 h",
    "par_em_auc_single": "saturable first pass of paroxetine not modelled (systemic MM only)",
    "flx_half_life_acute": "linear model uses the chronic fluoxetine half-life (5 d), not 1-3 d",
    "esc_tmax_label": "Areberg ka 3.6 /h (IIV 148 %) gives Tmax ~2 h vs label ~5 h",
    "dmi_css_pm": "DMI CL PM/EM 7x (Brosen 1993) vs ~3x implied by Brosen 1986's two PMs",
    "nt_v_smpc_iv": "NT systemic V from Dawling 1981's patient V/F x SmPC F (599 L) vs the "
    "SmPC's IV volume in healthy volunteers (1633 L): the two sources disagree",
}

VALIDATION = [c.id for c in comparisons().values() if c.kind == "validation"]
CHECKS = [c.id for c in comparisons().values() if c.kind != "validation"]


@pytest.mark.parametrize(
    "cid",
    [
        pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[c]))
        if c in KNOWN_MISSES
        else c
        for c in VALIDATION
    ],
)
def test_validation_within_2fold(cid):
    (r,) = run([cid])
    assert r.within_2fold, f"{cid}: predicted {r.predicted:.4g} vs observed {r.observed:.4g}"


@pytest.mark.parametrize("cid", CHECKS)
def test_calibration_and_consistency(cid):
    (r,) = run([cid])
    # DPWG: three ratios fitted with one parameter (RMS log residual 0.09) -> 20 %;
    # half-life 20 h vs derived 23 h (label bracket 20-25 h) -> 15 %; citalopram 1981: CL
    # "about 0.42 L/min" and V "about 1150 L" give 31.6 h vs the stated 33 h -> 5 %;
    # others 2 % (rounding)
    tol = (
        0.20
        if cid.startswith("ami_dpwg")
        else 0.15
        if cid == "ami_half_life"
        else 0.05
        if cid == "cit_half_life_1981"
        # duloxetine ka was solved to Tmax 6 h with Sharma 2000's CL/V and kept when CL/F
        # became Zhong 2026's (docs/validation.md): Tmax 6.7 h
        else 0.15
        if cid == "dlx_tmax_label"
        else 0.02
    )
    assert abs(r.ratio - 1) <= tol, f"{cid}: ratio {r.ratio:.3f}"


def test_acceptance_summary_reported():
    stats = summary_stats(run())
    assert stats["n"] == len(VALIDATION)
    # the documented figures (docs/validation.md), GMFE < 1.5
    assert stats["fraction_within_2fold"] == pytest.approx(1 - len(KNOWN_MISSES) / len(VALIDATION))
    assert stats["gmfe"] < 1.5
    # issue 20 item 8: >= 90 % of all validation rows within 2-fold
    assert stats["fraction_within_2fold"] >= 0.9


def test_independent_rows_meet_the_acceptance():
    """Issue 20 item 8: >= 25 validation rows independent of the parameters' sources,
    >= 90 % of them within 2-fold (figures in docs/validation.md)."""
    stats = summary_stats(run())
    assert stats["n_independent"] >= 25
    assert stats["fraction_within_2fold_independent"] >= 0.9


def test_independence_is_computed_from_source_keys():
    comps = comparisons()
    # a source named only in a parameter's derived_from still makes the row dependent
    assert "droracle_499034" in parameter_sources("venlafaxine")
    assert independence(comps["ven_css_150"])[0] is False
    # a row whose source no parameter uses is independent, with nothing shared
    assert independence(comps["ami_cl_schulz_young"]) == (True, (), "automatic")
    for c in comps.values():
        ok, shared, basis = independence(c)
        if c.independent is None:
            # automatic: independent exactly when nothing is shared
            assert ok == (not shared), c.id
            assert basis == "automatic"
        else:
            assert ok is c.independent and basis.startswith("manual: "), c.id
            assert c.independence_note.strip(), c.id


def test_manual_independence_needs_a_note():
    from pydantic import ValidationError

    from neurodose.pk.validation import Comparison

    row = dict(comparisons()["gbp_v_label"].model_dump())
    row["independence_note"] = " "
    with pytest.raises(ValidationError, match="independence_note"):
        Comparison.model_validate(row)


def test_stored_cyp2d6_share_is_the_calibrated_value():
    share, rms = calibrate_ami_cyp2d6_share()
    spec = get_pkmodel("amitriptyline")
    stored = next(
        p.fraction for p in spec.pathways if p.parameter == "CL_other" and p.enzyme == "CYP2D6"
    )
    assert stored.calibrated
    assert stored.value == pytest.approx(share, abs=1e-3)
    assert rms < 0.1
