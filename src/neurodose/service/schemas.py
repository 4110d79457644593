"""Request and response bodies of the REST API (pydantic; every field documented).

The patient body is the library's own ``assess`` profile schema
(:class:`neurodose.case.PatientIn`); the library's JSON outputs
(assessment, plan, tdm, response, simulate, trial) are passed through unchanged.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from neurodose.limits import MAX_DAYS, MAX_HOURS

__all__ = [
    "DiaryEntryIn",
    "DiaryEntryOut",
    "DiaryLinkOut",
    "ExplainIn",
    "Health",
    "LevelRow",
    "LevelsIn",
    "PatientCreated",
    "PatientOut",
    "PatientPage",
    "RegimenIn",
    "SimulateIn",
    "SwitchIn",
    "TaperIn",
    "TokenOut",
    "TrialJobOut",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Health(BaseModel):
    """``GET /health``."""

    status: Literal["ok"]
    database: Literal["sqlite", "postgresql"]
    version: str


class TokenOut(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds")


class PatientCreated(BaseModel):
    """``POST /patients``: the new pseudonymous id."""

    id: str


class PatientOut(BaseModel):
    """A patient: id, the stored profile, the current drug and the flags of the list."""

    id: str
    profile: dict[str, Any]
    current_drug: str | None = None
    regimen_start: dt.date | None = None
    review_due: bool = False
    level_due: bool = False
    created_at: dt.datetime
    updated_at: dt.datetime


class PatientPage(BaseModel):
    """One page of the patient list."""

    items: list[PatientOut]
    total: int
    offset: int
    limit: int


class RegimenIn(_In):
    """Start a drug: the titration plan of ``neurodose plan titrate``."""

    drug: str = Field(min_length=1, max_length=64, description="any knowledge-base name")
    start_date: dt.date | None = Field(None, description="day 0 (default today)")
    current_daily_mg: float | None = Field(
        None, gt=0, le=10000, description="continue from this daily dose, mg/day"
    )


class TaperIn(_In):
    """Taper the current drug (or ``drug``) to stopping (``neurodose plan taper``)."""

    drug: str | None = Field(None, min_length=1, max_length=64)
    current_daily_mg: float | None = Field(
        None, gt=0, le=10000, description="mg/day (default: the plan's current daily dose)"
    )
    start_date: dt.date | None = None
    method: Literal["proportional", "hyperbolic"] = "proportional"


class SwitchIn(_In):
    """Switch from the current drug to ``to`` (``neurodose plan switch``)."""

    to: str = Field(min_length=1, max_length=64)
    current_daily_mg: float | None = Field(None, gt=0, le=10000, description="mg/day")
    start_date: dt.date | None = None


class LevelRow(_In):
    """One row of the ``tdm`` levels CSV: ``time_h`` (h since the first dose) or
    ``datetime``, ``analyte``, ``value`` (number, ``<X`` or ``BLQ``), ``unit``, ``lloq``."""

    time_h: float | None = Field(None, ge=0, le=24 * 3650)
    datetime: str | None = Field(None, max_length=40)
    analyte: str = Field(min_length=1, max_length=64)
    value: float | str
    unit: str = Field(min_length=1, max_length=20)
    lloq: float | str | None = None


class LevelsIn(_In):
    """Levels to add (JSON); ``text/csv`` bodies are read as the ``tdm`` CSV."""

    rows: list[LevelRow] = Field(min_length=1, max_length=500)


class DiaryEntryIn(_In):
    """One diary day. ``id`` is the client's UUID: a replay of the same body returns
    the stored entry; another body with the same id is ``409``."""

    id: uuid.UUID
    date: dt.date
    pain: float = Field(ge=0, le=10, description="average pain, last 24 h, 0-10")
    sleep: float | None = Field(None, ge=0, le=10, description="sleep interference 0-10")
    side_effects: float | None = Field(None, ge=0, le=10, description="side-effect burden 0-10")
    dose_mg: float | None = Field(None, ge=0, le=10000, description="dose taken, mg")
    notes: str = Field("", max_length=1000)
    missed_dose: bool = False


class DiaryEntryOut(BaseModel):
    """A stored diary entry."""

    id: uuid.UUID
    date: dt.date
    pain: float
    sleep: float | None
    side_effects: float | None
    dose_mg: float | None
    notes: str
    missed_dose: bool


class DiaryLinkOut(BaseModel):
    """A new diary link for the patient (the token is shown once)."""

    url: str
    token: str
    expires: dt.datetime


class SimulateIn(_In):
    """``neurodose simulate`` options as JSON."""

    drug: str = Field(min_length=1, max_length=64)
    regimen: dict[str, Any] = Field(
        description="as --regimen takes it: {'dose','every','days'} or {'steps', 'days'}"
    )
    age: float | None = Field(None, gt=0, le=120)
    sex: Literal["male", "female"] | None = None
    weight: float | None = Field(None, gt=0, le=400)
    smoker: bool = False
    crcl: float | None = Field(None, gt=0, le=300)
    cyp2d6: str | None = Field(None, max_length=40)
    cyp2c19: str | None = Field(None, max_length=40)
    with_: list[str] = Field(default_factory=list, alias="with", max_length=10)
    hours: float | None = Field(None, gt=0, le=MAX_HOURS)
    allow_above_max: bool = Field(
        False, description="accept a dose above the maximum (warned in 'warnings')"
    )


class ExplainIn(_In):
    """``neurodose explain`` options as JSON."""

    drug: str = Field(min_length=1, max_length=64)
    dose: str = Field(min_length=1, max_length=40, description="each dose, e.g. '25 mg'")
    every: str = Field("24 h", min_length=1, max_length=40, description="interval, e.g. '24 h'")
    days: float = Field(42.0, ge=1, le=MAX_DAYS, description="days of dosing (and horizon)")
    age: float | None = Field(None, gt=0, le=120)
    sex: Literal["male", "female"] | None = None
    weight: float | None = Field(None, gt=0, le=400)
    smoker: bool = False
    crcl: float | None = Field(None, gt=0, le=300)
    cyp2d6: str | None = Field(None, max_length=40)
    cyp2c19: str | None = Field(None, max_length=40)
    with_: list[str] = Field(default_factory=list, alias="with", max_length=10)
    allow_above_max: bool = False


class TrialJobOut(BaseModel):
    """A background virtual-trial job."""

    job: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    progress: float
    result: dict[str, Any] | None = None
    error: str | None = None
