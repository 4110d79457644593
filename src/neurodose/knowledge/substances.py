"""The coded formulary: co-medicines screened by what they do (their properties).

Loaded from ``knowledge/formulary/*.toml`` (format: ``formulary/README.md``) through
:func:`~neurodose.knowledge.registry.load_validated`:

``properties.toml``  the closed property vocabulary (an unknown property id is a load error)
``classes.toml``     classes and the properties every member inherits (cited)
``<area>.toml``      ``[[substance]]`` (RxNorm ingredient code, ATC codes, brands, salts,
                     classes, own properties, half-lives, licensed age, pregnancy) and
                     ``[[combination]]`` (a product mapped to its ingredients)

A substance's properties are facts: each carries the source and locator of the class
or substance it comes from and its ``verified`` flag. A property the formulary does not
state is *unknown* for that substance, never absent (its ``unknown`` list): the
screen's coverage checks name what could not be checked.

>>> substance("metoprolol").atc
['C07AB02']
>>> facts = properties_of("duloxetine")
>>> "serotonergic" in facts
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from neurodose.errors import KnowledgeBaseError
from neurodose.knowledge.registry import DATA_DIR, ByObject, index_once, load_validated
from neurodose.knowledge.schema import DrugRecord, Identifier, Sourced

__all__ = [
    "ClassDef",
    "Combination",
    "PropertyDef",
    "PropertyFact",
    "Substance",
    "class_defs",
    "combinations",
    "formulary_names",
    "properties_of",
    "property_defs",
    "resolve_formulary",
    "substance",
    "substances",
]

FORMULARY_DIR: Path = DATA_DIR / "formulary"
_ATC = re.compile(r"^[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}$")
Route = Literal[
    "oral",
    "topical",
    "transdermal",
    "inhaled",
    "ophthalmic",
    "iv",
    "im",
    "sc",
    "rectal",
    "nasal",
    "sublingual",
    "vaginal",
    "buccal",
    "intrathecal",
    "otic",
    "intravesical",
]
Label = Literal["contraindicated", "avoid", "caution", "compatible", "unknown"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PropertyDef(_Frozen):
    """One property id of the vocabulary."""

    id: str
    title: str
    group: Literal["pk", "pd", "population"]


class ClassDef(Sourced):
    """A class: its members have ``properties`` (facts of the class's source)."""

    id: str
    title: str
    properties: list[str] = Field(default_factory=list)


class Metabolite(_Frozen):
    """An active metabolite and its half-life (h), for the residual window."""

    name: str
    half_life_h: float | list[float] | None = None
    active: bool = True


class Fact(Sourced):
    """A property cited to its own source (overrides the substance's)."""

    property: str


class Substance(Sourced):
    """One coded co-medicine (RxNorm ingredient, ATC codes, names, properties)."""

    id: str
    display: str
    rxnorm: str | None = None
    atc: list[str] = Field(default_factory=list)
    classes: list[str] = Field(default_factory=list)
    brands: list[str] = Field(default_factory=list)
    salts: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=lambda: ["oral"])  # type: ignore[arg-type]
    properties: list[str] = Field(default_factory=list)
    not_properties: list[str] = Field(default_factory=list)
    half_life_h: float | list[float] | None = None
    metabolites: list[Metabolite] = Field(default_factory=list)
    min_age_years: float | None = Field(None, ge=0, le=99)
    pregnancy: Label | None = None
    pregnancy_note: str | None = None
    breastfeeding: Label | None = None
    label_facts: list[Fact] = Field(
        default_factory=list,
        description="sources for the label wordings: property 'pregnancy', 'breastfeeding' "
        "or 'min_age_years' with its own source and locator",
    )
    renal_avoid_below_crcl: float | None = Field(None, gt=0, le=150)
    facts: list[Fact] = Field(default_factory=list)
    unknown: list[str] = Field(default_factory=list)

    @field_validator("atc")
    @classmethod
    def _atc(cls, v: list[str]) -> list[str]:
        for code in v:
            if not _ATC.match(code):
                raise ValueError(f"ATC code {code!r} is not 7 characters like N06AA09")
        return v

    @field_validator("rxnorm")
    @classmethod
    def _rxnorm(cls, v: str | None) -> str | None:
        if v is not None and v != "" and not v.isdigit():
            raise ValueError(f"RxNorm code {v!r} is not a number")
        return v or None

    @property
    def half_life_typical_h(self) -> float | None:
        """The longest typical half-life of the parent or an active metabolite (h): the
        geometric mean of a ``[low, high]`` range (a range's upper end is its extreme)."""
        vals: list[float] = []
        for hl in [self.half_life_h, *(m.half_life_h for m in self.metabolites if m.active)]:
            if hl is None:
                continue
            if isinstance(hl, list):
                vals.append(math.sqrt(hl[0] * hl[-1]) if len(hl) > 1 else hl[0])
            else:
                vals.append(hl)
        return max(vals) if vals else None

    @property
    def half_life_max_h(self) -> float | None:
        """The longest half-life of the parent or an active metabolite (h)."""
        vals: list[float] = []
        for hl in [self.half_life_h, *(m.half_life_h for m in self.metabolites if m.active)]:
            if hl is None:
                continue
            vals.extend(hl if isinstance(hl, list) else [hl])
        return max(vals) if vals else None


class Combination(Sourced):
    """A combination product mapped to its ingredients."""

    id: str
    display: str
    rxnorm: str | None = None
    ingredients: list[str] = Field(min_length=1)
    brands: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)


class _PropertiesFile(_Frozen):
    schema_version: int = 1
    property: list[PropertyDef]


class _AreaFile(_Frozen):
    schema_version: int = 1
    area: str | None = None
    class_: list[ClassDef] = Field(default_factory=list, alias="class")
    substance: list[Substance] = Field(default_factory=list)
    combination: list[Combination] = Field(default_factory=list)


@dataclass(frozen=True)
class PropertyFact:
    """A property of a substance with where it comes from."""

    property: str
    source: str
    locator: str
    verified: bool
    via: str  # "substance", "class:<id>" or "record"


def _files() -> list[Path]:
    return sorted(p for p in FORMULARY_DIR.glob("*.toml") if p.name != "properties.toml")


@cache
def property_defs() -> dict[str, PropertyDef]:
    """The property vocabulary, keyed by id."""
    data = load_validated(FORMULARY_DIR / "properties.toml", _PropertiesFile)
    return index_once(
        ((p.id, p) for p in data.property), "formulary/properties.toml: duplicate property {!r}"
    )


@cache
def _load() -> tuple[dict[str, ClassDef], dict[str, Substance], dict[str, Combination]]:
    props = property_defs()
    classes: dict[str, ClassDef] = {}
    subs: dict[str, Substance] = {}
    combos: dict[str, Combination] = {}
    files = [(p, load_validated(p, _AreaFile)) for p in _files()]
    for path, f in files:
        for c in f.class_:
            if c.id in classes:
                raise KnowledgeBaseError(f"{path}: class {c.id!r} defined twice")
            for pid in c.properties:
                if pid not in props:
                    raise KnowledgeBaseError(f"{path}: class {c.id!r}: unknown property {pid!r}")
            classes[c.id] = c
    for path, f in files:
        for s in f.substance:
            if s.id in subs or s.id in combos:
                raise KnowledgeBaseError(f"{path}: substance {s.id!r} listed twice")
            _check_substance(path, s, props, classes)
            subs[s.id] = s
        for combo in f.combination:
            if combo.id in combos or combo.id in subs:
                raise KnowledgeBaseError(f"{path}: combination {combo.id!r} listed twice")
            combos[combo.id] = combo
    return classes, subs, combos


def _check_substance(
    path: Path, s: Substance, props: Mapping[str, PropertyDef], classes: Mapping[str, ClassDef]
) -> None:
    """A substance's label facts, properties and classes are known ones."""
    for lf in s.label_facts:
        if lf.property not in ("pregnancy", "breastfeeding", "min_age_years"):
            raise KnowledgeBaseError(
                f"{path}: {s.id!r}: label_facts.property {lf.property!r} is not "
                "pregnancy, breastfeeding or min_age_years"
            )
    for pid in [*s.properties, *s.not_properties, *(x.property for x in s.facts)]:
        if pid not in props:
            raise KnowledgeBaseError(f"{path}: {s.id!r}: unknown property {pid!r}")
    for cid in s.classes:
        if cid not in classes:
            raise KnowledgeBaseError(f"{path}: {s.id!r}: unknown class {cid!r}")


def class_defs() -> Mapping[str, ClassDef]:
    """Every class of the formulary, keyed by id."""
    return _load()[0]


def substances() -> Mapping[str, Substance]:
    """Every substance of the formulary, keyed by id."""
    return _load()[1]


def combinations() -> Mapping[str, Combination]:
    """Every combination product, keyed by id."""
    return _load()[2]


def substance(name: str) -> Substance | None:
    """The formulary entry for a canonical name (``None`` if the formulary lacks it)."""
    return substances().get(name)


@cache
def properties_of(name: str) -> dict[str, PropertyFact]:
    """Property facts of a canonical drug or substance name (formulary and its classes).

    Facts from a drug record's own interaction profile are added by the safety
    context (:func:`neurodose.safety.context.drug_tags`); this is the formulary's part.
    """
    s = substance(name)
    if s is None:
        return {}
    out: dict[str, PropertyFact] = {}
    for cid in s.classes:
        c = class_defs()[cid]
        for pid in c.properties:
            out.setdefault(pid, PropertyFact(pid, c.source, c.locator, c.verified, f"class:{cid}"))
    for pid in s.properties:
        out[pid] = PropertyFact(pid, s.source, s.locator, s.verified, "substance")
    for f in s.facts:
        out[f.property] = PropertyFact(f.property, f.source, f.locator, f.verified, "substance")
    for pid in s.not_properties:
        out.pop(pid, None)
    return out


def label_source(sub: Substance, what: str) -> tuple[str, str, bool]:
    """(source, locator, verified) of a label wording (``pregnancy``, ``breastfeeding``,
    ``min_age_years``): its own fact when given, else the substance's source."""
    for f in sub.label_facts:
        if f.property == what:
            return f.source, f.locator, f.verified
    return sub.source, sub.locator, sub.verified


def _norm(name: str) -> str:
    key = name.strip().lower().replace("'", "").replace("’", "").replace("-", "_")
    key = key.replace("/", "_").replace("+", "_").replace(",", " ").replace(".", "")
    return "_".join(key.split())


@cache
def _index() -> dict[str, tuple[str, ...]]:
    """Normalised name -> canonical ingredient ids (one, or several for a combination)."""
    out: dict[str, tuple[str, ...]] = {}

    def put(alias: str, target: tuple[str, ...]) -> None:
        k = _norm(alias)
        if not k:
            return
        if k in out and out[k] != target:
            return  # first owner keeps an ambiguous name (a brand shared by two products)
        out[k] = target

    for s in substances().values():
        put(s.id, (s.id,))
        put(s.display, (s.id,))
    for s in substances().values():
        for a in [*s.aliases, *s.salts, *s.brands]:
            put(a, (s.id,))
    for c in combinations().values():
        tgt = tuple(c.ingredients)
        for a in [c.id, c.display, *c.aliases, *c.brands]:
            put(a, tgt)
    return out


#: words that name a product's form or release, not its substance ("Zydol SR",
#: "Zomig nasal spray", "Tegretol Retard 200 mg tablets"): dropped when the whole name
#: is not known; never a substance name themselves
_FORM_TEXT = """sr xr xl mr cr er la ir dr ec od odt prolonged modified extended delayed immediate
    release retard continus slow depot long acting oral tablet tablets tab tabs capsule
    capsules cap caps film coated dispersible orodispersible soluble effervescent chewable
    melt melts liquid solution suspension syrup drops eye ear nasal spray sprays inhaler
    inhalation evohaler accuhaler turbohaler ellipta respimat handihaler nebuliser
    nebules injection injectable infusion pen prefilled syringe patch patches plaster
    transdermal cream gel ointment lotion foam suppository suppositories pessary
    sachet sachets granules powder lozenge lozenges sublingual buccal spray mouthwash
    hydrochloride hcl sodium potassium calcium magnesium maleate tartrate succinate
    besilate besylate mesilate mesylate fumarate citrate sulfate sulphate phosphate
    acetate bromide chloride"""
FORM_WORDS = frozenset(_FORM_TEXT.split())
_STRENGTH = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*/\s*\d+(?:[.,]\d+)?(?!\w)(?!\s*(?:mg|g|ml|mcg|ug))|"
    r"\b\d+(?:[.,]\d+)?(?:\s*/\s*\d+(?:[.,]\d+)?)?\s*"
    r"(?:mg|g|mcg|ug|µg|micrograms?|ml|%|units?|iu|mmol)"
    r"(?:\s*/\s*\d*(?:[.,]\d+)?\s*(?:mg|g|ml|h|hr|hours?|dose|actuation|24h))?(?!\w)",
    re.IGNORECASE,
)


def resolve_formulary(name: str) -> tuple[str, ...] | None:
    """Ingredient ids for a name, brand, salt or combination product (``None``: unknown).

    A name as written on a prescription ("Zydol SR 100 mg tablets") is tried whole
    first, then without its strength and form words; the substance never changes
    (no fuzzy matching here).

    >>> resolve_formulary("no such medicine") is None
    True
    """
    if not isinstance(name, str):
        return None
    idx = _index()
    hit = idx.get(_norm(name))
    if hit is not None:
        return hit
    core = _STRENGTH.sub(" ", name)
    words = [w for w in re.split(r"[\s,()]+", core) if w]
    kept = [w for w in words if w.lower().strip(".") not in FORM_WORDS]
    if kept and kept != words:
        return idx.get(_norm(" ".join(kept)))
    if kept and len(kept) != len(words):
        return None
    return idx.get(_norm(" ".join(kept))) if kept and core != name else None


def formulary_names() -> list[str]:
    """Every name the formulary resolves (for spelling suggestions)."""
    return sorted(_index())


_ENZYMES = ("1a2", "2b6", "2c8", "2c9", "2c19", "2d6", "3a4")
_FLAGS = {
    "serotonergic": "serotonergic",
    "maoi": "maoi",
    "cns_depressant": "cns_depressant",
    "opioid": "opioid",
    "benzodiazepine_or_z": "benzodiazepine_or_z",
    "lowers_seizure_threshold": "lowers_seizure_threshold",
}


def _code_dicts(s: Substance) -> list[dict[str, Any]]:
    """The RxNorm ingredient and ATC codes of a formulary substance, as cited identifier data."""
    out: list[dict[str, Any]] = []
    if s.rxnorm:
        out.append(
            {
                "system": "RxNorm-IN",
                "code": s.rxnorm,
                "source": "rxnorm_release",
                "locator": f"RxNorm IN concept {s.rxnorm} ({s.display})",
                "verified": False,
            }
        )
    for code in s.atc:
        out.append(
            {
                "system": "ATC",
                "code": code,
                "source": "who_atc_index",
                "locator": f"ATC {code} ({s.display})",
                "verified": False,
            }
        )
    return out


def formulary_identifiers(name: str) -> list[Identifier]:
    """The formulary's RxNorm ingredient and ATC codes of a substance (empty if none).

    These are the codes a drug record without its own identifiers is known by; each
    is cited (``rxnorm_release``, ``who_atc_index``) and stored ``verified = false``.

    >>> [i.system for i in formulary_identifiers("sertraline")]
    ['RxNorm-IN', 'ATC']
    """
    s = substance(name)
    return [] if s is None else [Identifier.model_validate(d) for d in _code_dicts(s)]


@cache
def partner_record(name: str) -> DrugRecord:
    """A partner :class:`DrugRecord` built from a formulary substance's properties.

    The enzyme effects, yes/no flags, QT category and ACB score of the record come
    from the property facts (each with its source, locator and ``verified`` flag), so
    that every rule that reads a drug record reads a formulary substance the same way.
    """
    from neurodose.knowledge.schema import (
        EnzymeEffect,
        Flag,
        InteractionProfile,
        QtRisk,
        Quantity,
    )

    s = substances()[name]
    facts = properties_of(name)

    def cite(f: PropertyFact) -> dict[str, object]:
        return {"source": f.source, "locator": f.locator, "verified": f.verified}

    inhibits, induces, substrate = [], [], []
    for e in _ENZYMES:
        enzyme = f"CYP{e.upper()}"
        for strength in ("strong", "moderate", "weak"):
            f = facts.get(f"cyp{e}_inhibitor_{strength}")
            if f is not None:
                inhibits.append(EnzymeEffect(enzyme=enzyme, strength=strength, **cite(f)))
                break
        for strength in ("strong", "moderate", "weak"):
            f = facts.get(f"cyp{e}_inducer_{strength}")
            if f is not None:
                induces.append(EnzymeEffect(enzyme=enzyme, strength=strength, **cite(f)))
                break
        major = facts.get(f"cyp{e}_substrate_major")
        minor = facts.get(f"cyp{e}_substrate")
        if major is not None:
            substrate.append(EnzymeEffect(enzyme=enzyme, strength="strong", **cite(major)))
        elif minor is not None:
            substrate.append(EnzymeEffect(enzyme=enzyme, strength="weak", **cite(minor)))
    kw: dict[str, object] = {}
    for pid, flag in _FLAGS.items():
        if pid in facts:
            kw[flag] = Flag(value=True, **cite(facts[pid]))
    if "maoi_reversible" in facts and "maoi" not in kw:
        kw["maoi"] = Flag(value=True, **cite(facts["maoi_reversible"]))
    for cat in ("known", "possible", "conditional"):
        f = facts.get(f"qt_{cat}")
        if f is not None:
            kw["qt_risk"] = QtRisk(category=cat, **cite(f))
            break
    for score in (3, 2, 1):
        f = facts.get(f"acb{score}")
        if f is not None:
            kw["anticholinergic_acb"] = Quantity(value=float(score), unit="1", **cite(f))
            break
    ip = InteractionProfile(inhibits=inhibits, induces=induces, substrate_of=substrate, **kw)
    identifiers = _code_dicts(s)
    return DrugRecord.model_validate(
        {
            "name": s.id,
            "display_name": s.display,
            "record": "partner",
            "drug_class": s.classes[0] if s.classes else "formulary",
            "classes": [*s.classes, *_legacy_class_tags(facts)],
            "routes": list(s.routes),
            "identifiers": identifiers,
            "interactions": ip,
        }
    )


def _legacy_class_tags(facts: Mapping[str, PropertyFact]) -> list[str]:
    """Class tags the rule files already read, implied by properties."""
    out = []
    for pid, tag in (
        ("anticoagulant", "anticoagulant"),
        ("antiplatelet", "antiplatelet"),
        ("nsaid", "nsaid"),
        ("alcohol", "alcohol"),
        ("sedating", "sedating"),
    ):
        if pid in facts:
            out.append(tag)
    return out


def record_properties(rec: DrugRecord) -> dict[str, bool]:
    """Property ids of any drug record (full or partner) mapped to ``verified``.

    From the record's own interaction profile (QT category, enzyme effects, yes/no
    flags, ACB score), the formulary entry of the same name, and the formulary classes
    named among the record's classes (``snri`` -> the SNRI class properties).
    """
    ip = rec.interactions
    own: dict[str, bool] = {}
    if ip.qt_risk is not None and ip.qt_risk.category in ("known", "possible", "conditional"):
        own[f"qt_{ip.qt_risk.category}"] = ip.qt_risk.verified
    for e in ip.inhibits:
        own[f"cyp{e.enzyme.lower().removeprefix('cyp')}_inhibitor_{e.strength}"] = e.verified
    for e in ip.induces:
        own[f"cyp{e.enzyme.lower().removeprefix('cyp')}_inducer_{e.strength}"] = e.verified
    for e in ip.substrate_of:
        kind = "_substrate_major" if e.strength == "strong" else "_substrate"
        own[f"cyp{e.enzyme.lower().removeprefix('cyp')}{kind}"] = e.verified
    for flag in _FLAGS:
        f = getattr(ip, flag)
        if f is not None and f.value:
            own[flag] = f.verified
    acb = ip.anticholinergic_acb
    if acb is not None and acb.point >= 1:
        own[f"acb{min(3, round(acb.point))}"] = acb.verified
    for pid, f in properties_of(rec.name).items():
        own.setdefault(pid, f.verified)
    classes = class_defs()
    for c in rec.classes:
        for cid in (c, f"{c}_class"):
            if cid in classes:
                for pid in classes[cid].properties:
                    own.setdefault(pid, classes[cid].verified)
    known = property_defs()
    return {k: v for k, v in sorted(own.items()) if k in known}


@cache
def _enzyme_profile_by_name(name: str) -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]:
    if substance(name) is None:
        return (), (), ()
    ip = partner_record(name).interactions
    return tuple(ip.inhibits), tuple(ip.induces), tuple(ip.substrate_of)


def enzyme_profile(rec: DrugRecord) -> tuple[list[Any], list[Any], list[Any]]:
    """Cached :func:`_enzyme_profile` per record object (records are immutable)."""
    return _PROFILE_CACHE(rec)


def _enzyme_profile(rec: DrugRecord) -> tuple[list[Any], list[Any], list[Any]]:
    """``(inhibits, induces, substrate_of)`` of a record, completed from the formulary.

    The record's own cited enzyme effects come first; an enzyme the record does not
    name is added from the formulary entry of the same name (each effect keeps its own
    source and ``verified`` flag), so a full drug record is screened for every pathway
    either source knows.
    """
    ip = rec.interactions
    f_inh, f_ind, f_sub = _enzyme_profile_by_name(rec.name)

    def merged(own: list[Any], extra: tuple[Any, ...]) -> list[Any]:
        by_enzyme = {e.enzyme.upper(): e for e in extra}
        out = []
        for e in own:  # an unclassified strength gives way to a classified one
            f = by_enzyme.get(e.enzyme.upper())
            out.append(f if e.strength == "unclassified" and f is not None else e)
        have = {e.enzyme.upper() for e in own}
        return [*out, *(e for e in extra if e.enzyme.upper() not in have)]

    return merged(ip.inhibits, f_inh), merged(ip.induces, f_ind), merged(ip.substrate_of, f_sub)


_PROFILE_CACHE: ByObject[DrugRecord, tuple[list[Any], list[Any], list[Any]]] = ByObject(
    _enzyme_profile
)
