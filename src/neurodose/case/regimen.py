"""Dose events and regimens (NONMEM-style records with friendly constructors).

Times are hours from the start of the simulation (``t = 0``), amounts mg.
A :class:`DoseEvent` is one NONMEM dose record (``AMT, TIME, II, ADDL, SS``);
a :class:`Regimen` is an immutable, time-ordered tuple of them.

Examples
--------
>>> r = Regimen.oral("25 mg", every="24 h", days=3)
>>> r.expand().times.tolist()
[0.0, 24.0, 48.0]
>>> steps = Regimen.steps([
...     {"start_day": 0, "dose_mg": 10, "every_h": 24},
...     {"start_day": 7, "dose_mg": 20, "every_h": 24},
... ], days=14)
>>> steps.expand().amounts.tolist()[5:9]
[10.0, 10.0, 20.0, 20.0]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from neurodose.errors import RegimenError
from neurodose.units import parse_quantity

__all__ = ["DoseEvent", "ExpandedDoses", "Regimen", "TitrationStep"]

Route = Literal["oral", "iv"]
_ROUTES = ("oral", "iv")


def _finite(field_name: str, value: float, allowed: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise RegimenError(field_name, value, allowed) from None
    if not math.isfinite(v):
        raise RegimenError(field_name, value, allowed)
    return v


def _mass(value: str | float, field_name: str) -> float:
    if isinstance(value, str):
        v = parse_quantity(value, "mass", field=field_name)
    else:
        v = _finite(field_name, value, "a positive dose in mg")
    if not v > 0 or not math.isfinite(v):
        raise RegimenError(field_name, value, "a positive dose in mg (e.g. '25 mg')")
    return v


def _hours(value: str | float, field_name: str, *, positive: bool = True) -> float:
    if isinstance(value, str):
        v = parse_quantity(value, "time", field=field_name)
    else:
        v = _finite(field_name, value, "a time in hours")
    if not math.isfinite(v) or (v <= 0 if positive else v < 0):
        allowed = "a positive time (e.g. '24 h')" if positive else "a time >= 0 h"
        raise RegimenError(field_name, value, allowed)
    return v


@dataclass(frozen=True)
class DoseEvent:
    """One NONMEM-style dose record.

    Parameters
    ----------
    amt : float
        Amount in mg (> 0).
    time : float
        Time of the (first) dose in h (>= 0).
    ii : float
        Interdose interval in h for ``addl`` and ``ss`` (> 0 when either is used).
    addl : int
        Additional doses after the first, every ``ii`` h.
    ss : {0, 1, 2}
        0: no steady state; 1: the system is at steady state for ``amt`` every
        ``ii`` at ``time`` (earlier doses are forgotten); 2: steady state added to
        the current state.
    route : {"oral", "iv"}
        Oral doses enter the depot (absorption, lag, bioavailability); ``iv`` is a
        bolus into the central compartment.
    cmt : int
        NONMEM compartment number (1 depot, 2 central); informational, set by route.
    lag : float or None
        Lag time in h overriding the model's lag (None: use the model's).

    Examples
    --------
    >>> DoseEvent(amt=100, time=0, ii=24, addl=27).n_doses
    28
    >>> DoseEvent(amt=0, time=0)
    Traceback (most recent call last):
    ...
    neurodose.errors.RegimenError: amt: 0 is not allowed; expected a positive dose in mg
    """

    amt: float
    time: float = 0.0
    ii: float = 0.0
    addl: int = 0
    ss: int = 0
    route: Route = "oral"
    cmt: int = 1
    lag: float | None = None

    def __post_init__(self) -> None:
        amt = _finite("amt", self.amt, "a positive dose in mg")
        if not amt > 0:
            raise RegimenError("amt", self.amt, "a positive dose in mg")
        time = _finite("time", self.time, "a time >= 0 h")
        if time < 0:
            raise RegimenError("time", self.time, "a time >= 0 h")
        ii = _finite("ii", self.ii, "an interval >= 0 h")
        if ii < 0:
            raise RegimenError("ii", self.ii, "an interval >= 0 h")
        if isinstance(self.addl, bool) or int(self.addl) != self.addl or self.addl < 0:
            raise RegimenError("addl", self.addl, "a whole number >= 0")
        if self.ss not in (0, 1, 2):
            raise RegimenError("ss", self.ss, "0, 1 or 2")
        if (self.addl > 0 or self.ss) and not ii > 0:
            raise RegimenError("ii", self.ii, "an interval > 0 h when addl or ss is used")
        if self.route not in _ROUTES:
            raise RegimenError("route", self.route, f"one of {_ROUTES}")
        if self.lag is not None:
            lag = _finite("lag", self.lag, "a lag time >= 0 h")
            if lag < 0:
                raise RegimenError("lag", self.lag, "a lag time >= 0 h")
            object.__setattr__(self, "lag", lag)
        object.__setattr__(self, "amt", amt)
        object.__setattr__(self, "time", time)
        object.__setattr__(self, "ii", ii)
        object.__setattr__(self, "addl", int(self.addl))
        object.__setattr__(self, "cmt", 2 if self.route == "iv" else int(self.cmt))

    @property
    def n_doses(self) -> int:
        """Number of doses this record stands for (1 + addl)."""
        return 1 + self.addl

    @property
    def end(self) -> float:
        """Time of the last dose in h."""
        return self.time + self.addl * self.ii


@dataclass(frozen=True)
class ExpandedDoses:
    """Individual doses, sorted by time: arrays of equal length.

    ``ss`` marks doses at which a steady state (1: reset, 2: add) of ``amounts``
    every ``ii`` is imposed; ``iv`` marks bolus doses into the central compartment.
    """

    times: NDArray[np.float64]
    amounts: NDArray[np.float64]
    ii: NDArray[np.float64]
    ss: NDArray[np.int64]
    iv: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.times.size)

    @classmethod
    def empty(cls) -> ExpandedDoses:
        """No doses (e.g. a history cut before its first dose).

        >>> len(ExpandedDoses.empty())
        0
        """
        return cls(
            times=np.zeros(0),
            amounts=np.zeros(0),
            ii=np.zeros(0),
            ss=np.zeros(0, dtype=np.int64),
            iv=np.zeros(0, dtype=np.bool_),
        )

    @property
    def first_h(self) -> float:
        """Time of the first dose in h (0 when there are none)."""
        return float(self.times[0]) if self.times.size else 0.0

    @property
    def last_h(self) -> float:
        """Time of the last dose in h (0 when there are none)."""
        return float(self.times[-1]) if self.times.size else 0.0

    def until(self, t_h: float) -> ExpandedDoses:
        """The doses given strictly before ``t_h``.

        >>> Regimen.oral("25 mg", days=5).expand().until(48.0).times.tolist()
        [0.0, 24.0]
        """
        keep = self.times < t_h
        return ExpandedDoses(
            times=self.times[keep],
            amounts=self.amounts[keep],
            ii=self.ii[keep],
            ss=self.ss[keep],
            iv=self.iv[keep],
        )

    def then(self, other: ExpandedDoses) -> ExpandedDoses:
        """These doses followed by ``other`` (times are absolute), sorted by time.

        >>> a = Regimen.oral("25 mg", days=2).expand()
        >>> b = Regimen.oral("50 mg", days=1, start=48).expand()
        >>> a.then(b).amounts.tolist()
        [25.0, 25.0, 50.0]
        """
        times = np.concatenate([self.times, other.times])
        order = np.argsort(times, kind="stable")
        return ExpandedDoses(
            times=times[order],
            amounts=np.concatenate([self.amounts, other.amounts])[order],
            ii=np.concatenate([self.ii, other.ii])[order],
            ss=np.concatenate([self.ss, other.ss])[order],
            iv=np.concatenate([self.iv, other.iv])[order],
        )


@dataclass(frozen=True)
class TitrationStep:
    """One titration step: ``dose_mg`` every ``every_h`` from ``start_day`` until the
    next step starts (or ``end_day``)."""

    start_day: float
    dose_mg: float
    every_h: float = 24.0
    end_day: float | None = None
    times_per_day: int | None = None


@dataclass(frozen=True)
class Regimen:
    """An immutable, time-ordered set of dose events.

    Build one with :meth:`oral`, :meth:`steps`, :meth:`from_events`,
    :meth:`from_mapping` or :func:`neurodose.case.nonmem.read_csv`.
    """

    events: tuple[DoseEvent, ...]
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.events:
            raise RegimenError("events", [], "at least one dose")
        evs = tuple(sorted(self.events, key=lambda e: e.time))
        object.__setattr__(self, "events", evs)

    # ---- constructors -------------------------------------------------
    @classmethod
    def from_events(cls, events: Iterable[DoseEvent], description: str = "") -> Regimen:
        """A regimen from explicit :class:`DoseEvent` records."""
        return cls(tuple(events), description)

    @classmethod
    def oral(
        cls,
        dose: str | float,
        every: str | float = "24 h",
        *,
        doses: int | None = None,
        days: float | None = None,
        start: str | float = 0.0,
        clock: str | None = None,
        per_day: int | None = None,
        ss: bool = False,
        lag: float | None = None,
    ) -> Regimen:
        """Repeated oral doses.

        Parameters
        ----------
        dose : str or float
            Each dose, e.g. ``"25 mg"`` (a bare number is mg).
        every : str or float
            Interval, e.g. ``"24 h"`` or ``"12 h"`` (a bare number is h).
        doses : int, optional
            Number of doses. Give ``doses`` or ``days`` (default: one dose).
        days : float, optional
            Duration in days: doses at ``start + k*every`` for ``k*every < days*24``.
        start : str or float
            Time of the first dose in h (e.g. ``"2 h"``).
        clock : str, optional
            Clock time of the first dose, e.g. ``"22:00"`` for night-time dosing; the
            simulation clock starts at 00:00 of day 0, so ``"22:00"`` means ``t=22 h``.
            Mutually exclusive with a non-zero ``start``.
        per_day : int, optional
            Divided doses: ``dose`` is the *daily* dose split into ``per_day`` equal
            doses every ``24/per_day`` h (``every`` is then ignored).
        ss : bool
            Start at steady state (NONMEM SS=1 on the first dose).
        lag : float, optional
            Absorption lag in h overriding the model's.

        Examples
        --------
        >>> Regimen.oral("75 mg", per_day=3, days=1).expand().amounts.tolist()
        [25.0, 25.0, 25.0]
        >>> Regimen.oral("10 mg", clock="22:00", days=2).expand().times.tolist()
        [22.0, 46.0]
        """
        amt = _mass(dose, "dose")
        if per_day is not None:
            if isinstance(per_day, bool) or int(per_day) != per_day or per_day < 1:
                raise RegimenError("per_day", per_day, "a whole number >= 1")
            ii = 24.0 / int(per_day)
            amt = amt / int(per_day)
        else:
            ii = _hours(every, "every")
        t0 = _hours(start, "start", positive=False)
        if clock is not None:
            if t0 != 0:
                raise RegimenError("clock", clock, "either clock or start, not both")
            t0 = _clock_hours(clock)
        if doses is not None and days is not None:
            raise RegimenError("doses", doses, "either doses or days, not both")
        if doses is not None:
            if isinstance(doses, bool) or int(doses) != doses or doses < 1:
                raise RegimenError("doses", doses, "a whole number >= 1")
            n = int(doses)
        elif days is not None:
            d = _finite("days", days, "a positive number of days")
            if not d > 0:
                raise RegimenError("days", days, "a positive number of days")
            n = max(1, math.ceil(round(d * 24.0 / ii, 9)))
        else:
            n = 1
        ev = DoseEvent(
            amt=amt,
            time=t0,
            ii=ii if (n > 1 or ss) else 0.0,
            addl=n - 1,
            ss=1 if ss else 0,
            lag=lag,
        )
        desc = f"{amt:g} mg every {ii:g} h x {n}"
        return cls((ev,), desc)

    @classmethod
    def steps(
        cls,
        steps: Sequence[Mapping[str, Any] | TitrationStep],
        *,
        days: float | None = None,
        clock: str | None = None,
    ) -> Regimen:
        """Titration: each step holds until the next starts.

        Parameters
        ----------
        steps : sequence of mappings or :class:`TitrationStep`
            Keys ``start_day`` (day 0 = first day), ``dose_mg`` (each dose),
            ``every_h`` (default 24) or ``times_per_day`` (divided doses; then
            ``dose_mg`` is the daily dose), optional ``end_day`` (the last step only
            may leave it out when ``days`` is given).
        days : float, optional
            Total duration in days; the last step runs until then.
        clock : str, optional
            Clock time of the first dose of each step (e.g. ``"22:00"``).

        Raises
        ------
        RegimenError
            Overlapping steps (a step's ``end_day`` after the next ``start_day``),
            repeated start days, zero/negative doses or intervals, or a last step
            with no end.
        """
        parsed = [_step(s, i) for i, s in enumerate(steps)]
        if not parsed:
            raise RegimenError("steps", list(steps), "at least one titration step")
        parsed.sort(key=lambda s: s.start_day)
        offset = _clock_hours(clock) if clock is not None else 0.0
        events: list[DoseEvent] = []
        for i, st in enumerate(parsed):
            nxt = parsed[i + 1].start_day if i + 1 < len(parsed) else None
            if nxt is not None and nxt == st.start_day:
                raise RegimenError(
                    f"steps[{i + 1}].start_day", nxt, "a start day different from the previous step"
                )
            end = st.end_day
            if end is not None and nxt is not None and end > nxt:
                raise RegimenError(
                    f"steps[{i}].end_day",
                    end,
                    f"<= the next step's start_day {nxt:g} (steps must not overlap)",
                )
            if end is None:
                end = nxt if nxt is not None else days
            if end is None:
                raise RegimenError(
                    f"steps[{i}].end_day", None, "an end_day for the last step, or days="
                )
            if end <= st.start_day:
                raise RegimenError(f"steps[{i}].end_day", end, f"> start_day {st.start_day:g}")
            if st.times_per_day:
                ii = 24.0 / st.times_per_day
                amt = st.dose_mg / st.times_per_day
            else:
                ii, amt = st.every_h, st.dose_mg
            t0 = st.start_day * 24.0 + offset
            n = max(1, math.ceil(round((end - st.start_day) * 24.0 / ii, 9)))
            events.append(DoseEvent(amt=amt, time=t0, ii=ii if n > 1 else 0.0, addl=n - 1))
        desc = "; ".join(
            f"day {s.start_day:g}: {s.dose_mg:g} mg"
            + (f" in {s.times_per_day} doses/day" if s.times_per_day else f" every {s.every_h:g} h")
            for s in parsed
        )
        return cls(tuple(events), desc)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Regimen:
        """A regimen from a parsed TOML/JSON mapping.

        Either ``{"steps": [...], "days": D, "clock": "22:00"}`` (see :meth:`steps`),
        ``{"dose": "25 mg", "every": "24 h", "days": 28}`` (see :meth:`oral`) or
        ``{"events": [{"amt": .., "time": .., "ii": .., "addl": ..}, ...]}``.
        """
        if not isinstance(data, Mapping):
            raise RegimenError("regimen", type(data).__name__, "a table/object")
        if "steps" in data:
            extra = set(data) - {"steps", "days", "clock"}
            if extra:
                raise RegimenError(
                    "regimen", sorted(extra), "keys 'steps', 'days', 'clock' with steps"
                )
            return cls.steps(data["steps"], days=data.get("days"), clock=data.get("clock"))
        if "events" in data:
            evs = []
            for i, e in enumerate(data["events"]):
                try:
                    evs.append(DoseEvent(**e))
                except TypeError as exc:
                    raise RegimenError(f"events[{i}]", e, f"DoseEvent fields ({exc})") from None
            return cls.from_events(evs)
        if "dose" in data:
            keys = ("every", "doses", "days", "start", "clock", "per_day")
            kw = {k: data[k] for k in keys if k in data}
            extra = set(data) - {"dose", *kw}
            if extra:
                raise RegimenError("regimen", sorted(extra), "known keys of Regimen.oral")
            return cls.oral(data["dose"], **kw)
        raise RegimenError("regimen", sorted(data), "a 'steps', 'events' or 'dose' key")

    # ---- views -----------------------------------------------------------
    def expand(self) -> ExpandedDoses:
        """All individual doses (ADDL expanded), sorted by time."""
        t: list[NDArray[np.float64]] = []
        a: list[NDArray[np.float64]] = []
        ii: list[NDArray[np.float64]] = []
        ss: list[NDArray[np.int64]] = []
        iv: list[NDArray[np.bool_]] = []
        for e in self.events:
            k = np.arange(e.n_doses, dtype=np.float64)
            t.append(e.time + k * e.ii)
            a.append(np.full(e.n_doses, e.amt))
            ii.append(np.full(e.n_doses, e.ii))
            s = np.zeros(e.n_doses, dtype=np.int64)
            s[0] = e.ss
            ss.append(s)
            iv.append(np.full(e.n_doses, e.route == "iv"))
        times = np.concatenate(t)
        order = np.argsort(times, kind="stable")
        return ExpandedDoses(
            times=times[order],
            amounts=np.concatenate(a)[order],
            ii=np.concatenate(ii)[order],
            ss=np.concatenate(ss)[order],
            iv=np.concatenate(iv)[order],
        )

    @property
    def last_dose_time(self) -> float:
        """Time of the last dose in h."""
        return max(e.end for e in self.events)

    @property
    def lag_override(self) -> float | None:
        """The lag set on the events (all must agree), or None."""
        lags = {e.lag for e in self.events}
        if len(lags) > 1:
            raise RegimenError("lag", sorted(x for x in lags if x is not None), "one lag")
        return next(iter(lags))

    def scaled(self, factor: float) -> Regimen:
        """The same regimen with every amount multiplied by ``factor`` (> 0)."""
        f = _finite("factor", factor, "a positive factor")
        if not f > 0:
            raise RegimenError("factor", factor, "a positive factor")
        return Regimen(tuple(replace(e, amt=e.amt * f) for e in self.events), self.description)

    def daily_dose_at(self, t_h: float) -> float:
        """Sum of doses in the 24 h window starting at ``t_h`` (mg)."""
        d = self.expand()
        m = (d.times >= t_h) & (d.times < t_h + 24.0)
        return float(d.amounts[m].sum())

    def max_daily_dose(self) -> float:
        """The largest total dose in any 24 h window (mg), e.g. for the ``--allow-above-max`` check.

        >>> Regimen.oral("50 mg", every="12 h", days=3).max_daily_dose()
        100.0
        """
        d = self.expand()
        if len(d) == 0:
            return 0.0
        cum = np.concatenate([[0.0], np.cumsum(d.amounts)])
        end = np.searchsorted(d.times, d.times + 24.0 - 1e-9, side="left")
        return float(np.max(cum[end] - cum[: len(d.times)]))

    def __repr__(self) -> str:
        body = self.description or f"{len(self.events)} events"
        return f"Regimen({body})"


def _clock_hours(clock: str) -> float:
    try:
        hh, mm = str(clock).split(":")
        h, m = int(hh), int(mm)
    except ValueError:
        raise RegimenError("clock", clock, "a clock time 'HH:MM'") from None
    if not (0 <= h < 24 and 0 <= m < 60):
        raise RegimenError("clock", clock, "a clock time between 00:00 and 23:59")
    return h + m / 60.0


def _step(s: Mapping[str, Any] | TitrationStep, i: int) -> TitrationStep:
    if isinstance(s, TitrationStep):
        d: dict[str, Any] = {
            "start_day": s.start_day,
            "dose_mg": s.dose_mg,
            "every_h": s.every_h,
            "end_day": s.end_day,
            "times_per_day": s.times_per_day,
        }
    elif isinstance(s, Mapping):
        d = dict(s)
    else:
        raise RegimenError(f"steps[{i}]", s, "a mapping with start_day, dose_mg, every_h")
    allowed = {"start_day", "dose_mg", "every_h", "end_day", "times_per_day", "dose", "every"}
    extra = set(d) - allowed
    if extra:
        raise RegimenError(f"steps[{i}]", sorted(extra), f"keys from {sorted(allowed)}")
    if "start_day" not in d:
        raise RegimenError(f"steps[{i}].start_day", None, "a start day >= 0")
    start = _finite(f"steps[{i}].start_day", d["start_day"], "a start day >= 0")
    if start < 0:
        raise RegimenError(f"steps[{i}].start_day", d["start_day"], "a start day >= 0")
    if "dose_mg" in d:
        dose = _mass(d["dose_mg"], f"steps[{i}].dose_mg")
    elif "dose" in d:
        dose = _mass(d["dose"], f"steps[{i}].dose")
    else:
        raise RegimenError(f"steps[{i}].dose_mg", None, "a positive dose in mg")
    every = d.get("every_h", d.get("every", 24.0))
    every_h = _hours(every, f"steps[{i}].every_h")
    end = d.get("end_day")
    if end is not None:
        end = _finite(f"steps[{i}].end_day", end, "an end day > start_day")
    tpd = d.get("times_per_day")
    if tpd is not None and (isinstance(tpd, bool) or int(tpd) != tpd or tpd < 1):
        raise RegimenError(f"steps[{i}].times_per_day", tpd, "a whole number >= 1")
    return TitrationStep(start, dose, every_h, end, None if tpd is None else int(tpd))
