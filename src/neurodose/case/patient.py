"""The patient: one immutable record of covariates, labs, conditions, genotypes and
medications, used by every layer above (PK covariates, PD, screening, advice, CLI).

Build one directly (all fields optional, validated) or from the patient JSON a
clinician gives ``neurodose assess`` / ``--patient FILE`` with :func:`load_patient`.

JSON schema (all field names are fixed; an unknown field is an error naming it):

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
(60.0, ['diabetic_neuropathy'])
>>> try:
...     load_patient({"age": 60, "colour": "blue"})
... except PatientError as exc:
...     str(exc).startswith("colour: 'blue' is not allowed; expected no such field")
True
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from neurodose.errors import InputError, PatientError, UnknownNameError
from neurodose.inputs import read_text
from neurodose.knowledge import record, resolve_name
from neurodose.knowledge.conditions import condition, expand_conditions, resolve_condition
from neurodose.knowledge.pgx import GenotypeCall, parse_genotype
from neurodose.knowledge.schema import DrugRecord
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
]

# field -> (low, high, low inclusive, what is allowed)
_RANGES: dict[str, tuple[float, float, bool, str]] = {
    "age": (0.0, 120.0, False, "0 < age <= 120 years"),
    "weight": (0.0, 400.0, False, "0 < weight <= 400 kg"),
    "height_cm": (30.0, 260.0, False, "30 < height <= 260 cm"),
    "crcl": (0.0, 300.0, True, "0 <= CrCl <= 300 mL/min"),
    "egfr": (0.0, 300.0, True, "0 <= eGFR <= 300 mL/min"),
    "scr": (0.0, 20.0, False, "0 < serum creatinine <= 20 mg/dL"),
    "qtc_ms": (250.0, 800.0, True, "250 <= QTc <= 800 ms"),
    "alt_u_per_l": (0.0, 10000.0, True, "0 <= ALT <= 10000 U/L"),
    "pain_score": (0.0, 10.0, True, "a pain score 0..10"),
}
_SEX = ("male", "female")
_HEPATIC = ("A", "B", "C")


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
class Medication:
    """A medication the patient takes or took: canonical name, dose and record.

    ``stopped_days_ago`` set means no longer taken (still seen by washout rules).
    ``record`` is resolved from the knowledge base when not given.
    """

    name: str
    dose_mg: float | None = None
    every_h: float | None = None
    stopped_days_ago: float | None = None
    record: DrugRecord = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

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

    def __post_init__(self) -> None:
        for name in _RANGES:
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, _check_range(name, v))
        if self.sex is not None:
            s = str(self.sex).strip().lower()
            s = {"m": "male", "f": "female"}.get(s, s)
            if s not in _SEX:
                raise PatientError("sex", self.sex, "'male' or 'female'")
            object.__setattr__(self, "sex", s)
        for flag in ("smoker", "pregnant", "breastfeeding"):
            if not isinstance(getattr(self, flag), bool):
                raise PatientError(flag, getattr(self, flag), "true or false")
        if self.hepatic is not None:
            h = str(self.hepatic).strip().upper()
            if h not in _HEPATIC:
                raise PatientError("hepatic", self.hepatic, "Child-Pugh class 'A', 'B' or 'C'")
            object.__setattr__(self, "hepatic", h)
        genos = self.genotypes
        calls: Iterable[GenotypeCall] = (
            genos.values() if isinstance(genos, Mapping) else genos  # tuple of calls
        )
        object.__setattr__(self, "genotypes", {c.gene: c for c in calls})
        object.__setattr__(self, "conditions", _implied_conditions(self))
        if "smoker" in self.conditions:
            object.__setattr__(self, "smoker", True)
        object.__setattr__(self, "medications", tuple(self.medications))
        object.__setattr__(self, "priorities", tuple(self.priorities))

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
        }


# -- the JSON boundary -------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MedicationIn(_In):
    """One medication: name, dose per administration (mg), interval (h), days since stopped."""

    name: str
    dose_mg: float | None = Field(None, gt=0, le=10000)
    every_h: float | None = Field(None, gt=0, le=24 * 28)
    stopped_days_ago: float | None = Field(None, ge=0, le=3650)


class LabsIn(_In):
    """Labs: CrCl or eGFR (mL/min), QTc (ms), ALT (U/L), Child-Pugh class."""

    crcl_ml_min: float | None = Field(None, ge=0, le=300)
    egfr: float | None = Field(None, ge=0, le=300)
    qtc_ms: float | None = Field(None, ge=250, le=800)
    alt_u_per_l: float | None = Field(None, ge=0, le=10000)
    child_pugh: Literal["A", "B", "C"] | None = None


class PainIn(_In):
    """The pain condition (a pain condition id) and current score (0-10)."""

    condition: str
    score: float | None = Field(None, ge=0, le=10)


class PatientIn(_In):
    """The raw JSON schema (pydantic, ``extra="forbid"``)."""

    age: float = Field(gt=0, le=120)
    sex: Literal["female", "male"] | None = None
    weight_kg: float | None = Field(None, gt=0, le=400)
    height_cm: float | None = Field(None, gt=30, le=260)
    pregnant: bool = False
    breastfeeding: bool = False
    conditions: list[str] = Field(default_factory=list)
    medications: list[str | MedicationIn] = Field(default_factory=list)
    genotypes: dict[str, str | float] = Field(default_factory=dict)
    labs: LabsIn = Field(default_factory=LabsIn)
    pain: PainIn | None = None
    priorities: list[Literal["sleep", "mood", "anxiety", "pain"]] = Field(default_factory=list)


Labs = LabsIn


def _raise_validation(err: ValidationError, data: Any) -> None:
    for e in err.errors():  # a number given as text: say so plainly, at its real location
        loc_parts = [x for x in e["loc"] if x not in ("MedicationIn", "str")]
        last = str(loc_parts[-1]) if loc_parts else ""
        if last in _NUMBER_FIELDS and e["type"] in _NOT_A_NUMBER:
            where = ".".join(str(x) for x in loc_parts)
            raise PatientError(where, e.get("input"), _NUMBER_FIELDS[last]) from None
    e = err.errors()[0]
    loc = ".".join(str(x) for x in e["loc"])
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
    """Raise once for every unknown condition and medication name (not only the first)."""
    errors: list[tuple[str, UnknownNameError]] = []
    for i, c in enumerate(pin.conditions):
        try:
            resolve_condition(c)
        except UnknownNameError as exc:
            errors.append((f"conditions[{i}]", exc))
    for i, m in enumerate(pin.medications):
        name = m if isinstance(m, str) else m.name
        try:
            resolve_name(name)
        except UnknownNameError as exc:
            errors.append((f"medications[{i}].name", exc))
    if len(errors) == 1:
        raise errors[0][1]
    if errors:
        raise PatientError(
            "conditions/medications",
            [str(e.name) for _, e in errors],
            "known names; " + "; ".join(f"{where}: {exc}" for where, exc in errors),
        )


def load_patient(data: Any) -> Patient:
    """Validate and resolve a patient profile (dict from JSON).

    Raises
    ------
    PatientError
        Malformed field or value (names the field, the value and what is allowed).
    UnknownDrugError, UnknownNameError, GenotypeError
        Unknown medication, condition, gene or allele, with the closest matches.
    """
    if not isinstance(data, dict):
        raise PatientError("patient", type(data).__name__, "a JSON object")
    try:
        pin = PatientIn.model_validate(data)
    except ValidationError as exc:
        _raise_validation(exc, data)
        raise  # pragma: no cover
    _report_unknown_names(pin)
    conds = {resolve_condition(c) for c in pin.conditions}
    pain_condition = None
    if pin.pain is not None:
        pain_condition = resolve_condition(pin.pain.condition)
        if condition(pain_condition).kind != "pain":
            raise PatientError(
                "pain.condition",
                pin.pain.condition,
                "a pain condition id (e.g. diabetic_neuropathy)",
            )
        conds.add(pain_condition)
    if pin.pregnant:
        conds.add("pregnancy")
    if pin.labs.child_pugh == "C":
        conds.add("severe_hepatic_impairment")
    elif pin.labs.child_pugh == "B":
        conds.add("hepatic_impairment")
    if pin.pain is None:
        pains = [c for c in conds if condition(c).kind == "pain"]
        pain_condition = sorted(pains)[0] if len(pains) == 1 else None
    meds: list[Medication] = []
    seen: set[str] = set()
    for i, m in enumerate(pin.medications):
        mi = MedicationIn(name=m) if isinstance(m, str) else m
        name = resolve_name(mi.name)
        if name in seen:
            raise PatientError(f"medications[{i}].name", mi.name, "each medication once")
        seen.add(name)
        meds.append(
            Medication(
                name=name,
                record=record(name),
                dose_mg=mi.dose_mg,
                every_h=mi.every_h,
                stopped_days_ago=mi.stopped_days_ago,
            )
        )
    genos: dict[str, GenotypeCall] = {}
    for gene, value in pin.genotypes.items():
        call = parse_genotype(gene, value)
        genos[call.gene] = call
    expanded = expand_conditions(conds)
    return Patient(
        age=pin.age,
        sex=pin.sex,
        weight=pin.weight_kg,
        height_cm=pin.height_cm,
        smoker="smoker" in expanded,
        crcl=pin.labs.crcl_ml_min,
        egfr=pin.labs.egfr,
        hepatic=pin.labs.child_pugh,
        qtc_ms=pin.labs.qtc_ms,
        alt_u_per_l=pin.labs.alt_u_per_l,
        pregnant=pin.pregnant,
        breastfeeding=pin.breastfeeding,
        conditions=expanded,
        medications=tuple(meds),
        genotypes=genos,
        pain_condition=pain_condition,
        pain_score=pin.pain.score if pin.pain else None,
        priorities=tuple(pin.priorities),
    )


def load_patient_file(path: str | Path) -> Patient:
    """Read a patient JSON file; bad JSON is a :class:`PatientError` naming the file."""
    p = Path(path)
    try:
        text = read_text(p, "patient file")
    except InputError as exc:
        raise PatientError("patient file", str(p), exc.allowed) from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise PatientError("patient file", str(p), f"valid JSON ({exc})") from None
    return load_patient(data)
