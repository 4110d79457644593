"""Diary signals: side effects rising rather than fading; symptoms after a
missed dose or a stop that look like withdrawal.

These are *screening heuristics* over the patient's own diary, not clinical
rules from a source. Their thresholds are parameters of the functions (shown
in every finding and in ``docs/mipd.md``) so that a clinician sees what was
used. The withdrawal time window follows NICE NG222 (symptoms "usually start
within a few days"), the only cited element (source key ``nice_ng222``).

Examples
--------
>>> import numpy as np
>>> from neurodose.mipd.diary import Diary
>>> rows = [{"date": f"2026-03-{d:02d}", "pain": "6", "side_effects": str(min(10, d // 2))}
...         for d in range(1, 22)]
>>> side_effect_trend(Diary.from_rows(rows)).direction
'rising'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from neurodose.findings import Finding
from neurodose.mipd.diary import Diary

__all__ = ["SideEffectTrend", "side_effect_trend", "withdrawal_signals"]

#: source of the withdrawal time window (symptoms start within a few days)
WITHDRAWAL_SOURCE = "nice_ng222"


@dataclass(frozen=True)
class SideEffectTrend:
    """Linear trend of the side-effect score since ``from_day``."""

    direction: Literal["rising", "fading", "stable", "not enough data"]
    slope_per_week: float
    ci90: tuple[float, float]
    from_day: int
    n: int

    def to_json(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "slope_points_per_week": round(self.slope_per_week, 3),
            "ci90": [round(self.ci90[0], 3), round(self.ci90[1], 3)],
            "from_day": self.from_day,
            "n_days": self.n,
        }


def side_effect_trend(
    diary: Diary, from_day: int | None = None, min_days: int = 7, min_change: float = 1.0
) -> SideEffectTrend:
    """Trend of the side-effect score (0-10) since ``from_day``.

    ``from_day`` defaults to the last dose change recorded in ``dose_mg`` (or
    the diary start). The trend is *rising* when the 90 % CI of the OLS slope
    lies above 0 and the fitted change over the window is at least
    ``min_change`` points, *fading* when it lies below 0 with the same change
    downwards, *stable* otherwise (heuristic thresholds, shown in the output).
    """
    if from_day is None:
        from_day = _last_dose_change(diary)
    d, x = diary.on_days("side_effects")
    keep = d >= from_day
    d, x = d[keep], x[keep]
    if d.size < min_days or np.ptp(d) == 0:
        return SideEffectTrend("not enough data", 0.0, (0.0, 0.0), from_day, int(d.size))
    if np.ptp(x) == 0:  # the same score every day: no trend (linregress would give NaN)
        return SideEffectTrend("stable", 0.0, (0.0, 0.0), from_day, int(d.size))
    res = stats.linregress(d.astype(float), x)
    t = float(stats.t.ppf(0.95, d.size - 2))
    lo, hi = res.slope - t * res.stderr, res.slope + t * res.stderr
    change = res.slope * float(np.ptp(d))
    if lo > 0 and change >= min_change:
        direction: Literal["rising", "fading", "stable", "not enough data"] = "rising"
    elif hi < 0 and -change >= min_change:
        direction = "fading"
    else:
        direction = "stable"
    return SideEffectTrend(
        direction, float(res.slope * 7), (float(lo * 7), float(hi * 7)), from_day, int(d.size)
    )


def _last_dose_change(diary: Diary) -> int:
    if not diary.has_dose_column:
        return 0
    d, dose = diary.on_days("dose_mg")
    taken = dose > 0
    d, dose = d[taken], dose[taken]
    if dose.size < 2:
        return 0
    change = np.nonzero(np.diff(dose) != 0)[0]
    return int(d[change[-1] + 1]) if change.size else 0


def withdrawal_signals(
    diary: Diary,
    stop_day: int | None = None,
    window_days: int = 4,
    baseline_days: int = 7,
    min_rise: float = 2.0,
) -> list[Finding]:
    """Symptoms within ``window_days`` after a missed dose or a stop.

    Events: days with ``dose_mg == 0`` after a day with a dose (missed dose or
    start of a stop), and ``stop_day`` if given. For each, the mean of the
    ``baseline_days`` recorded days before is compared with the maximum in the
    window for sleep interference, side effects and pain; a rise of at least
    ``min_rise`` points (and above baseline mean + 2 SD) in any of them is a
    finding. Heuristic thresholds; the window follows NICE NG222.
    """
    events: list[tuple[int, str]] = []
    if diary.has_dose_column:
        d, dose = diary.on_days("dose_mg")
        for i in range(1, d.size):
            if dose[i] == 0 and dose[i - 1] > 0:
                later = dose[i + 1 :]
                kind = "stop" if later.size == 0 or np.all(later == 0) else "missed dose"
                events.append((int(d[i]), kind))
    if stop_day is not None and all(e[0] != stop_day for e in events):
        events.append((int(stop_day), "stop"))
    out: list[Finding] = []
    for day, kind in sorted(events):
        rises: dict[str, dict[str, float]] = {}
        for name in ("sleep", "side_effects", "pain"):
            dd, xx = diary.on_days(name)
            base = xx[(dd < day) & (dd >= day - baseline_days)]
            win = xx[(dd >= day) & (dd <= day + window_days)]
            if base.size < 3 or win.size == 0:
                continue
            mean, sd = float(base.mean()), float(base.std(ddof=1))
            peak = float(win.max())
            if peak - mean >= min_rise and peak > mean + 2 * sd:
                rises[name] = {"baseline_mean": round(mean, 2), "peak": peak}
        if rises:
            what = ", ".join(k.replace("_", " ") for k in rises)
            out.append(
                Finding(
                    code="possible_withdrawal",
                    severity="monitor",
                    day=day,
                    message=(
                        f"{what} rose within {window_days} days after a {kind} (day {day}); "
                        "this pattern can be withdrawal (symptoms usually start within a few "
                        "days) rather than loss of effect, which builds over weeks"
                    ),
                    details={
                        "event": kind,
                        "rises": rises,
                        "thresholds": {
                            "min_rise_points": min_rise,
                            "window_days": window_days,
                            "baseline_days": baseline_days,
                            "heuristic": True,
                        },
                    },
                    sources=(WITHDRAWAL_SOURCE,),
                )
            )
    return out
