"""Bounds on inputs and on work: one place, the same at every door.

The command line, the library workflows, the REST API and the clinic's forms read
their caps from here, so a value refused at one door is refused at all of them with
the same message, naming the field, the value and the cap.

Dates
    A plan or assessment date (day 0 of a plan, a first dose) lies between
    :data:`EARLIEST_DATE` (1900-01-01) and :data:`HORIZON_YEARS` (10) years after
    today (:func:`latest_date`): a plan is made for now, not for the year 9999.
Work
    :data:`MAX_DAYS` days of dosing (10 years), :data:`MAX_HOURS` hours of
    simulated time, :data:`MAX_DOSES` doses in one regimen, :data:`MAX_POPULATION`
    virtual subjects and :data:`MAX_POPULATION_POINTS` subject-time points in one
    population simulation (streamed in chunks of :data:`POPULATION_CHUNK_POINTS`, so the
    points cap bounds time, not memory), :data:`MAX_TRIAL_PATIENTS` patients (all arms together)
    and :data:`MAX_TRIAL_WEEKS` weeks in one virtual trial.

Examples
--------
>>> plan_date("2026-01-05", "start_date")
datetime.date(2026, 1, 5)
>>> plan_date("9999-12-31", "start_date", today=dt.date(2026, 1, 5))
Traceback (most recent call last):
...
neurodose.errors.InputError: start_date: '9999-12-31' is not allowed; expected a date as YYYY-MM-DD
from 1900-01-01 to 2036-01-05 (at most 10 years from today)
"""

from __future__ import annotations

import datetime as dt

from neurodose.errors import InputError

__all__ = [
    "EARLIEST_DATE",
    "HORIZON_YEARS",
    "MAX_DAYS",
    "MAX_DOSES",
    "MAX_HOURS",
    "MAX_POPULATION",
    "MAX_POPULATION_POINTS",
    "MAX_TRIAL_PATIENTS",
    "MAX_TRIAL_WEEKS",
    "POPULATION_BAND_CELLS",
    "POPULATION_BAND_PRECISION",
    "POPULATION_CHUNK_POINTS",
    "POPULATION_SECONDS_PER_POINT",
    "days_allowed",
    "hours_allowed",
    "latest_date",
    "plan_date",
    "population_allowed",
    "regimen_allowed",
    "trial_allowed",
]

#: earliest date any input may name
EARLIEST_DATE = dt.date(1900, 1, 1)
#: how far ahead of today a date may lie, years
HORIZON_YEARS = 10
#: longest dosing period or horizon, days (10 years)
MAX_DAYS = 3653
#: longest simulated time, hours (:data:`MAX_DAYS` days)
MAX_HOURS = MAX_DAYS * 24.0
#: most doses one regimen may expand to (10 years of four doses a day)
MAX_DOSES = 14_610
#: most virtual subjects in one population simulation (bands are streamed in chunks)
MAX_POPULATION = 1_000_000
#: most subject x time points one population simulation may compute (a bound on time:
#: about a minute at :data:`POPULATION_SECONDS_PER_POINT`, so that a REST request stays
#: bounded too; it admits 1,000,000 subjects over 8 weeks hourly; memory is bounded by
#: the chunks)
MAX_POPULATION_POINTS = 1_500_000_000
#: subject x time points simulated at once (one float64 array of ~16 MB per analyte); a
#: population that fits one chunk gets exact percentiles, a larger one streamed bands
POPULATION_CHUNK_POINTS = 2_000_000
#: relative width of one bin of the streamed bands' log-spaced histograms (1 %): a streamed
#: percentile lies within half a bin (+-0.5 %) of the exact one
POPULATION_BAND_PRECISION = 0.01
#: most histogram cells (time points x bins) per analyte of streamed bands (~64 MB of
#: int32 counts; 8 weeks hourly needs ~3.4 million); a horizon of years gets wider bins,
#: and the result states their width
POPULATION_BAND_CELLS = 16_000_000
#: CPU seconds per subject-time point of a population simulation, for the time estimate
#: in the cap's message (engineering figure, not clinical: duloxetine 60 mg daily for 8 weeks,
#: 100,000 subjects x 1,345 hourly points in 4.8 s of CPU, 2026-12)
POPULATION_SECONDS_PER_POINT = 4.0e-8
#: most patients, all arms together, in one virtual trial
MAX_TRIAL_PATIENTS = 200_000
#: longest virtual trial, weeks
MAX_TRIAL_WEEKS = 104


def latest_date(today: dt.date | None = None) -> dt.date:
    """The last date an input may name: :data:`HORIZON_YEARS` years after ``today``.

    >>> latest_date(dt.date(2028, 2, 29))
    datetime.date(2038, 2, 28)
    """
    t = today or dt.date.today()
    try:
        return t.replace(year=t.year + HORIZON_YEARS)
    except ValueError:  # 29 February into a common year
        return t.replace(year=t.year + HORIZON_YEARS, day=28)


def plan_date(value: object, field: str, *, today: dt.date | None = None) -> dt.date:
    """``value`` (a date or ``YYYY-MM-DD`` text) as a date within the horizon.

    Raises :class:`~neurodose.errors.InputError` naming ``field``, the value and the
    allowed range (:data:`EARLIEST_DATE` to :func:`latest_date`).
    """
    last = latest_date(today)
    allowed = (
        f"a date as YYYY-MM-DD from {EARLIEST_DATE.isoformat()} to {last.isoformat()} "
        f"(at most {HORIZON_YEARS} years from today)"
    )
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        d = value
    elif isinstance(value, str):
        try:
            d = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise InputError(field, value, allowed) from None
    else:
        raise InputError(field, value, allowed)
    if not EARLIEST_DATE <= d <= last:
        raise InputError(field, d.isoformat(), allowed)
    return d


def days_allowed(value: object, field: str) -> float:
    """``value`` as a number of days from 1 to :data:`MAX_DAYS`.

    >>> days_allowed(100000, "days")
    Traceback (most recent call last):
    ...
    neurodose.errors.InputError: days: 100000 is not allowed; expected at least 1 day and at most
    3,653 days (10 years)
    """
    allowed = f"at least 1 day and at most {MAX_DAYS:,} days (10 years)"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(field, value, allowed)
    if not 1 <= value <= MAX_DAYS:
        raise InputError(field, value, allowed)
    return float(value)


def hours_allowed(value: object, field: str) -> float:
    """``value`` as simulated hours, more than 0 and at most :data:`MAX_HOURS`.

    >>> hours_allowed(100, "hours")
    100.0
    """
    allowed = f"a number of hours > 0 and <= {MAX_HOURS:,.0f} h ({MAX_DAYS:,} days)"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(field, value, allowed)
    if not 0 < value <= MAX_HOURS:
        raise InputError(field, value, allowed)
    return float(value)


def regimen_allowed(n_doses: int, last_dose_h: float, field: str, value: object) -> None:
    """A regimen of ``n_doses`` doses, the last at ``last_dose_h`` hours, within the caps
    (:data:`MAX_DOSES` doses, the last within :data:`MAX_DAYS` days).

    >>> regimen_allowed(100_000, 99_999 * 24.0, "regimen.days", 100_000)
    Traceback (most recent call last):
    ...
    neurodose.errors.InputError: regimen.days: 100000 is not allowed; expected a regimen of at
    most 3,653 days (10 years) (its last dose is on day 100,000)
    """
    day = int(last_dose_h // 24.0) + 1  # the day of the last dose, counting from day 1
    if day > MAX_DAYS:
        raise InputError(
            field,
            value,
            f"a regimen of at most {MAX_DAYS:,} days (10 years) (its last dose is on day {day:,})",
        )
    if n_doses > MAX_DOSES:
        per_day = n_doses / day
        raise InputError(
            field,
            value,
            f"at most {int(MAX_DOSES / per_day):,} days at this dosing frequency (at most "
            f"{MAX_DOSES:,} doses in one regimen; this one has {n_doses:,})",
        )


def population_allowed(population: int, n_times: int, field: str = "population") -> int:
    """``population`` virtual subjects at ``n_times`` time points within the caps: at most
    :data:`MAX_POPULATION` subjects and :data:`MAX_POPULATION_POINTS` subject-time points,
    so the cap for this horizon is stated as one number of subjects (with the time it
    would take). Bands are streamed, so memory does not grow with the population.

    >>> population_allowed(100_000, 1_345)
    100000
    >>> population_allowed(200_000, 87_673)
    Traceback (most recent call last):
    ...
    neurodose.errors.InputError: population: 200000 is not allowed; expected at most 17,109
    virtual subjects for 87,673 time points (about 1 min of CPU; at most 1,000,000 subjects and
    1,500,000,000 subject-time points); use `neurodose trial` for larger populations
    """
    n_times = max(int(n_times), 1)
    cap = max(min(MAX_POPULATION, MAX_POPULATION_POINTS // n_times), 1)
    if isinstance(population, bool) or not 1 <= population <= cap:
        minutes = cap * n_times * POPULATION_SECONDS_PER_POINT / 60.0
        raise InputError(
            field,
            population,
            f"at most {cap:,} virtual subjects for {n_times:,} time points (about "
            f"{max(round(minutes), 1):,} min of CPU; at most {MAX_POPULATION:,} subjects and "
            f"{MAX_POPULATION_POINTS:,} subject-time points); "
            "use `neurodose trial` for larger populations",
        )
    return population


def trial_allowed(
    n_per_arm: int, arms: int, field: str = "n_per_arm", cap: int = MAX_TRIAL_PATIENTS
) -> int:
    """A trial of ``arms`` arms of ``n_per_arm`` patients within ``cap`` patients in all
    (:data:`MAX_TRIAL_PATIENTS`; a clinic may set a lower one).

    >>> trial_allowed(10**9, 2)
    Traceback (most recent call last):
    ...
    neurodose.errors.InputError: n_per_arm: 1000000000 is not allowed; expected at most
    100,000 per arm for 2 arms (200,000 patients in all)
    """
    per_arm = max(cap // max(arms, 1), 1)
    if n_per_arm > per_arm:
        raise InputError(
            field,
            n_per_arm,
            f"at most {per_arm:,} per arm for {arms} arms ({cap:,} patients in all)",
        )
    return n_per_arm
