"""Build a patient from any source: a profile (the ``assess`` JSON schema), the
covariate and genotype options of ``simulate``/``explain``/``tdm``, or a patient a
door's translator has read (a FHIR bundle, :class:`neurodose.fhir.inbound.FhirCase`).

One rule for every source: a medicine, condition or field the knowledge base does not
know is kept and listed in :attr:`PatientResult.unchecked` (silence is not safety),
unless ``strict``, where it is an error naming it. Malformed input is always an error.

FHIR is read by its door (``fhir`` is a layer above this one); the workflow takes the
case the translator made (:class:`PatientSource`) and decides the rest.

>>> r = build_patient(PatientRequest({"age": 60, "medications": [{"name": "zzzoxetine"}]}))
>>> [(u.kind, u.name) for u in r.unchecked]
[('drug', 'zzzoxetine')]
>>> build_patient(PatientRequest(PatientOptions(age=70, cyp2d6="poor"))).patient.age
70.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from neurodose.case import Patient
from neurodose.case.patient import Unchecked

__all__ = [
    "PatientOptions",
    "PatientRequest",
    "PatientResult",
    "PatientSource",
    "build_patient",
]


@runtime_checkable
class PatientSource(Protocol):
    """A patient read by a door's translator (:class:`neurodose.fhir.inbound.FhirCase`):
    its id in the source system and the patient with everything it did not recognise
    carried into ``Patient.unchecked``."""

    @property
    def patient_id(self) -> str | None: ...

    def patient(self, *, strict: bool = False) -> Patient: ...


@dataclass(frozen=True)
class PatientOptions:
    """The covariate and genotype options (``--age``, ``--cyp2d6`` ...); an option left
    out stays unknown (the typical adult's value where the model needs one)."""

    age: float | None = None
    sex: str | None = None
    weight: float | None = None
    smoker: bool = False
    crcl: float | None = None
    scr: float | None = None
    cyp2d6: str | None = None
    cyp2c19: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PatientOptions:
        """The options of a request body (keys as the options; ``None`` = not given)."""
        return cls(**{k: v for k, v in data.items() if v is not None})


@dataclass(frozen=True)
class PatientRequest:
    """Where the patient comes from: a profile mapping, :class:`PatientOptions`, or a
    :class:`PatientSource`; ``strict`` refuses an unknown name instead of keeping it."""

    source: Mapping[str, Any] | PatientOptions | PatientSource
    strict: bool = False


@dataclass(frozen=True)
class PatientResult:
    """The one :class:`~neurodose.case.Patient`, what in it was not checked, and the
    source's patient id (FHIR), if any."""

    patient: Patient
    patient_id: str | None = None

    @property
    def unchecked(self) -> tuple[Unchecked, ...]:
        """What the knowledge base does not know, as given (``Patient.unchecked``)."""
        return self.patient.unchecked


def build_patient(req: PatientRequest) -> PatientResult:
    """The patient of ``req.source`` (errors name the field, by its path in the source)."""
    src = req.source
    if isinstance(src, PatientOptions):
        p = Patient(
            age=src.age,
            sex=src.sex,
            weight=src.weight,
            smoker=src.smoker,
            crcl=src.crcl,
            scr=src.scr,
        )
        given = (("CYP2D6", src.cyp2d6), ("CYP2C19", src.cyp2c19))
        genes = {k: v for k, v in given if v is not None}
        return PatientResult(p.with_genotype(**genes) if genes else p)
    if isinstance(src, Mapping):
        from neurodose.case import load_patient

        return PatientResult(load_patient(dict(src), strict=req.strict))
    return PatientResult(src.patient(strict=req.strict), src.patient_id)
