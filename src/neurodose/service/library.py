"""The library calls behind the routes: stored JSON in, the library's JSON out.

No clinical logic: each function validates with the library's own loaders and
returns exactly what the matching command prints with ``--json``
(``assess``, ``plan``, ``tdm``, ``response``, ``simulate``, ``trial``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from neurodose.errors import InputError
from neurodose.limits import days_allowed, plan_date
from neurodose.service.store_cache import ResultCache

#: assessments (``assess --json`` text) by profile, date and knowledge version
ASSESSMENTS: ResultCache[str] = ResultCache(512)
#: plans (``plan --json`` text) by profile, parameters and knowledge version
PLANS: ResultCache[str] = ResultCache(512)
#: a CDS order's alternatives (immutable tuples) by patient, date and knowledge version
ALTERNATIVES: ResultCache[tuple[tuple[str, Any], ...]] = ResultCache(256)

__all__ = [
    "alternatives",
    "assessment",
    "diary_rows",
    "explain_json",
    "first_dose_time",
    "level_analytes",
    "level_observations",
    "make_plan",
    "pk_patient",
    "plan_ics",
    "plan_levels",
    "profile_patient",
    "response_report",
    "run_trial_job",
    "simulate_json",
    "tdm_report",
]


@contextlib.contextmanager
def _body_fields(names: Mapping[str, str]) -> Iterator[None]:
    """A workflow's input error for a field in ``names`` raised again naming the
    request body's field (``comedications`` -> ``with``)."""
    try:
        yield
    except InputError as exc:
        if exc.field not in names:
            raise
        raise type(exc)(names[exc.field], exc.value, exc.allowed) from exc


def _clean(d: Any) -> Any:
    """The JSON text round trip the CLI does (``allow_nan=False``)."""
    return json.loads(json.dumps(d, allow_nan=False, default=str))


def profile_patient(profile: Mapping[str, Any], *, strict: bool = False) -> Any:
    """The library's one :class:`neurodose.case.Patient` of an ``assess`` profile
    (raises the library's errors, naming the field; unknown names are kept as
    ``unchecked`` unless ``strict``; :func:`neurodose.workflows.build_patient`)."""
    from neurodose.workflows import PatientRequest, build_patient

    return build_patient(PatientRequest(profile, strict=strict)).patient


def pk_patient(profile: Mapping[str, Any]) -> Any:
    """The patient the PK engine takes: the same :class:`neurodose.case.Patient`."""
    return profile_patient(profile)


def _comeds(profile: Mapping[str, Any], drug: str | None = None) -> list[Any]:
    """The patient's current medications as PK co-medications (``drug`` left out)."""
    from neurodose.knowledge import resolve_name

    exclude = resolve_name(drug) if drug else None
    return list(profile_patient(profile).comedications(exclude=exclude))


def assessment(profile: Mapping[str, Any], start_date: dt.date) -> dict[str, Any]:
    """``neurodose assess --json`` of the profile, plans dated from ``start_date``
    (:func:`neurodose.workflows.assess`).

    The result depends only on the profile, the date and the knowledge base, so its
    JSON text is cached (:data:`ASSESSMENTS`, keyed by the hash of the canonical profile
    JSON, the date and the knowledge version): a repeat costs a parse.
    """
    inputs = {"profile": profile, "date": start_date.isoformat()}
    text = ASSESSMENTS.get_or_compute(inputs, lambda: _assessment_text(profile, start_date))
    return dict(json.loads(text))


def alternatives(patient: Any, today: dt.date) -> tuple[tuple[str, Any], ...]:
    """:func:`neurodose.workflows.screening.alternative_candidates`, cached
    (:data:`ALTERNATIVES`): the key is the patient's ``repr`` (every field of the frozen
    patient, its medications and genotype calls), the date and the knowledge version, so
    an order that earns an avoid card for the same patient again costs no assessment."""
    from neurodose.workflows.screening import alternative_candidates

    inputs = {"patient": repr(patient), "date": today.isoformat()}
    return ALTERNATIVES.get_or_compute(inputs, lambda: alternative_candidates(patient, today))


def _assessment_text(profile: Mapping[str, Any], start_date: dt.date) -> str:
    from neurodose.workflows import AssessRequest, assess

    res = assess(AssessRequest(profile_patient(profile), start_date))
    return json.dumps(res.to_json(), allow_nan=False, default=str)


def _plan_request(profile: Mapping[str, Any] | None, params: Mapping[str, Any]) -> Any:
    from neurodose.workflows import PlanRequest

    mg = params.get("current_daily_mg")
    return PlanRequest(
        kind=params["kind"],
        drug=params["drug"],
        start_date=plan_date(str(params["start_date"]), "start_date"),
        current_daily_mg=float(mg) if mg is not None else None,
        patient=profile_patient(profile) if profile is not None else None,
        method=params.get("method", "proportional"),
        to=params.get("to"),
    )


def make_plan(profile: Mapping[str, Any] | None, params: Mapping[str, Any]) -> dict[str, Any]:
    """``neurodose plan titrate|taper|switch --json --patient-text`` for ``params``.

    ``params``: ``kind`` (titration, taper, switch), ``drug``, ``start_date``,
    ``current_daily_mg`` (mg/day), ``method`` (taper) and ``to`` (switch).
    """
    from neurodose.workflows import make_plan as run

    def compute() -> str:
        return json.dumps(
            run(_plan_request(profile, params)).to_json(), allow_nan=False, default=str
        )

    return dict(json.loads(PLANS.get_or_compute({"profile": profile, "params": params}, compute)))


def plan_ics(profile: Mapping[str, Any] | None, params: Mapping[str, Any]) -> str:
    """The plan as iCalendar text (``neurodose plan ... --ics``)."""
    from neurodose.advice.ics import to_ics
    from neurodose.workflows import make_plan as run

    return to_ics(run(_plan_request(profile, params)).plan)


def _regimen(plan: Mapping[str, Any], drug: str, until: dt.date) -> Any:
    from neurodose.workflows import planned_doses

    return planned_doses(dict(plan), drug, until)


def plan_levels(
    profile: Mapping[str, Any], plan: Mapping[str, Any], drug: str, days: int
) -> dict[str, Any]:
    """Expected level and relief (typical for this patient) over the plan's first ``days``.

    ``neurodose simulate`` of the planned doses with the PD chain (``pd=True``):
    ``{"time_d", "series": {analyte: ng/mL every 6 h}, "tdm_range", "tdm_analytes",
    "relief_day", "relief_pct"}``; ``relief_pct`` is the drug-attributable relief of
    the typical patient (no placebo response; docs/model.md), per day.
    """
    from neurodose.simulation import simulate

    start = dt.date.fromisoformat(plan["start_date"])
    reg = _regimen(plan, drug, start + dt.timedelta(days=days - 1))
    res = simulate(
        drug,
        reg,
        pk_patient(profile),
        _comeds(profile, drug),
        pd=True,
        days=days,
        samples_per_day=4,
    )
    relief: list[float] = []
    if res.pd is not None:
        relief = [round(100.0 * float(x), 2) for x in res.pd.pain.relief_drug[0]]
    return {
        "time_d": [round(float(t) / 24.0, 3) for t in res.times_h],
        "series": {a: [round(float(v), 3) for v in c] for a, c in res.concentrations.items()},
        "tdm_range": list(res.tdm_range) if res.tdm_range is not None else None,
        "tdm_analytes": list(res.tdm_analytes),
        "relief_day": list(range(len(relief))),
        "relief_pct": relief,
    }


def first_dose_time(plan: Mapping[str, Any]) -> dt.datetime:
    """Midnight of the plan's first day (time 0 of the plan's regimen)."""
    return dt.datetime.combine(dt.date.fromisoformat(plan["start_date"]), dt.time())


def level_analytes(profile: Mapping[str, Any], drug: str) -> tuple[str, ...]:
    """The analytes the PK model of ``drug`` predicts for this patient."""
    from neurodose.workflows.monitoring import level_analytes as run

    return run(drug, pk_patient(profile), _comeds(profile, drug))


def level_observations(
    profile: Mapping[str, Any],
    drug: str,
    plan: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
) -> Any:
    """Level rows as ``tdm`` reads its CSV, timed against the plan's doses (raises the
    library's errors)."""
    from neurodose.advice.plans import Plan
    from neurodose.workflows.monitoring import course_levels

    patient = pk_patient(profile)
    return course_levels(drug, Plan.from_dict(plan), rows, patient, _comeds(profile, drug))


def tdm_report(
    profile: Mapping[str, Any],
    drug: str,
    plan: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    until: dt.date,
    target: str | None = None,
    entries: Sequence[Mapping[str, Any]] = (),
    accept_levels: bool = False,
) -> dict[str, Any]:
    """``neurodose tdm --json`` for the stored regimen and levels
    (:func:`neurodose.workflows.course_tdm`); the diary ``entries`` correct the plan's
    doses (a missed dose is 0 mg), and ``accept_levels`` fits levels far from the
    prediction and recommends anyway.

    ``target`` ("LOW-HIGH" ng/mL) is needed for a dose recommendation: the knowledge-base
    TDM ranges are depression ranges, so without it the report has the fit and forecast
    and a note saying why no dose is recommended.
    """
    from neurodose.advice.plans import Plan
    from neurodose.workflows import CourseTdmRequest, course_tdm

    req = CourseTdmRequest(
        drug,
        Plan.from_dict(plan),
        tuple(rows),
        until,
        pk_patient(profile),
        target,
        diary=tuple(diary_rows(entries)),
        accept_levels=accept_levels,
    )
    return dict(_clean(course_tdm(req).to_json()))


def diary_rows(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Diary entries as the diary CSV's rows (a missed dose with no dose is ``dose_mg`` 0)."""
    rows = []
    for e in entries:
        dose = e.get("dose_mg")
        if dose is None and e.get("missed_dose"):
            dose = 0.0
        rows.append(
            {
                "date": str(e["date"]),
                "pain": f"{e['pain']:g}",
                "sleep": "" if e.get("sleep") is None else f"{e['sleep']:g}",
                "side_effects": "" if e.get("side_effects") is None else f"{e['side_effects']:g}",
                "dose_mg": "" if dose is None else f"{dose:g}",
                "notes": e.get("notes") or "",
            }
        )
    return rows


def response_report(
    profile: Mapping[str, Any],
    drug: str,
    plan: Mapping[str, Any],
    entries: Sequence[Mapping[str, Any]],
    rows: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """``neurodose response --json`` from the stored diary, regimen and levels
    (:func:`neurodose.workflows.response`; the report only: the stored plan's doses were
    checked when it was made, and a co-medication's dose is screened in the assessment,
    so the diary is never refused for a dose)."""
    from neurodose.mipd.diary import Diary
    from neurodose.workflows import ResponseRequest, response

    if not entries:
        raise InputError("diary", "no entries", "at least one diary entry")
    diary = Diary.from_rows(diary_rows(entries))
    last = max(dt.date.fromisoformat(str(e["date"])) for e in entries)
    reg = _regimen(plan, drug, last)
    obs = level_observations(profile, drug, plan, rows) if rows else None
    req = ResponseRequest(
        drug,
        reg,
        diary,
        first_dose=dt.date.fromisoformat(plan["start_date"]),
        patient=pk_patient(profile),
        comedications=tuple(_comeds(profile, drug)),
        levels=obs,
        allow_above_max=True,
    )
    return dict(_clean(response(req).report.to_json()))


def simulate_json(
    drug: str,
    regimen: Mapping[str, Any],
    patient: Mapping[str, Any],
    with_: Sequence[str],
    hours: float | None,
    allow_above_max: bool = False,
    *,
    population: int | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """``neurodose simulate --json`` (regimen as ``--regimen`` takes it): the result with
    ``regimen``, ``warnings`` (a dose above the knowledge-base maximum is an error unless
    ``allow_above_max``) and ``notes`` (:func:`neurodose.workflows.models`); with
    ``population``, its bands (the workflow's cap and streaming, as at the command line)
    and ``population`` (n, seed, percentiles)."""
    from neurodose.case import Regimen, parse_comedication
    from neurodose.plausibility import units_required
    from neurodose.workflows import SimulateRequest, simulate

    units_required(regimen)
    req = SimulateRequest(
        drug,
        Regimen.from_mapping(regimen),
        _options_patient(patient),
        tuple(parse_comedication(w) for w in with_),
        hours=hours,
        population=population,
        seed=seed,
        allow_above_max=allow_above_max,
    )
    with _body_fields({"comedications": "with"}):
        data = simulate(req).to_json()
    if population is not None:
        data["population"] = {"n": population, "seed": seed, "percentiles": [5, 50, 95]}
    return data


def _options_patient(patient: Mapping[str, Any]) -> Any:
    """The patient of the covariate/genotype options (as ``simulate --age ... --cyp2d6``;
    :func:`neurodose.workflows.build_patient`)."""
    from neurodose.workflows import PatientOptions, PatientRequest, build_patient

    return build_patient(PatientRequest(PatientOptions.from_mapping(patient))).patient


def explain_json(
    drug: str,
    dose: str,
    every: str,
    days: float,
    patient: Mapping[str, Any],
    with_: Sequence[str],
    allow_above_max: bool = False,
) -> dict[str, Any]:
    """``neurodose explain --json``: occupancy, pathway shares of relief, side-effect
    drivers for ``dose`` every ``every`` over ``days``, with ``warnings`` and ``notes``
    (:func:`neurodose.workflows.explain`; the dose check's ``regimen.dose`` is the
    body's ``dose``)."""
    from neurodose.case import Regimen, parse_comedication
    from neurodose.plausibility import units_required
    from neurodose.workflows import ExplainRequest, explain

    units_required({"dose": dose, "every": every}, field="")

    days_allowed(days, "days")  # before the regimen is built for that many days
    req = ExplainRequest(
        drug,
        Regimen.oral(dose, every=every, days=days),
        days=days,
        patient=_options_patient(patient),
        comedications=tuple(parse_comedication(w) for w in with_),
        allow_above_max=allow_above_max,
    )
    with _body_fields({"regimen.dose": "dose", "comedications": "with"}):
        res = explain(req)
    return dict(_clean(res.to_json()))


def run_trial_job(
    design: Mapping[str, Any],
    on_progress: Callable[[float], None],
    scheduler: str | None = None,
) -> dict[str, Any]:
    """``neurodose trial --json`` of a design mapping, reporting progress 0-1 per chunk
    (in this process), or on the Dask ``scheduler`` (progress at the end), through
    :func:`neurodose.workflows.trial`."""
    from neurodose.workflows.trials import TrialRequest, trial, trial_design

    req = TrialRequest(trial_design(design), on_progress=on_progress, scheduler=scheduler)
    out = dict(_clean(trial(req).to_json()))
    if scheduler is not None:
        on_progress(1.0)
    return out
