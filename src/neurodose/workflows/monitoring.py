"""Therapeutic drug monitoring: fit the measured levels (MAP), forecast, recommend.

:func:`tdm` takes a dose history and parsed levels (the CLI's regimen options and
levels CSV); :func:`course_tdm` takes a stored plan (the course) and level rows as
the clinic stores them, and turns the plan into doses with
:func:`~neurodose.workflows.plans.planned_doses`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from neurodose.advice.plans import Plan
from neurodose.case import Comedication, Patient, Regimen
from neurodose.knowledge.limits import check_daily_dose
from neurodose.mipd.levels import Observations
from neurodose.mipd.tdm import TdmReport, parse_target, run_tdm
from neurodose.workflows.checks import request_warnings
from neurodose.workflows.plans import planned_doses

__all__ = ["CourseTdmRequest", "TdmRequest", "TdmResult", "course_tdm", "level_analytes", "tdm"]


@dataclass(frozen=True)
class TdmRequest:
    """A TDM question: ``drug`` given as ``regimen`` (the doses taken), measured
    ``levels`` (None: forecast from the prior), the ``target`` range (ng/mL; trough or
    AUC24 by ``metric``) and the dose search (``strengths`` mg, ``max_daily_mg``,
    ``intervals_h``), what-if co-medications added or stopped
    (:func:`neurodose.mipd.tdm.run_tdm`)."""

    drug: str
    regimen: Regimen
    levels: Observations | None = None
    patient: Patient = field(default_factory=Patient)
    comedications: tuple[Comedication, ...] = ()
    target: tuple[float, float] | None = None
    indication: str = "neuropathic_pain"
    strengths: tuple[float, ...] | None = None
    max_daily_mg: float | None = None
    intervals_h: tuple[float, ...] = (24.0,)
    metric: Literal["trough", "auc24"] = "trough"
    method: Literal["laplace", "sir"] = "sir"
    add_drugs: tuple[Comedication, ...] = ()
    stop_drugs: tuple[str, ...] = ()
    seed: int = 0
    accept_inconsistent: bool = False
    without_target: Literal["error", "fit_only"] = "error"
    allow_above_max: bool = False


@dataclass(frozen=True)
class TdmResult:
    """The report and the warnings of the dose checks."""

    report: TdmReport
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """``neurodose tdm --json`` (without the CLI's ``warnings`` and notes)."""
        return dict(self.report.to_json())


def tdm(req: TdmRequest) -> TdmResult:
    """Check the doses taken, the co-medication doses and the dose-search maximum; fit,
    forecast and recommend."""
    warnings = request_warnings(req)
    if req.max_daily_mg is not None:
        warnings += check_daily_dose(
            req.drug, req.max_daily_mg, field="max_daily_mg", allow_above_max=req.allow_above_max
        )
    report = run_tdm(
        req.drug,
        req.regimen.expand(),
        req.levels,
        patient=req.patient,
        comedications=list(req.comedications),
        target=req.target,
        indication=req.indication,
        strengths=list(req.strengths) if req.strengths is not None else None,
        max_daily_mg=req.max_daily_mg,
        intervals_h=list(req.intervals_h),
        metric=req.metric,
        method=req.method,
        add_drugs=list(req.add_drugs),
        stop_drugs=list(req.stop_drugs),
        seed=req.seed,
        accept_inconsistent=req.accept_inconsistent,
        without_target=req.without_target,
    )
    return TdmResult(report, tuple(warnings))


def level_analytes(drug: str, patient: Patient, comeds: Sequence[Comedication]) -> tuple[str, ...]:
    """The analytes the PK model of ``drug`` predicts for this patient."""
    from neurodose.mipd.engine import prior_model

    return tuple(prior_model(drug, patient, list(comeds)).analytes)


def course_levels(
    drug: str,
    plan: Plan,
    rows: Sequence[Mapping[str, Any]],
    patient: Patient,
    comeds: Sequence[Comedication],
) -> Observations:
    """Level rows (``time``/``datetime``, ``conc``, ``analyte`` ...; as the ``tdm``
    levels CSV) of a course whose day 0 starts at midnight of the plan's first day."""
    from neurodose.mipd.engine import molar_masses

    analytes = level_analytes(drug, patient, comeds)
    text_rows = [{k: "" if v is None else str(v) for k, v in r.items()} for r in rows]
    return Observations.from_rows(
        text_rows,
        analytes,
        first_dose=dt.datetime.combine(plan.start_date, dt.time()),
        molar_mass=molar_masses(analytes),
    )


@dataclass(frozen=True)
class CourseTdmRequest:
    """TDM of a stored course: ``drug`` as the ``plan`` doses it up to ``until``, the
    level ``rows``; without a ``target`` ("LOW-HIGH" ng/mL) the report has the fit and
    forecast and says why no dose is recommended (the knowledge-base ranges are for
    depression)."""

    drug: str
    plan: Plan
    rows: tuple[Mapping[str, Any], ...]
    until: dt.date
    patient: Patient = field(default_factory=Patient)
    target: str | None = None
    diary: tuple[Mapping[str, Any], ...] = ()  # diary CSV rows: dose_mg overrides the plan
    accept_levels: bool = False


def course_tdm(req: CourseTdmRequest) -> TdmResult:
    """:func:`tdm` of a stored course (see :class:`CourseTdmRequest`): the plan's doses as
    the diary corrects them (:func:`neurodose.mipd.history.taken_doses`)."""
    from neurodose.knowledge import resolve_name
    from neurodose.mipd.diary import Diary
    from neurodose.mipd.history import taken_doses

    comeds = tuple(req.patient.comedications(exclude=resolve_name(req.drug)))
    levels = None
    if req.rows:
        levels = course_levels(req.drug, req.plan, req.rows, req.patient, comeds)
    doses = planned_doses(req.plan, req.drug, req.until)
    note = None
    if req.diary:
        taken, summary = taken_doses(doses, Diary.from_rows(req.diary), req.plan.start_date)
        doses, note = taken or doses, summary.note()
    result = tdm(
        TdmRequest(
            req.drug,
            doses,
            levels,
            patient=req.patient,
            comedications=comeds,
            target=parse_target(req.target) if req.target is not None else None,
            without_target="fit_only",
            allow_above_max=True,  # the plan's doses were checked when it was made
            accept_inconsistent=req.accept_levels,
        )
    )
    if note is not None:
        result.report.notes.insert(0, note)
    return result
