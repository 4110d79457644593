"""Checks of the PD model against published data that were NOT used for calibration.

The training data are listed in docs/model.md section 6; everything here is outside it (the
"checks" table of docs/claims.md). Tolerances are the published 95 % CI where one exists,
otherwise stated per test. Known contradictions are marked xfail with the reason, so a fix
shows up as an XPASS.
"""

from __future__ import annotations

from typing import Any

import pytest

from neurodose.trial.design import arm_table as _arm
from neurodose.trial.design import parse_design
from neurodose.trial.run import run_trial

N = 2000


@pytest.fixture(scope="module")
def trial() -> dict[str, Any]:
    arms = [
        _arm("placebo", "placebo", []),
        _arm("gabapentin", "gabapentin", [(1, 300, 8), (8, 600, 8)]),
        _arm("ami25", "amitriptyline", [(1, 25, 24)]),
        _arm("ami75", "amitriptyline", [(1, 75, 24)]),
        _arm("pregabalin", "pregabalin", [(1, 150, 12)]),
    ]
    d = parse_design(
        {
            "name": "pd-validation",
            "weeks": 12,
            "condition": "diabetic_neuropathy",
            "n_per_arm": N,
            "seed": 31337,
            "arms": arms,
        }
    )
    return run_trial(d).to_dict()


@pytest.mark.validation
def test_gabapentin_nnt_within_finnerup_ci(trial: dict[str, Any]) -> None:
    # Finnerup 2015 (T4): gabapentin NNT 6.3 (5.0-8.3); 1800 mg/day after a week at 900
    nnt = trial["comparisons"]["gabapentin_vs_placebo"]["nnt_50"]
    assert 5.0 <= nnt <= 8.3


@pytest.mark.validation
@pytest.mark.xfail(
    reason="issue 20 item 6: alpha2delta AE plateau and gabapentin's own drive factor bring "
    "somnolence/dizziness to Straube 2008's gabapentin rates, but AE withdrawal stays ~2x too "
    "high (NNH ~9 vs Finnerup 25.6 (15.3-78.6)); docs/validation.md",
    strict=True,
)
def test_gabapentin_nnh_within_finnerup_ci(trial: dict[str, Any]) -> None:
    nnh = trial["comparisons"]["gabapentin_vs_placebo"]["nnh_withdrawal"]
    assert 15.3 <= nnh <= 78.6


@pytest.mark.validation
def test_mcquay_side_effects_rise_with_amitriptyline_dose(trial: dict[str, Any]) -> None:
    # McQuay 1993: dry mouth and drowsiness rose from 25 to 75 mg; 75 mg beat 25 mg
    a25, a75 = trial["arms"]["ami25"], trial["arms"]["ami75"]
    for effect in ("dry_mouth", "drowsiness"):
        assert a75["adverse_events"][effect] > a25["adverse_events"][effect]
    assert a75["responders_50"] > a25["responders_50"]


@pytest.mark.validation
def test_nice_cg96_amitriptyline_sedation(trial: dict[str, Any]) -> None:
    # NICE CG96 GRADE table 36: sedation 59 % (69/117) on amitriptyline in PDN (dose range of
    # the trial not in the evidence). Tolerance: the binomial 95 % CI of 69/117 (50-68 %)
    # widened by 10 points for the unknown dose; rests on the low-trust H1 affinity.
    drowsy = trial["arms"]["ami75"]["adverse_events"]["drowsiness"]
    assert 0.40 <= drowsy <= 0.78


@pytest.mark.validation
@pytest.mark.xfail(
    reason="issue 20 item 6: oedema and weight-gain gains fitted to the label's DPN table "
    "(300/600 mg); at 300 mg/day the model gives about 6 % / 2 % vs Satoh 2011 13 % / 11 % "
    "(Japanese, 300 and 600 mg arms; the label's 300 mg: 9 % / 4 %); docs/validation.md",
    strict=True,
)
def test_satoh_pregabalin_oedema_and_weight_gain(trial: dict[str, Any]) -> None:
    ae = trial["arms"]["pregabalin"]["adverse_events"]
    assert ae["oedema"] >= 0.13 / 2 and ae["weight_gain"] >= 0.11 / 2
