"""Typed records of the knowledge base, validated on load.

Every number is a :class:`Quantity` carrying value, unit, source key and
locator (table/page/section), with population, note and flags. A number the
evidence marks UNVERIFIED has ``verified = false``; a number computed from
other cited numbers has ``derived = true`` and names its inputs in
``derived_from``; a fitted number has ``calibrated = true`` and names the data
it was fitted to in ``calibrated_to``.

Examples
--------
>>> q = Quantity(value=0.53, unit="1", source="uk_smpc_amitriptyline", locator="5.2")
>>> q.canonical()
0.53

A number without a source is rejected, naming the field:

>>> from pydantic import ValidationError
>>> try:
...     Quantity(value=0.53, unit="1", source="", locator="5.2")
... except ValidationError as exc:
...     err = exc.errors()[0]
>>> err["loc"], "needs a source key" in err["msg"]
(('source',), True)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from neurodose.units import CANONICAL, parse_unit

__all__ = [
    "PLAUSIBLE",
    "AdverseEffect",
    "Affinity",
    "AlsoSource",
    "DoseGuidance",
    "DrugRecord",
    "EnzymeEffect",
    "EvidenceFallback",
    "FitReason",
    "Flag",
    "Identifier",
    "InteractionProfile",
    "OptionList",
    "OptionsData",
    "PlanData",
    "PlanSchedule",
    "Quantity",
    "Sourced",
    "Statement",
    "Tdm",
    "iter_sourced",
]

Strength = Literal["strong", "moderate", "weak", "unclassified"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Sourced(_Frozen):
    """Fields every cited fact carries."""

    source: str = Field(description="key in the references file")
    locator: str = Field(description="table, page or section in the source")
    population: str | None = None
    note: str | None = None
    verified: bool = Field(True, description="false where the evidence marks it UNVERIFIED")
    low_trust: bool = Field(False, description="secondary or low-trust source")

    @field_validator("source")
    @classmethod
    def _source_present(cls, v: str) -> str:
        if not isinstance(v, str) or not v.strip():
            raise ValueError(f"every number needs a source key (got {v!r})")
        return v

    @field_validator("locator")
    @classmethod
    def _locator_present(cls, v: str) -> str:
        if not isinstance(v, str) or not v.strip():
            raise ValueError(f"every number needs a locator (table/page/section), got {v!r}")
        return v


#: plausible canonical ranges per dimension (inclusive); a value outside is an error
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "dimensionless": (0.0, 1000.0),
    "mass": (0.0, 1e5),
    "volume": (0.0, 1e5),
    "time": (0.0, 24 * 365 * 2),
    "concentration": (0.0, 1e6),
    "molar": (0.0, 1e8),
    "clearance": (0.0, 1e4),
    "rate": (0.0, 100.0),
    "volume_per_mass": (0.0, 500.0),
    "clearance_per_mass": (0.0, 100.0),
    "renal_function": (0.0, 300.0),
    "interval": (0.0, 1000.0),
    "score": (-10.0, 100.0),
    "mass_per_day": (0.0, 1e5),
    "molar_mass": (1.0, 5000.0),
    "patches": (0.0, 10.0),
    "length": (0.0, 300.0),
    "body_mass": (0.0, 500.0),
    "enzyme_activity": (0.0, 1e5),
    "amount_per_time": (0.0, 1e5),
    "exposure": (0.0, 1e8),
    "serum_level": (0.0, 500.0),
    "pressure": (0.0, 400.0),
    "heart_rate": (0.0, 400.0),
}


class Quantity(Sourced):
    """A cited number: ``value`` (or ``low``..``high``) with unit and source.

    Parameters
    ----------
    value : float, optional
        Point value (give ``value`` or both ``low`` and ``high``).
    low, high : float, optional
        A range as stated in the source.
    unit : str
        A unit :mod:`neurodose.units` parses (``"1"`` for dimensionless).
    sd, cv, ci_low, ci_high, n : optional
        Spread as reported (``cv`` as a fraction).
    derived, derived_from : computed from other cited numbers (list them).
    calibrated, calibrated_to : fitted, and to which data.
    """

    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str
    sd: float | None = None
    cv: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    derived: bool = False
    derived_from: list[str] = Field(default_factory=list)
    calibrated: bool = False
    calibrated_to: list[str] = Field(default_factory=list)

    @field_validator("unit")
    @classmethod
    def _unit_parses(cls, v: str) -> str:
        parse_unit(v)  # raises UnitError (a ValueError) with close matches
        return v

    @model_validator(mode="after")
    def _check(self) -> Quantity:
        if self.value is None and (self.low is None or self.high is None):
            raise ValueError("give 'value' or both 'low' and 'high'")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low {self.low} > high {self.high}")
        dim, factor = parse_unit(self.unit)
        lo, hi = PLAUSIBLE.get(dim, (float("-inf"), float("inf")))
        for name in ("value", "low", "high", "ci_low", "ci_high"):
            x = getattr(self, name)
            if x is None:
                continue
            if x != x:  # NaN
                raise ValueError(f"{name} is NaN")
            c = x * factor
            if not lo <= c <= hi:
                raise ValueError(
                    f"{name} = {x} {self.unit} is outside the plausible range "
                    f"{lo}..{hi} {CANONICAL[dim]} for a {dim}"
                )
        if self.derived and not self.derived_from:
            raise ValueError("a derived number must list its inputs in 'derived_from'")
        if self.calibrated and not self.calibrated_to:
            raise ValueError("a calibrated number must name its data in 'calibrated_to'")
        return self

    @property
    def point(self) -> float:
        """The value, or the midpoint of ``low``..``high`` when only a range is given."""
        if self.value is not None:
            return self.value
        assert self.low is not None and self.high is not None
        return (self.low + self.high) / 2

    def canonical(self) -> float:
        """The point value converted to the canonical unit of its dimension."""
        return round(self.point * parse_unit(self.unit)[1], 15)

    @property
    def dimension(self) -> str:
        return parse_unit(self.unit)[0]

    def display(self) -> str:
        """Short human-readable text, with an UNVERIFIED mark where it applies."""
        v = f"{self.value:g}" if self.value is not None else f"{self.low:g}-{self.high:g}"
        u = "" if self.unit == "1" else f" {self.unit}"
        flags = []
        if not self.verified:
            flags.append("UNVERIFIED")
        if self.derived:
            flags.append("derived")
        if self.calibrated:
            flags.append("calibrated")
        return v + u + (f" [{', '.join(flags)}]" if flags else "")


class Affinity(Quantity):
    """Binding or block potency at a target (Ki, Kd or IC50)."""

    target: str = Field(
        description="SERT, NET, DAT, H1, muscarinic, alpha1, sodium_channel, NMDA, hERG, "
        "alpha2delta, ..."
    )
    kind: Literal["Ki", "Kd", "IC50", "EC50"]
    species: str
    subtype: str | None = None
    state: str | None = Field(None, description="channel state: resting, inactivated, open")
    lower_bound: bool = Field(
        False,
        description="the source states only that the true value is above 'value' (e.g. 'no "
        "effect up to 3 mM'): not a potency, never used for occupancy",
    )


class Statement(Sourced):
    """A cited qualitative fact (contraindication, caution, recommendation)."""

    id: str = Field(description="machine id, e.g. a condition id 'recent_myocardial_infarction'")
    text: str


class Flag(Sourced):
    """A cited yes/no property (serotonergic, CNS depressant ...)."""

    value: bool


class Identifier(Sourced):
    """A code (ATC, RxNorm) with its source.

    RxNorm term types: ``RxNorm-IN`` ingredient; product level (one product, its form
    and strength): ``RxNorm-SCD`` clinical drug, ``RxNorm-SBD`` branded drug,
    ``RxNorm-PCK`` generic or branded pack (kit)."""

    system: Literal[
        "ATC", "RxNorm-IN", "RxNorm-SCD", "RxNorm-SBD", "RxNorm-PCK", "PubChem-CID", "SNOMED"
    ]
    code: str
    display: str | None = None


class EnzymeEffect(Sourced):
    """Inhibition or induction of an enzyme, with FDA-style strength."""

    enzyme: str
    strength: Strength


class QtRisk(Sourced):
    category: Literal["known", "possible", "conditional", "none", "unknown"]


class InteractionProfile(_Frozen):
    """What a drug does to others (perpetrator side) and its pharmacodynamic flags."""

    inhibits: list[EnzymeEffect] = Field(default_factory=list)
    induces: list[EnzymeEffect] = Field(default_factory=list)
    substrate_of: list[EnzymeEffect] = Field(
        default_factory=list, description="main metabolic enzymes (strength = importance)"
    )
    serotonergic: Flag | None = None
    maoi: Flag | None = None
    cns_depressant: Flag | None = None
    opioid: Flag | None = None
    benzodiazepine_or_z: Flag | None = None
    lowers_seizure_threshold: Flag | None = None
    anticholinergic_acb: Quantity | None = None
    qt_risk: QtRisk | None = None
    notes: list[Statement] = Field(default_factory=list)


class AdverseEffect(_Frozen):
    """Incidence on the drug and on placebo in the same trials."""

    active: Quantity
    placebo: Quantity | None = None
    nnh: Quantity | None = None


class DoseGuidance(_Frozen):
    """Dosing for one indication. All entries are cited quantities."""

    start: Quantity | None = None
    titration_step: Quantity | None = None
    titration_interval: Quantity | None = None
    usual_low: Quantity | None = None
    usual_high: Quantity | None = None
    maximum: Quantity | None = None
    divided_doses: Quantity | None = None
    statements: list[Statement] = Field(default_factory=list)


class Tdm(_Frozen):
    """Therapeutic drug monitoring: reference range and alert for an analyte sum."""

    analytes: list[str]
    reference_range: Quantity | None = None
    alert: Quantity | None = None
    toxic: Quantity | None = None
    statements: list[Statement] = Field(default_factory=list)


class Withdrawal(_Frozen):
    risk: Literal["high", "moderate", "low", "none", "unknown"]
    statements: list[Statement]


class DrugRecord(_Frozen):
    """One drug: a full record (antidepressants, gabapentinoids, topicals, tramadol)
    or a lighter interaction-partner record.

    Examples
    --------
    >>> from neurodose.knowledge import get_drug
    >>> ami = get_drug("amitriptyline")
    >>> ami.pk["F"].value
    0.53
    """

    schema_version: Literal[1] = 1
    name: str
    display_name: str
    record: Literal["full", "partner"]
    drug_class: str
    classes: list[str] = Field(description="tags used by rules: tca, ssri, snri, maoi, opioid ...")
    routes: list[str] = Field(default_factory=lambda: ["oral"])
    aliases: list[str] = Field(default_factory=list)
    active_metabolites: list[str] = Field(default_factory=list)
    parent: str | None = Field(None, description="for a metabolite: the parent drug")
    identifiers: list[Identifier] = Field(default_factory=list)
    molar_mass: Quantity | None = None
    targets: list[Affinity] = Field(default_factory=list)
    protein_binding: dict[str, Quantity] = Field(default_factory=dict)
    pk: dict[str, Quantity] = Field(default_factory=dict)
    doses: dict[str, DoseGuidance] = Field(default_factory=dict)
    tdm: Tdm | None = None
    efficacy: dict[str, Quantity] = Field(default_factory=dict)
    adverse_effects: dict[str, AdverseEffect] = Field(default_factory=dict)
    contraindications: list[Statement] = Field(default_factory=list)
    cautions: list[Statement] = Field(default_factory=list)
    withdrawal: Withdrawal | None = None
    interactions: InteractionProfile = Field(default_factory=InteractionProfile)
    statements: list[Statement] = Field(default_factory=list)
    missing: list[str] = Field(
        default_factory=list, description="fields left empty for lack of evidence"
    )

    @field_validator("name")
    @classmethod
    def _name_ok(cls, v: str) -> str:
        if v != v.lower() or " " in v:
            raise ValueError(f"name {v!r} must be lowercase with underscores")
        return v

    def affinities(self, target: str) -> list[Affinity]:
        """All affinity records for ``target``."""
        return [a for a in self.targets if a.target == target]

    def iter_sourced(self) -> list[tuple[str, Sourced]]:
        """Every cited item in the record as ``(path, item)`` pairs."""
        return iter_sourced(self)


def iter_sourced(obj: object) -> list[tuple[str, Sourced]]:
    """Every cited item inside ``obj`` (models, dicts, lists) as ``(path, item)`` pairs.

    A cited item that itself holds cited items (e.g. a table row with quantities) is listed
    and also searched, so that every source key can be checked.

    >>> q = Quantity(value=1.0, unit="h", source="s", locator="l")
    >>> [p for p, _ in iter_sourced({"a": [q]})]
    ['a[0]']
    """
    out: list[tuple[str, Sourced]] = []

    def walk(path: str, o: object) -> None:
        if isinstance(o, Sourced):
            out.append((path, o))
        if isinstance(o, BaseModel):
            for k in type(o).model_fields:
                walk(f"{path}.{k}" if path else k, getattr(o, k))
        elif isinstance(o, dict):
            for k, v in o.items():
                walk(f"{path}.{k}" if path else str(k), v)
        elif isinstance(o, list | tuple):
            for i, v in enumerate(o):
                walk(f"{path}[{i}]", v)

    walk("", obj)
    return out


# ------------------------------------------------------------------ plans (advice)


class PlanSchedule(Sourced):
    """How a drug's titration is given (time of day, doses per day), with the values
    the drug record lacks (``knowledge/plans.toml`` ``[titration.<drug>]``)."""

    time_of_day: str
    doses_per_day: int = Field(ge=1, le=6)
    unit_kind: Literal["patch", "plaster"] | None = None
    repeat_days: int | None = Field(None, ge=1)
    start: Quantity | None = None
    titration_step: Quantity | None = None
    titration_interval: Quantity | None = None
    usual_low: Quantity | None = None
    maximum: Quantity | None = None


class EvidenceFallback(Sourced):
    """NNT/NNH for ranking where the drug record has none (``[evidence.<drug>]``)."""

    nnt: float | None = Field(None, gt=0)
    nnh: float | None = Field(None, gt=0)


class PlanData(_Frozen):
    """``knowledge/plans.toml``: review points, taper steps, switch gaps, titration
    fill-ins and ranking evidence fall-backs, every value cited."""

    schema_version: int
    reviews: dict[str, Quantity]
    taper: dict[str, Quantity]
    switch: dict[str, Quantity]
    titration: dict[str, PlanSchedule]
    evidence: dict[str, EvidenceFallback] = Field(default_factory=dict)


# ------------------------------------------------------------------ options (advice)


class AlsoSource(Sourced):
    """A further source of a cited entry."""


class OptionList(Sourced):
    """The options ranked by default (knowledge-base drug names)."""

    drugs: list[str] = Field(min_length=1)


class FitReason(Sourced):
    """A per-drug or per-class fit reason of the ranking (``[[fit]]``)."""

    id: str
    when: Literal["mood", "sleep", "always"]
    drug: str | None = None
    tag: str | None = None
    text: str
    weight: float = Field(ge=-5, le=5, description="in units of the ranking's fit weight")
    not_first_line: bool = False
    also: list[AlsoSource] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_match(self) -> FitReason:
        if (self.drug is None) == (self.tag is None):
            raise ValueError(f"fit {self.id!r}: give exactly one of 'drug' or 'tag'")
        return self

    @property
    def sources(self) -> tuple[str, ...]:
        """The source keys, primary first."""
        return (self.source, *(a.source for a in self.also))


class LineOfTherapy(Sourced):
    """NeuPSIG/NICE line of therapy for a drug or class (``[[line]]``): what lets a
    drug be assessed as a pain option, and how it is graded."""

    line: Literal["first", "second", "third", "no_recommendation"]
    drug: str | None = None
    tag: str | None = None
    text: str


class OptionsData(_Frozen):
    """``knowledge/options.toml``: the default options and their fit reasons."""

    schema_version: int
    options: OptionList
    fit: list[FitReason]
    line: list[LineOfTherapy] = Field(default_factory=list)
