"""NNT/NNH with CIs and additive accumulators."""

from __future__ import annotations

import numpy as np
import pytest

from neurodose.trial.endpoints import ArmAccumulator, nnt, risk_difference_ci


def test_nnt_matches_hand_calculation() -> None:
    # Lunn 2014 SoF: 445/1000 vs 257/1000 -> NNT 1/0.188 = 5.3
    v, (lo, hi) = nnt(0.445, 0.257, 454, 454)
    assert v == pytest.approx(5.3)
    _rd, rlo, rhi = risk_difference_ci(0.445, 0.257, 454, 454)
    assert lo == pytest.approx(1 / rhi, abs=0.06) and hi == pytest.approx(1 / rlo, abs=0.06)


def test_nnt_unbounded_when_ci_crosses_zero() -> None:
    v, (lo, hi) = nnt(0.30, 0.28, 100, 100)
    assert v == pytest.approx(50.0) and lo is not None and hi is None
    assert nnt(0.3, 0.3, 10, 10) == (None, (None, None))


def test_accumulators_add() -> None:
    a = ArmAccumulator(weeks=2, ae_names=("nausea",))
    b = ArmAccumulator(weeks=2, ae_names=("nausea",))
    a.n, b.n = 10, 30
    a.responders_50, b.responders_50 = 5, 5
    a.weekly_pain = np.array([70.0, 60.0, 50.0])
    b.weekly_pain = np.array([210.0, 180.0, 150.0])
    a.sum_change, b.sum_change = -20.0, -60.0
    a.ae_counts["nausea"], b.ae_counts["nausea"] = 1, 3
    s = a.merge(b).summary()
    assert s["n"] == 40 and s["responders_50"] == 0.25
    assert s["weekly_mean_pain"] == [7.0, 6.0, 5.0] and s["mean_change"] == -2.0
    assert s["adverse_events"]["nausea"] == 0.1
