"""Typed loader for per-drug PK parameter sets (``knowledge/pkmodels/*.toml``).

Each file holds one drug's model: structure name, analytes, cited structural
parameters, unbound fractions, IIV (CV or log-scale SD), residual error,
metabolic pathways (fraction of a clearance carried by an enzyme), genotype
multipliers, covariate effects and measured interactions. ``_shared.toml`` holds
class-level mappings (FDA inhibition/induction bands), interaction time
constants (assumptions, ``verified = false``), covariate formulas and phenotype
frequencies.

>>> spec = get_pkmodel("amitriptyline")
>>> spec.structure, spec.analytes
('parent_metabolite', ['amitriptyline', 'nortriptyline'])
>>> round(spec.parameters["CL_form"].canonical() + spec.parameters["CL_other"].canonical(), 1)
70.0
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from neurodose import citations
from neurodose.errors import KnowledgeBaseError, NoPKModelError, UnknownDrugError
from neurodose.knowledge.registry import (
    DATA_DIR,
    ByObject,
    load_validated,
)
from neurodose.knowledge.schema import Quantity, Sourced, iter_sourced

__all__ = [
    "Covariate",
    "Formulation",
    "IivEntry",
    "MeasuredInteraction",
    "PKModelSpec",
    "Pathway",
    "SharedSpec",
    "get_pkmodel",
    "pkmodel_analytes",
    "pkmodel_names",
    "shared",
]

PKMODEL_DIR = DATA_DIR / "pkmodels"

#: why a knowledge-base drug has no PK model (shown in the error; see docs/evidence_gaps.md)
NO_PK_MODEL_REASONS: dict[str, str] = {}
Structure = Literal[
    "one_compartment", "two_compartment", "parent_metabolite", "one_compartment_saturable"
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IivEntry(_Frozen):
    """Log-normal IIV of one eta applied (multiplicatively) to ``applies_to``."""

    applies_to: list[str]
    cv: Quantity | None = None
    omega: Quantity | None = Field(None, description="SD on the log scale")

    @model_validator(mode="after")
    def _one(self) -> IivEntry:
        if (self.cv is None) == (self.omega is None):
            raise ValueError("give exactly one of 'cv' or 'omega'")
        return self

    @property
    def omega_sd(self) -> float:
        """SD of eta on the log scale (``sqrt(ln(1+cv^2))`` from a CV)."""
        if self.omega is not None:
            return self.omega.canonical()
        assert self.cv is not None
        return math.sqrt(math.log1p(self.cv.canonical() ** 2))

    @property
    def quantity(self) -> Quantity:
        q = self.omega if self.omega is not None else self.cv
        assert q is not None
        return q


class Pathway(_Frozen):
    """A fraction of clearance parameter ``parameter`` carried by ``enzyme``."""

    parameter: str
    enzyme: str
    fraction: Quantity


class Covariate(_Frozen):
    """A covariate effect on a parameter: categorical factor, power model, or a
    ``fraction`` of the parameter proportional to the covariate (``renal_fraction``:
    ``P x [(1 - f) + f x x/reference]``, e.g. the renally excreted share of a clearance
    scaling with creatinine clearance)."""

    parameter: str
    kind: Literal["categorical", "power", "renal_fraction"]
    covariate: Literal["sex", "smoker", "hepatic", "age", "weight", "ibw", "bmi", "crcl", "scr"]
    level: str | None = None
    factor: Quantity | None = None
    reference: Quantity | None = None
    exponent: Quantity | None = None
    fraction: Quantity | None = None
    cap: Quantity | None = None

    @model_validator(mode="after")
    def _complete(self) -> Covariate:
        if self.kind == "categorical" and (self.level is None or self.factor is None):
            raise ValueError("a categorical covariate needs 'level' and 'factor'")
        if self.kind == "power" and (self.reference is None or self.exponent is None):
            raise ValueError("a power covariate needs 'reference' and 'exponent'")
        if self.kind == "renal_fraction":
            if self.reference is None or self.fraction is None:
                raise ValueError("a renal_fraction covariate needs 'reference' and 'fraction'")
            if not 0.0 <= self.fraction.point <= 1.0:
                raise ValueError("renal_fraction 'fraction' must lie in [0, 1]")
        return self


class MeasuredInteraction(_Frozen):
    """A measured multiplier on ``parameter`` when ``perpetrator`` is taken."""

    perpetrator: str
    parameter: str
    multiplier: Quantity


class Formulation(_Frozen):
    """A marketed formulation of the drug: cited overrides of absorption parameters
    (``ka``, ``tlag``, ``F``) of the model. The ``default`` formulation is the one the
    model's own parameters describe (no overrides)."""

    description: str
    default: bool = False
    parameters: dict[str, Quantity] = Field(default_factory=dict)


#: parameters a formulation may change (absorption only; disposition is the drug's)
FORMULATION_PARAMETERS = ("ka", "tlag", "F")


class PKModelSpec(_Frozen):
    """One drug's PK model data (see module docstring)."""

    name: str
    structure: Structure
    analytes: list[str]
    tdm_sum: list[str] = Field(default_factory=list)
    description: str = ""
    bioavailability: Literal["linear", "saturable"] = "linear"
    parameters: dict[str, Quantity]
    fu: dict[str, Quantity] = Field(default_factory=dict)
    iiv: dict[str, IivEntry] = Field(default_factory=dict)
    iiv_correlation: dict[str, Quantity] = Field(
        default_factory=dict, description='correlation of two etas, key "ETA1,ETA2"'
    )
    residual: dict[str, Quantity] = Field(default_factory=dict)
    pathways: list[Pathway] = Field(default_factory=list)
    genotype: dict[str, dict[str, Quantity]] = Field(default_factory=dict)
    covariates: list[Covariate] = Field(default_factory=list)
    interactions: list[MeasuredInteraction] = Field(default_factory=list)
    formulations: dict[str, Formulation] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> PKModelSpec:
        names = set(self.parameters)
        _check_formulations(self.formulations, names)
        for eta, e in self.iiv.items():
            for p in e.applies_to:
                if p not in names:
                    raise ValueError(f"iiv.{eta}.applies_to: unknown parameter {p!r}")
        for key, q in self.iiv_correlation.items():
            pair = [x.strip() for x in key.split(",")]
            if len(pair) != 2 or any(x not in self.iiv for x in pair) or pair[0] == pair[1]:
                raise ValueError(f"iiv_correlation.{key}: expected 'ETA1,ETA2' of two iiv entries")
            if not -1.0 < q.canonical() < 1.0:
                raise ValueError(f"iiv_correlation.{key}: a correlation in (-1, 1)")
        for pw in self.pathways:
            if pw.parameter not in names:
                raise ValueError(f"pathways: unknown parameter {pw.parameter!r}")
        for c in self.covariates:
            if c.parameter not in names:
                raise ValueError(f"covariates: unknown parameter {c.parameter!r}")
        for a in self.fu:
            if a not in self.analytes:
                raise ValueError(f"fu.{a}: not an analyte of this model")
        for k in self.residual:
            if k not in ("proportional", "additive"):
                raise ValueError(f"residual.{k}: allowed 'proportional', 'additive'")
        return self

    def omega(self) -> tuple[tuple[str, ...], list[list[float]]]:
        """Eta names and the full covariance matrix on the log scale (SD from CV or omega,
        off-diagonals from ``iiv_correlation``; diagonal where none is given)."""
        names = tuple(self.iiv)
        sd = [self.iiv[e].omega_sd for e in names]
        cov = [
            [sd[i] ** 2 if i == j else 0.0 for j in range(len(names))] for i in range(len(names))
        ]
        for key, q in self.iiv_correlation.items():
            a, b = (names.index(x.strip()) for x in key.split(","))
            cov[a][b] = cov[b][a] = q.canonical() * sd[a] * sd[b]
        return names, cov

    def sources(self) -> list[str]:
        """All source keys this parameter set rests on (computed once per object: the
        parameter set is immutable)."""
        return list(_SOURCES(self))


def _check_formulations(forms: dict[str, Formulation], names: set[str]) -> None:
    """At most one default, which overrides nothing; overrides only of absorption
    parameters the model has."""
    defaults = [k for k, f in forms.items() if f.default]
    if len(defaults) > 1:
        raise ValueError(f"formulations: one default at most (got {defaults})")
    for key, f in forms.items():
        if f.default and f.parameters:
            raise ValueError(f"formulations.{key}: the default formulation overrides nothing")
        for p in f.parameters:
            if p not in names or p not in FORMULATION_PARAMETERS:
                raise ValueError(
                    f"formulations.{key}.parameters: {p!r} not allowed "
                    f"(absorption parameters of this model: "
                    f"{', '.join(x for x in FORMULATION_PARAMETERS if x in names)})"
                )


def _sorted_sources(spec: PKModelSpec) -> tuple[str, ...]:
    return tuple(sorted({item.source for _, item in iter_sourced(spec)}))


_SOURCES: ByObject[PKModelSpec, tuple[str, ...]] = ByObject(_sorted_sources)


class StrengthOverride(Sourced):
    strength: Literal["strong", "moderate", "weak"]


class SharedSpec(_Frozen):
    """Class-level mappings and assumptions shared by all models."""

    inhibition: dict[str, Quantity]
    induction: dict[str, Quantity]
    time_constants: dict[str, Quantity]
    strength_override: dict[str, StrengthOverride] = Field(default_factory=dict)
    cockcroft_gault: dict[str, Quantity]
    devine: dict[str, Quantity]
    frequencies: dict[str, dict[str, Quantity]]
    reference_patient: dict[str, Quantity]


@cache
def _paths() -> dict[str, Path]:
    return {p.stem: p for p in sorted(PKMODEL_DIR.glob("*.toml")) if not p.stem.startswith("_")}


def pkmodel_names() -> list[str]:
    """Drugs that have a PK parameter set."""
    return sorted(_paths())


@cache
def _spec(name: str) -> PKModelSpec:
    rec = load_validated(_paths()[name], PKModelSpec)
    assert isinstance(rec, PKModelSpec)
    if rec.name != name:
        raise KnowledgeBaseError(f"{_paths()[name]}: name {rec.name!r} must match the file")
    return rec


def _no_model(drug: str) -> str | None:
    """The PK-model name of a knowledge-base drug given by an alias, None for a name the
    knowledge base does not know; a known drug without a PK model raises
    :class:`~neurodose.errors.NoPKModelError` saying exactly that (never "unknown drug")."""
    from neurodose.knowledge import get_drug, resolve_name

    try:
        name = resolve_name(drug)
    except KeyError:
        return None  # not in the knowledge base at all: UnknownDrugError with close matches
    if name in _paths():
        return name
    rec = get_drug(name)
    reason = NO_PK_MODEL_REASONS.get(name) or f"{rec.display_name}, route {', '.join(rec.routes)}"
    raise NoPKModelError(name, _paths(), reason)


def pkmodel_analytes(name: str) -> tuple[str, ...]:
    """Analytes of the PK model ``name`` (exact model name), without registering its
    sources as used (for callers that only ask which analytes a model carries)."""
    if name not in _paths():
        raise UnknownDrugError(name, _paths())
    return tuple(_spec(name).analytes)


def get_pkmodel(drug: str) -> PKModelSpec:
    """The PK parameter set of ``drug`` (registers its sources).

    Raises
    ------
    UnknownDrugError
        If no parameter set exists; the message lists close names.
    """
    key = str(drug).strip().lower().replace("-", "_").replace(" ", "_")
    if key not in _paths():
        name = _no_model(drug)
        if name is None:
            raise UnknownDrugError(drug, _paths())
        key = name
    spec = _spec(key)
    citations.register_many(spec.sources())
    return spec


@cache
def shared() -> SharedSpec:
    """The shared assumptions file ``_shared.toml``."""
    rec = load_validated(PKMODEL_DIR / "_shared.toml", SharedSpec)
    assert isinstance(rec, SharedSpec)
    return rec
