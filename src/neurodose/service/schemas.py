"""Request and response bodies of the REST API (pydantic; every field documented).

The patient body is the library's own ``assess`` profile schema
(:class:`neurodose.case.PatientIn`); the library's JSON outputs
(assessment, plan, tdm, response, simulate, trial) are passed through unchanged.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from neurodose.limits import MAX_DAYS, MAX_HOURS

__all__ = [
    "AssessmentOut",
    "AuditEntry",
    "ConditionOut",
    "DiaryEntryIn",
    "DiaryEntryOut",
    "DiaryLinkOut",
    "DiaryPlanOut",
    "DiaryPlanStep",
    "DrugRecordOut",
    "DrugSummary",
    "ExplainIn",
    "ExplainOut",
    "FhirBundle",
    "FhirBundleEntry",
    "FhirCarePlan",
    "FhirResource",
    "Health",
    "LevelRow",
    "LevelsAdded",
    "LevelsIn",
    "PatientCreated",
    "PatientOut",
    "PatientPage",
    "PlanOut",
    "PlanReview",
    "PlanStep",
    "RegimenIn",
    "ResponseOut",
    "SimulateIn",
    "SimulateOut",
    "SourceOut",
    "SourceRef",
    "SwitchIn",
    "TaperIn",
    "TdmOut",
    "TokenOut",
    "TrialDesignIn",
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


#: typing caches ``X | None`` by equality and ``Literal`` equality ignores order, so a bare
#: ``Literal["male", "female"] | None`` could come back as another module's
#: ``Literal["female", "male"] | None`` (and the schema's enum in that order, depending on
#: the import order); the note makes this type its own.
_Sex = Annotated[Literal["male", "female"], "sex of a model request"]


class _ModelIn(_In):
    """What ``neurodose simulate`` and ``explain`` both take: the drug, the patient's
    covariates and the co-medications."""

    drug: str = Field(min_length=1, max_length=64)
    age: float | None = Field(None, gt=0, le=120)
    sex: _Sex | None = None
    weight: float | None = Field(None, gt=0, le=400)
    smoker: bool = False
    crcl: float | None = Field(None, ge=0, le=300)
    cyp2d6: str | None = Field(None, max_length=40)
    cyp2c19: str | None = Field(None, max_length=40)
    with_: list[str] = Field(default_factory=list, alias="with", max_length=10)

    def covariates(self) -> dict[str, Any]:
        """The patient covariates, as the library takes them."""
        return self.model_dump(
            include={"age", "sex", "weight", "smoker", "crcl", "cyp2d6", "cyp2c19"}
        )


class SimulateIn(_ModelIn):
    """``neurodose simulate`` options as JSON."""

    regimen: dict[str, Any] = Field(
        description="as --regimen takes it: {'dose','every','days'} or {'steps', 'days'}"
    )
    hours: float | None = Field(None, gt=0, le=MAX_HOURS)
    population: int | None = Field(
        None,
        ge=1,
        description="virtual subjects for p05/p50/p95 bands (the cap of "
        "neurodose.limits.population_allowed for the horizon, as at the command line; "
        "streamed beyond one chunk, with the bands' precision in 'notes')",
    )
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="seed of the population")
    allow_above_max: bool = Field(
        False, description="accept a dose above the maximum (warned in 'warnings')"
    )


class ExplainIn(_ModelIn):
    """``neurodose explain`` options as JSON."""

    dose: str = Field(min_length=1, max_length=40, description="each dose, e.g. '25 mg'")
    every: str = Field("24 h", min_length=1, max_length=40, description="interval, e.g. '24 h'")
    days: float = Field(42.0, ge=1, le=MAX_DAYS, description="days of dosing (and horizon)")
    allow_above_max: bool = False


class TrialDesignIn(BaseModel):
    """A virtual-trial design, as ``neurodose trial`` reads it from TOML (see
    ``examples/trials/``). The design reader checks every field and names the one that
    is wrong (field, value, allowed), so the fields are passed to it as given."""

    model_config = ConfigDict(extra="allow")

    name: Any = Field(None, description="a non-empty string")
    weeks: Any = Field(None, description="trial length, 1-104 weeks")
    condition: Any = Field(None, description="a condition of the PD parameters")
    n_per_arm: Any = Field(None, description="patients per arm, an integer >= 1")
    seed: Any = Field(None, description="random seed, an integer >= 0")
    arms: Any = Field(None, description="a non-empty list of arms ({name, drug, ...})")


class TrialJobOut(BaseModel):
    """A background virtual-trial job."""

    job: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    progress: float
    result: dict[str, Any] | None = None
    error: str | None = None


# ------------------------------------------------------------------ library outputs
# The routes below pass the library's JSON through. Each model names the fields the
# library always writes (in its order, so the JSON keeps its key order); ``extra="allow"``
# keeps any field the library adds unchanged, and numbers are ``int | float`` so an
# integer is never rewritten as ``1.0``. The routes use ``response_model_exclude_unset``
# so a field the library leaves out stays out.

Number = int | float


class _Passthrough(BaseModel):
    model_config = ConfigDict(extra="allow")


class DrugSummary(BaseModel):
    """One drug of ``GET /drugs``."""

    name: str = Field(description="knowledge-base name (the id of ``/drugs/{name}``)")
    display_name: str
    drug_class: str | None
    record: str = Field(description="record kind, e.g. 'full' or 'partner'")
    classes: list[str]


class DrugRecordOut(_Passthrough):
    """The full cited drug record (as ``neurodose drugs show NAME --json``)."""

    schema_version: int
    name: str
    display_name: str
    record: str
    drug_class: str | None = None
    classes: list[str] = []


class SourceOut(_Passthrough):
    """One reference as CSL-JSON (``id``, ``type``, ``title`` and the CSL fields given,
    e.g. ``container-title``, ``issued``, ``author``, ``PMID``, ``URL``)."""

    id: str
    type: str
    title: str | None = None


class ConditionOut(BaseModel):
    """A condition id the patient profile accepts."""

    id: str
    label: str
    kind: str


class AuditEntry(BaseModel):
    """Who read or changed a patient, when."""

    at: str = Field(description="ISO 8601 time (UTC)")
    actor: str
    action: str
    detail: str | None = None


class SourceRef(_Passthrough):
    """A cited source of an assessment: the reference key, its title and link."""

    key: str
    title: str | None = None


class AssessmentOut(_Passthrough):
    """``neurodose assess --json``: options ranked with findings, checks and sources."""

    unchecked: list[dict[str, Any]] = Field(
        description="profile entries kept but not checked (unknown medicine, condition, gene)"
    )
    patient_summary: dict[str, Any]
    options: list[dict[str, Any]] = Field(description="drug options, best first")
    findings: list[dict[str, Any]]
    current_checks: list[dict[str, Any]] = Field(description="checks of current medicines")
    non_drug: dict[str, Any] | None = None
    notes: list[Any]
    sources: list[SourceRef]
    disclaimer: str


class PlanStep(_Passthrough):
    """One dose step of a plan."""

    day: int = Field(description="days after the start date")
    date: str = Field(description="ISO date")
    drug: str
    dose_mg: Number | None = None
    every_h: Number | None = None
    time_of_day: str | None = None
    daily_mg: Number | None = None
    units: str | None = Field(None, description="the dose in tablets or capsules, in words")
    note: str | None = None
    optional: bool = False


class PlanReview(_Passthrough):
    """A planned review."""

    day: int
    date: str
    text: str
    sources: list[str] = []


class PlanOut(_Passthrough):
    """A plan (``neurodose plan titrate|taper|switch --json --patient-text``)."""

    kind: str = Field(description="titrate, taper or switch")
    drugs: list[str]
    start_date: str
    unit: str
    steps: list[PlanStep]
    reviews: list[PlanReview]
    notes: list[str]
    sources: list[str]
    verified: bool
    patient_text: str | None = Field(None, description="the plan in plain language")


class LevelsAdded(BaseModel):
    """``POST /patients/{pid}/levels``: how many rows were stored, and the rows as stored
    (a ``text/csv`` body's values are kept as the strings given)."""

    added: int
    rows: list[dict[str, Any]]


class TdmOut(_Passthrough):
    """``neurodose tdm --json``: the individual fit, the forecast and (with a target)
    a dose recommendation."""

    drug: str
    individual: dict[str, Number]
    individual_p05_p95: dict[str, list[Number]]
    prior: dict[str, Number]
    eta: dict[str, Number]
    objective: dict[str, Any]
    levels: list[dict[str, Any]]
    diagnostics: dict[str, Any]
    predicted: dict[str, Any]
    uncertainty: dict[str, Any]
    target_applies_to: str | None = None
    recommendation: dict[str, Any] | None = Field(None, description="null without a target range")
    what_if: list[Any] = []
    consistency: dict[str, Any] | None = None
    notes: list[str]
    sources: list[str]


class ResponseOut(_Passthrough):
    """``neurodose response --json``: the pain-response fit from the diary and the
    week-8 scenarios."""

    drug: str
    model: dict[str, Any]
    individual: dict[str, Number]
    individual_sd: dict[str, Number]
    prior: dict[str, Any]
    fit: dict[str, Any]
    first_dose: str | None = None
    scenarios: list[dict[str, Any]]
    side_effects: dict[str, Any] | None = None
    findings: list[Any]
    notes: list[str]
    sources: list[str]


class DiaryPlanStep(BaseModel):
    """One step of the patient's plan, as the diary shows it."""

    date: str
    drug: str
    dose_mg: Number | None
    time_of_day: str | None
    units: str | None


class DiaryPlanOut(BaseModel):
    """The patient's plan in plain language (diary token)."""

    patient_text: str
    steps: list[DiaryPlanStep]


class SimulateOut(_Passthrough):
    """``neurodose simulate --json``: concentration-time curves and their summary per
    analyte."""

    drug: str
    analytes: dict[str, dict[str, Any]] = Field(description="per analyte: time_h, conc, ...")
    summary: dict[str, dict[str, Any]]
    sources: list[str]
    notes: list[str]
    unverified: list[Any] = []
    regimen: str
    warnings: list[Any] = []


class ExplainOut(_Passthrough):
    """``neurodose explain --json``: target occupancy, pathway shares of relief and
    side-effect drivers."""

    drug: str
    regimen: str
    occupancy: dict[str, dict[str, Any]]
    unavailable_targets: dict[str, str]
    pathways: dict[str, dict[str, Any]]
    relief: dict[str, Any]
    side_effect_drivers: dict[str, dict[str, Any]]
    affinities: dict[str, Any]
    unverified_inputs: list[str] = []
    low_trust_inputs: list[Any] = []
    notes: list[str]
    sources: list[str]
    warnings: list[Any] = []


class FhirResource(_Passthrough):
    """A FHIR R4 resource (validated with ``fhir.resources`` before it is sent)."""

    resourceType: str  # noqa: N815 (the FHIR name)


class FhirBundleEntry(_Passthrough):
    """One entry of a FHIR Bundle."""

    resource: FhirResource


class FhirBundle(FhirResource):
    """A FHIR R4 Bundle (``type`` collection)."""

    resourceType: Literal["Bundle"]  # noqa: N815 (the FHIR name)
    type: str
    timestamp: str | None = None
    entry: list[FhirBundleEntry] = []


class FhirCarePlan(FhirResource):
    """A FHIR R4 CarePlan with its contained MedicationRequests."""

    resourceType: Literal["CarePlan"]  # noqa: N815 (the FHIR name)
