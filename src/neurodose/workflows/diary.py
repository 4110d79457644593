"""Response: learn the individual response from a pain diary and forecast the chance of
>= 30 % relief by week 8 if the dose is kept, raised or the drug switched
(:func:`neurodose.mipd.response.run_response`). ``neurodose response`` and the clinic's
``GET /patients/{id}/response`` call :func:`response`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from neurodose.case import Comedication, Patient, Regimen
from neurodose.mipd.diary import Diary
from neurodose.mipd.levels import Observations
from neurodose.plausibility import diary_plausible, regimen_shorter_than_diary
from neurodose.workflows.checks import comedication_notes, request_warnings

__all__ = ["ResponseRequest", "ResponseResult", "response"]


@dataclass(frozen=True)
class ResponseRequest:
    """``drug`` taken as ``regimen``, the ``diary``, the first dose's date (default: the
    first diary day), the patient, co-medications, the drug of the 'switch' scenario,
    measured ``levels`` to individualise the PK, the seed; a dose above the maximum only
    with ``allow_above_max``."""

    drug: str
    regimen: Regimen
    diary: Diary
    first_dose: dt.date | None = None
    patient: Patient = field(default_factory=Patient)
    comedications: tuple[Comedication, ...] = ()
    switch_to: str | None = None
    levels: Observations | None = None
    seed: int = 0
    allow_above_max: bool = False


@dataclass(frozen=True)
class ResponseResult:
    """The report, the warnings of the dose checks and the co-medication notes."""

    report: Any  # mipd.response.ResponseReport
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def response(req: ResponseRequest) -> ResponseResult:
    """Check the doses (``regimen``, ``comedications``), fit the diary and forecast."""
    from neurodose.mipd.response import run_response

    d = req.diary
    dates = [d.start + dt.timedelta(days=int(x)) for x in d.day]
    warnings = diary_plausible(req.drug, dates, d.dose_mg, allow_above_max=req.allow_above_max)
    warnings += request_warnings(req)
    warnings += regimen_shorter_than_diary(req.regimen, dates, req.first_dose)
    rep = run_response(
        req.drug,
        req.regimen,
        req.diary,
        first_dose=req.first_dose,
        patient=req.patient,
        comedications=list(req.comedications),
        switch_to=req.switch_to,
        levels=req.levels,
        seed=req.seed,
    )
    return ResponseResult(rep, tuple(warnings), tuple(comedication_notes(req.comedications)))
