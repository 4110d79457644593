"""Plausibility: one model of a real patient, dose, co-medication list and diary.

Every door (command line, JSON profile, FHIR bundle, REST API, clinic form, trial
design, diary) reaches these checks through the object it builds (a
:class:`~neurodose.case.Patient`, a workflow request, a trial
:class:`~neurodose.trial.design.Design`), so the same bad value gets the same
error everywhere, naming the field, the value and what is allowed. The caps on
dates and on work are in :mod:`neurodose.limits`.

Doses
    The highest daily dose is checked against the knowledge base's highest cited
    maximum (:func:`neurodose.knowledge.limits.check_daily_dose`: refused unless
    ``allow_above_max``, then a loud ``ABOVE MAXIMUM`` warning). A daily dose below
    the lowest dose the knowledge base cites for the drug (start, titration step or
    usual low, any indication) is accepted with a ``BELOW CITED DOSES`` warning that
    names the cited dose and its source: 25 mcg of duloxetine is 0.025 mg, a likely
    unit slip.
Patients
    Input bounds, not clinical thresholds (like the plausible ranges of
    ``knowledge/measurements.toml``): a patient of :data:`ADULT_AGE` years or more
    weighs at least :data:`MIN_ADULT_WEIGHT_KG` kg (0.5 kg is a unit slip, g or lb);
    pregnancy only with sex female (or not given) and an age from
    :data:`PREGNANCY_AGES`.
Co-medications
    Each co-medication once, and never the drug itself (it would be counted twice).
Diaries
    A forecast needs at least :data:`MIN_DIARY_DAYS` recorded days (one week, the
    window of the weekly mean pain the trials and the trial model report); no diary
    date after today; a diary dose above the maximum is refused like any other.

Examples
--------
>>> patient_plausible(age=40, weight=0.5)
Traceback (most recent call last):
...
neurodose.errors.PatientError: weight: 0.5 is not allowed; expected at least 10 kg for an
adult (age 40 years); check the unit (kg, not g or lb)
>>> dose_warnings("duloxetine", 0.025)[0][:58]
'BELOW CITED DOSES: 0.025 mg/day of duloxetine is below the'
>>> comedications_plausible("duloxetine", ["fluoxetine", "duloxetine"])
Traceback (most recent call last):
...
neurodose.errors.InputError: with: 'duloxetine' is not allowed; expected co-medications other
than the drug itself (duloxetine is the drug being dosed; its dose is the regimen)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from neurodose.errors import InputError, PatientError, UnknownNameError
from neurodose.knowledge.limits import check_daily_dose
from neurodose.knowledge.schema import Quantity

__all__ = [
    "ADULT_AGE",
    "MIN_ADULT_WEIGHT_KG",
    "MIN_DIARY_DAYS",
    "PREGNANCY_AGES",
    "LowDose",
    "age_warnings",
    "birth_date_plausible",
    "comedications_plausible",
    "date_after_birth",
    "diary_plausible",
    "dose_warnings",
    "lowest_cited_dose",
    "patient_plausible",
    "regimen_shorter_than_diary",
    "units_required",
]

#: age from which a patient is an adult (years; the licensing age the safety rules cite)
ADULT_AGE = 18.0
#: input bound: lightest plausible adult (kg); below it the unit is wrong
MIN_ADULT_WEIGHT_KG = 10.0
#: input bound: ages at which a pregnancy is plausible (years, inclusive)
PREGNANCY_AGES = (10.0, 65.0)
#: fewest recorded diary days a response forecast is made from (one week)
MIN_DIARY_DAYS = 7


def patient_plausible(
    *,
    age: float | None = None,
    weight: float | None = None,
    sex: str | None = None,
    pregnant: bool = False,
) -> None:
    """Refuse an impossible patient (:class:`~neurodose.errors.PatientError` naming the field)."""
    if weight is not None and age is not None and age >= ADULT_AGE and weight < MIN_ADULT_WEIGHT_KG:
        raise PatientError(
            "weight",
            weight,
            f"at least {MIN_ADULT_WEIGHT_KG:g} kg for an adult (age {age:g} years); "
            "check the unit (kg, not g or lb)",
        )
    if not pregnant:
        return
    if sex == "male":
        raise PatientError("pregnant", True, "pregnancy only with sex 'female' or not given")
    lo, hi = PREGNANCY_AGES
    if age is not None and not lo <= age <= hi:
        raise PatientError(
            "pregnant",
            True,
            f"pregnancy only at an age from {lo:g} to {hi:g} years (age given: {age:g}); "
            "check the age or the pregnancy flag",
        )


@dataclass(frozen=True)
class LowDose:
    """The lowest daily dose the knowledge base cites for a drug (mg), with its quantity."""

    mg: float
    what: str
    indication: str
    quantity: Quantity

    def describe(self) -> str:
        flag = "" if self.quantity.verified else ", UNVERIFIED"
        return f"{self.mg:g} mg ({self.what}, {self.indication}; {self.quantity.source}{flag})"


def lowest_cited_dose(drug: str) -> LowDose | None:
    """The smallest start, titration step or usual low dose (mass units) cited for ``drug``."""
    from neurodose.knowledge.registry import get_drug, resolve_name

    try:
        rec = get_drug(resolve_name(drug))
    except UnknownNameError:
        return None
    best: LowDose | None = None
    for indication, g in rec.doses.items():
        for what in ("start", "titration_step", "usual_low"):
            q = getattr(g, what)
            if q is None or q.dimension not in ("mass", "mass_per_day"):
                continue
            mg = q.canonical()
            if mg > 0 and (best is None or mg < best.mg):
                best = LowDose(mg, what.replace("_", " "), indication, q)
    return best


def dose_warnings(
    drug: str, daily_mg: float, *, field: str = "dose", allow_above_max: bool = False
) -> list[str]:
    """The daily dose against the cited maximum (refused above it unless
    ``allow_above_max``) and the lowest cited dose (a ``BELOW CITED DOSES`` warning)."""
    out = check_daily_dose(drug, daily_mg, field=field, allow_above_max=allow_above_max)
    low = lowest_cited_dose(drug)
    if low is not None and 0 < daily_mg < low.mg * (1 - 1e-9):
        out.append(
            f"BELOW CITED DOSES: {daily_mg:g} mg/day of {drug} is below the lowest dose "
            f"the knowledge base cites, {low.describe()}; check the unit (25 mcg = 0.025 mg)"
        )
    return out


def _canonical_name(name: str) -> str:
    from neurodose.knowledge.registry import resolve_name

    try:
        return resolve_name(name)
    except UnknownNameError:
        return name.strip().lower()


def comedications_plausible(drug: str | None, names: Iterable[str], field: str = "with") -> None:
    """Each co-medication once and never ``drug`` itself (aliases and brands resolved)."""
    own = _canonical_name(drug) if drug else None
    seen: dict[str, str] = {}
    for name in names:
        key = _canonical_name(name)
        if own is not None and key == own:
            raise InputError(
                field,
                name,
                f"co-medications other than the drug itself ({own} is the drug being dosed; "
                "its dose is the regimen)",
            )
        if key in seen:
            raise InputError(
                field,
                name,
                f"each co-medication once ({key} is already listed as {seen[key]!r}; "
                "give its total dose once)",
            )
        seen[key] = name


def diary_plausible(
    drug: str,
    dates: Sequence[dt.date],
    doses_mg: Iterable[float] = (),
    *,
    field: str = "diary",
    allow_above_max: bool = False,
    today: dt.date | None = None,
) -> list[str]:
    """A diary a forecast can rest on: at least :data:`MIN_DIARY_DAYS` recorded days,
    none after today, each recorded daily dose checked like any dose (the warnings)."""
    t = today or dt.date.today()
    late = [d for d in dates if d > t]
    if late:
        raise InputError(
            f"{field}.date",
            late[0].isoformat(),
            f"diary dates up to today ({t.isoformat()}); a diary records days that have passed",
        )
    if len(dates) < MIN_DIARY_DAYS:
        raise InputError(
            field,
            f"{len(dates)} recorded day{'s' if len(dates) != 1 else ''}",
            f"at least {MIN_DIARY_DAYS} recorded days (one week) for a forecast",
        )
    top = max((float(x) for x in doses_mg if x == x and x > 0), default=None)
    if top is None:
        return []
    return check_daily_dose(drug, top, field=f"{field}.dose_mg", allow_above_max=allow_above_max)


class _HasLastDose(Protocol):
    @property
    def last_dose_time(self) -> float: ...


def regimen_shorter_than_diary(
    regimen: _HasLastDose, dates: Sequence[dt.date], first_dose: dt.date | None = None
) -> list[str]:
    """A statement when the regimen's last dose comes before the diary's last day (the
    days after are modelled without further doses; nothing is cut silently)."""
    if not dates:
        return []
    start = first_dose or min(dates)
    last_dose_day = int(regimen.last_dose_time // 24.0) + 1
    diary_day = (max(dates) - start).days + 1
    if diary_day <= last_dose_day:
        return []
    return [
        f"regimen: its last dose is on day {last_dose_day:,} but the diary runs to day "
        f"{diary_day:,} ({max(dates).isoformat()}); the days after the last dose are modelled "
        f"without the drug (give --days {diary_day} if it was still taken)"
    ]


#: regimen keys that carry a quantity and the unit each needs
_UNIT_KEYS = {
    "dose": "a dose with a unit, e.g. '60 mg'",
    "every": "an interval with a unit, e.g. '24 h'",
}


def _bare_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, str):
        try:
            float(value.strip())
        except ValueError:
            return False
        return True
    return False


def units_required(regimen: object, field: str = "regimen") -> None:
    """Refuse a dose or interval given as a bare number (at the API a number without a
    unit is ambiguous: mg or mcg, hours or days); ``events`` (NONMEM amounts in mg and
    times in h by definition) are left as they are."""
    if not isinstance(regimen, Mapping):
        return
    steps = regimen.get("steps")
    where: list[tuple[str, Mapping[str, Any]]] = [(field, regimen)]
    if isinstance(steps, list):
        where += [(f"{field}.steps[{i}]", s) for i, s in enumerate(steps) if isinstance(s, Mapping)]
    for prefix, m in where:
        for key, allowed in _UNIT_KEYS.items():
            if key in m and _bare_number(m[key]):
                name = f"{prefix}.{key}" if prefix else key
                raise InputError(name, m[key], f"{allowed} (a bare number is ambiguous)")


def _years_before(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February into a common year
        return today.replace(year=today.year - years, day=28)


def birth_date_plausible(born: dt.date, field: str, *, today: dt.date | None = None) -> dt.date:
    """A birth date on or before today and at most 120 years ago (the age bound)."""
    t = today or dt.date.today()
    first = _years_before(t, 120)
    if not first <= born <= t:
        raise PatientError(
            field,
            born.isoformat(),
            f"a birth date from {first.isoformat()} to today ({t.isoformat()})",
        )
    return born


def date_after_birth(
    d: dt.date, age: float | None, field: str, *, today: dt.date | None = None
) -> dt.date:
    """``d`` (a plan's start, a first dose) no earlier than the patient's birth: a patient
    of ``age`` years was born after ``today`` less ``age + 1`` years."""
    if age is None:
        return d
    t = today or dt.date.today()
    born_after = _years_before(t, int(age) + 1)
    if d < born_after:
        raise InputError(
            field,
            d.isoformat(),
            f"a date after the patient's birth (age {age:g} years: born after "
            f"{born_after.isoformat()})",
        )
    return d


def age_warnings(age: float | None) -> list[str]:
    """A loud warning for a patient under :data:`ADULT_AGE` (the licensing age the safety
    rule ``under_18_not_licensed`` cites): the result extrapolates adult models."""
    if age is None or age >= ADULT_AGE:
        return []
    return [
        f"UNDER 18: age {age:g} years: not licensed for neuropathic pain under 18 (rule "
        "under_18_not_licensed; cymbalta_smpc_lilly 4.2); the PK and dose models here are "
        "adult ones, so this result for a child is an extrapolation"
    ]
