"""Adverse effects, AE withdrawal and sleep against cited data NOT used for calibration
(issue 20 item 6; training data: calibration/ae_sleep_stage.py TRAINING; the table:
docs/validation.md "Adverse effects and sleep (issue 20 item 6)").

Bounds are the published 95 % CI where one exists, otherwise stated per test. A known miss
is an xfail with its reason, so a fix shows up as an XPASS.
"""

from __future__ import annotations

from typing import Any

import pytest

from neurodose.trial.design import arm_table as _arm
from neurodose.trial.design import parse_design
from neurodose.trial.run import run_trial

N = 3000


@pytest.fixture(scope="module")
def trial() -> dict[str, Any]:
    arms = [
        _arm("placebo", "placebo", []),
        _arm("pgb150", "pregabalin", [(1, 75, 12)]),
        _arm("pgb600", "pregabalin", [(1, 300, 12)]),
        _arm("gbp1800", "gabapentin", [(1, 300, 8), (8, 600, 8)]),
        _arm("gbp3600", "gabapentin", [(1, 300, 8), (8, 600, 8), (15, 1200, 8)]),
        _arm("ami50", "amitriptyline", [(1, 10, 24), (8, 25, 24), (15, 50, 24)]),
    ]
    d = parse_design(
        {
            "name": "ae-sleep-validation",
            "weeks": 12,
            "condition": "diabetic_neuropathy",
            "n_per_arm": N,
            "seed": 4711,
            "arms": arms,
        }
    )
    return run_trial(d).to_dict()


def _excess(t: dict[str, Any], arm: str, ae: str) -> float:
    a, p = t["arms"][arm], t["arms"]["placebo"]
    return float(a["adverse_events"][ae] - p["adverse_events"][ae])


def _wd_excess(t: dict[str, Any], arm: str) -> float:
    return float(t["arms"][arm]["withdrawal_ae"] - t["arms"]["placebo"]["withdrawal_ae"])


@pytest.mark.validation
def test_gabapentin_ae_withdrawal_fell_from_round_3(trial: dict[str, Any]) -> None:
    # round 3 (pregabalin's alpha2delta gains at gabapentin's ~3x occupancy, no plateau): an
    # excess of 16.6 % at 1800 mg/day (NNH 6; calibration/ae_sleep_measure.py at 9002205).
    # The plateau and gabapentin's own factor must keep it well below that.
    assert _wd_excess(trial, "gbp1800") < 0.135


@pytest.mark.validation
@pytest.mark.xfail(
    reason="gabapentin 1800 mg/day AE withdrawal excess ~11 % (NNH ~9) vs Straube 2008 Table 3 "
    "10 % vs 5 % and Finnerup NNH 25.6 (15.3-78.6): with somnolence and dizziness at the cited "
    "rates, gabapentin patients stop half as often as pregabalin 600 mg patients with the same "
    "rates; the model's withdrawal hazard has no drug-specific term (docs/validation.md)",
    strict=True,
)
def test_gabapentin_ae_withdrawal_within_straube_and_finnerup(trial: dict[str, Any]) -> None:
    # Straube 2008 Table 3, maximum 1800 mg/day: 10 % vs 5 % (NNH 21, CI 10 to -810);
    # Finnerup 2015 class NNH 25.6 (15.3-78.6), i.e. an excess of 1.3-6.5 %.
    ex = _wd_excess(trial, "gbp1800")
    assert -0.002 <= ex <= 0.10
    assert 1 / 78.6 - 0.01 <= ex <= 1 / 15.3


@pytest.mark.validation
def test_gabapentin_3600_rates_within_straube(trial: dict[str, Any]) -> None:
    # Straube 2008 Table 3, maximum 3600 mg/day: somnolence 25 % vs 5 %, dizziness 24 % vs 5 %
    # (bounds +-8 points, about the binomial 95 % half-width at n = 494 pooled)
    assert 0.12 - 0.01 <= _excess(trial, "gbp3600", "drowsiness") <= 0.28
    assert 0.11 <= _excess(trial, "gbp3600", "dizziness") <= 0.27


@pytest.mark.validation
def test_pregabalin_150_withdrawal_is_small(trial: dict[str, Any]) -> None:
    # Straube 2008 Table 2, 150 mg/day: AE withdrawal 8 % vs 8 % (NNH 960, CI 20 to -21)
    assert -0.04 <= _wd_excess(trial, "pgb150") <= 0.05


@pytest.mark.validation
def test_pregabalin_ae_withdrawal_rises_with_dose(trial: dict[str, Any]) -> None:
    # Straube 2008 Table 2: 150 mg 0 %, 600 mg 12 % excess; the gradient, not only the ends
    assert _wd_excess(trial, "pgb600") > _wd_excess(trial, "pgb150") + 0.05


@pytest.mark.validation
def test_amitriptyline_weight_gain_is_not_computable_not_a_default(trial: dict[str, Any]) -> None:
    # no placebo-controlled incidence of TCA weight gain was found: the H1 gain is unknown
    arm = trial["arms"]["ami50"]
    assert arm["adverse_events"]["weight_gain"] is None
    assert "weight_gain" in arm["adverse_events_not_computable"]
    assert "H1 gain" in arm["adverse_events_not_computable"]["weight_gain"]
    # pregabalin's weight gain stays computed (label-fitted alpha2delta gain)
    assert trial["arms"]["pgb600"]["adverse_events"]["weight_gain"] is not None
