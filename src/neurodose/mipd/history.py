"""The doses actually taken: a planned regimen corrected by the diary.

The diary records, per day, the dose taken (``dose_mg``; 0 = missed). On a day with a
recorded dose the plan's doses of that day are replaced by the recorded one (taken at
the plan's clock time); days without a record keep the plan. Both the response fit
(:mod:`neurodose.mipd.response`) and TDM (:func:`neurodose.mipd.tdm.run_tdm`, via the
clinic's course) fit these doses, so a recorded missed dose lowers the predicted level.

>>> import datetime as dt
>>> from neurodose.case.regimen import Regimen
>>> from neurodose.mipd.diary import Diary
>>> reg = Regimen.oral("25 mg", every="24 h", days=5)
>>> d = Diary.from_rows([{"date": "2026-03-02", "pain": "6", "dose_mg": "0"}])
>>> taken, s = taken_doses(reg, d, dt.date(2026, 3, 1))
>>> len(taken.expand()), s.missed_days
(4, 1)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from neurodose.case.regimen import DoseEvent, ExpandedDoses, Regimen
from neurodose.mipd.diary import Diary
from neurodose.mipd.model import require_oral

__all__ = ["TakenSummary", "taken_doses", "taken_expanded"]


@dataclass(frozen=True)
class TakenSummary:
    """What the diary changed: days with a recorded dose, of them missed (0 mg) and
    different from the plan."""

    recorded_days: int = 0
    missed_days: int = 0
    changed_days: int = 0

    def note(self) -> str | None:
        if not self.recorded_days:
            return None
        return (
            f"doses from the diary: {self.recorded_days} day(s) recorded, {self.missed_days} "
            f"missed, {self.changed_days} different from the plan; the fit uses the doses "
            "actually taken"
        )


def taken_doses(
    regimen: Regimen, diary: Diary, first: dt.date
) -> tuple[Regimen | None, TakenSummary]:
    """The doses taken: ``regimen`` (day 0 = ``first``) with the diary's ``dose_mg`` where
    recorded; the regimen itself when the diary records no dose; None when every dose
    was missed."""
    h = require_oral(regimen.expand())
    if not diary.has_dose_column:
        return regimen, TakenSummary()
    times, amts = np.asarray(h.times, dtype=float), np.asarray(h.amounts, dtype=float)
    clock = float(times[0] % 24.0) if times.size else 21.0
    day_of = np.floor(times / 24.0).astype(int)
    off = (diary.start - first).days
    keep = np.ones(times.size, dtype=bool)
    extra_t: list[float] = []
    extra_a: list[float] = []
    n_rec = n_missed = n_changed = 0
    for d, dose in zip(*diary.on_days("dose_mg"), strict=True):
        day = int(d) + off
        if day < 0:
            continue
        sel = day_of == day
        n_rec += 1
        n_missed += int(dose <= 0)
        n_changed += int(not np.isclose(float(amts[sel].sum()), float(dose)))
        keep &= ~sel
        if dose > 0:
            extra_t.append(day * 24.0 + clock)
            extra_a.append(float(dose))
    t = np.concatenate([times[keep], extra_t])
    a = np.concatenate([amts[keep], extra_a])
    events = [DoseEvent(amt=float(x), time=float(y)) for y, x in zip(t, a, strict=True)]
    summary = TakenSummary(n_rec, n_missed, n_changed)
    return (Regimen.from_events(events) if events else None), summary


def taken_expanded(regimen: Regimen, diary: Diary, first: dt.date) -> ExpandedDoses:
    """:func:`taken_doses`, expanded (empty when every dose was missed)."""
    reg, _ = taken_doses(regimen, diary, first)
    return reg.expand() if reg is not None else ExpandedDoses.empty()
