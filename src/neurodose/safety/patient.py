"""Patient profile: the JSON a clinician gives ``neurodose assess``.

Schema (all field names are fixed; an unknown field is an error naming it):

=================  ==============================================================
``age``            years, required, 0 < age <= 120
``sex``            ``"female"`` | ``"male"`` (optional)
``weight_kg``      kg (optional), ``height_cm`` cm (optional)
``pregnant``       bool (default false); ``breastfeeding`` bool (default false)
``conditions``     list of condition ids (``neurodose.knowledge.conditions``)
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
>>> p = load_patient({"age": 60, "conditions": ["diabetic_neuropathy"], "medications": []})
>>> p.age, sorted(p.conditions)
(60.0, ['diabetic_neuropathy'])
>>> try:
...     load_patient({"age": 60, "colour": "blue"})
... except PatientError as exc:
...     str(exc).startswith("colour: 'blue' is not allowed; expected no such field")
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from neurodose.errors import PatientError
from neurodose.knowledge import get_drug, resolve_name
from neurodose.knowledge.conditions import condition, expand_conditions, resolve_condition
from neurodose.knowledge.pgx import GenotypeCall, parse_genotype
from neurodose.knowledge.schema import DrugRecord

__all__ = [
    "Labs",
    "Medication",
    "Patient",
    "PatientIn",
    "load_patient",
    "load_patient_file",
]


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


@dataclass(frozen=True)
class Medication:
    """A resolved medication: canonical name, record and dose."""

    name: str
    record: DrugRecord = field(repr=False, compare=False)
    dose_mg: float | None = None
    every_h: float | None = None
    stopped_days_ago: float | None = None

    @property
    def current(self) -> bool:
        return self.stopped_days_ago is None

    @property
    def daily_mg(self) -> float | None:
        if self.dose_mg is None:
            return None
        return self.dose_mg * (24.0 / self.every_h if self.every_h else 1.0)


@dataclass(frozen=True)
class Patient:
    """A validated, resolved patient profile (immutable)."""

    age: float
    sex: str | None
    weight_kg: float | None
    height_cm: float | None
    pregnant: bool
    breastfeeding: bool
    conditions: frozenset[str]
    medications: tuple[Medication, ...]
    genotypes: dict[str, GenotypeCall]
    labs: LabsIn
    pain_condition: str | None
    pain_score: float | None
    priorities: tuple[str, ...]
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def crcl(self) -> float | None:
        """CrCl in mL/min; eGFR is used where CrCl is not given (see ``renal_basis``)."""
        if self.labs.crcl_ml_min is not None:
            return self.labs.crcl_ml_min
        return self.labs.egfr

    @property
    def renal_basis(self) -> str | None:
        if self.labs.crcl_ml_min is not None:
            return "CrCl"
        if self.labs.egfr is not None:
            return "eGFR (used in place of CrCl)"
        return None

    def current_names(self) -> list[str]:
        return [m.name for m in self.medications if m.current]

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary for the ``patient_summary`` block of ``assess``."""
        return {
            "age": self.age,
            "sex": self.sex,
            "weight_kg": self.weight_kg,
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
            "labs": self.labs.model_dump(exclude_none=True),
            "renal_basis": self.renal_basis,
            "priorities": list(self.priorities),
        }


def _raise_validation(err: ValidationError, data: Any) -> None:
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
                record=get_drug(name),
                dose_mg=mi.dose_mg,
                every_h=mi.every_h,
                stopped_days_ago=mi.stopped_days_ago,
            )
        )
    genos: dict[str, GenotypeCall] = {}
    for gene, value in pin.genotypes.items():
        call = parse_genotype(gene, value)
        genos[call.gene] = call
    return Patient(
        age=pin.age,
        sex=pin.sex,
        weight_kg=pin.weight_kg,
        height_cm=pin.height_cm,
        pregnant=pin.pregnant,
        breastfeeding=pin.breastfeeding,
        conditions=expand_conditions(conds),
        medications=tuple(meds),
        genotypes=genos,
        labs=pin.labs,
        pain_condition=pain_condition,
        pain_score=pin.pain.score if pin.pain else None,
        priorities=tuple(pin.priorities),
        raw=dict(data),
    )


def load_patient_file(path: str | Path) -> Patient:
    """Read a patient JSON file; bad JSON is a :class:`PatientError` naming the file."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PatientError("patient file", str(p), "an existing JSON file") from None
    except json.JSONDecodeError as exc:
        raise PatientError("patient file", str(p), f"valid JSON ({exc})") from None
    return load_patient(data)
