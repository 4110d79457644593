"""PD model parameters from ``knowledge/pdmodels/*.toml``, validated on load.

Each file is read through :func:`neurodose.knowledge.registry.load_validated` with the
schema :class:`PDFile` (TOML, schema, units, source keys); the checks that span files
(a parameter defined twice, a condition naming an unknown parameter) run after it.

Every parameter is a :class:`~neurodose.knowledge.schema.Quantity` with a source
key: cited values name their source; structural assumptions cite
``neurodose_pd_assumption`` with ``verified = false``; fitted values have
``calibrated = true`` and ``calibrated_to`` naming the training data
(written by ``calibration/calibrate_pd.py`` into ``calibrated.toml``).

>>> p = load_pd_parameters()
>>> p.value("serotonin_weight")
0.5
>>> "diabetic_neuropathy" in p.conditions
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from neurodose import citations
from neurodose.errors import KnowledgeBaseError, UnknownNameError
from neurodose.knowledge.registry import DATA_DIR, load_validated
from neurodose.knowledge.schema import Quantity

__all__ = [
    "OCCUPANCY_BASES",
    "PD_DIR",
    "AdverseEffectDef",
    "ConditionDef",
    "PDFile",
    "PDParameters",
    "load_pd_parameters",
]

PD_DIR = DATA_DIR / "pdmodels"

#: How SERT/NET occupancy is computed (docs/validation_pet.md): ``in_vitro`` = free plasma
#: concentration over the in-vitro K (Emax 1); ``pet_anchored`` = the human PET/SPECT
#: translation of :mod:`neurodose.pd.invivo`. Each basis has its own calibration.
OCCUPANCY_BASES = ("in_vitro", "pet_anchored")


@dataclass(frozen=True)
class AdverseEffectDef:
    """One modelled adverse effect: its driving targets and cited placebo rate."""

    name: str
    group: str
    drivers: tuple[str, ...]
    placebo_rate: Quantity | None
    age_susceptible: bool = False
    fall_risk: bool = False
    unknown_gain: tuple[str, ...] = ()  # drivers with no cited or fitted gain (not default)


@dataclass(frozen=True)
class ConditionDef:
    """A neuropathic-pain condition a trial may name."""

    name: str
    display: str
    placebo_multiplier: str  # "reference" or a parameter name
    peripheral: bool


@dataclass(frozen=True)
class PDParameters:
    """All PD parameters (immutable). Use :meth:`with_values` to override for a study."""

    quantities: Mapping[str, Quantity]
    adverse_effects: Mapping[str, AdverseEffectDef]
    conditions: Mapping[str, ConditionDef]
    overrides: Mapping[str, float] = field(default_factory=dict)
    occupancy_basis: str = "in_vitro"
    basis_calibrations: Mapping[str, Mapping[str, Quantity]] = field(default_factory=dict)

    def with_basis(self, basis: str) -> PDParameters:
        """A copy on another SERT/NET occupancy basis, with that basis's calibrated values.

        >>> load_pd_parameters().with_basis("pet_anchored").occupancy_basis
        'pet_anchored'
        """
        if basis not in OCCUPANCY_BASES:
            raise UnknownNameError("occupancy basis", basis, OCCUPANCY_BASES)
        if basis == self.occupancy_basis:
            return self
        q = {**self.quantities, **self.basis_calibrations.get(basis, {})}
        return replace(self, quantities=q, occupancy_basis=basis)

    def value(self, name: str) -> float:
        """Canonical value of parameter ``name`` (unknown names raise with close matches)."""
        if name in self.overrides:
            return float(self.overrides[name])
        if name not in self.quantities:
            raise UnknownNameError("PD parameter", name, self.quantities)
        return self.quantities[name].canonical()

    def get(self, name: str, default: float) -> float:
        """Value of ``name`` or ``default`` when the model has no such parameter."""
        if name in self.overrides or name in self.quantities:
            return self.value(name)
        return default

    def has(self, name: str) -> bool:
        return name in self.overrides or name in self.quantities

    def with_values(self, **values: float) -> PDParameters:
        """A copy with some values replaced (used by calibration and sensitivity runs)."""
        return replace(self, overrides={**self.overrides, **values})

    def sources(self) -> list[str]:
        """Source keys of every parameter, including the training data of calibrated ones."""
        from neurodose.knowledge.registry import references

        refs = references()
        keys = {q.source for q in self.quantities.values()}
        keys |= {a.placebo_rate.source for a in self.adverse_effects.values() if a.placebo_rate}
        for q in self.quantities.values():
            for item in q.calibrated_to:
                key = item.split(":", 1)[0].strip()
                if key in refs:
                    keys.add(key)
        return sorted(keys)

    def calibrated(self) -> dict[str, Quantity]:
        return {k: q for k, q in self.quantities.items() if q.calibrated}

    def condition(self, name: str) -> ConditionDef:
        if name not in self.conditions:
            raise UnknownNameError("condition", name, self.conditions)
        return self.conditions[name]


class _FileModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AdverseEffectEntry(_FileModel):
    """One ``[adverse_effects.NAME]`` table of a PD file."""

    group: str
    drivers: tuple[str, ...]
    placebo_rate: Quantity | None = None
    age_susceptible: bool = False
    fall_risk: bool = False
    unknown_gain: tuple[str, ...] = ()


class ConditionEntry(_FileModel):
    """One ``[conditions.NAME]`` table of a PD file."""

    display: str
    placebo_multiplier: str = Field(description='"reference" or a parameter name')
    peripheral: bool


class PDFile(_FileModel):
    """Schema of one ``knowledge/pdmodels/*.toml`` file (``analytes`` is read by
    :mod:`neurodose.pd.occupancy`)."""

    schema_version: int = 1
    kind: str | None = None
    occupancy_basis: Literal["in_vitro", "pet_anchored"] | None = Field(
        default=None,
        description="in assumptions.toml: the basis of the default outputs; in a calibrated "
        "file: the basis its values were fitted on (calibrated.toml is in_vitro)",
    )
    parameters: dict[str, Quantity] = Field(default_factory=dict)
    adverse_effects: dict[str, AdverseEffectEntry] = Field(default_factory=dict)
    conditions: dict[str, ConditionEntry] = Field(default_factory=dict)
    analytes: dict[str, dict[str, Quantity]] = Field(default_factory=dict)


def _add_definitions(
    data: PDFile, aes: dict[str, AdverseEffectDef], conds: dict[str, ConditionDef]
) -> None:
    for key, a in data.adverse_effects.items():
        # the entry's fields are the definition's (all but the name)
        aes[key] = AdverseEffectDef(name=key, **{f: getattr(a, f) for f in type(a).model_fields})
    for key, c in data.conditions.items():
        conds[key] = ConditionDef(
            name=key,
            display=c.display,
            placebo_multiplier=c.placebo_multiplier,
            peripheral=c.peripheral,
        )


def _add_parameters(path: Path, params: dict[str, Quantity], into: dict[str, Quantity]) -> None:
    for key, q in params.items():
        if key in into:
            raise KnowledgeBaseError(f"{path}: parameter {key!r} is defined twice")
        into[key] = q


@cache
def _load(directory: str) -> PDParameters:
    """All files of ``directory``; calibrated files are kept per occupancy basis
    (``calibrated.toml`` = ``in_vitro`` unless it says otherwise), and the default
    basis (``occupancy_basis`` of a non-calibrated file, else ``in_vitro``) is applied."""
    d = Path(directory)
    quantities: dict[str, Quantity] = {}
    by_basis: dict[str, dict[str, Quantity]] = {b: {} for b in OCCUPANCY_BASES}
    default: str | None = None
    aes: dict[str, AdverseEffectDef] = {}
    conds: dict[str, ConditionDef] = {}
    files = sorted(d.glob("*.toml"))
    if not any(p.name == "calibrated.toml" for p in files):
        raise KnowledgeBaseError(
            f"{d}: calibrated.toml is missing; run `python calibration/calibrate_pd.py`"
        )
    for path in files:
        data = load_validated(path, PDFile)
        if data.kind == "calibrated":
            _add_parameters(path, data.parameters, by_basis[data.occupancy_basis or "in_vitro"])
        else:
            _add_parameters(path, data.parameters, quantities)
            if data.occupancy_basis is not None:
                if default is not None:
                    raise KnowledgeBaseError(f"{path}: occupancy_basis is set in two files")
                default = data.occupancy_basis
        _add_definitions(data, aes, conds)
    for key in by_basis["in_vitro"]:
        if key in quantities:
            raise KnowledgeBaseError(f"{d}: parameter {key!r} is defined twice")
    for basis, qs in by_basis.items():
        extra = sorted(set(qs) - set(by_basis["in_vitro"]))
        if extra:
            raise KnowledgeBaseError(
                f"{d}: the {basis} calibration has parameters calibrated.toml lacks: {extra}"
            )
    quantities.update(by_basis["in_vitro"])
    for cdef in conds.values():
        if cdef.placebo_multiplier != "reference" and cdef.placebo_multiplier not in quantities:
            raise KnowledgeBaseError(
                f"{d}: condition {cdef.name!r} names unknown parameter {cdef.placebo_multiplier!r}"
            )
    p = PDParameters(
        quantities=quantities, adverse_effects=aes, conditions=conds, basis_calibrations=by_basis
    )
    return p.with_basis(default or "in_vitro")


def load_pd_parameters(directory: Path | None = None) -> PDParameters:
    """Load and validate the PD parameter files; registers their sources."""
    p = _load(str(directory or PD_DIR))
    citations.register_many(p.sources())
    return p
