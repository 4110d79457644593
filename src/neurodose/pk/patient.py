"""Patients (covariates and genotypes, immutable) and co-medications.

>>> p = Patient(age=60, sex="female", weight=70).with_genotype(CYP2D6="*4/*4")
>>> p.phenotype("CYP2D6")
'PM'
>>> Patient(age=300)
Traceback (most recent call last):
...
neurodose.errors.PatientError: age: 300 is not allowed; expected 0 < age <= 120 years
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from neurodose.errors import InputError, PatientError
from neurodose.knowledge.pgx import GenotypeCall, parse_genotype
from neurodose.units import parse_quantity

__all__ = ["Comedication", "Patient", "parse_comedication"]

_RANGES: dict[str, tuple[float, float, str]] = {
    "age": (0.0, 120.0, "0 < age <= 120 years"),
    "weight": (0.0, 400.0, "0 < weight <= 400 kg"),
    "height_cm": (30.0, 250.0, "30 < height <= 250 cm"),
    "crcl": (0.0, 300.0, "0 < CrCl <= 300 mL/min"),
    "scr": (0.0, 20.0, "0 < serum creatinine <= 20 mg/dL"),
}
_SEX = ("male", "female")
_HEPATIC = ("A", "B", "C")


@dataclass(frozen=True)
class Patient:
    """Covariates as the knowledge base uses them (all optional).

    Parameters
    ----------
    age : float, years (0, 120]
    sex : {"male", "female"}
    weight : float, kg (0, 400]
    height_cm : float, cm
    smoker : bool
    crcl : float, creatinine clearance mL/min (0, 300]
    scr : float, serum creatinine mg/dL (0, 20]
    hepatic : {"A", "B", "C"} or None, Child-Pugh class
    genotypes : tuple of GenotypeCall (use :meth:`with_genotype`)
    """

    age: float | None = None
    sex: str | None = None
    weight: float | None = None
    height_cm: float | None = None
    smoker: bool = False
    crcl: float | None = None
    scr: float | None = None
    hepatic: str | None = None
    genotypes: tuple[GenotypeCall, ...] = field(default=())

    def __post_init__(self) -> None:
        for name, (lo, hi, allowed) in _RANGES.items():
            v = getattr(self, name)
            if v is None:
                continue
            if isinstance(v, bool):
                raise PatientError(name, v, allowed)
            try:
                f = float(v)
            except (TypeError, ValueError):
                raise PatientError(name, v, allowed) from None
            if not math.isfinite(f) or not lo < f <= hi:
                raise PatientError(name, v, allowed)
            object.__setattr__(self, name, f)
        if self.sex is not None:
            s = str(self.sex).strip().lower()
            s = {"m": "male", "f": "female"}.get(s, s)
            if s not in _SEX:
                raise PatientError("sex", self.sex, "'male' or 'female'")
            object.__setattr__(self, "sex", s)
        if not isinstance(self.smoker, bool):
            raise PatientError("smoker", self.smoker, "true or false")
        if self.hepatic is not None:
            h = str(self.hepatic).strip().upper()
            if h not in _HEPATIC:
                raise PatientError("hepatic", self.hepatic, "Child-Pugh class 'A', 'B' or 'C'")
            object.__setattr__(self, "hepatic", h)

    def with_genotype(self, **genes: Any) -> Patient:
        """A copy with genotypes set: diplotype, activity score or phenotype.

        >>> Patient().with_genotype(CYP2C19="*2/*2").phenotype("CYP2C19")
        'PM'
        """
        calls = {g.gene: g for g in self.genotypes}
        for gene, value in genes.items():
            call = parse_genotype(gene, value)
            calls[call.gene] = call
        return replace(self, genotypes=tuple(calls[g] for g in sorted(calls)))

    with_phenotype = with_genotype

    def with_covariates(self, **kw: Any) -> Patient:
        """A copy with covariates changed (validated)."""
        return replace(self, **kw)

    def phenotype(self, gene: str) -> str | None:
        """The phenotype for ``gene`` (``None`` when not genotyped)."""
        for g in self.genotypes:
            if g.gene == gene.upper():
                return str(g.phenotype)
        return None


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
