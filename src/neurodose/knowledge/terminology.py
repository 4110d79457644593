"""Code tables: standard codes (SNOMED CT, ICD-10, LOINC, HGNC, RxNorm, ATC) to neurodose ids.

Conditions, observations and genes come from ``knowledge/terminology/codes.toml``;
drug codes come from the drug records' ``[[identifiers]]`` (one home per drug).
Every code carries its source and locator; codes not checked against the primary
release have ``verified = false``.

Code systems are written in FHIR as canonical URIs (:data:`SYSTEM_URIS`); lookups
accept either the URI or the short name.

Examples
--------
>>> condition_for_code("http://snomed.info/sct", "230572002").condition
'diabetic_neuropathy'
>>> condition_for_code("http://hl7.org/fhir/sid/icd-10", "F32.1").condition
'depression'
>>> observation_for_code("http://loinc.org", "72514-3").kind
'pain_score'
>>> drug_for_code("http://www.nlm.nih.gov/research/umls/rxnorm", "856783")[0]
'amitriptyline'
>>> condition_for_code("SNOMED", "0") is None
True
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from neurodose.errors import KnowledgeBaseError
from neurodose.knowledge.conditions import condition_ids
from neurodose.knowledge.registry import (
    DATA_DIR,
    check_sources,
    drug_names,
    get_drug,
    load_validated,
)
from neurodose.knowledge.schema import Identifier, Sourced

__all__ = [
    "OBSERVATION_KINDS",
    "SYSTEM_URIS",
    "AnswerCode",
    "CodeTables",
    "ConditionCode",
    "GeneCode",
    "ObservationCode",
    "TimingCode",
    "answer_for_code",
    "code_tables",
    "condition_for_code",
    "drug_codes",
    "drug_for_code",
    "gene_for_code",
    "observation_code",
    "observation_for_code",
    "product_level",
    "system_name",
    "system_uri",
    "timing_interval",
]

#: short code-system name -> FHIR canonical URI (terminology.hl7.org code-system registry)
SYSTEM_URIS: dict[str, str] = {
    "SNOMED": "http://snomed.info/sct",
    "ICD-10": "http://hl7.org/fhir/sid/icd-10",
    "ICD-10-CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "LOINC": "http://loinc.org",
    "HGNC": "http://www.genenames.org/geneId",
    "RxNorm": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "ATC": "http://www.whocc.no/atc",
    "UCUM": "http://unitsofmeasure.org",
    "NCIt": "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl",
    "ISCO-08": "https://profiles.ihe.net/PCC/ODH/CodeSystem/ISCO08",
}
#: other canonical URIs of the same systems (the ILO's own ISCO-08 url)
_OTHER_URIS: dict[str, str] = {
    "http://www.ilo.org/public/english/bureau/stat/isco/isco08/": "ISCO-08",
}

ObservationKind = Literal[
    "pain_score",
    "phq9_total",
    "sleep_duration",
    "egfr",
    "crcl",
    "qtc",
    "alt",
    "genotype",
    "gene_studied",
    "medication_assessed",
    "metabolizer_effect",
    "breastfeeding",
    "pregnancy_status",
    "body_weight",
    "body_height",
    "child_pugh_class",
    "child_pugh_score",
    "occupation",
]
#: every observation kind the tables may name
OBSERVATION_KINDS: tuple[str, ...] = ObservationKind.__args__  # type: ignore[attr-defined]


class ConditionCode(Sourced):
    """One SNOMED CT / ICD-10 code mapped to a condition id."""

    system: Literal["SNOMED", "ICD-10", "ICD-10-CM"]
    code: str
    match: Literal["exact", "prefix"] = "exact"
    condition: str
    display: str


class ObservationCode(Sourced):
    """One LOINC (or NCI Thesaurus) code mapped to an observation kind, with its
    expected UCUM unit."""

    system: Literal["LOINC", "NCIt"]
    code: str
    kind: ObservationKind
    display: str
    unit: str | None = None


class GeneCode(Sourced):
    """One HGNC gene id."""

    system: Literal["HGNC"]
    code: str
    symbol: str


class AnswerCode(Sourced):
    """One coded answer of an observation kind (NCIt C113692 -> Child-Pugh class "B");
    ``match = "prefix"``: a group code matches the codes below it (ISCO-08 83 -> 8322)."""

    system: Literal["LOINC", "NCIt", "SNOMED", "ISCO-08"]
    code: str
    match: Literal["exact", "prefix"] = "exact"
    kind: ObservationKind
    value: str
    display: str


class TimingCode(Sourced):
    """One FHIR timing abbreviation (``BID``) as a dose interval in hours."""

    code: str
    every_h: float = Field(gt=0, le=24 * 28)


class CodeTables(BaseModel):
    """The whole ``codes.toml`` file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int
    conditions: list[ConditionCode] = Field(default_factory=list)
    observations: list[ObservationCode] = Field(default_factory=list)
    genes: list[GeneCode] = Field(default_factory=list)
    timings: list[TimingCode] = Field(default_factory=list)
    answers: list[AnswerCode] = Field(default_factory=list)


def system_name(system: str | None) -> str | None:
    """Short name (``"SNOMED"``) for a URI or short name; None when not known."""
    if system is None:
        return None
    s = system.strip()
    for name, uri in SYSTEM_URIS.items():
        if s in (name, uri) or s.rstrip("/") == uri.rstrip("/"):
            return name
    if s.startswith("http://snomed.info/sct"):
        return "SNOMED"
    return _OTHER_URIS.get(s)


def system_uri(name: str) -> str:
    """The FHIR URI of a short system name (``"LOINC"`` -> ``http://loinc.org``)."""
    return SYSTEM_URIS[name]


@cache
def code_tables() -> CodeTables:
    """Load and check ``terminology/codes.toml`` (sources, condition ids, duplicates)."""
    path = DATA_DIR / "terminology" / "codes.toml"
    tables = load_validated(path, CodeTables)
    known = set(condition_ids())
    seen: set[tuple[str, str]] = set()
    for c in tables.conditions:
        if c.condition not in known:
            raise KnowledgeBaseError(
                f"{path}: {c.system} {c.code}: unknown condition {c.condition!r}"
            )
        if (c.system, c.code) in seen:
            raise KnowledgeBaseError(f"{path}: duplicate code {c.system} {c.code}")
        seen.add((c.system, c.code))
    for o in tables.observations:
        if (o.system, o.code) in seen:
            raise KnowledgeBaseError(f"{path}: duplicate code {o.system} {o.code}")
        seen.add((o.system, o.code))
    answers = {(a.kind, a.system, a.code) for a in tables.answers}
    if len(answers) != len(tables.answers):
        raise KnowledgeBaseError(f"{path}: duplicate answer code")
    rows: list[ConditionCode | ObservationCode | GeneCode | AnswerCode] = [
        *tables.conditions,
        *tables.observations,
        *tables.genes,
        *tables.answers,
    ]
    check_sources([(f"{r.system} {r.code}", r) for r in rows], str(path))
    return tables


def condition_for_code(system: str | None, code: str | None) -> ConditionCode | None:
    """The condition a SNOMED CT / ICD-10 code maps to (ICD-10 categories by prefix)."""
    name = system_name(system)
    if name is None or not code:
        return None
    code = code.strip()
    # ICD-10 and ICD-10-CM share category codes; a WHO category also matches a CM code
    names = {name} | ({"ICD-10", "ICD-10-CM"} if name.startswith("ICD-10") else set())
    best: ConditionCode | None = None
    for c in code_tables().conditions:
        if c.system not in names:
            continue
        if c.code == code:
            return c
        if c.match == "prefix" and code.startswith(c.code):
            # longest prefix wins; on a tie, the code of the system asked for
            rank = (len(c.code), c.system == name)
            if best is None or rank > (len(best.code), best.system == name):
                best = c
    return best


def observation_for_code(system: str | None, code: str | None) -> ObservationCode | None:
    """The observation kind of a LOINC (or NCIt) code (None when not in the tables)."""
    name = system_name(system)
    if name not in ("LOINC", "NCIt") or not code:
        return None
    for o in code_tables().observations:
        if o.system == name and o.code == code.strip():
            return o
    return None


def answer_for_code(kind: str, system: str | None, code: str | None) -> AnswerCode | None:
    """The value a coded answer gives an observation kind (NCIt C113692 -> "B")."""
    name = system_name(system)
    if name is None or not code:
        return None
    code = code.strip()
    for a in code_tables().answers:
        if a.kind != kind or a.system != name:
            continue
        if a.code == code or (a.match == "prefix" and code.startswith(a.code)):
            return a
    return None


def observation_code(kind: str) -> ObservationCode:
    """The first (preferred) LOINC code of an observation kind, for output."""
    for o in code_tables().observations:
        if o.kind == kind:
            return o
    raise KnowledgeBaseError(f"no LOINC code for observation kind {kind!r} in codes.toml")


def timing_interval(code: str | None) -> TimingCode | None:
    """The dose interval of a FHIR timing abbreviation (``"BID"`` -> 12 h)."""
    if not code:
        return None
    for t in code_tables().timings:
        if t.code == code.strip().upper():
            return t
    return None


def gene_for_code(system: str | None, code: str | None) -> GeneCode | None:
    """The gene of an HGNC id (``HGNC:2625``)."""
    if not code:
        return None
    for g in code_tables().genes:
        if g.code == code.strip() and (system is None or system_name(system) in ("HGNC", None)):
            return g
    return None


@cache
def _identifiers(drug: str) -> tuple[Identifier, ...]:
    """A drug record's own codes, completed by the coded formulary's codes for it.

    A record that carries no code of a system (many records carry no RxNorm or ATC
    code) takes that system's codes from its formulary entry, so a drug ordered by
    its RxNorm or ATC code is recognised whichever file states the code.
    """
    from neurodose.knowledge.substances import formulary_identifiers

    own = tuple(get_drug(drug).identifiers)
    have = {i.system for i in own}
    return own + tuple(i for i in formulary_identifiers(drug) if i.system not in have)


@cache
def _drug_code_index() -> dict[tuple[str, str], tuple[str, Identifier]]:
    from neurodose.knowledge.registry import record
    from neurodose.knowledge.substances import substances

    out: dict[tuple[str, str], tuple[str, Identifier]] = {}
    for name in drug_names():
        for ident in _identifiers(name):
            short = "RxNorm" if ident.system.startswith("RxNorm") else ident.system
            out.setdefault((short, ident.code), (name, ident))
    for name in substances():  # the coded formulary: RxNorm ingredient and ATC codes
        for ident in record(name).identifiers:
            short = "RxNorm" if ident.system.startswith("RxNorm") else ident.system
            out.setdefault((short, ident.code), (name, ident))
    return out


def drug_for_code(system: str | None, code: str | None) -> tuple[str, Identifier] | None:
    """The knowledge-base drug an RxNorm (IN or SCD) or ATC code names, with the cited code."""
    name = system_name(system)
    if name not in ("RxNorm", "ATC") or not code:
        return None
    return _drug_code_index().get((name, code.strip()))


def drug_codes(drug: str) -> list[Identifier]:
    """The cited codes of a drug (RxNorm IN first, then ATC, then the product-level
    codes: SCDs, SBDs, packs)."""
    order = {"RxNorm-IN": 0, "ATC": 1, "RxNorm-SCD": 2, "RxNorm-SBD": 3, "RxNorm-PCK": 4}
    ids = [i for i in _identifiers(drug) if i.system in order]
    return sorted(ids, key=lambda i: order[i.system])


#: RxNorm term types that name one product (form and strength), not an ingredient
PRODUCT_SYSTEMS = ("RxNorm-SCD", "RxNorm-SBD", "RxNorm-PCK")


def product_level(drug: str) -> bool:
    """True for a drug record that is one product (the lidocaine 5 % plaster, the
    capsaicin 8 % patch): known by product-level RxNorm codes and by no ingredient or
    ATC code, so that an ingredient code or name never stands for it."""
    systems = {i.system for i in _identifiers(drug)}
    return bool(systems & set(PRODUCT_SYSTEMS)) and not systems & {"RxNorm-IN", "ATC"}
