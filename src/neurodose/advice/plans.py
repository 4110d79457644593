"""Dated plans: titration, taper and switch schedules built from cited dose data.

Each plan is an immutable list of dated steps (dose per administration, interval,
time of day, the units to take from marketed strengths) plus review points and
notes, with the source keys it rests on. Export with :func:`neurodose.advice.ics.to_ics`.

* Titration: start, step, interval and maximum from the drug record
  (``doses.neuropathic_pain``), gaps filled from ``knowledge/plans.toml``; the
  maximum is lowered for renal function (gabapentinoid CrCl bands) and CYP2D6
  genotype (DPWG dose factor for TCAs); review points at ~2 weeks (tolerability)
  and 4-8 weeks (effect; response = >= 30 % pain reduction, IMMPACT).
* Taper (NICE NG222; Horowitz & Taylor 2019): each step a proportion of the
  previous dose (50 %, then 25 % at low doses), rounded to what marketed
  strengths can give (liquid forms where the record has one), to a last dose below
  the lowest tablet where a liquid allows, then stop.
* Switch: cross-taper by default; washout gaps where the evidence demands them
  (MAOI 14 days, 5 days after duloxetine, 5 weeks after fluoxetine, 1 day after
  moclobemide).

Examples
--------
>>> import datetime as dt
>>> p = titration_plan("amitriptyline", start_date=dt.date(2026, 1, 5))
>>> [(s.day, s.dose_mg, s.time_of_day) for s in p.steps][:3]
[(0, 10.0, 'night'), (7, 20.0, 'night'), (14, 30.0, 'night')]
>>> t = taper_plan("amitriptyline", 50, start_date=dt.date(2026, 1, 5))
>>> [s.daily_mg for s in t.steps]
[25.0, 10.0, 5.0, 0.0]
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from neurodose import citations
from neurodose.advice.data import (
    Strength,
    dose_guidance,
    review,
    schedule_info,
    strengths,
    switch_gap,
    taper_value,
)
from neurodose.case.patient import Medication, Patient
from neurodose.case.regimen import DoseEvent, Regimen
from neurodose.errors import InputError, RegimenError, ref
from neurodose.findings import Finding
from neurodose.knowledge import record, resolve_name
from neurodose.knowledge.pgx import dpwg_dose_factor, dpwg_tca_drugs
from neurodose.safety.engine import drug_tags, effective_phenotypes, renal_max_daily, screen

__all__ = [
    "Plan",
    "Review",
    "Step",
    "frequency_text",
    "join_course",
    "schedule_text",
    "switch_plan",
    "taper_plan",
    "times_of_day",
    "titration_plan",
    "units_for",
]

#: words for n administrations a day
_FREQUENCY = {1: "once a day", 2: "twice a day", 3: "three times a day", 4: "four times a day"}
_COUNT = {2: "two", 3: "three", 4: "four"}
#: a single time of day as a phrase after the frequency
_AT = {"night": "at night", "morning": "in the morning", "evening": "in the evening"}


def times_of_day(usual: str, usual_per_day: int, per_day: int) -> str:
    """When the ``per_day`` administrations of a step are taken: the drug's ``usual``
    times (from ``knowledge/plans.toml``) when the step keeps its usual number of doses
    a day (``usual_per_day``), else what that number means: one dose at night, two
    morning and night, more as ``'3 times a day'``. Every plan builder uses it, so a
    step's times never contradict its frequency.

    >>> times_of_day("morning and night", 2, 2), times_of_day("morning and night", 2, 1)
    ('morning and night', 'night')
    >>> times_of_day("night", 1, 2)
    'morning and night'
    """
    if per_day == usual_per_day:
        return usual
    if per_day == 1:
        return "night"
    if per_day == 2:
        return "morning and night"
    return f"{per_day} times a day"


def schedule_text(step: Step, unit: str = "mg") -> str:
    """The one text of a step's doses, read from its structured regimen: the amount per
    administration, the frequency and the times of day, e.g. ``'75 mg twice a day,
    morning and night'``; ``'stop'`` for a step without a dose. Plan tables, the
    patient's text, calendars and cards use it, so none can disagree with the doses.

    >>> p = taper_plan("pregabalin", 300, start_date=dt.date(2026, 1, 5))
    >>> [schedule_text(s) for s in p.steps[:2]]
    ['225 mg once a day, at night', '75 mg twice a day, morning and night']
    """
    if step.regimen is None:
        return "stop" if step.note == "stop" or not step.units else step.units
    if step.units.startswith("uneven split"):  # the day's total in unequal doses
        n = step.regimen.events[0].n_doses
        return f"{step.daily_mg:g} mg a day in {_COUNT.get(n, str(n))} unequal doses"
    amount = f"{step.dose_mg:g} {'mg' if unit == 'mg' else 'patch'}"
    return f"{amount} {frequency_text(step)}"


def frequency_text(step: Step) -> str:
    """How often and when a step's doses are taken, from its structured regimen
    (:func:`schedule_text` without the amount): ``'twice a day, morning and night'``,
    ``'once every 90 days'``; ``'-'`` for a step without a dose."""
    if step.regimen is None:
        return "-"
    ev = step.regimen.events[0]
    if ev.ii > 24.0 + 1e-9:
        freq = f"once every {ev.ii / 24.0:g} days"
    else:
        freq = _FREQUENCY.get(ev.n_doses, f"{ev.n_doses} times a day")
    when = step.time_of_day.strip()
    if not when or when in ("-", freq) or when == f"{ev.n_doses} times a day":
        return freq
    return f"{freq}, {_AT.get(when, when)}"


def _dosing(per_dose: float, n: int, every_h: float, day: int) -> Regimen | None:
    """A step's doses as a :class:`~neurodose.case.Regimen`: ``n`` administrations of
    ``per_dose`` every ``every_h`` h from the start of ``day`` (day 0 = the plan's start);
    None for a step without a dose (stop).

    >>> _dosing(37.5, 2, 12.0, 7).expand().times.tolist()
    [168.0, 180.0]
    """
    if per_dose <= 0:
        return None
    return Regimen((DoseEvent(amt=per_dose, time=day * 24.0, ii=every_h, addl=n - 1),))


@dataclass(frozen=True)
class Step:
    """One dated step of a plan: its doses are a :class:`~neurodose.case.Regimen`, with
    the clinical text around them.

    ``regimen`` holds the administrations of the step's first day (or the one
    application of a patch repeated every ``every_h``), amounts in the plan's unit
    (mg, or patches for topical products); the step repeats it until the next step of
    the same drug (:meth:`Plan.regimen` gives the whole course). ``regimen`` is None
    for a step without a dose (stop, earliest start). ``dose_mg`` (per administration),
    ``every_h`` and ``daily_mg`` are read from it.
    """

    day: int
    date: dt.date
    drug: str
    regimen: Regimen | None
    time_of_day: str
    units: str
    note: str = ""
    optional: bool = False

    @property
    def dose_mg(self) -> float:
        """Amount per administration (0 without a dose)."""
        return round(self.regimen.events[0].amt, 4) if self.regimen else 0.0

    @property
    def every_h(self) -> float:
        """Interval between administrations, h (24 without a dose)."""
        return self.regimen.events[0].ii if self.regimen else 24.0

    @property
    def daily_mg(self) -> float:
        """Total of the step's administrations in a day (0 without a dose)."""
        if self.regimen is None:
            return 0.0
        ev = self.regimen.events[0]
        return round(ev.amt * ev.n_doses, 4)

    def at(self, day: int, start: dt.date) -> Step:
        """The same step on ``day`` of a plan starting on ``start``."""
        reg = self.regimen
        if reg is not None:
            reg = Regimen(tuple(replace(e, time=day * 24.0) for e in reg.events))
        return replace(self, day=day, date=start + dt.timedelta(days=day), regimen=reg)

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "date": self.date.isoformat(),
            "drug": self.drug,
            "dose_mg": self.dose_mg,
            "every_h": self.every_h,
            "time_of_day": self.time_of_day,
            "daily_mg": self.daily_mg,
            "units": self.units,
            "note": self.note,
            "optional": self.optional,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Step:
        """The step of its :meth:`to_dict` JSON (as the clinic stores it); ``units``,
        ``note``, ``optional`` and ``time_of_day`` may be missing.

        >>> s = titration_plan("gabapentin", start_date=dt.date(2026, 1, 5)).steps[2]
        >>> Step.from_dict(s.to_dict()) == s
        True
        """
        day = int(d["day"])
        dose, every_h = float(d["dose_mg"]), float(d.get("every_h", 24.0))
        daily = float(d.get("daily_mg", dose * 24.0 / every_h))
        n = max(1, round(daily / dose)) if dose > 0 else 1
        return cls(
            day=day,
            date=_date(d["date"]),
            drug=str(d["drug"]),
            regimen=_dosing(dose, n, every_h, day),
            time_of_day=str(d.get("time_of_day", "")),
            units=str(d.get("units", "")),
            note=str(d.get("note", "")),
            optional=bool(d.get("optional", False)),
        )


@dataclass(frozen=True)
class Review:
    """A review point (tolerability, effect)."""

    day: int
    date: dt.date
    text: str
    sources: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "date": self.date.isoformat(),
            "text": self.text,
            "sources": list(self.sources),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Review:
        """The review of its :meth:`to_dict` JSON."""
        return cls(
            day=int(d["day"]),
            date=_date(d["date"]),
            text=str(d.get("text", "")),
            sources=tuple(d.get("sources", ())),
        )


def _date(v: Any) -> dt.date:
    """A date, or an ISO date (or date-time) text."""
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)[:10])


@dataclass(frozen=True)
class Plan:
    """A dated plan: steps, reviews, notes, sources."""

    kind: str
    drugs: tuple[str, ...]
    start_date: dt.date
    steps: tuple[Step, ...]
    reviews: tuple[Review, ...] = ()
    notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    verified: bool = True
    unit: str = "mg"
    extra: dict[str, Any] = field(default_factory=dict)

    def regimen(
        self, drug: str | None = None, *, days: int | None = None, optional: bool = False
    ) -> Regimen | None:
        """The plan's doses of ``drug`` (default: its first drug) as one Regimen: the one
        dose list of a plan (the clinic's expected levels, TDM fits and diary responses,
        and the CLI, all take it).

        Each step's doses repeat until the next step of that drug starts; the last
        step until day ``days`` of the plan (default, or when ``days`` is not after
        the last step's day: for that day only). With ``days``, steps from day ``days``
        on are left out. A stop step (no dose) ends the doses before it.

        ``optional`` steps ("only if needed and tolerated": above the usual target
        dose, ``usual_low`` of the drug record, up to the maximum) are decisions for a
        review, not planned doses; they are left out unless ``optional=True``. So an
        amitriptyline titration's planned course holds at 30 mg/day (the first
        deliverable step at or above the 25 mg/day target), and reaches 70 mg/day only
        with ``optional=True``.
        None when the plan gives that drug no dose.

        >>> p = titration_plan("amitriptyline", start_date=dt.date(2026, 1, 5))
        >>> r = p.regimen(days=70)
        >>> r.daily_dose_at(0.0), r.daily_dose_at(7 * 24.0), len(r.expand())
        (10.0, 20.0, 70)
        >>> r.daily_dose_at(69 * 24.0), p.regimen(days=70, optional=True).daily_dose_at(69 * 24.0)
        (30.0, 70.0)
        """
        steps = self._planned(drug, optional)
        if days is not None:
            steps = [s for s in steps if s.day < days]
        events = []
        for i, s in enumerate(steps):
            if s.regimen is None:
                continue
            end = steps[i + 1].day if i + 1 < len(steps) else max(days or 0, s.day + 1)
            for e in s.regimen.events:
                n = max(1, math.ceil(round((end - s.day) * 24.0 / e.ii, 9)))
                events.append(replace(e, addl=n - 1))
        return Regimen(tuple(events)) if events else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "drugs": list(self.drugs),
            "start_date": self.start_date.isoformat(),
            "unit": self.unit,
            "steps": [s.to_dict() for s in self.steps],
            "reviews": [r.to_dict() for r in self.reviews],
            "notes": list(self.notes),
            "sources": list(self.sources),
            "verified": self.verified,
        }

    def _planned(self, drug: str | None, optional: bool) -> list[Step]:
        """The steps of ``drug`` (default: the first drug) by day; optional ones only
        with ``optional``."""
        name = self.drugs[0] if drug is None else resolve_name(drug)
        return sorted(
            (s for s in self.steps if s.drug == name and (optional or not s.optional)),
            key=lambda s: s.day,
        )

    def step_on(self, drug: str | None, date: dt.date) -> Step | None:
        """The planned (not optional) step of ``drug`` in force on ``date``: the last one
        starting on or before it (a stop step once the drug is stopped); None before
        the first.

        >>> p = titration_plan("amitriptyline", start_date=dt.date(2026, 1, 5))
        >>> p.step_on("amitriptyline", dt.date(2026, 1, 13)).daily_mg
        20.0
        >>> p.step_on("amitriptyline", dt.date(2026, 6, 1)).daily_mg
        30.0
        """
        found = [s for s in self._planned(drug, False) if s.date <= date]
        return found[-1] if found else None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Plan:
        """The plan of its :meth:`to_dict` JSON (as the clinic stores it):
        ``Plan.from_dict(p.to_dict()).to_dict() == p.to_dict()``. A stored course (only
        ``start_date`` and ``steps``) reads as a plan of kind ``plan``. ``extra``
        (target and maximum of a titration) is not in the JSON and comes back empty.

        >>> p = switch_plan("amitriptyline", "duloxetine", 50, start_date=dt.date(2026, 1, 5))
        >>> Plan.from_dict(p.to_dict()).to_dict() == p.to_dict()
        True
        """
        steps = tuple(Step.from_dict(st) for st in d.get("steps", []))
        if "start_date" in d:
            start = _date(d["start_date"])
        elif steps:
            start = steps[0].date
        else:
            raise InputError("plan.start_date", None, "the plan's first day, YYYY-MM-DD")
        return cls(
            kind=str(d.get("kind", "plan")),
            drugs=tuple(d.get("drugs") or dict.fromkeys(st.drug for st in steps)),
            start_date=start,
            steps=steps,
            reviews=tuple(Review.from_dict(r) for r in d.get("reviews", [])),
            notes=tuple(d.get("notes", [])),
            sources=tuple(d.get("sources", [])),
            verified=bool(d.get("verified", True)),
            unit=str(d.get("unit", "mg")),
        )


def join_course(plans: Sequence[Plan], drug: str, start_date: dt.date) -> Plan:
    """One drug's whole course from the plans made for it, oldest first: each plan's
    steps of ``drug`` replace those of earlier plans from its first step's date on (a
    taper made after a titration follows the titration up to the taper's start); plans
    whose first step of ``drug`` is before ``start_date`` (an earlier course) are left
    out. Days count from ``start_date``; the result has no reviews or notes.

    >>> t = titration_plan("amitriptyline", start_date=dt.date(2026, 1, 5))
    >>> d = taper_plan("amitriptyline", 30, start_date=dt.date(2026, 2, 2))
    >>> c = join_course([t, d], "amitriptyline", dt.date(2026, 1, 5))
    >>> [(s.day, s.daily_mg, s.optional) for s in c.steps][2:]
    [(14, 30.0, False), (21, 40.0, True), (28, 10.0, False), (42, 5.0, False), (56, 0.0, False)]
    """
    name = resolve_name(drug)
    steps: list[Step] = []
    for plan in plans:
        mine = [s for s in plan.steps if s.drug == name]
        if not mine or mine[0].date < start_date:
            continue
        steps = [s for s in steps if s.date < mine[0].date] + mine
    return Plan(
        kind="plan",
        drugs=(name,),
        start_date=start_date,
        steps=tuple(s.at((s.date - start_date).days, start_date) for s in steps),
    )


# ----------------------------------------------------------------------- strengths


def _solid_combo(dose: float, solids: list[float], max_units: int = 4) -> list[float] | None:
    """Fewest units (<= max_units) of ``solids`` summing to ``dose`` exactly."""
    best: list[float] | None = None

    def rec(rem: float, start: int, acc: list[float]) -> None:
        nonlocal best
        if abs(rem) < 1e-9:
            if best is None or len(acc) < len(best):
                best = list(acc)
            return
        if len(acc) >= max_units or (best is not None and len(acc) >= len(best) - 1):
            return
        for i in range(start, len(solids)):
            s = solids[i]
            if s <= rem + 1e-9:
                acc.append(s)
                rec(rem - s, i, acc)
                acc.pop()

    rec(dose, 0, [])
    return best


def units_for(drug: str, dose_mg: float) -> str | None:
    """What to take for one dose from marketed strengths; None if it cannot be made.

    >>> units_for("nortriptyline", 35)
    '1 x 25 mg + 1 x 10 mg'
    >>> units_for("nortriptyline", 4)
    '2 mL of 2 mg/mL oral solution'
    """
    if dose_mg <= 0:
        return "none"
    sts = strengths(drug)
    solids = sorted({s.mg for s in sts if s.form == "solid"}, reverse=True)
    liquids = [s for s in sts if s.form == "liquid"]
    combo = _solid_combo(dose_mg, solids) if solids else None
    if combo:
        counts: dict[float, int] = {}
        for c in combo:
            counts[c] = counts.get(c, 0) + 1
        return " + ".join(f"{n} x {m:g} mg" for m, n in sorted(counts.items(), reverse=True))
    if liquids:
        conc = liquids[0].mg
        ml = dose_mg / conc
        if abs(ml * 2 - round(ml * 2)) < 1e-9:  # measurable to 0.5 mL
            return f"{ml:g} mL of {conc:g} mg/mL oral solution"
    return None


def _solid_totals(solids: list[float], max_units: int = 4) -> list[float]:
    totals = {0.0}
    for _ in range(max_units):
        totals |= {round(t + s, 6) for t in totals for s in solids}
    return sorted(t for t in totals if t > 0)


def _deliverable(drug: str, dose: float, *, down: bool = True) -> float:
    """The nearest dose marketed forms can give (rounding down by default).

    Solid strengths (up to 4 units) are preferred; a liquid form is used only below
    the lowest solid strength (measurable to 0.5 mL).
    """
    sts = strengths(drug)
    if not sts:
        return dose
    solids = sorted({s.mg for s in sts if s.form == "solid"})
    liquids = [s for s in sts if s.form == "liquid"]
    gran = liquids[0].mg * 0.5 if liquids else None  # measurable to 0.5 mL
    if solids and dose >= solids[0] - 1e-9:
        solid = _solid_deliverable(solids, dose, down, gran)
        if solid is not None:
            return solid
    if gran is not None:
        return _liquid_deliverable(dose, gran, down)
    return solids[0] if solids else dose


def _liquid_deliverable(dose: float, gran: float, down: bool) -> float:
    k = math.floor(dose / gran + 1e-9) if down else math.ceil(dose / gran - 1e-9)
    return round(k * gran, 6)


def _solid_deliverable(
    solids: list[float], dose: float, down: bool, gran: float | None
) -> float | None:
    """The nearest total of up to 4 solid units (down: the liquid where the solid total
    is more than 20 % below); None where no total lies on that side."""
    totals = _solid_totals(solids)
    if down:
        below = [t for t in totals if t <= dose + 1e-9]
        if not below:
            return None
        if gran is not None and (dose - below[-1]) > 0.2 * dose:
            return round(math.floor(dose / gran + 1e-9) * gran, 6)
        return below[-1]
    above = [t for t in totals if t >= dose - 1e-9]
    return above[0] if above else None


def _fmt_units(drug: str, dose: float, unit: str) -> str:
    if unit != "mg":
        return f"{dose:g} {unit}{'es' if unit == 'patch' and dose != 1 else ''}"
    u = units_for(drug, dose) if strengths(drug) else None
    return u or f"{dose:g} mg (no marketed strength combination coded)"


# ----------------------------------------------------------------------- titration


def _older(patient: Patient | None) -> bool:
    from neurodose.safety.rules import rule

    if patient is None or patient.age is None:
        return False
    return patient.age >= rule("gabapentinoid_older_adult").thresholds["older"].point


@dataclass
class _Limits:
    """The titration's start, step, target and maximum, with the sources and notes behind
    them (the patient adjustments lower ``target`` and ``maximum``)."""

    start: float
    step: float | None
    interval_days: float | None
    target: float
    maximum: float
    sources: list[str]
    notes: list[str]
    verified: bool


def _titration_limits(name: str) -> _Limits:
    """The cited titration numbers of a drug (RegimenError where it has no starting dose)."""
    g = dose_guidance(name)
    _, meta = schedule_info(name)
    sources: list[str] = [q.source for q in g.values()]
    verified = all(q.verified for q in g.values())
    notes: list[str] = []
    if meta is not None:
        sources.append(meta.source)
        verified = verified and meta.verified
        if meta.note:
            notes.append(meta.note)
    if "start" not in g:
        raise RegimenError("drug", name, "a drug with a cited starting dose in the knowledge base")
    start = g["start"].point
    maximum = g["maximum"].point if "maximum" in g else start
    return _Limits(
        start=start,
        step=g["titration_step"].point if "titration_step" in g else None,
        interval_days=(
            g["titration_interval"].canonical() / 24.0 if "titration_interval" in g else None
        ),
        target=g["usual_low"].point if "usual_low" in g else maximum,
        maximum=maximum,
        sources=sources,
        notes=notes,
        verified=verified,
    )


def _renal_cap(name: str, patient: Patient, lim: _Limits) -> None:
    """Gabapentinoids: the label's renal band lowers the maximum below CrCl 60."""
    from neurodose.safety.rules import rule

    if patient.renal_function is None:
        return
    mx = renal_max_daily(name, patient.renal_function)
    t60 = rule(f"{name}_renal").thresholds["crcl_60"].point
    if patient.renal_function < t60 and mx.point < lim.maximum:
        lim.maximum = mx.point
        lim.target = min(lim.target, lim.maximum)
        lim.sources.append(mx.source)
        lim.verified = False
        lim.notes.append(
            f"Renal: {patient.renal_basis} {patient.renal_function:g} mL/min -> maximum "
            f"{lim.maximum:g} mg/day (label band, UNVERIFIED)."
        )


def _cyp2d6_factor(name: str, patient: Patient, lim: _Limits) -> None:
    """TCAs: the DPWG CYP2D6 dose factor (after phenoconversion) on the target and maximum."""
    comeds = [m for m in patient.medications if m.name != name]
    phen = effective_phenotypes(patient, comeds)["CYP2D6"]
    if phen.effective is None or phen.effective == "NM":
        return
    f = dpwg_dose_factor(name, "CYP2D6", phen.effective)
    if f is None:
        return
    if f.point < 1:
        lim.maximum = max(lim.start, _deliverable(name, lim.maximum * f.point))
        lim.target = min(max(lim.start, _deliverable(name, lim.target * f.point)), lim.maximum)
        lim.sources.append(f.source)
        lim.notes.append(
            f"CYP2D6 {phen.effective}"
            + (f" (phenoconverted by {phen.perpetrator})" if phen.perpetrator else "")
            + f": DPWG dose factor {f.point:g} applied to the target and maximum;"
            " titrate slowly and consider TDM."
        )
    elif f.point > 1:
        lim.notes.append(
            f"CYP2D6 {phen.effective}: DPWG {f.point:g}x the normal dose; more risk "
            "of failure at pain doses. Do not exceed the maximum without a specialist;"
            " consider TDM or a non-TCA."
        )
        lim.sources.append(f.source)


def _adjust_for_patient(name: str, patient: Patient, lim: _Limits) -> None:
    tags = drug_tags(record(name))
    if "gabapentinoid" in tags:
        _renal_cap(name, patient, lim)
    if "tca" in tags and name in dpwg_tca_drugs():
        _cyp2d6_factor(name, patient, lim)
    if _older(patient):
        lim.notes.append(
            "Older adult: start at the lowest dose and titrate slowly "
            "(FDA 2019 for gabapentinoids; Beers 2023)."
        )
        lim.sources.append("fda_dsc_2019_gabapentinoids")


def _split_units(name: str, daily_mg: float, per: float, n: int) -> str | None:
    """An uneven split where no strength gives ``daily_mg / n``: equal doses and a
    different last dose of the day (None where none works)."""
    first = _deliverable(name, per)
    last = daily_mg - first * (n - 1)
    if first <= 0 or units_for(name, last) is None:
        return None
    parts = [f"{first:g} mg ({units_for(name, first)})"] * (n - 1)
    parts.append(f"{last:g} mg ({units_for(name, last)}) last dose of the day")
    return "uneven split: " + "; ".join(parts)


def _titration_step(
    name: str,
    info: Mapping[str, Any],
    start_mg: float,
    unit: str,
    start_date: dt.date,
    day: int,
    daily_mg: float,
    optional: bool,
    note: str,
) -> Step:
    """One titration step: the day's dose in as many doses as the start dose allows."""
    doses_per_day = int(info.get("doses_per_day", 1))
    n = doses_per_day
    if unit == "mg" and doses_per_day > 1:
        n = max(1, min(doses_per_day, round(daily_mg / start_mg) or 1))
    per = daily_mg / n
    every_h = 24.0 / n if not info.get("repeat_days") else float(info["repeat_days"]) * 24
    units = _fmt_units(name, per, unit)
    if unit == "mg" and n > 1 and strengths(name) and units_for(name, per) is None:
        units = _split_units(name, daily_mg, per, n) or units
    return Step(
        day=day,
        date=start_date + dt.timedelta(days=day),
        drug=name,
        regimen=_dosing(per, n, every_h, day),
        time_of_day=times_of_day(str(info.get("time_of_day", "as directed")), doses_per_day, n),
        units=units,
        note=note,
        optional=optional,
    )


def _titration_doses(
    lim: _Limits, current_daily_mg: float | None, include_optional: bool
) -> list[tuple[int, float, bool, str]]:
    """(day, daily mg, optional, note) for each step: the start (or current) dose, then
    one step every interval up to the target, and optional ones up to the maximum."""
    daily = current_daily_mg if current_daily_mg else lim.start
    out = [(0, daily, False, "start" if not current_daily_mg else "current dose")]
    if not (lim.step and lim.interval_days):
        return out
    day = 0
    while daily + lim.step <= lim.maximum + 1e-9:
        optional = daily >= lim.target - 1e-9
        if optional and not include_optional:
            break
        daily += lim.step
        day += round(lim.interval_days)
        out.append(
            (
                day,
                daily,
                optional,
                "only if needed and tolerated" if optional else "increase if tolerated",
            )
        )
    return out


def _titration_reviews(
    name: str, start_date: dt.date
) -> tuple[tuple[Review, ...], list[str], bool]:
    """The tolerability and effect reviews, their sources, and whether they are verified."""
    tol = review("tolerability")
    eff = review("effect_tca") if "tca" in record(name).classes else review("effect")
    resp = review("response_fraction")
    reviews = (
        Review(
            int(tol.canonical() / 24),
            start_date + dt.timedelta(days=int(tol.canonical() / 24)),
            "Tolerability review: side effects, sleep, sedation; adjust titration.",
            (tol.source,),
        ),
        Review(
            int(eff.canonical() / 24),
            start_date + dt.timedelta(days=int(eff.canonical() / 24)),
            f"Effect review: response = pain reduced by at least {resp.point:.0%} from baseline"
            " (IMMPACT moderate); if not, and at a tolerated dose, switch.",
            (eff.source, resp.source),
        ),
    )
    return reviews, [tol.source, eff.source, resp.source], tol.verified and eff.verified


def _safety_warning(
    patient: Patient, name: str, planned_daily_mg: float | None
) -> tuple[str | None, str | None, list[str]]:
    """(worst severity, the SAFETY note, its sources) where the screen rates the drug
    contraindicated or avoid for this patient; (None, None, []) otherwise."""
    found = screen(patient, name, planned_daily_mg=planned_daily_mg)
    bad = [f for f in found if f.severity in ("contraindicated", "avoid")]
    if not bad:
        return None, None, []
    worst = bad[0].severity
    note = (
        f"SAFETY: the screen rates {record(name).display_name} {worst.upper()} for this "
        f"patient ({'; '.join(dict.fromkeys(f.title for f in bad))}). This schedule "
        "is for reference only, not a recommendation to start."
    )
    return worst, note, [x for f in bad for x in f.sources]


def titration_plan(
    drug: str,
    *,
    start_date: dt.date | None = None,
    patient: Patient | None = None,
    current_daily_mg: float | None = None,
    include_optional: bool = True,
) -> Plan:
    """Titration schedule for a neuropathic-pain option (see module docstring).

    Parameters
    ----------
    drug : str
        Drug name (any alias).
    start_date : date, optional
        Day 0 (default today).
    patient : Patient, optional
        Adjusts the maximum for renal function and CYP2D6 genotype (after phenoconversion).
    current_daily_mg : float, optional
        Continue titrating from this daily dose instead of the start dose.
    include_optional : bool
        Include steps above the usual target up to the maximum, marked optional.
    """
    name = resolve_name(drug)
    start_date = start_date or dt.date.today()
    if current_daily_mg is None and patient is not None:
        current_daily_mg = next(
            (m.daily_mg for m in patient.medications if m.name == name and m.current), None
        )  # the patient already takes it: continue from that dose, never restart low
    info, _ = schedule_info(name)
    unit = "patch" if info.get("unit_kind") in ("patch", "plaster") else "mg"
    lim = _titration_limits(name)
    if patient is not None:
        _adjust_for_patient(name, patient, lim)
    notes, sources = lim.notes, lim.sources
    if current_daily_mg and current_daily_mg > lim.maximum:
        notes.append(
            f"Current dose {current_daily_mg:g} mg/day is above the maximum for neuropathic "
            f"pain here ({lim.maximum:g} mg/day): review the indication and dose."
        )
    steps = tuple(
        _titration_step(name, info, lim.start, unit, start_date, day, daily, optional, note)
        for day, daily, optional, note in _titration_doses(lim, current_daily_mg, include_optional)
    )
    if not lim.step:
        notes.append("No titration step in the evidence: stay at the starting dose and review.")
    if info.get("repeat_days"):
        notes.append(f"Repeat application every {int(info['repeat_days'])} days if helpful.")
    reviews, review_sources, reviews_verified = _titration_reviews(name, start_date)
    sources += review_sources
    safety_worst = None
    if patient is not None:
        planned = lim.maximum if unit == "mg" else None
        safety_worst, warning, warning_sources = _safety_warning(patient, name, planned)
        if warning is not None:
            notes.insert(0, warning)
            sources += warning_sources
    return _plan(
        "titrate",
        (name,),
        start_date,
        steps,
        reviews,
        notes=tuple(notes),
        sources=sources,
        verified=lim.verified and reviews_verified,
        unit=unit,
        extra={
            "target_daily": lim.target,
            "maximum_daily": lim.maximum,
            "safety_worst": safety_worst,
        },
    )


# ------------------------------------------------------------------------- taper


def _taper_doses(name: str, current: float, slow: bool, method: str) -> tuple[list[float], float]:
    g = dose_guidance(name)
    big = taper_value("large_step_fraction").point
    small = taper_value("small_step_fraction").point
    low = g["usual_low"].point if "usual_low" in g else current / 2
    sts = strengths(name)
    solids = [s.mg for s in sts if s.form == "solid"]
    liquid = any(s.form == "liquid" for s in sts)
    # lowest practical dose: a quarter of the lowest solid with a liquid, the lowest solid
    # without; no strengths coded: exact doses down to a quarter of the usual low dose
    lowest = min(solids) if solids else low
    floor = lowest / 4 if (liquid or not solids) else lowest
    doses: list[float] = []
    d = current
    guard = 0
    while d > floor + 1e-9 and guard < 60:
        guard += 1
        frac = small if (method == "hyperbolic" or slow or d <= low + 1e-9) else big
        nxt = _deliverable(name, d * (1 - frac)) if sts else round(d * (1 - frac), 1)
        if nxt >= d - 1e-9:
            nxt = _deliverable(name, d - 1e-6)
        if nxt <= 0 or nxt < floor - 1e-9:
            break
        doses.append(nxt)
        d = nxt
    doses.append(0.0)
    return doses, floor


_HALF_STEP_UNITS = (
    "{dose:g} mg: below the lowest coded tablet/capsule: needs a liquid or compounded "
    "preparation (ask the pharmacist); no liquid form is coded for this drug"
)


def _check_taper_args(method: str, current_daily_mg: Any) -> None:
    if method not in ("proportional", "hyperbolic"):
        raise InputError("method", method, "'proportional' or 'hyperbolic'")
    if not (isinstance(current_daily_mg, int | float) and current_daily_mg > 0):
        raise RegimenError("current_dose", current_daily_mg, "a daily dose in mg > 0")


def _below_floor_error(name: str, current: float, floor: float) -> RegimenError:
    lowest = min((s.mg for s in strengths(name) if s.form == "solid"), default=floor)
    return RegimenError(
        "current_dose",
        f"{current:g} mg",
        f"a daily dose the coded forms of {record(name).display_name} can give (the lowest is "
        f"{floor:g} mg; smallest unit {lowest:g} mg): a dose below it cannot be tapered "
        "from with these forms; check the dose, or use a liquid or compounded "
        "preparation and taper by hand (NICE NG222)",
    )


def _has_liquid(name: str) -> bool:
    return any(s.form == "liquid" for s in strengths(name))


def _taper_step(
    name: str,
    i: int,
    d: float,
    interval: int,
    start_date: dt.date,
    n_per_day: int,
    usual_n: int,
    tod: str,
    units: str | None,
    method: str,
) -> Step:
    """Reduction ``i`` to ``d`` mg/day (``units`` overrides the tablet text)."""
    n = n_per_day if d > 0 else 1
    if n > 1 and strengths(name) and units_for(name, d / n) is None and units_for(name, d):
        n = 1  # a divided dose no strength can give: the whole day's dose once
    per = d / n
    if d == 0:
        units = "stop"
    elif units is not None:
        units = units.format(dose=per)
    return Step(
        day=i * interval,
        date=start_date + dt.timedelta(days=i * interval),
        drug=name,
        regimen=_dosing(per, n, 24.0 / n, i * interval),
        time_of_day=times_of_day(tod, usual_n, n) if d > 0 else "-",
        units=units if units is not None else _fmt_units(name, per, "mg"),
        note="stop" if d == 0 else f"reduce from previous ({method})",
    )


def _taper_notes(
    name: str, current: float, doses: list[float], floor: float, slow: bool
) -> list[str]:
    notes = [
        "Never stop suddenly. If withdrawal symptoms are hard to bear, go back to the last "
        "dose that was tolerated and reduce more slowly (NICE NG222).",
    ]
    if len(doses) == 1:
        notes.append(
            f"{current:g} mg/day is already the lowest practical dose with the "
            "coded forms: the only step left is stopping; if that is hard, a liquid or "
            "compounded preparation allows smaller steps (NICE NG222)."
        )
    notes.append(
        f"Last dose before stopping about {doses[-2] if len(doses) > 1 else 0:g} mg/day "
        f"(lowest practical dose with the coded forms; floor {floor:g} mg)."
    )
    if slow:
        notes.append(
            f"{record(name).display_name} is among the drugs most likely to cause withdrawal."
        )
    if not strengths(name):
        notes.append(
            "No marketed strengths coded for this drug: doses are exact proportions, not "
            "rounded to real tablets; check what forms are available."
        )
    elif not _has_liquid(name):
        notes.append(
            "No liquid form coded for this drug: very small final doses may need a liquid or "
            "compounded preparation (NICE NG222; Maudsley Deprescribing Guidelines)."
        )
    return notes


def taper_plan(
    drug: str,
    current_daily_mg: float,
    *,
    start_date: dt.date | None = None,
    method: str = "proportional",
    every_h: float | None = None,
) -> Plan:
    """Proportional (NICE NG222) or hyperbolic (Horowitz & Taylor 2019) taper to stopping.

    Parameters
    ----------
    drug : str
    current_daily_mg : float
        Current total daily dose (mg), > 0.
    start_date : date, optional
        Date of the first reduction (default today).
    method : ``"proportional"`` | ``"hyperbolic"``
        Proportional: 50 % steps, 25 % at low doses. Hyperbolic: 25 % of the current
        dose at every step with the slow interval (smaller absolute steps as the dose falls).
    """
    _check_taper_args(method, current_daily_mg)
    name = resolve_name(drug)
    rec = record(name)
    start_date = start_date or dt.date.today()
    current = float(current_daily_mg)
    slow = rec.withdrawal is not None and rec.withdrawal.risk == "high"
    iv = taper_value("slow_step_interval" if (slow or method == "hyperbolic") else "step_interval")
    interval = round(iv.canonical() / 24)
    info, _ = schedule_info(name)
    doses, floor = _taper_doses(name, current, slow, method)
    if current < floor - 1e-9:
        raise _below_floor_error(name, current, floor)
    usual_n = int(info.get("doses_per_day", 1))
    n_per_day = usual_n if every_h is None else round(24 / every_h)
    tod = str(info.get("time_of_day", "as directed"))
    # the last reduction is never a 100 % drop from a full tablet: without a coded liquid,
    # add a half step that names the liquid or compounded preparation it needs (NICE NG222)
    half_step = len(doses) >= 2 and doses[-2] > 0 and strengths(name) and not _has_liquid(name)
    if half_step:
        doses.insert(-1, round(doses[-2] * taper_value("large_step_fraction").point, 4))
    steps = tuple(
        _taper_step(
            name,
            i,
            d,
            interval,
            start_date,
            n_per_day,
            usual_n,
            tod,
            _HALF_STEP_UNITS if half_step and i == len(doses) - 2 else None,
            method,
        )
        for i, d in enumerate(doses)
    )
    notes = _taper_notes(name, current_daily_mg, doses, floor, slow)
    srcs = [
        "nice_ng222",
        "horowitz_taylor2019",
        "maudsley_deprescribing2024",
        iv.source,
        *(s.source for s in strengths(name)),
    ]
    review = Review(
        interval,
        start_date + dt.timedelta(days=interval),
        "Check withdrawal symptoms before each further reduction.",
        ("nice_ng222",),
    )
    return _plan(
        "taper",
        (name,),
        start_date,
        steps,
        (review,),
        notes=tuple(notes),
        sources=srcs,
        verified=iv.verified,
        extra={"method": method, "interval_days": interval},
    )


# ------------------------------------------------------------------------ switch


def _gap_before_maoi(from_name: str) -> Any:
    tags = drug_tags(record(from_name))
    if from_name == "fluoxetine":
        return switch_gap("fluoxetine_washout")
    if from_name == "duloxetine":
        return switch_gap("maoi_after_duloxetine")
    if "tca" in tags:
        return switch_gap("maoi_after_tca")
    return switch_gap("other_before_maoi")


def switch_plan(
    from_drug: str,
    to_drug: str,
    current_daily_mg: float,
    *,
    start_date: dt.date | None = None,
    patient: Patient | None = None,
) -> Plan:
    """Switch from one drug to another: cross-taper, or taper + washout where required.

    Washouts: to an MAOI 14 days after a TCA, 5 days after duloxetine, 5 weeks after
    fluoxetine; from an irreversible MAOI 14 days, from moclobemide 1 day.
    """
    a = resolve_name(from_drug)
    b = resolve_name(to_drug)
    if a == b:
        raise InputError("to", to_drug, f"a drug different from {ref('from_drug')}")
    start_date = start_date or dt.date.today()
    ta = drug_tags(record(a))
    tb = drug_tags(record(b))
    notes: list[str] = []
    sources: list[str] = []
    gap, strategy = _switch_strategy(a, ta, tb)
    overlap = _switch_interactions(a, b, current_daily_mg, patient)
    gap_days = round(gap.canonical() / 24) if gap is not None else 0
    gap_sources = [gap.source] if gap is not None else []
    why_gap = "serotonin syndrome risk"
    if strategy == "cross-taper":
        residual = _residual_gap(a, b, overlap)
        if residual is not None:  # no overlap with a long-lasting inhibitor
            strategy = "washout"
            window, why_gap, gap_sources = residual
            gap_days = 1  # start the day after the last dose, never alongside it
            notes.append(
                f"{why_gap}. No overlap: {record(b).display_name} starts the day after the "
                f"last dose of {record(a).display_name}, at the lowest dose; titrate slowly "
                f"and review for raised levels or serotonin toxicity over the next {window} "
                "days (consider a level where one is measured)."
            )
    taper = taper_plan(a, current_daily_mg, start_date=start_date)
    sources += list(taper.sources)
    notes += list(taper.notes)  # stopping A keeps its withdrawal advice whatever B is
    if strategy == "washout":
        if gap is not None:
            notes.append(
                f"Washout: start {record(b).display_name} at least {gap_days} days after the "
                f"last dose of {record(a).display_name} ({why_gap})."
            )
        sources += gap_sources
        steps, reviews = _washout_steps(taper, b, gap_days, patient, notes, sources)
    else:
        steps, reviews = _cross_taper_steps(taper, b, patient, notes, sources)
        _cross_taper_notes(a, ta, tb, notes, sources)
    _blood_pressure_notes(a, b, ta, tb, notes, sources)
    _overlap_notes(strategy, a, b, overlap, notes, sources)
    return _plan(
        "switch",
        (a, b),
        start_date,
        steps,
        reviews,
        notes=tuple(dict.fromkeys(notes)),
        sources=sources,
        verified=False,
        extra={"strategy": strategy},
    )


def _plan(
    kind: str,
    drugs: tuple[str, ...],
    start_date: dt.date,
    steps: Any,
    reviews: Any,
    *,
    notes: tuple[str, ...],
    sources: list[str] | tuple[str, ...],
    **kw: Any,
) -> Plan:
    """A plan whose sources (deduplicated, in order) are registered as cited."""
    src = tuple(dict.fromkeys(sources))
    citations.register_many(src)
    return Plan(
        kind=kind,
        drugs=drugs,
        start_date=start_date,
        steps=tuple(steps),
        reviews=tuple(reviews),
        notes=notes,
        sources=src,
        **kw,
    )


def _switch_strategy(a: str, ta: Mapping[str, bool], tb: Mapping[str, bool]) -> tuple[Any, str]:
    """The washout gap the switch needs (None: none), and the strategy."""
    if "maoi" in tb and "maoi" not in ta:
        return _gap_before_maoi(a), "washout"
    if "maoi_irreversible" in ta:
        return switch_gap("after_irreversible_maoi"), "washout"
    if a == "moclobemide":
        return switch_gap("after_moclobemide"), "washout"
    return None, "cross-taper"


def _washout_steps(
    taper: Plan,
    b: str,
    gap_days: int,
    patient: Patient | None,
    notes: list[str],
    sources: list[str],
) -> tuple[list[Step], list[Review]]:
    """The taper of A, then B after the gap (an MAOI: the earliest start only)."""
    start_date = taper.start_date
    last = taper.steps[-1].day
    steps = list(taper.steps)
    if "maoi" in drug_tags(record(b)):
        steps.append(
            Step(
                day=last + gap_days,
                date=start_date + dt.timedelta(days=last + gap_days),
                drug=b,
                regimen=None,
                time_of_day="-",
                units="start per specialist (no MAOI dosing in the knowledge base)",
                note="earliest start",
            )
        )
        return steps, []
    tit = titration_plan(b, start_date=start_date, patient=patient)
    off = last + gap_days
    steps += [_shift(s, off) for s in tit.steps]
    sources += list(tit.sources)
    notes += list(tit.notes)
    return steps, [_shift_r(r, off) for r in tit.reviews]


def _cross_taper_steps(
    taper: Plan, b: str, patient: Patient | None, notes: list[str], sources: list[str]
) -> tuple[list[Step], list[Review]]:
    """The taper of A run alongside the titration of B: one reduction per B step."""
    start_date = taper.start_date
    tit = titration_plan(b, start_date=start_date, patient=patient, include_optional=False)
    sources += list(tit.sources)
    notes += list(tit.notes)
    b_days = [s.day for s in tit.steps]
    merged: list[Step] = []
    for i, s in enumerate(taper.steps):
        day = b_days[i] if i < len(b_days) else (b_days[-1] + (i - len(b_days) + 1) * 7)
        merged.append(s.at(day, start_date))
    steps = sorted([*merged, *tit.steps], key=lambda s: (s.day, s.drug != b))
    return steps, list(tit.reviews)


def _cross_taper_notes(
    a: str, ta: Mapping[str, bool], tb: Mapping[str, bool], notes: list[str], sources: list[str]
) -> None:
    if "serotonergic" in ta and "serotonergic" in tb:
        notes.append(
            "Both drugs are serotonergic: during the cross-taper watch for serotonin "
            "toxicity (agitation, tremor, sweating, diarrhoea)."
        )
        sources.append("cymbalta_pi_mims")
    if a == "fluoxetine":
        notes.append(
            "Fluoxetine and its metabolite persist for weeks: its CYP2D6 inhibition outlasts "
            "the last dose; titrate a CYP2D6 substrate slowly."
        )
        sources.append("fda_dsc_2011_linezolid")


def _blood_pressure_notes(
    a: str,
    b: str,
    ta: Mapping[str, bool],
    tb: Mapping[str, bool],
    notes: list[str],
    sources: list[str],
) -> None:
    if "raises_blood_pressure" in ta and "raises_blood_pressure" not in tb:
        notes.append(
            f"{record(a).display_name} raises blood pressure: measure it while it is withdrawn "
            "and review any blood-pressure treatment that was adjusted for it."
        )
        sources.append("effexor_xr_us_label")
    if "raises_blood_pressure" in tb:
        notes.append(
            f"{record(b).display_name} can raise blood pressure: measure it before starting "
            "and at each review."
        )
        sources.append("effexor_xr_us_label")


def _overlap_notes(
    strategy: str, a: str, b: str, overlap: list[Finding], notes: list[str], sources: list[str]
) -> None:
    """What the overlap screen found: to watch while both are taken, or why no cross-taper."""
    if strategy == "cross-taper":
        for f in overlap:
            notes.append(
                f"While both are taken: {f.title} ({f.severity}): {f.message} {f.management}"
            )
            sources += list(f.sources)
        if not overlap:
            notes.append(
                f"No interaction between {record(a).display_name} and "
                f"{record(b).display_name} is found by the safety screen (what it checks: "
                "neurodose assess, 'checks')."
            )
    elif overlap:
        notes.append(
            "Why not a cross-taper: "
            + "; ".join(f"{f.title} ({f.severity})" for f in overlap)
            + "."
        )
        sources += [s for f in overlap for s in f.sources]


def _residual_gap(a: str, b: str, overlap: list[Finding]) -> tuple[int, str, list[str]] | None:
    """Days to wait after the last dose of ``a`` before ``b`` when a cross-taper is unsafe.

    When the overlap screen finds something contraindicated or to avoid, or ``a``
    inhibits (strongly or moderately) an enzyme that is ``b``'s major pathway, and ``a``
    (or its active metabolite) is long-lasting, ``b`` starts after about five
    half-lives of ``a`` (the residual window of the ``stopped_drug_residual`` rule)."""
    from neurodose.knowledge.substances import enzyme_profile, substance
    from neurodose.safety.rules import rule

    sub = substance(a)
    hl = sub.half_life_typical_h if sub is not None else None
    if sub is None or hl is None:
        return None
    r = rule("stopped_drug_residual")
    n_half = r.thresholds["window_half_lives"].point
    days = math.ceil(n_half * hl / 24.0)
    if days < 7:
        return None  # not long-lasting: the taper itself is the washout
    majors = {
        s.enzyme.upper()
        for s in enzyme_profile(record(b))[2]
        if s.strength in ("strong", "moderate")
    }
    inhibits = [
        e
        for e in enzyme_profile(record(a))[0]
        if e.enzyme.upper() in majors and e.strength in ("strong", "moderate")
    ]
    severe = [f for f in overlap if f.severity in ("contraindicated", "avoid")]
    if not inhibits and not severe:
        return None
    what = [f"{e.strength} {e.enzyme} inhibition" for e in inhibits]
    what += [f.title.lower() for f in severe]
    why = (
        f"{record(a).display_name} lasts about {days} days after the last dose "
        f"(typical half-life {hl:.0f} h, {n_half:g} half-lives): " + "; ".join(what)
    )
    return days, why, [sub.source, *r.sources]


def _switch_interactions(
    a: str, b: str, a_daily_mg: float, patient: Patient | None
) -> list[Finding]:
    """Findings the safety screen gives for ``b`` while ``a`` is still taken (the overlap)."""
    base = patient or Patient()
    meds = tuple(m for m in base.medications if m.name not in (a, b))
    during = replace(base, medications=(*meds, Medication(a, dose_mg=a_daily_mg)))
    return [f for f in screen(during, b) if a in f.involved]


def _shift(s: Step, off: int) -> Step:
    return s.at(s.day + off, s.date - dt.timedelta(days=s.day))


def _shift_r(r: Review, off: int) -> Review:
    return Review(r.day + off, r.date + dt.timedelta(days=off), r.text, r.sources)


def strengths_text(drug: str) -> list[str]:
    """Marketed strengths as text (for display)."""
    out = []
    for s in strengths(drug):
        out.append(f"{s.mg:g} mg/mL solution" if s.form == "liquid" else f"{s.mg:g} mg")
    return out


_ = Strength
