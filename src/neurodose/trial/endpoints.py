"""Trial endpoints: responders (IMMPACT), NNT/NNH with 95 % CIs, additive arm summaries.

Responders follow IMMPACT (Dworkin 2008): >= 30 % (moderate) and >= 50 %
(substantial) fall from baseline on the 0-10 scale, at the end of the trial
(mean of the last week's daily scores), intention-to-treat with dropouts
imputed (BOCF by default: baseline carried forward, so a dropout is a
non-responder with zero change).

NNT = 1 / (p_active - p_placebo); its 95 % CI inverts the Wald CI of the
risk difference. When that CI includes 0 the NNT CI is unbounded on one side
(Altman 1998) and the upper limit is reported as ``None``.

>>> nnt(0.445, 0.257, 1000, 1000)[0]
5.3
>>> lo, hi = nnt(0.445, 0.257, 1000, 1000)[1]
>>> 4.0 < lo < 5.3 < hi < 7.5
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = ["ArmAccumulator", "nnt", "risk_difference_ci"]

_Z = 1.959963984540054


def risk_difference_ci(p1: float, p0: float, n1: int, n0: int) -> tuple[float, float, float]:
    """Risk difference ``p1 - p0`` with its 95 % Wald CI."""
    if n1 < 1 or n0 < 1:
        raise ValueError("both arms need n >= 1")
    rd = p1 - p0
    se = math.sqrt(max(p1 * (1 - p1), 0.0) / n1 + max(p0 * (1 - p0), 0.0) / n0)
    return rd, rd - _Z * se, rd + _Z * se


def nnt(
    p1: float, p0: float, n1: int, n0: int
) -> tuple[float | None, tuple[float | None, float | None]]:
    """Number needed to treat (or harm) for rates ``p1`` (active) vs ``p0`` (placebo).

    Returns ``(value, (lo, hi))`` rounded to 0.1; ``value`` is ``None`` when the
    rates are equal; a CI limit is ``None`` when unbounded. A negative NNT means
    the active arm has the *lower* rate.
    """
    rd, lo, hi = risk_difference_ci(p1, p0, n1, n0)
    if rd == 0:
        return None, (None, None)
    val = round(1.0 / rd, 1)
    if lo > 0 or hi < 0:  # CI excludes zero: bounded
        a, b = sorted((1.0 / lo, 1.0 / hi))
        return val, (round(a, 1), round(b, 1))
    # CI crosses zero: benefit side bounded by 1/hi (or harm side by 1/lo)
    bound = 1.0 / hi if rd > 0 else 1.0 / lo
    return val, (round(bound, 1) if rd > 0 else None, None if rd > 0 else round(bound, 1))


@dataclass
class ArmAccumulator:
    """Sums over patients; chunks combine by :meth:`merge` (order fixed by the runner)."""

    weeks: int
    ae_names: tuple[str, ...]
    targets: tuple[str, ...] = ()
    n: int = 0
    responders_30: int = 0
    responders_50: int = 0
    worse: int = 0
    drug_nonresponders: int = 0
    sum_change: float = 0.0
    sum_baseline: float = 0.0
    withdrawal_ae: int = 0
    withdrawal_other: int = 0
    discontinuation: int = 0
    any_ae: int = 0
    cardiac_alert: int = 0
    weekly_pain: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    weekly_sleep: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    weekly_relief_share: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    weekly_occupancy: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    weekly_ae_prevalence: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    ae_counts: dict[str, int] = field(default_factory=dict)
    #: per-subject outcomes (column -> array), kept only when asked (``per_subject=True``)
    subjects: dict[str, NDArray[np.float64]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        w = self.weeks + 1
        if self.weekly_pain.size == 0:
            self.weekly_pain = np.zeros(w)
            self.weekly_sleep = np.zeros(w)
        for k in self.ae_names:
            self.ae_counts.setdefault(k, 0)
            self.weekly_ae_prevalence.setdefault(k, np.zeros(w))
        for t in self.targets:
            self.weekly_occupancy.setdefault(t, np.zeros(w))

    def merge(self, other: ArmAccumulator) -> ArmAccumulator:
        """Add ``other`` into this accumulator (in place) and return it."""
        if other.weeks != self.weeks or other.ae_names != self.ae_names:
            raise ValueError("accumulators of different shapes")
        for k in (
            "n",
            "responders_30",
            "responders_50",
            "worse",
            "drug_nonresponders",
            "withdrawal_ae",
            "withdrawal_other",
            "discontinuation",
            "any_ae",
            "cardiac_alert",
        ):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        if self.subjects or other.subjects:
            cols = self.subjects.keys() | other.subjects.keys()
            self.subjects = {
                k: np.concatenate(
                    [self.subjects.get(k, np.zeros(0)), other.subjects.get(k, np.zeros(0))]
                )
                for k in sorted(cols)
            }
        self.sum_change += other.sum_change
        self.sum_baseline += other.sum_baseline
        self.weekly_pain = self.weekly_pain + other.weekly_pain
        self.weekly_sleep = self.weekly_sleep + other.weekly_sleep
        for k in self.ae_names:
            self.ae_counts[k] += other.ae_counts[k]
            self.weekly_ae_prevalence[k] = (
                self.weekly_ae_prevalence[k] + other.weekly_ae_prevalence[k]
            )
        for d_self, d_other in (
            (self.weekly_occupancy, other.weekly_occupancy),
            (self.weekly_relief_share, other.weekly_relief_share),
        ):
            for k, v in d_other.items():
                d_self[k] = d_self.get(k, np.zeros_like(v)) + v
        return self

    def rate(self, count: int) -> float:
        return count / self.n if self.n else float("nan")

    def summary(self) -> dict[str, object]:
        """JSON-ready per-arm summary (rates as fractions 0-1, pain in points)."""
        n = self.n
        r = lambda x: round(float(x), 4)  # noqa: E731
        return {
            "n": n,
            "responders_30": r(self.responders_30 / n),
            "responders_50": r(self.responders_50 / n),
            "mean_change": r(self.sum_change / n),
            "mean_baseline": r(self.sum_baseline / n),
            "weekly_mean_pain": [r(x / n) for x in self.weekly_pain],
            "weekly_mean_sleep_interference": [r(x / n) for x in self.weekly_sleep],
            "adverse_events": {k: r(v / n) for k, v in self.ae_counts.items()},
            "any_adverse_event": r(self.any_ae / n),
            "withdrawal_ae": r(self.withdrawal_ae / n),
            "withdrawal_other": r(self.withdrawal_other / n),
            "worse_at_end": r(self.worse / n),
            "drug_nonresponders": r(self.drug_nonresponders / n),
            "discontinuation_symptoms": r(self.discontinuation / n),
            "cardiac_alert": r(self.cardiac_alert / n),
            "weekly_ae_prevalence": {
                k: [r(x / n) for x in v] for k, v in self.weekly_ae_prevalence.items()
            },
            "weekly_mean_occupancy": {
                k: [r(x / n) for x in v] for k, v in self.weekly_occupancy.items()
            },
            "weekly_relief_share": {
                k: [r(x / n) for x in v] for k, v in self.weekly_relief_share.items()
            },
        }
