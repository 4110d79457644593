"""The patient: one immutable record of covariates, labs, conditions, genotypes and
medications, used by every layer above (PK covariates, PD, screening, advice, CLI).

Build one directly (all fields optional, validated) or from the patient JSON a
clinician gives ``neurodose assess`` / ``--patient FILE`` with :func:`load_patient`.

JSON schema (a misspelt field name is an error naming it; a field the screen does not
read, such as ``allergies``, is kept and listed in :attr:`Patient.unchecked`):

=================  ==============================================================
``age``            years, required, 0 < age <= 120
``sex``            ``"female"`` | ``"male"`` (optional)
``weight_kg``      kg (optional), ``height_cm`` cm (optional)
``pregnant``       bool (default false); ``breastfeeding`` bool (default false)
``conditions``     list of condition ids (``neurodose.knowledge.conditions``);
                   ``"smoker"`` also sets the smoking covariate
``medications``    list of names or objects ``{"name", "dose_mg", "every_h",
                   "stopped_days_ago"}``; names resolve through
                   :func:`neurodose.knowledge.resolve_name` (aliases, case)
``genotypes``      ``{"CYP2D6": "*4/*41" | "PM" | 0.5, "CYP2C19": "*1/*17" | "RM"}``
``labs``           ``{"crcl_ml_min", "egfr", "qtc_ms", "alt_u_per_l", "child_pugh"}``
``pain``           ``{"condition": <pain condition id>, "score": 0..10}``
``priorities``     list of ``"sleep"``, ``"mood"``, ``"anxiety"``, ``"pain"``
=================  ==============================================================

A medication with ``stopped_days_ago`` is no longer taken; the screening rules
still see it inside their washout windows (e.g. the 14-day MAOI gap).

Examples
--------
>>> p = Patient(age=60, sex="female", weight=70).with_genotype(CYP2D6="*4/*4")
>>> p.phenotype("CYP2D6")
'PM'
>>> Patient(age=300)
Traceback (most recent call last):
...
neurodose.errors.PatientError: age: 300 is not allowed; expected 0 < age <= 120 years
>>> q = load_patient({"age": 60, "conditions": ["diabetic_neuropathy"], "medications": []})
>>> q.age, sorted(q.conditions)
(60.0, ['diabetes', 'diabetic_neuropathy'])
>>> try:
...     load_patient({"age": 60, "medication": ["bisoprolol"]})
... except PatientError as exc:
...     str(exc).startswith("medication: ['bisoprolol'] is not allowed; expected no such field")
True
>>> [u.name for u in load_patient({"age": 60, "allergies": ["penicillin"]}).unchecked]
['allergies']
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from neurodose.case.covariates import covariate, ranges
from neurodose.errors import InputError, NeurodoseError, PatientError, UnknownNameError
from neurodose.inputs import read_json
from neurodose.knowledge import record, resolve_name
from neurodose.knowledge.conditions import condition, expand_conditions, resolve_condition
from neurodose.knowledge.pgx import GenotypeCall, parse_genotype
from neurodose.knowledge.schema import DrugRecord
from neurodose.knowledge.substances import Route
from neurodose.plausibility import patient_plausible
from neurodose.units import parse_quantity

__all__ = [
    "Comedication",
    "Labs",
    "Medication",
    "Patient",
    "PatientIn",
    "load_patient",
    "load_patient_file",
    "parse_comedication",
    "read_patient_json",
]

# field -> (low, high, low inclusive, what is allowed): the declaration of the covariates
_RANGES: dict[str, tuple[float, float, bool, str]] = ranges()
_SEX = covariate("sex").choices
_HEPATIC = covariate("hepatic").choices


def _check_range(name: str, v: Any) -> float:
    lo, hi, lo_incl, allowed = _RANGES[name]
    if isinstance(v, bool):
        raise PatientError(name, v, allowed)
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise PatientError(name, v, allowed) from None
    ok_lo = lo <= f if lo_incl else lo < f
    if not math.isfinite(f) or not ok_lo or not f <= hi:
        raise PatientError(name, v, allowed)
    return f


@dataclass(frozen=True)
class Comedication:
    """A co-medication that may inhibit or induce the victim drug's pathways.

    ``start_h``/``stop_h`` (h from t = 0): ``None`` start means taken at steady
    state throughout (before t = 0); ``None`` stop means not stopped. Dose and
    interval are recorded; class-based effects do not scale with dose.
    """

    drug: str
    dose_mg: float | None = None
    every_h: float | None = None
    start_h: float | None = None
    stop_h: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.drug, str) or not self.drug.strip():
            raise InputError("with", self.drug, "a drug name")
        for name in ("dose_mg", "every_h"):
            v = getattr(self, name)
            if v is not None and (not math.isfinite(float(v)) or float(v) <= 0):
                raise InputError(f"with.{name}", v, "a positive number")
        for name in ("start_h", "stop_h"):
            v = getattr(self, name)
            if v is not None and not math.isfinite(float(v)):
                raise InputError(f"with.{name}", v, "a finite time in h")
        if self.start_h is not None and self.stop_h is not None and self.stop_h <= self.start_h:
            raise InputError("with.stop_h", self.stop_h, f"> start_h {self.start_h}")

    @property
    def time_varying(self) -> bool:
        """Whether the co-medication starts or stops inside the simulated time."""
        return self.start_h is not None or self.stop_h is not None


def parse_comedication(text: str) -> Comedication:
    """Parse ``"DRUG:DOSE[:EVERY]"`` (e.g. ``"paroxetine:20 mg:24 h"``).

    >>> parse_comedication("paroxetine:20 mg").dose_mg
    20.0
    """
    parts = [x.strip() for x in str(text).split(":")]
    if not parts[0] or len(parts) > 3:
        raise InputError("with", text, "DRUG:DOSE[:EVERY], e.g. 'paroxetine:20 mg:24 h'")
    dose = parse_quantity(parts[1], "mass", field="with dose") if len(parts) > 1 else None
    every = parse_quantity(parts[2], "time", field="with every") if len(parts) > 2 else None
    return Comedication(parts[0], dose, every)


@dataclass(frozen=True)
class Unchecked:
    """Something real that the knowledge base does not know, kept and named.

    ``kind`` is ``"drug"``, ``"condition"``, ``"code"`` or ``"text"``; ``reason``
    says what could not be checked for it. Never read as safe.
    """

    kind: str
    name: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """JSON form: ``{"kind", "name", "reason"}``."""
        return {"kind": self.kind, "name": self.name, "reason": self.reason}


#: what an unknown medicine leaves unchecked (the aspects the screen reads from a record)
UNKNOWN_DRUG_REASON = (
    "not in the knowledge base: its interactions (CYP enzymes), QT, serotonergic, sedative, "
    "anticholinergic and bleeding effects were not checked"
)
UNKNOWN_CONDITION_REASON = (
    "not in the condition vocabulary: contraindications and cautions for it were not checked"
)


@dataclass(frozen=True)
class Medication:
    """A medication the patient takes or took: canonical name, dose and record.

    ``stopped_days_ago`` set means no longer taken (still seen by washout rules).
    ``record`` is resolved from the knowledge base when not given. ``route``,
    ``as_needed`` and ``given_as`` (the name as written, e.g. a brand or a
    combination product) are kept for display.
    """

    name: str
    dose_mg: float | None = None
    every_h: float | None = None
    stopped_days_ago: float | None = None
    record: DrugRecord = field(default=None, repr=False, compare=False)  # type: ignore[assignment]
    route: str | None = None
    as_needed: bool = False
    given_as: str | None = None

    def __post_init__(self) -> None:
        if self.record is None:
            object.__setattr__(self, "record", record(self.name))

    @property
    def current(self) -> bool:
        """Taken now (not stopped)."""
        return self.stopped_days_ago is None

    @property
    def daily_mg(self) -> float | None:
        """Daily dose in mg (None when the dose is not known)."""
        if self.dose_mg is None:
            return None
        return self.dose_mg * (24.0 / self.every_h if self.every_h else 1.0)

    def as_comedication(self) -> Comedication:
        """The same medication as a PK co-medication (steady state throughout)."""
        return Comedication(self.name, self.dose_mg, self.every_h)


_HEPATIC_CONDITION = {"B": "hepatic_impairment", "C": "severe_hepatic_impairment"}


def _implied_conditions(p: Patient) -> frozenset[str]:
    """The patient's conditions (canonical ids) with those its fields imply, expanded
    (``knowledge.conditions``): ``pregnant`` -> pregnancy, Child-Pugh B -> hepatic
    impairment, C -> severe hepatic impairment, ``smoker`` -> smoker. So
    ``Patient(hepatic="C")`` has the conditions the same patient read from JSON has.
    (A copy that clears a field keeps the conditions it implied: ``replace`` the
    conditions too.)
    """
    given = frozenset(p.conditions)
    implied = {c for c in (p.pregnant and "pregnancy", p.smoker and "smoker") if c}
    if p.hepatic in _HEPATIC_CONDITION:
        implied.add(_HEPATIC_CONDITION[p.hepatic])
    if not given and not implied:
        return given
    return expand_conditions({resolve_condition(c) for c in given} | implied)


@dataclass(frozen=True)
class Patient:
    """One patient: covariates, labs, conditions, genotypes and medications (immutable).

    Every field is optional and validated on construction (a bad value is a
    :class:`~neurodose.errors.PatientError` naming the field).

    Parameters
    ----------
    age : float, years (0, 120]
    sex : {"male", "female"}
    weight : float, kg (0, 400] (``weight_kg`` in the JSON)
    height_cm : float, cm (30, 260]
    smoker : bool
    crcl : float, creatinine clearance mL/min [0, 300] (``labs.crcl_ml_min``)
    egfr : float, eGFR mL/min [0, 300], used in place of CrCl when CrCl is absent
    scr : float, serum creatinine mg/dL (0, 20]
    hepatic : {"A", "B", "C"} or None, Child-Pugh class (``labs.child_pugh``)
    qtc_ms : float, QTc ms [250, 800]; alt_u_per_l : float, ALT U/L
    pregnant, breastfeeding : bool
    conditions : frozenset of condition ids (expanded, see ``knowledge.conditions``)
    medications : tuple of :class:`Medication`
    genotypes : mapping gene -> GenotypeCall (use :meth:`with_genotype`)
    pain_condition, pain_score, priorities : the pain being treated and what matters most
    """

    age: float | None = None
    sex: str | None = None
    weight: float | None = None
    height_cm: float | None = None
    smoker: bool = False
    crcl: float | None = None
    egfr: float | None = None
    scr: float | None = None
    hepatic: str | None = None
    qtc_ms: float | None = None
    alt_u_per_l: float | None = None
    pregnant: bool = False
    breastfeeding: bool = False
    conditions: frozenset[str] = frozenset()
    medications: tuple[Medication, ...] = ()
    genotypes: Mapping[str, GenotypeCall] = field(default_factory=dict)
    pain_condition: str | None = None
    pain_score: float | None = None
    priorities: tuple[str, ...] = ()
    measurements: Mapping[str, float] = field(default_factory=dict)
    condition_basis: Mapping[str, str] = field(default_factory=dict)
    unchecked: tuple[Unchecked, ...] = ()
    drives: bool = False
    replacing: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in _RANGES:
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, _check_range(name, v))
        if self.sex is not None:
            s = str(self.sex).strip().lower()
            s = {"m": "male", "f": "female"}.get(s, s)
            if s not in _SEX:
                raise PatientError("sex", self.sex, covariate("sex").allowed)
            object.__setattr__(self, "sex", s)
        for flag in ("smoker", "pregnant", "breastfeeding"):
            if not isinstance(getattr(self, flag), bool):
                raise PatientError(flag, getattr(self, flag), covariate(flag).allowed)
        if self.hepatic is not None:
            h = str(self.hepatic).strip().upper()
            if h not in _HEPATIC:
                raise PatientError("hepatic", self.hepatic, covariate("hepatic").allowed)
            object.__setattr__(self, "hepatic", h)
        genos = self.genotypes
        calls: Iterable[GenotypeCall] = (
            genos.values() if isinstance(genos, Mapping) else genos  # tuple of calls
        )
        object.__setattr__(self, "genotypes", {c.gene: c for c in calls})
        object.__setattr__(self, "conditions", _implied_conditions(self))
        patient_plausible(
            age=self.age, weight=self.weight, sex=self.sex, pregnant="pregnancy" in self.conditions
        )
        if "smoker" in self.conditions:
            object.__setattr__(self, "smoker", True)
        object.__setattr__(self, "medications", tuple(self.medications))
        object.__setattr__(self, "priorities", tuple(self.priorities))
        object.__setattr__(self, "measurements", dict(self.measurements))
        object.__setattr__(self, "condition_basis", dict(self.condition_basis))
        object.__setattr__(self, "unchecked", tuple(self.unchecked))
        object.__setattr__(self, "replacing", tuple(self.replacing))

    # -- copies ------------------------------------------------------------------
    def with_genotype(self, **genes: Any) -> Patient:
        """A copy with genotypes set: diplotype, activity score or phenotype.

        >>> Patient().with_genotype(CYP2C19="*2/*2").phenotype("CYP2C19")
        'PM'
        """
        calls = dict(self.genotypes)
        for gene, value in genes.items():
            call = value if isinstance(value, GenotypeCall) else parse_genotype(gene, value)
            calls[call.gene] = call
        return replace(self, genotypes={g: calls[g] for g in sorted(calls)})

    with_phenotype = with_genotype

    def with_covariates(self, **kw: Any) -> Patient:
        """A copy with covariates changed (validated)."""
        return replace(self, **kw)

    # -- derived -----------------------------------------------------------------
    def phenotype(self, gene: str) -> str | None:
        """The phenotype for ``gene`` (``None`` when not genotyped)."""
        call = self.genotypes.get(gene.upper())
        return None if call is None else str(call.phenotype)

    @property
    def renal_function(self) -> float | None:
        """CrCl in mL/min; eGFR is used where CrCl is not given (see :attr:`renal_basis`)."""
        return self.crcl if self.crcl is not None else self.egfr

    @property
    def renal_basis(self) -> str | None:
        """Which measurement :attr:`renal_function` rests on."""
        if self.crcl is not None:
            return "CrCl"
        if self.egfr is not None:
            return "eGFR (used in place of CrCl)"
        return None

    @property
    def labs(self) -> dict[str, Any]:
        """The labs given, with their JSON field names."""
        out = {
            "crcl_ml_min": self.crcl,
            "egfr": self.egfr,
            "qtc_ms": self.qtc_ms,
            "alt_u_per_l": self.alt_u_per_l,
            "child_pugh": self.hepatic,
            **self.measurements,
        }
        return {k: v for k, v in out.items() if v is not None}

    def current_names(self) -> list[str]:
        """Names of the medications taken now."""
        return [m.name for m in self.medications if m.current]

    def comedications(self, exclude: str | None = None) -> list[Comedication]:
        """Current medications as PK co-medications (``exclude``: the drug being dosed)."""
        return [m.as_comedication() for m in self.medications if m.current and m.name != exclude]

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (the ``patient_summary`` block of ``assess``)."""
        return {
            "age": self.age,
            "sex": self.sex,
            "weight_kg": self.weight,
            "pregnant": self.pregnant,
            "breastfeeding": self.breastfeeding,
            "conditions": sorted(self.conditions),
            "pain": {"condition": self.pain_condition, "score": self.pain_score},
            "medications": [
                {
                    "name": m.name,
                    "dose_mg": m.dose_mg,
                    "every_h": m.every_h,
                    "stopped_days_ago": m.stopped_days_ago,
                }
                for m in self.medications
            ],
            "genotypes": {
                g: {
                    "phenotype": c.phenotype,
                    "diplotype": c.diplotype,
                    "activity_score": c.activity_score,
                }
                for g, c in self.genotypes.items()
            },
            "labs": self.labs,
            "renal_basis": self.renal_basis,
            "priorities": list(self.priorities),
            "unchecked": [u.to_dict() for u in self.unchecked],
        }


# -- the JSON boundary -------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: frequency words -> hours between doses
FREQUENCIES: dict[str, float | None] = {
    "daily": 24.0,
    "od": 24.0,
    "once daily": 24.0,
    "nocte": 24.0,
    "bd": 12.0,
    "bid": 12.0,
    "twice daily": 12.0,
    "tds": 8.0,
    "tid": 8.0,
    "qds": 6.0,
    "qid": 6.0,
    "weekly": 168.0,
    "once weekly": 168.0,
    "monthly": 720.0,
    "prn": None,
    "as needed": None,
}


#: longest medicine, condition or free-text entry accepted (characters)
MAX_TEXT = 200


def check_frequency(value: str | None) -> str | None:
    """A frequency word of :data:`FREQUENCIES` (case-insensitive)."""
    if value is None:
        return None
    v = check_text(value).lower()
    if v not in FREQUENCIES:
        raise ValueError("one of " + ", ".join(sorted(FREQUENCIES)))
    return v


def check_text(value: str) -> str:
    """A name or free-text entry: printable text of 1-200 characters (no control
    characters, no unpaired surrogates); leading/trailing spaces removed."""
    v = value.strip()
    if not v:
        raise ValueError("a non-empty name")
    if len(v) > MAX_TEXT:
        raise ValueError(f"at most {MAX_TEXT} characters")
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text without unpaired surrogate characters") from None
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") for ch in v):
        raise ValueError("printable text (no control characters)")
    return v


Name = Annotated[str, AfterValidator(check_text)]


class MedicationIn(_In):
    """One medication: name (or an RxNorm/ATC code), dose per administration (mg) or as
    text with a unit, interval (h) or frequency word, route, as-needed, stop date or days
    since stopped. Other fields (an indication, a note) are kept and named as not read."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: Name = ""
    rxnorm: Name | None = None
    atc: Name | None = None
    unit: Name | None = None
    dose_mg: float | None = Field(None, gt=0, le=10000)
    # up to a year: yearly infusions (zoledronic acid) and 6-monthly depots are the longest
    # dosing intervals in use
    every_h: float | None = Field(None, gt=0, le=24 * 366)
    stopped_days_ago: float | None = Field(None, ge=0, le=3650)
    dose: Name | float | None = None
    frequency: Annotated[str | None, AfterValidator(check_frequency)] = None
    route: Route | None = None
    as_needed: bool = False
    start_date: date | None = None
    stop_date: date | None = None
    status: Literal["active", "stopped", "on-hold", "completed"] | None = None


class LabsIn(_In):
    """Labs: CrCl or eGFR (mL/min), QTc (ms), ALT (U/L), Child-Pugh class, and the
    measurements of ``knowledge/measurements.toml`` (sodium, potassium, heart rate ...)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    crcl_ml_min: float | None = covariate("crcl").json_field(None)
    egfr: float | None = covariate("egfr").json_field(None)
    qtc_ms: float | None = covariate("qtc_ms").json_field(None)
    alt_u_per_l: float | None = covariate("alt_u_per_l").json_field(None)
    child_pugh: Literal["A", "B", "C"] | None = None


class PainIn(_In):
    """The pain condition (a pain condition id) and current score (0-10)."""

    condition: str
    score: float | None = covariate("pain_score").json_field(None)


def _sex(value: Any) -> Any:
    """Common spellings of sex: F/M, woman/man, Female/Male."""
    if isinstance(value, str):
        v = value.strip().lower()
        return {"f": "female", "woman": "female", "m": "male", "man": "male"}.get(v, v)
    return value


class ConditionIn(_In):
    """A condition as an object: its name and/or a code (ICD-10-CM, SNOMED CT)."""

    name: Name | None = None
    code: Name | None = None
    system: Name | None = None


class PatientIn(_In):
    """The raw JSON schema (pydantic). A field the schema does not know is an error when it
    looks like a known one (a misspelling); otherwise it is kept and named as not read."""

    model_config = ConfigDict(extra="allow", frozen=True)

    age: float = covariate("age").json_field()
    sex: Annotated[Literal["female", "male"] | None, BeforeValidator(_sex)] = None
    weight_kg: float | None = covariate("weight").json_field(None)
    height_cm: float | None = covariate("height_cm").json_field(None)
    pregnant: bool = False
    breastfeeding: bool = False
    conditions: list[Name | ConditionIn] = Field(default_factory=list, max_length=500)
    medications: list[Name | MedicationIn] = Field(default_factory=list, max_length=500)
    genotypes: dict[str, str | float] = Field(default_factory=dict)
    labs: LabsIn = Field(default_factory=LabsIn)
    pain: PainIn | None = None
    priorities: list[Literal["sleep", "mood", "anxiety", "pain"]] = Field(default_factory=list)
    other_medicines: list[Name] = Field(default_factory=list, max_length=500)
    replacing: list[Name] = Field(default_factory=list, max_length=50)
    drives: bool = False


Labs = LabsIn


def _raise_validation(err: ValidationError, data: Any) -> None:
    for e in err.errors():  # a number given as text: say so plainly, at its real location
        loc_parts = [x for x in e["loc"] if x not in ("MedicationIn", "str")]
        last = str(loc_parts[-1]) if loc_parts else ""
        if last in _NUMBER_FIELDS and e["type"] in _NOT_A_NUMBER:
            where = ".".join(str(x) for x in loc_parts)
            raise PatientError(where, e.get("input"), _NUMBER_FIELDS[last]) from None
    errs = err.errors()
    # in a union (a medicine as text or as an object) the most specific branch explains best
    e = max(errs, key=lambda x: (len(x["loc"]), x["type"] != "string_type"))
    loc = ".".join(
        str(x) for x in e["loc"] if not str(x).startswith("function-") and x != "MedicationIn"
    )
    e = {**e, "msg": str(e["msg"]).removeprefix("Value error, ")}
    if e["type"] == "extra_forbidden":
        allowed = "no such field"
        top = e["loc"][0] if e["loc"] else ""
        model: type[BaseModel] = PatientIn
        if len(e["loc"]) > 1 and top == "labs":
            model = LabsIn
        elif len(e["loc"]) > 1 and top == "pain":
            model = PainIn
        elif len(e["loc"]) > 2 and top == "medications":
            model = MedicationIn
        allowed += f" (allowed fields: {', '.join(sorted(model.model_fields))})"
        raise PatientError(loc, e.get("input"), allowed) from None
    raise PatientError(loc, e.get("input"), e["msg"]) from None


#: numeric fields whose text input gets a plain-language error (not a validation phrase)
_NUMBER_FIELDS = {
    "dose_mg": "a number in mg (e.g. 25; no unit: give 0.5 g as 500)",
    "every_h": "a number of hours between doses (e.g. 12)",
    "stopped_days_ago": "a number of days since the medicine was stopped (e.g. 3)",
}
_NOT_A_NUMBER = ("float_parsing", "float_type", "int_parsing", "int_type")


def _report_unknown_names(pin: PatientIn) -> None:
    """Raise once for every unknown condition and medication name (``strict`` mode)."""
    errors: list[tuple[str, UnknownNameError]] = []
    for i, c in enumerate(pin.conditions):
        if isinstance(c, ConditionIn):
            if _condition_in(c) is not None:
                continue
            c = c.name or c.code or ""
        try:
            resolve_condition(c)
        except UnknownNameError as exc:
            errors.append((f"conditions.{i}", exc))
    for i, m in enumerate(pin.medications):
        name = m if isinstance(m, str) else m.name
        if not isinstance(m, str) and _coded_medicine(m) is not None:
            continue
        if _ingredients(name) is None:
            try:
                resolve_name(name)
            except UnknownNameError as exc:
                errors.append((f"medications.{i}.name", exc))
    if len(errors) == 1:
        raise errors[0][1]
    if errors:
        raise PatientError(
            "conditions/medications",
            [str(e.name) for _, e in errors],
            "known names; " + "; ".join(f"{where}: {exc}" for where, exc in errors),
        )


def _ingredients(name: str) -> tuple[str, ...] | None:
    """Canonical ingredient names for a medicine as written (``None``: unknown)."""
    from neurodose.knowledge.substances import resolve_formulary

    try:
        return (resolve_name(name),)
    except UnknownNameError:
        pass
    found = resolve_formulary(name)
    if found is None:
        return None
    out = []
    for ing in found:
        try:
            out.append(resolve_name(ing))
        except UnknownNameError:
            return None
    return tuple(out)


#: other names records use for the profile's fields (the same meaning, never a guess)
_TOP_SYNONYMS = {
    "gender": "sex",
    "diagnoses": "conditions",
    "problems": "conditions",
    "problem_list": "conditions",
    "comorbidities": "conditions",
    "meds": "medications",
    "drugs": "medications",
    "medication_list": "medications",
    "current_medications": "medications",
    "medicines": "medications",
    "genotype": "genotypes",
    "pgx": "genotypes",
    "lab": "labs",
    "laboratory": "labs",
    "measurements": "labs",
}
_LAB_SYNONYMS = {
    "crcl": "crcl_ml_min",
    "qtc": "qtc_ms",
    "alt": "alt_u_per_l",
    "sodium": "sodium_mmol_l",
    "na": "sodium_mmol_l",
    "potassium": "potassium_mmol_l",
    "k": "potassium_mmol_l",
    "magnesium": "magnesium_mmol_l",
    "mg": "magnesium_mmol_l",
    "heart_rate": "heart_rate_bpm",
    "hr": "heart_rate_bpm",
    "pulse": "heart_rate_bpm",
    "systolic_bp": "systolic_bp_mmhg",
    "diastolic_bp": "diastolic_bp_mmhg",
    "creatinine": "creatinine_umol_l",
    "ast": "ast_u_per_l",
    "bilirubin": "bilirubin_umol_l",
    "albumin": "albumin_g_l",
    "platelets": "platelets_10e9_l",
    "lithium": "lithium_mmol_l",
    "qrs": "qrs_ms",
}
_MED_SYNONYMS = {
    "prn": "as_needed",
    "drug": "name",
    "medicine": "name",
    "medication": "name",
    "interval_h": "every_h",
    "start": "start_date",
    "started": "start_date",
    "stop": "stop_date",
    "end_date": "stop_date",
    "stopped_on": "stop_date",
}


def _synonyms(data: dict[str, Any]) -> dict[str, Any]:
    """The profile with other names records use mapped to the schema's own (``gender`` ->
    ``sex``, a top-level ``egfr`` -> ``labs.egfr``, ``prn`` -> ``as_needed``, ``stopped: true``
    -> ``status: stopped``, ``daily_dose_mg`` -> a daily dose). A name given twice (both
    spellings) is left for validation to report."""
    out = dict(data)
    for old, new in _TOP_SYNONYMS.items():
        if old in out and new not in out:
            out[new] = out.pop(old)
    labs = out.get("labs")
    labs = dict(labs) if isinstance(labs, dict) else labs
    known_labs = {*LabsIn.model_fields, *_LAB_SYNONYMS.values()}
    for key in list(out):
        lab = _LAB_SYNONYMS.get(key, key)
        if (
            key not in PatientIn.model_fields
            and lab in known_labs
            and isinstance(labs, dict | None)
        ):
            labs = dict(labs or {})
            if lab not in labs:
                labs[lab] = out.pop(key)
    if isinstance(labs, dict):
        for old, new in _LAB_SYNONYMS.items():
            if old in labs and new not in labs:
                labs[new] = labs.pop(old)
        out["labs"] = labs
    if out.get("smoker") is True:
        out.pop("smoker")
        conds = out.get("conditions")
        out["conditions"] = [*(conds if isinstance(conds, list) else []), "smoker"]
    meds = out.get("medications")
    if isinstance(meds, list):
        out["medications"] = [_med_synonyms(m) if isinstance(m, dict) else m for m in meds]
    return out


def _med_synonyms(m: dict[str, Any]) -> dict[str, Any]:
    out = dict(m)
    for old, new in _MED_SYNONYMS.items():
        if old in out and new not in out:
            out[new] = out.pop(old)
    if out.get("stopped") is True and "status" not in out:
        out.pop("stopped")
        out["status"] = "stopped"
    if out.get("active") is False and "status" not in out:
        out.pop("active")
        out["status"] = "stopped"
    elif out.get("active") is True:
        out.pop("active")
    if "daily_dose_mg" in out and "dose_mg" not in out and "every_h" not in out:
        out["dose_mg"] = out.pop("daily_dose_mg")
        out["every_h"] = 24.0
    tpd = out.get("times_per_day")
    free = "every_h" not in out and "frequency" not in out
    if isinstance(tpd, int | float) and not isinstance(tpd, bool) and tpd > 0 and free:
        out.pop("times_per_day")
        out["every_h"] = 24.0 / float(tpd)
    return out


def _condition_in(c: ConditionIn) -> str | None:
    """The condition id of a condition object: its code first, then its name."""
    from neurodose.knowledge.terminology import condition_for_code

    if c.code:
        hit = condition_for_code(c.system, c.code)
        if hit is None and c.system is None:
            for system in ("ICD-10-CM", "SNOMED", "ICD-10"):
                hit = condition_for_code(system, c.code)
                if hit is not None:
                    break
        if hit is not None:
            return hit.condition
    if c.name:
        try:
            return resolve_condition(c.name)
        except UnknownNameError:
            return None
    return None


def _coded_medicine(m: MedicationIn) -> str | None:
    """The knowledge-base name of a medicine given by its RxNorm or ATC code."""
    from neurodose.knowledge.terminology import drug_for_code

    for system, code in (("RxNorm", m.rxnorm), ("ATC", m.atc)):
        if code:
            hit = drug_for_code(system, code)
            if hit is not None:
                return hit[0]
    return None


def _extra_fields(
    extra: Mapping[str, Any] | None, known: Iterable[str], where: str, unchecked: list[Unchecked]
) -> None:
    """Fields the schema does not know: a misspelling of a known one is an error (never a
    guess); any other is kept and named as not read by the screen."""
    import difflib

    for key, value in (extra or {}).items():
        close = difflib.get_close_matches(str(key), list(known), n=3, cutoff=0.75)
        if close:
            raise PatientError(
                f"{where}{key}", value, f"no such field (did you mean {', '.join(close)}?)"
            )
        unchecked.append(Unchecked("text", f"{where}{key}", "a field the screen does not read"))


def _suggest(exc: UnknownNameError) -> str:
    sug = getattr(exc, "suggestions", None) or []
    return f" (did you mean {', '.join(map(repr, sug[:3]))}? not assumed)" if sug else ""


_RATE = re.compile(r"^(?P<q>.+?)\s*(?:/|per)\s*(?P<n>\d+(?:\.\d+)?)?\s*(?P<u>h|hr|hrs|hour|hours)$")


def _dose_from_text(text: str, field_: str) -> tuple[float | None, float | None, str | None]:
    """``(dose_mg, every_h, note)`` from a dose written with its unit.

    ``"25 mg"`` -> 25 mg; a rate (a patch) ``"12 microgram/h"`` -> the mg delivered
    per 24 h, every 24 h, and ``"1.5 mg/72 h"`` -> 1.5 mg every 72 h. A dose in
    product units (tablets, puffs, units, mg/m2, "800/150 mg") is kept unconverted with
    a note (its mg dose is unchecked); it never refuses the patient. A negative or
    zero dose is malformed (an error).
    """
    raw = text.strip()
    t = raw.lower().replace("µ", "u").replace("mcg", "ug").replace("micrograms", "ug")
    t = t.replace("microgram", "ug").replace("ugs", "ug").replace("milligrams", "mg")
    num = re.match(r"^\s*([-+]?\d+(?:\.\d+)?)", t)
    if num is not None and float(num.group(1)) <= 0:
        raise PatientError(field_, text, "a positive dose with its unit, e.g. '25 mg'")
    every = None
    m = _RATE.match(t)
    if m is not None:
        n = float(m.group("n")) if m.group("n") else 1.0
        t, every = m.group("q").strip(), n
    try:
        mg = parse_quantity(t, "mass", field=field_)
    except NeurodoseError:
        return None, None, f"dose {raw!r} is not a plain mass: its mg dose was not checked"
    if every is not None:
        if every <= 1.0:  # a rate per hour: the amount per 24 h, given over 24 h
            return mg * 24.0 / every, 24.0, None
        return mg, every, None
    return mg, None, None


def load_patient(data: Any, *, strict: bool = False, today: date | None = None) -> Patient:
    """Validate and resolve a patient profile (dict from JSON).

    A medicine, condition or free-text entry the knowledge base does not know never
    refuses the patient: it is kept in :attr:`Patient.unchecked` with what could not
    be checked for it (``strict=True`` refuses instead, for scripts that want it).
    A combination product (co-codamol) counts as its ingredients; a brand or salt as
    its substance. Measurements (``labs``) imply conditions through cited thresholds
    (``knowledge/measurements.toml``); ``replacing`` lists current medicines the
    assessed options replace (they count as stopped today).

    Raises
    ------
    PatientError
        Malformed field or value (names the field, the value and what is allowed).
    UnknownDrugError, UnknownNameError, GenotypeError
        Unknown gene or allele; unknown medication or condition only when ``strict``.
    """
    pin = _validated(data, strict)
    unchecked: list[Unchecked] = []
    _extra_fields(pin.model_extra, PatientIn.model_fields, "", unchecked)
    conds = _given_conditions(pin, unchecked)
    pain_condition = _pain_condition(pin, conds)
    labs = _read_labs(pin, conds, unchecked)
    if pin.pain is None:
        pains = [c for c in conds if condition(c).kind == "pain"]
        pain_condition = sorted(pains)[0] if len(pains) == 1 else None
    replacing = _replacing(pin)
    meds, seen = _medications(pin, replacing, today or date.today(), unchecked)
    meds += _other_medicines(pin, seen, unchecked)
    genos = _genotypes(pin, strict, unchecked)
    expanded = expand_conditions(conds)
    return Patient(
        age=pin.age,
        sex=pin.sex,
        weight=pin.weight_kg,
        height_cm=pin.height_cm,
        smoker="smoker" in expanded,
        crcl=labs.crcl,
        egfr=pin.labs.egfr,
        hepatic=labs.hepatic,
        qtc_ms=pin.labs.qtc_ms,
        alt_u_per_l=pin.labs.alt_u_per_l,
        pregnant=pin.pregnant or "pregnancy" in conds,
        breastfeeding=pin.breastfeeding,
        conditions=expanded,
        medications=tuple(meds),
        genotypes=genos,
        pain_condition=pain_condition,
        pain_score=pin.pain.score if pin.pain else None,
        priorities=tuple(pin.priorities),
        measurements={
            k: v for k, v in labs.measurements.items() if k not in ("qtc_ms", "alt_u_per_l")
        },
        condition_basis=labs.basis,
        unchecked=tuple(unchecked),
        drives=pin.drives,
        replacing=tuple(dict.fromkeys(replacing)),
    )


def _validated(data: Any, strict: bool) -> PatientIn:
    """The profile validated against :class:`PatientIn` (synonyms mapped; ``strict``:
    unknown names refused)."""
    if not isinstance(data, dict):
        raise PatientError("patient", type(data).__name__, "a JSON object")
    try:
        pin = PatientIn.model_validate(_synonyms(data))
    except ValidationError as exc:
        _raise_validation(exc, data)
        raise  # pragma: no cover
    if strict:
        _report_unknown_names(pin)
    return pin


def _given_conditions(pin: PatientIn, unchecked: list[Unchecked]) -> set[str]:
    """The condition ids of ``conditions`` (unknown ones kept in ``unchecked``)."""
    conds: set[str] = set()
    for i, c in enumerate(pin.conditions):
        if isinstance(c, ConditionIn):
            cid = _condition_in(c)
            if cid is not None:
                conds.add(cid)
                continue
            if not (c.name or c.code):
                raise PatientError(f"conditions.{i}", c.model_dump(), "a name or a code")
            label = c.name or f"{c.system or 'code'} {c.code}"
            kind = "condition" if c.name else "code"
            unchecked.append(Unchecked(kind, label, UNKNOWN_CONDITION_REASON))
            continue
        try:
            conds.add(resolve_condition(c))
        except UnknownNameError as exc:
            unchecked.append(Unchecked("condition", c, UNKNOWN_CONDITION_REASON + _suggest(exc)))
    return conds


def _pain_condition(pin: PatientIn, conds: set[str]) -> str | None:
    """The ``pain.condition`` id (added to ``conds``); ``None`` when no pain is given."""
    if pin.pain is None:
        return None
    pain_condition = resolve_condition(pin.pain.condition)
    if condition(pain_condition).kind != "pain":
        raise PatientError(
            "pain.condition",
            pin.pain.condition,
            "a pain condition id (e.g. diabetic_neuropathy)",
        )
    conds.add(pain_condition)
    return pain_condition


def _add_hepatic(conds: set[str], child_pugh_class: str | None) -> None:
    """The condition a Child-Pugh class implies (B: hepatic, C: severe hepatic impairment)."""
    if child_pugh_class in _HEPATIC_CONDITION:
        conds.add(_HEPATIC_CONDITION[child_pugh_class])


@dataclass
class _LabsRead:
    """What :func:`load_patient` reads from ``labs``: the measurements, the renal
    function, the Child-Pugh class and the basis of the conditions they imply."""

    measurements: dict[str, float]
    crcl: float | None
    hepatic: str | None
    basis: dict[str, str]


def _read_labs(pin: PatientIn, conds: set[str], unchecked: list[Unchecked]) -> _LabsRead:
    """Pregnancy and Child-Pugh, the measurements (validated against their plausible
    range), the renal function and the conditions they imply (added to ``conds``)."""
    from neurodose.knowledge.measurements import child_pugh, implied_conditions

    if pin.pregnant or "gestational_week" in (pin.labs.model_extra or {}):
        if pin.sex == "male":  # an impossible patient is refused, never screened
            raise PatientError("pregnant", True, "pregnancy only with sex 'female' or not given")
        conds.add("pregnancy")
    _add_hepatic(conds, pin.labs.child_pugh)
    extra_labs = dict(pin.labs.model_extra or {})
    clinical = _clinical_items(extra_labs)
    measurements = _measurements(extra_labs, unchecked)
    for core in ("qtc_ms", "alt_u_per_l"):  # declared labs that also imply conditions
        if getattr(pin.labs, core) is not None:
            measurements.setdefault(core, getattr(pin.labs, core))
    crcl, basis_extra = _renal_function(pin, measurements)
    hepatic: str | None = pin.labs.child_pugh
    if hepatic is None:  # computed when its items are given (Pugh 1973)
        cp = child_pugh(measurements, clinical.get("ascites"), clinical.get("encephalopathy"))
        if cp is not None and (cp[2] or cp[0] != "A"):  # a lower bound of A says nothing
            hepatic = cp[0]
            _add_hepatic(conds, hepatic)
            basis_extra["hepatic_impairment"] = cp[3]
            basis_extra["severe_hepatic_impairment"] = cp[3]
    basis: dict[str, str] = {}
    for cond_id, text, _t in implied_conditions(measurements, pin.sex):
        conds.add(cond_id)
        basis.setdefault(cond_id, text)
    return _LabsRead(measurements, crcl, hepatic, {**basis, **basis_extra})


def _clinical_items(extra_labs: dict[str, Any]) -> dict[str, str]:
    """Child-Pugh's clinical items (words), taken out of ``extra_labs``."""
    from neurodose.knowledge.measurements import CLINICAL_POINTS

    clinical: dict[str, str] = {}
    for key in ("ascites", "encephalopathy"):
        if key in extra_labs:
            word = extra_labs.pop(key)
            if not isinstance(word, str) or word.strip().lower() not in CLINICAL_POINTS:
                raise PatientError(f"labs.{key}", word, ", ".join(CLINICAL_POINTS))
            clinical[key] = word.strip().lower()
    return clinical


def _measurements(extra_labs: dict[str, Any], unchecked: list[Unchecked]) -> dict[str, float]:
    """The measurements of ``knowledge/measurements.toml`` among the labs, each checked
    against its plausible range; a misspelt one is an error, another kept as not read."""
    from neurodose.knowledge.measurements import measurement_defs

    measurements: dict[str, float] = {}
    defs = measurement_defs()
    for key, value in extra_labs.items():
        d = defs.get(key)
        if d is None:
            import difflib

            known = [*LabsIn.model_fields, *defs]
            close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
            if close:  # a misspelt field: an error, never a guess
                raise PatientError(
                    f"labs.{key}", value, f"no such field (did you mean {', '.join(close)}?)"
                )
            unchecked.append(
                Unchecked("text", f"labs.{key}", "a measurement the screen does not read")
            )
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise PatientError(f"labs.{key}", value, f"a number in {d.unit}")
        if not d.low <= float(value) <= d.high:
            raise PatientError(f"labs.{key}", value, f"{d.low:g} to {d.high:g} {d.unit}")
        measurements[key] = float(value)
    return measurements


def _renal_function(
    pin: PatientIn, measurements: Mapping[str, float]
) -> tuple[float | None, dict[str, str]]:
    """CrCl as given, or by Cockcroft-Gault when neither CrCl nor eGFR is given (with
    the basis of ``renal_function``)."""
    crcl = pin.labs.crcl_ml_min
    if crcl is not None or pin.labs.egfr is not None:
        return crcl, {}
    crcl = _cockcroft_gault(pin, measurements.get("creatinine_umol_l"))
    if crcl is None:
        return None, {}
    note = (
        f"CrCl {crcl:.0f} mL/min by Cockcroft-Gault from creatinine "
        f"{measurements['creatinine_umol_l']:g} umol/L, age, weight and sex"
    )
    return crcl, {"renal_function": note}


def _replacing(pin: PatientIn) -> list[str]:
    """The ingredients of the medicines the assessed options replace."""
    replacing: list[str] = []
    for i, r in enumerate(pin.replacing):
        ing = _ingredients(r)
        if ing is None:
            raise PatientError(f"replacing.{i}", r, "a medicine on the medication list")
        replacing.extend(ing)
    return replacing


def _medications(
    pin: PatientIn, replacing: list[str], today: date, unchecked: list[Unchecked]
) -> tuple[list[Medication], set[str]]:
    """The medication list resolved to ingredients (each once), and the names seen."""
    meds: list[Medication] = []
    seen: set[str] = set()
    for i, m in enumerate(pin.medications):
        mi = MedicationIn(name=m) if isinstance(m, str) else m
        _extra_fields(mi.model_extra, MedicationIn.model_fields, f"medications.{i}.", unchecked)
        names = _medication_names(i, mi, unchecked)
        if names is None:
            continue
        mi = _dose_with_unit(i, mi)
        dose_mg, every_h, stopped, as_needed = _schedule(i, mi, names, today, unchecked)
        if len(names) > 1:  # a combination product: the ingredients, dose not split
            dose_mg = every_h = None
        for name in names:
            if stopped is None and name in replacing:
                stopped = 0.0
            if name in seen:
                continue  # an ingredient listed twice (paracetamol and co-codamol): once
            seen.add(name)
            meds.append(
                Medication(
                    name=name,
                    record=record(name),
                    dose_mg=dose_mg,
                    every_h=every_h,
                    stopped_days_ago=stopped,
                    route=mi.route,
                    as_needed=as_needed,
                    given_as=mi.name if _norm_name(mi.name) != name else None,
                )
            )
    return meds, seen


def _medication_names(
    i: int, mi: MedicationIn, unchecked: list[Unchecked]
) -> tuple[str, ...] | None:
    """The ingredients of medication ``i`` (its code first, then its name); ``None`` when
    unknown (kept in ``unchecked``)."""
    coded = _coded_medicine(mi)
    if not mi.name.strip() and coded is None:
        if mi.rxnorm or mi.atc:
            label = f"RxNorm {mi.rxnorm}" if mi.rxnorm else f"ATC {mi.atc}"
            unchecked.append(Unchecked("code", label, UNKNOWN_DRUG_REASON))
            return None
        raise PatientError(f"medications.{i}.name", mi.name, "a medicine name or code")
    names = (coded,) if coded is not None else _ingredients(mi.name)
    if names is None:
        try:
            resolve_name(mi.name)
        except UnknownNameError as exc:
            unchecked.append(Unchecked("drug", mi.name, UNKNOWN_DRUG_REASON + _suggest(exc)))
    return names


def _dose_with_unit(i: int, mi: MedicationIn) -> MedicationIn:
    """A numeric ``dose`` joined with its ``unit`` (a number without its unit is never
    read as mg by guess)."""
    if isinstance(mi.dose, int | float) and not isinstance(mi.dose, bool):
        if mi.unit is None:
            raise PatientError(
                f"medications.{i}.dose",
                mi.dose,
                "a dose with its unit ('25 mg', or dose plus unit), or dose_mg",
            )
        return mi.model_copy(update={"dose": f"{mi.dose:g} {mi.unit}"})
    return mi


def _schedule(
    i: int, mi: MedicationIn, names: tuple[str, ...], today: date, unchecked: list[Unchecked]
) -> tuple[float | None, float | None, float | None, bool]:
    """``(dose_mg, every_h, stopped_days_ago, as_needed)`` of medication ``i``: a dose
    as text, a frequency word, a status or stop date read."""
    dose_mg, every_h, stopped = mi.dose_mg, mi.every_h, mi.stopped_days_ago
    if mi.dose is not None and dose_mg is None:
        dose_mg, rate_every, note = _dose_from_text(str(mi.dose), f"medications.{i}.dose")
        every_h = every_h or rate_every
        if note and any(record(n).record == "full" for n in names):  # a dose the screen reads
            unchecked.append(Unchecked("text", f"{mi.name}: {mi.dose}", note))
    as_needed = mi.as_needed
    if mi.frequency is not None and every_h is None:
        every_h = FREQUENCIES[mi.frequency]
        as_needed = as_needed or every_h is None
    if stopped is None and (mi.status in ("stopped", "completed") or mi.stop_date):
        stopped = _days_since(mi.stop_date, today)
    if mi.start_date is not None and mi.stop_date is not None and mi.stop_date < mi.start_date:
        raise PatientError(
            f"medications.{i}.stop_date", str(mi.stop_date), f"on or after {mi.start_date}"
        )
    return dose_mg, every_h, stopped, as_needed


def _days_since(stop_date: date | None, today: date) -> float | None:
    """Days since a medicine was stopped (0 without a date; ``None`` for a future date)."""
    if stop_date is None:
        return 0.0
    days = (today - stop_date).days
    return float(days) if days >= 0 else None


def _other_medicines(
    pin: PatientIn, seen: set[str], unchecked: list[Unchecked]
) -> list[Medication]:
    """``other_medicines`` (free text) as medications, unknown ones kept in ``unchecked``."""
    meds: list[Medication] = []
    for text in pin.other_medicines:
        if not text.strip():
            continue
        names = _ingredients(text)
        if names is None:
            unchecked.append(Unchecked("text", text, UNKNOWN_DRUG_REASON))
            continue
        for name in names:
            if name not in seen:
                seen.add(name)
                meds.append(Medication(name=name, record=record(name), given_as=text))
    return meds


def _genotypes(pin: PatientIn, strict: bool, unchecked: list[Unchecked]) -> dict[str, GenotypeCall]:
    """The genotype calls; a gene the screen does not use is kept in ``unchecked``."""
    genos: dict[str, GenotypeCall] = {}
    for gene, value in pin.genotypes.items():
        try:
            call = parse_genotype(gene, value)
        except UnknownNameError as exc:
            if strict or exc.field != "gene" or exc.suggestions:
                raise  # a misspelt gene (CYP2D7 for CYP2D6) is an error, never a guess
            unchecked.append(
                Unchecked("code", f"{gene} {value}", "a gene the screen does not use: not checked")
            )
            continue
        genos[call.gene] = call
    return genos


def _cockcroft_gault(pin: PatientIn, scr_umol_l: float | None) -> float | None:
    """CrCl (mL/min) from serum creatinine, age, weight and sex (Cockcroft-Gault 1976):
    ``(140 - age) x weight / (72 x SCr mg/dL)``, x 0.85 for women. ``None`` when any
    input is missing (never a guess)."""
    if scr_umol_l is None or pin.weight_kg is None or pin.sex is None:
        return None
    from neurodose import citations

    scr_mg_dl = scr_umol_l / 88.42  # creatinine 113.12 g/mol: 1 mg/dL = 88.42 umol/L
    crcl = (140.0 - pin.age) * pin.weight_kg / (72.0 * scr_mg_dl)
    if pin.sex == "female":
        crcl *= 0.85
    citations.register("cockcroft_gault1976")
    return max(0.0, min(crcl, 300.0))


def _norm_name(name: str) -> str:
    key = name.strip().lower().replace("'", "").replace("-", "_")
    return "_".join(key.split())


def read_patient_json(path: str | Path) -> Any:
    """The JSON of a patient file (regular, UTF-8, size-limited); an unreadable file or
    bad JSON is a :class:`PatientError` naming the file."""
    return read_json(path, "patient file", PatientError)


def load_patient_file(path: str | Path) -> Patient:
    """Read a patient JSON file; bad JSON is a :class:`PatientError` naming the file."""
    return load_patient(read_patient_json(path))
