"""Pharmacogenetics lookups: CYP2D6/CYP2C19 alleles, phenotypes and TCA guidelines.

Pure lookups on the cited tables in ``knowledge/pgx/*.toml`` (no PK here):

``cyp2d6.toml``   allele activity values, duplication rule, activity score -> phenotype bins
                  (versions ``"2020"``: CPIC/DPWG standardisation, Caudle 2020, the default;
                  ``"2016"``: CPIC TCA guideline Table 1), phenotype frequencies
``cyp2c19.toml``  allele functions, diplotype -> phenotype rules, phenotype frequencies
``cpic_tca.toml`` CPIC 2016 TCA recommendations (CYP2D6; CYP2C19 for tertiary amines;
                  the combined amitriptyline grid) with strength
``dpwg_tca.toml`` DPWG TCA dose factors (guideline year/authors UNVERIFIED)

Gene-specific behaviour
-----------------------
CYP2D6 phenotypes come from the activity score (sum of the two allele values; a
duplicated allele counts value x copy number). ``*1xN`` (copy number not resolved,
at least 2) has no exact score: :func:`activity_score` refuses it unless the allele
has value 0, and :func:`parse_genotype` assigns a phenotype only when every copy
number >= 2 gives the same one (e.g. ``*1xN/*1`` is UM), marking the score a lower bound.

CYP2C19 has no activity score in CPIC: its phenotype follows from the functions of
the two alleles (``*17/*17`` UM, ``*1/*17`` RM, ``*1/*1`` NM, one no-function allele
with a normal or increased one IM, two no-function alleles PM). :func:`activity_score`
and :func:`phenotype_from_score` raise :class:`~neurodose.errors.GenotypeError` for
CYP2C19, and so does a numeric value passed to :func:`parse_genotype`. No duplication
rule is given for CYP2C19, so ``x2`` alleles are refused for it.

Phenotypes are ``"PM"``, ``"IM"``, ``"NM"``, ``"RM"`` (CYP2C19 only) and ``"UM"``.

Examples
--------
>>> activity_score("CYP2D6", "*1/*4")
1.0
>>> phenotype_from_score("CYP2D6", 1.0)
'IM'
>>> parse_genotype("CYP2D6", "*1x2/*1").phenotype
'UM'
>>> parse_genotype("CYP2C19", "*1/*17").phenotype
'RM'
>>> parse_genotype("cyp2d6", "poor metabolizer").phenotype
'PM'
>>> rec = cpic_tca_recommendation("amitriptyline", cyp2d6="*1/*1", cyp2c19="*2/*2")
>>> rec.strength, rec.dose_factor.value
('moderate', 0.5)
>>> dpwg_dose_factor("nortriptyline", "CYP2D6", "PM").value
0.4
"""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from neurodose import citations
from neurodose.errors import GenotypeError, InputError, KnowledgeBaseError, UnknownNameError
from neurodose.knowledge.registry import (
    DATA_DIR,
    load_validated,
)
from neurodose.knowledge.schema import Quantity, Sourced

__all__ = [
    "GENES",
    "PHENOTYPES",
    "AlleleFunction",
    "CpicTable",
    "DpwgTable",
    "GeneTable",
    "GenotypeCall",
    "Recommendation",
    "activity_score",
    "allele_activity",
    "allele_function",
    "cpic_tca_recommendation",
    "dpwg_dose_factor",
    "dpwg_tca_drugs",
    "gene_table",
    "load_cpic_file",
    "load_dpwg_file",
    "load_gene_file",
    "parse_genotype",
    "phenotype_frequencies",
    "phenotype_from_score",
]

Gene = Literal["CYP2D6", "CYP2C19"]
Phenotype = Literal["PM", "IM", "NM", "RM", "UM"]
Function = Literal["normal", "decreased", "no_function", "increased"]
CpicStrength = Literal["strong", "moderate", "optional", "not_given"]

GENES: tuple[str, ...] = ("CYP2D6", "CYP2C19")
PHENOTYPES: tuple[str, ...] = ("PM", "IM", "NM", "RM", "UM")

#: input guard against typos (e.g. ``15`` for ``1.5``); not a clinical number
_MAX_ACTIVITY_SCORE = 6.0

PGX_DIR = DATA_DIR / "pgx"

_M = TypeVar("_M", bound=BaseModel)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- tables


class AlleleFunction(Sourced):
    """One star allele: its function and (CYP2D6) activity value."""

    allele: str
    function: Function
    activity: float | None = None


class DuplicationRule(Sourced):
    rule: Literal["multiply"]
    text: str


class PhenotypeBin(Sourced):
    """An activity-score range mapped to a phenotype (bounds inclusive unless said)."""

    version: str
    phenotype: Phenotype
    low: float
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True

    def contains(self, score: float) -> bool:
        above = score >= self.low if self.low_inclusive else score > self.low
        if self.high is None:
            return above
        below = score <= self.high if self.high_inclusive else score < self.high
        return above and below

    def describe(self) -> str:
        if self.high is None:
            return f"{self.phenotype} {'>=' if self.low_inclusive else '>'} {self.low:g}"
        if self.low == self.high:
            return f"{self.phenotype} {self.low:g}"
        return f"{self.phenotype} {self.low:g}-{self.high:g}"


class DiplotypeRule(Sourced):
    """CYP2C19: the phenotype for a pair of allele functions (order-free)."""

    functions: tuple[Function, Function]
    phenotype: Phenotype
    examples: list[str] = Field(default_factory=list)


class Frequency(Quantity):
    """Phenotype frequency (a fraction, usually a range across populations)."""

    phenotype: Phenotype


class GeneTable(_Frozen):
    """The validated content of ``pgx/<gene>.toml``."""

    gene: Gene
    has_activity_score: bool
    default_version: str
    phenotypes: list[Phenotype]
    duplication: DuplicationRule | None = None
    alleles: list[AlleleFunction]
    bins: list[PhenotypeBin] = Field(default_factory=list)
    rules: list[DiplotypeRule] = Field(default_factory=list)
    frequencies: list[Frequency] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> GeneTable:
        self._check_alleles()
        if self.has_activity_score:
            self._check_bins()
        else:
            self._check_rules()
        used: list[str] = [b.phenotype for b in self.bins]
        used += [r.phenotype for r in self.rules] + [f.phenotype for f in self.frequencies]
        for ph in used:
            if ph not in self.phenotypes:
                raise ValueError(f"phenotype {ph!r} is not one of {self.phenotypes}")
        return self

    def _check_alleles(self) -> None:
        """Each allele once, named like ``*4``, with an activity value in 0..1 exactly
        when the gene has an activity score."""
        names = [a.allele for a in self.alleles]
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            raise ValueError(f"alleles listed twice: {dups}")
        for a in self.alleles:
            if not re.fullmatch(r"\*\d+", a.allele):
                raise ValueError(f"allele {a.allele!r} must look like '*4'")
            if self.has_activity_score and a.activity is None:
                raise ValueError(f"allele {a.allele}: an activity value is required")
            if not self.has_activity_score and a.activity is not None:
                raise ValueError(f"allele {a.allele}: {self.gene} has no activity values")
            if a.activity is not None and not 0.0 <= a.activity <= 1.0:
                raise ValueError(f"allele {a.allele}: activity {a.activity} outside 0..1")

    def _check_bins(self) -> None:
        """Bins for the default version, and no two bins of a version overlapping."""
        if not any(b.version == self.default_version for b in self.bins):
            raise ValueError(f"no bins for the default version {self.default_version!r}")
        for version in {b.version for b in self.bins}:
            vb = [b for b in self.bins if b.version == version]
            for i, b in enumerate(vb):
                for other in vb[i + 1 :]:
                    probe = [b.low, other.low] + [x for x in (b.high, other.high) if x]
                    if any(b.contains(s) and other.contains(s) for s in probe):
                        raise ValueError(
                            f"version {version}: bins {b.describe()} and {other.describe()} overlap"
                        )

    def _check_rules(self) -> None:
        """A gene without an activity score: no bins, one rule per pair of functions."""
        if self.bins:
            raise ValueError(f"{self.gene} has no activity score; bins are not allowed")
        seen = set()
        for r in self.rules:
            key = tuple(sorted(r.functions))
            if key in seen:
                raise ValueError(f"rule for functions {key} given twice")
            seen.add(key)

    def allele(self, name: str) -> AlleleFunction:
        for a in self.alleles:
            if a.allele == name:
                return a
        known = [a.allele for a in self.alleles]
        err = UnknownNameError(f"{self.gene} allele", name, known)
        raise GenotypeError(f"{err}; known {self.gene} alleles: {', '.join(known)}")

    def bins_for(self, version: str) -> list[PhenotypeBin]:
        out = [b for b in self.bins if b.version == version]
        if not out:
            versions = sorted({b.version for b in self.bins})
            raise GenotypeError(
                f"version: {version!r} is not a known {self.gene} activity-score version; "
                f"allowed: {', '.join(versions)}"
            )
        return out


class CpicRow(Sourced):
    phenotype: Phenotype
    text: str
    strength: CpicStrength
    dose_factor: float | None = Field(None, ge=0.0, le=1.0)


class CpicGeneTable(_Frozen):
    drugs: list[str]
    strength_given_for: list[str]
    scope_note: str
    rows: list[CpicRow]


class CpicCell(Sourced):
    cyp2c19: list[Phenotype]
    cyp2d6: Phenotype
    text: str
    strength: CpicStrength
    dose_factor: float | None = Field(None, ge=0.0, le=1.0)


class CpicCombined(_Frozen):
    drugs: list[str]
    cells: list[CpicCell]


class Caveat(Sourced):
    text: str


class CpicTable(_Frozen):
    """The validated content of ``pgx/cpic_tca.toml``."""

    guideline: str
    caveat: Caveat
    cyp2d6: CpicGeneTable
    cyp2c19: CpicGeneTable
    combined: CpicCombined

    @model_validator(mode="after")
    def _complete(self) -> CpicTable:
        for gene, table, wanted in (
            ("CYP2D6", self.cyp2d6, {"PM", "IM", "NM", "UM"}),
            ("CYP2C19", self.cyp2c19, {"PM", "IM", "NM", "RM", "UM"}),
        ):
            got = [r.phenotype for r in table.rows]
            if sorted(got) != sorted(wanted):
                raise ValueError(f"{gene} rows must cover {sorted(wanted)} once each, got {got}")
        keys = [(c19, c.cyp2d6) for c in self.combined.cells for c19 in c.cyp2c19]
        wanted_cells = {(a, b) for a in PHENOTYPES for b in ("PM", "IM", "NM", "UM")}
        if len(keys) != len(set(keys)) or set(keys) != wanted_cells:
            raise ValueError("the combined grid must cover every CYP2C19 x CYP2D6 cell once")
        return self


class DpwgFactor(Quantity):
    drug: str
    gene: Gene
    phenotype: Phenotype
    text: str


class DpwgAdvice(Sourced):
    drug: str
    gene: Gene
    phenotypes: list[Phenotype]
    text: str


class DpwgTable(_Frozen):
    """The validated content of ``pgx/dpwg_tca.toml``."""

    guideline: str
    citation_verified: bool
    factors: list[DpwgFactor]
    advice: list[DpwgAdvice] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> DpwgTable:
        keys = [(f.drug, f.gene, f.phenotype) for f in self.factors]
        keys += [(a.drug, a.gene, p) for a in self.advice for p in a.phenotypes]
        if len(keys) != len(set(keys)):
            raise ValueError("a (drug, gene, phenotype) cell is given twice")
        return self


def _load_model(path: Path, model: type[_M]) -> _M:
    return load_validated(path, model)


def load_gene_file(path: Path) -> GeneTable:
    """Load and validate one gene table (schema, sources, bins, rules)."""
    return _load_model(path, GeneTable)


def load_cpic_file(path: Path) -> CpicTable:
    """Load and validate a CPIC TCA table (schema, sources, complete grid)."""
    return _load_model(path, CpicTable)


def load_dpwg_file(path: Path) -> DpwgTable:
    """Load and validate a DPWG dose-factor table (schema, sources, unique cells)."""
    return _load_model(path, DpwgTable)


@cache
def _gene_tables() -> dict[str, GeneTable]:
    out: dict[str, GeneTable] = {}
    for gene in GENES:
        t = load_gene_file(PGX_DIR / f"{gene.lower()}.toml")
        if t.gene != gene:
            raise KnowledgeBaseError(f"pgx/{gene.lower()}.toml: gene {t.gene!r} != {gene!r}")
        out[gene] = t
    return out


@cache
def cpic_table() -> CpicTable:
    """The CPIC 2016 TCA tables (validated)."""
    return load_cpic_file(PGX_DIR / "cpic_tca.toml")


@cache
def dpwg_table() -> DpwgTable:
    """The DPWG TCA dose factors (validated)."""
    return load_dpwg_file(PGX_DIR / "dpwg_tca.toml")


def _norm_gene(gene: object) -> str:
    key = str(gene).strip().upper() if isinstance(gene, str) else gene
    if key not in GENES:
        raise UnknownNameError("gene", gene, GENES)
    return str(key)


def gene_table(gene: str) -> GeneTable:
    """The validated table for ``gene`` (``"CYP2D6"`` or ``"CYP2C19"``, any case)."""
    return _gene_tables()[_norm_gene(gene)]


def _scored_table(gene: str, why_not: str) -> GeneTable:
    """The table of ``gene``, which must have an activity score (else ``why_not``)."""
    table = gene_table(gene)
    if not table.has_activity_score:
        raise GenotypeError(f"gene: {table.gene} {why_not}")
    return table


# --------------------------------------------------------------------------- alleles

_ALLELE = re.compile(r"^\s*(\*\d+)\s*(?:[xX×]\s*(\d+|[nN]))?\s*$")


def _split_allele(gene: str, text: str) -> tuple[str, int | None]:
    """``'*1x2'`` -> ``('*1', 2)``; ``'*2xN'`` -> ``('*2', None)``; ``'*4'`` -> ``('*4', 1)``."""
    if not isinstance(text, str):
        raise GenotypeError(f"allele: {text!r} is not a star allele such as '*4'")
    m = _ALLELE.match(text)
    if not m:
        raise GenotypeError(
            f"allele: {text!r} is not a {gene} star allele; expected e.g. '*4', '*1x2' or '*2xN'"
        )
    base, copies = m.group(1), m.group(2)
    if copies is None:
        return base, 1
    table = gene_table(gene)
    if table.duplication is None:
        raise GenotypeError(
            f"allele: {text!r}: the evidence gives no duplication rule for {gene}; "
            "give the allele without a copy number"
        )
    if copies in ("N", "n"):
        return base, None
    n = int(copies)
    if n < 1:
        raise GenotypeError(f"allele: {text!r}: copy number must be at least 1, got {n}")
    return base, n


def allele_function(gene: str, allele: str) -> AlleleFunction:
    """The function record (with source) of one star allele, e.g. ``*17`` of CYP2C19.

    >>> allele_function("CYP2C19", "*17").function
    'increased'
    """
    table = gene_table(gene)
    base, _ = _split_allele(table.gene, allele)
    row = table.allele(base)
    citations.register(row.source)
    return row


def allele_activity(gene: str, allele: str) -> float:
    """CYP2D6 allele activity value; a duplication counts value x copy number.

    Parameters
    ----------
    gene : str
        ``"CYP2D6"`` (CYP2C19 has no activity values: GenotypeError).
    allele : str
        Star allele, e.g. ``"*4"``, ``"*1x2"``; ``"*4xN"`` is 0; ``"*1xN"`` raises,
        since its copy number is not resolved.

    Raises
    ------
    GenotypeError
        Unknown allele (the message lists close matches and the known alleles).

    References
    ----------
    Caudle et al., Clin Transl Sci 2020;13:116 (PMC6951851), via pk_pgx_ddi.md §2.1.

    >>> allele_activity("CYP2D6", "*10")
    0.25
    >>> allele_activity("CYP2D6", "*1x2")
    2.0
    >>> allele_activity("CYP2D6", "*4x2")
    0.0
    """
    table = _scored_table(
        gene,
        "alleles have no activity values in CPIC (phenotype follows from allele function); "
        "use allele_function() or parse_genotype()",
    )
    base, activity, copies, sources = _scored_allele(table, allele)
    citations.register(sources[0])
    if copies is None:
        if activity == 0.0:
            return 0.0
        raise GenotypeError(
            f"allele: {allele!r}: copy number not resolved (xN means at least 2), so the "
            f"value is at least {2 * activity:g}; give the copy number (e.g. "
            f"'{base}x3') or use parse_genotype()"
        )
    citations.register_many(sources[1:])
    return float(activity * copies)


def _scored_allele(table: GeneTable, allele: str) -> tuple[str, float, int | None, list[str]]:
    """One allele of a gene with activity values: (base allele, its value, copy number
    (None for an unresolved ``xN``), sources: the allele's, then the duplication rule's
    when the copy number is not 1)."""
    base, copies = _split_allele(table.gene, allele)
    row = table.allele(base)
    assert row.activity is not None
    sources = [row.source]
    if copies != 1 and table.duplication is not None:
        sources.append(table.duplication.source)
    return base, row.activity, copies, sources


def _split_diplotype(gene: str, diplotype: str) -> tuple[str, str]:
    if not isinstance(diplotype, str):
        raise GenotypeError(f"diplotype: {diplotype!r} is not a string such as '*1/*4'")
    text = diplotype.strip()
    if text.upper().startswith(gene):
        text = text[len(gene) :].strip()
    else:
        for other in GENES:
            if text.upper().startswith(other):
                raise GenotypeError(
                    f"diplotype: {diplotype!r} names gene {other}, but {gene} was asked for"
                )
    parts = text.split("/")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise GenotypeError(
            f"diplotype: {diplotype!r} is not two {gene} alleles separated by '/', "
            "e.g. '*1/*4' or '*1x2/*41'"
        )
    return parts[0].strip(), parts[1].strip()


def _score_bounds(gene: str, diplotype: str) -> tuple[float, bool, list[str]]:
    """(score or lower bound, is_lower_bound, sources)."""
    table = gene_table(gene)
    total = 0.0
    lower = False
    sources: list[str] = []
    for allele in _split_diplotype(table.gene, diplotype):
        _base, activity, copies, allele_sources = _scored_allele(table, allele)
        sources += allele_sources
        if copies is None:
            copies = 2
            lower = lower or activity > 0.0
        total += activity * copies
    return total, lower, sorted(set(sources))


def activity_score(gene: str, diplotype: str) -> float:
    """CYP2D6 activity score: the sum of the two allele values.

    Parameters
    ----------
    gene : str
        ``"CYP2D6"``. CYP2C19 has no activity score in CPIC: GenotypeError.
    diplotype : str
        E.g. ``"*1/*4"``, ``"*1x2/*41"``, ``"CYP2D6*1/*1"``.

    Raises
    ------
    GenotypeError
        Malformed diplotype, unknown allele, CYP2C19, or an unresolved ``xN`` copy
        number on an allele with a non-zero value.

    References
    ----------
    Caudle 2020 (PMC6951851), via pk_pgx_ddi.md §2.1 (worked examples).

    >>> activity_score("CYP2D6", "*4/*10")
    0.25
    >>> activity_score("CYP2D6", "*1x2/*41")
    2.5
    >>> activity_score("CYP2D6", "*4xN/*1")
    1.0
    """
    table = _scored_table(
        gene,
        "has no activity score in CPIC; its phenotype follows from the functions of the two "
        "alleles. Use parse_genotype('CYP2C19', '*1/*2')",
    )
    score, lower, sources = _score_bounds(table.gene, diplotype)
    if lower:
        raise GenotypeError(
            f"diplotype: {diplotype!r}: an 'xN' copy number is not resolved, so the score is "
            f"at least {score:g}; give the copy number or use parse_genotype()"
        )
    citations.register_many(sources)
    return score


def _check_score(gene: str, score: object) -> float:
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise GenotypeError(f"activity score: {score!r} is not a number")
    s = float(score)
    if not math.isfinite(s) or not 0.0 <= s <= _MAX_ACTIVITY_SCORE:
        raise GenotypeError(
            f"activity score: {score!r} is out of range; a {gene} activity score is a "
            f"finite number between 0 and {_MAX_ACTIVITY_SCORE:g}"
        )
    return s


def _bin_for(table: GeneTable, score: float, version: str) -> PhenotypeBin:
    bins = table.bins_for(version)
    for b in bins:
        if b.contains(score):
            return b
    raise GenotypeError(
        f"activity score: {score:g} falls in no {table.gene} phenotype bin of version "
        f"{version} ({'; '.join(b.describe() for b in bins)})"
        + (
            "; the 2016 bins go with the 2016 allele values, which differ from the 2020 "
            "values used here (e.g. *10 = 0.25)"
            if version == "2016"
            else ""
        )
    )


def phenotype_from_score(gene: str, score: float, version: str = "2020") -> str:
    """Phenotype for a CYP2D6 activity score.

    Parameters
    ----------
    gene : str
        ``"CYP2D6"`` (CYP2C19 has no activity score: GenotypeError).
    score : float
        Activity score, 0 to 6 (input guard).
    version : str
        ``"2020"`` (CPIC/DPWG standardisation: PM 0; IM 0.25-1.0; NM 1.25-2.25;
        UM > 2.25) or ``"2016"`` (CPIC TCA Table 1: PM 0; IM 0.5; NM 1.0-2.0; UM > 2.0).

    Returns
    -------
    str
        ``"PM"``, ``"IM"``, ``"NM"`` or ``"UM"``.

    >>> phenotype_from_score("CYP2D6", 1.25)
    'NM'
    >>> phenotype_from_score("CYP2D6", 1.0, version="2016")
    'NM'
    """
    table = gene_table(gene)
    if not table.has_activity_score:
        raise GenotypeError(
            f"gene: {table.gene} has no activity score in CPIC; give a diplotype or a phenotype"
        )
    s = _check_score(table.gene, score)
    b = _bin_for(table, s, version)
    citations.register(b.source)
    return b.phenotype


# --------------------------------------------------------------------------- calls


class GenotypeCall(_Frozen):
    """A normalised genotype/phenotype for one gene.

    ``version`` names the translation used: ``"2020"``/``"2016"`` for CYP2D6 activity-score
    bins, ``"CPIC"`` for CYP2C19 allele-function rules, ``"reported"`` when a phenotype
    was given directly. ``score_is_lower_bound`` is true for unresolved ``xN`` copy numbers.
    """

    gene: Gene
    diplotype: str | None = None
    activity_score: float | None = None
    phenotype: Phenotype
    version: str
    sources: tuple[str, ...] = ()
    score_is_lower_bound: bool = False


_LONG_FORMS: dict[str, str] = {
    "pm": "PM",
    "poor": "PM",
    "poor metabolizer": "PM",
    "poor metaboliser": "PM",
    "im": "IM",
    "intermediate": "IM",
    "intermediate metabolizer": "IM",
    "intermediate metaboliser": "IM",
    "nm": "NM",
    "normal": "NM",
    "normal metabolizer": "NM",
    "normal metaboliser": "NM",
    "rm": "RM",
    "rapid": "RM",
    "rapid metabolizer": "RM",
    "rapid metaboliser": "RM",
    "um": "UM",
    "ultrarapid": "UM",
    "ultra-rapid": "UM",
    "ultra rapid": "UM",
    "ultrarapid metabolizer": "UM",
    "ultrarapid metaboliser": "UM",
    "ultra-rapid metabolizer": "UM",
    "ultra-rapid metaboliser": "UM",
}


def _phenotype_call(table: GeneTable, text: str, original: object) -> GenotypeCall:
    key = " ".join(text.lower().replace("_", " ").split())
    ph = _LONG_FORMS.get(key)
    if ph is None:
        raise UnknownNameError(f"{table.gene} genotype or phenotype", original, _LONG_FORMS)
    if ph not in table.phenotypes:
        raise GenotypeError(
            f"phenotype: {original!r} ({ph}) is not a {table.gene} phenotype; allowed: "
            f"{', '.join(table.phenotypes)}"
        )
    return GenotypeCall(gene=table.gene, phenotype=ph, version="reported")


def _cyp2c19_call(table: GeneTable, diplotype: str) -> GenotypeCall:
    a, b = _split_diplotype(table.gene, diplotype)
    rows = [table.allele(_split_allele(table.gene, x)[0]) for x in (a, b)]
    key = tuple(sorted(r.function for r in rows))
    for rule in table.rules:
        if tuple(sorted(rule.functions)) == key:
            srcs = sorted({rule.source, *(r.source for r in rows)})
            citations.register_many(srcs)
            return GenotypeCall(
                gene=table.gene,
                diplotype=f"{rows[0].allele}/{rows[1].allele}",
                phenotype=rule.phenotype,
                version="CPIC",
                sources=tuple(srcs),
            )
    raise GenotypeError(
        f"diplotype: {diplotype!r}: no {table.gene} phenotype rule for allele functions "
        f"{key} in the evidence"
    )


def _cyp2d6_call(table: GeneTable, diplotype: str, version: str) -> GenotypeCall:
    score, lower, sources = _score_bounds(table.gene, diplotype)
    _check_score(table.gene, score)
    b = _bin_for(table, score, version)
    if lower and b.high is not None:
        raise GenotypeError(
            f"diplotype: {diplotype!r}: the 'xN' copy number is not resolved; the activity "
            f"score is at least {score:g} and higher copy numbers change the phenotype "
            f"(version {version} bin {b.describe()}); give the copy number, e.g. 'x2' or 'x3'"
        )
    srcs = sorted({*sources, b.source})
    citations.register_many(srcs)
    a1, a2 = _split_diplotype(table.gene, diplotype)
    return GenotypeCall(
        gene=table.gene,
        diplotype=f"{a1}/{a2}",
        activity_score=score,
        phenotype=b.phenotype,
        version=version,
        sources=tuple(srcs),
        score_is_lower_bound=lower,
    )


def parse_genotype(gene: str, value: object, version: str = "2020") -> GenotypeCall:
    """Normalise a diplotype, an activity score or a phenotype into a :class:`GenotypeCall`.

    Parameters
    ----------
    gene : str
        ``"CYP2D6"`` or ``"CYP2C19"`` (any case); another gene raises UnknownNameError.
    value : str, float or int
        A diplotype (``"*1/*4"``, ``"CYP2C19*2/*17"``), an activity score (CYP2D6 only;
        number or numeric string), or a phenotype (``"PM"``, ``"poor metabolizer"``,
        ``"poor"`` ...; ``"RM"`` is a CYP2C19 phenotype only).
    version : str
        CYP2D6 activity-score bins: ``"2020"`` (default) or ``"2016"``.

    Raises
    ------
    UnknownNameError
        Unknown gene, or a word that is no phenotype (close matches are suggested).
    GenotypeError
        Unknown allele, malformed diplotype, score out of range or in no bin, a phenotype
        that the gene does not have, or a numeric value for CYP2C19.

    >>> c = parse_genotype("CYP2D6", "*4/*10")
    >>> c.activity_score, c.phenotype, c.version
    (0.25, 'IM', '2020')
    >>> parse_genotype("CYP2D6", "1.5").phenotype
    'NM'
    >>> parse_genotype("CYP2C19", "*2/*17").phenotype
    'IM'
    """
    table = gene_table(gene)
    if isinstance(value, GenotypeCall):
        if value.gene != table.gene:
            raise GenotypeError(f"genotype: a {value.gene} call was given for {table.gene}")
        return value
    if isinstance(value, bool):
        raise GenotypeError(f"genotype: {value!r} is not a diplotype, score or phenotype")
    number: float | None = None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise GenotypeError("genotype: empty string; give a diplotype, score or phenotype")
        try:
            number = float(text)
        except ValueError:
            number = None
        if number is None:
            if "*" in text or "/" in text:
                if table.has_activity_score:
                    return _cyp2d6_call(table, text, version)
                return _cyp2c19_call(table, text)
            return _phenotype_call(table, text, value)
    else:
        raise GenotypeError(
            f"genotype: {value!r} ({type(value).__name__}) is not a diplotype, score or phenotype"
        )
    if not table.has_activity_score:
        raise GenotypeError(
            f"genotype: {value!r}: {table.gene} has no activity score in CPIC; give a "
            "diplotype (e.g. '*1/*2') or a phenotype (PM, IM, NM, RM, UM)"
        )
    s = _check_score(table.gene, number)
    b = _bin_for(table, s, version)
    citations.register(b.source)
    return GenotypeCall(
        gene=table.gene,
        activity_score=s,
        phenotype=b.phenotype,
        version=version,
        sources=(b.source,),
    )


def phenotype_frequencies(gene: str) -> list[Frequency]:
    """Phenotype frequency ranges (fractions) with their sources.

    >>> [f.phenotype for f in phenotype_frequencies("CYP2C19")]
    ['UM', 'RM', 'NM', 'IM', 'PM']
    """
    rows = gene_table(gene).frequencies
    citations.register_many(sorted({r.source for r in rows}))
    return list(rows)


# --------------------------------------------------------------------------- guidelines


class Recommendation(_Frozen):
    """A guideline recommendation for one drug and genotype.

    ``dose_factor`` is the fraction of the usual starting dose named by the guideline
    (None where it says avoid or titrate without a number). ``caveat`` says the CPIC
    TCA advice is for depression-level starting doses.
    """

    drug: str
    guideline: str
    phenotypes: dict[str, str]
    text: str
    strength: CpicStrength
    dose_factor: Quantity | None = None
    caveat: str
    sources: tuple[str, ...]


def _norm_drug(drug: object) -> str:
    if not isinstance(drug, str):
        raise UnknownNameError("drug", drug, [])
    return "_".join(drug.strip().lower().replace("-", " ").split())


def _factor(value: float | None, row: Sourced) -> Quantity | None:
    if value is None:
        return None
    return Quantity(
        value=value,
        unit="1",
        source=row.source,
        locator=row.locator,
        note="fraction of the usual starting dose",
    )


def _call(gene: str, value: object) -> GenotypeCall:
    return parse_genotype(gene, value)


def cpic_tca_recommendation(
    drug: str, cyp2d6: object = None, cyp2c19: object = None
) -> Recommendation:
    """CPIC 2016 TCA recommendation for ``drug`` and the given genotype(s).

    Parameters
    ----------
    drug : str
        A TCA covered by the tables: CYP2D6 for amitriptyline, nortriptyline,
        imipramine, desipramine; CYP2C19 for the tertiary amines amitriptyline and
        imipramine; both genes (the combined grid) for amitriptyline only.
    cyp2d6, cyp2c19 : str, float or GenotypeCall, optional
        Anything :func:`parse_genotype` accepts (diplotype, score, phenotype).

    Returns
    -------
    Recommendation
        Text, strength (strong/moderate/optional; ``not_given`` where the evidence gives
        no strength for this drug), dose factor (fraction of the usual starting dose)
        and sources.

    Raises
    ------
    InputError
        No genotype given, or a gene/drug pair the tables do not cover.
    UnknownNameError
        A drug not in the CPIC TCA tables.

    References
    ----------
    Hicks et al., Clin Pharmacol Ther 2017;102:37 (PMC5478479; NBK425165 Tables 2, 4, 5).

    >>> r = cpic_tca_recommendation("nortriptyline", cyp2d6="IM")
    >>> r.strength, r.dose_factor.value
    ('moderate', 0.75)
    >>> cpic_tca_recommendation("amitriptyline", cyp2d6="UM", cyp2c19="NM").strength
    'strong'
    """
    table = cpic_table()
    name = _norm_drug(drug)
    covered = sorted({*table.cyp2d6.drugs, *table.cyp2c19.drugs, *table.combined.drugs})
    if name not in covered:
        raise UnknownNameError("drug in the CPIC TCA tables", drug, covered)
    if cyp2d6 is None and cyp2c19 is None:
        raise InputError("cyp2d6/cyp2c19", None, "at least one genotype or phenotype")
    c2d6 = _call("CYP2D6", cyp2d6) if cyp2d6 is not None else None
    c2c19 = _call("CYP2C19", cyp2c19) if cyp2c19 is not None else None
    phen = {}
    call_sources: list[str] = []
    for c in (c2d6, c2c19):
        if c is not None:
            phen[c.gene] = c.phenotype
            call_sources.extend(c.sources)
    if c2d6 is not None and c2c19 is not None:
        row, text, strength, factor = _combined_cell(table, name, c2d6, c2c19, cyp2c19)
    else:
        row, text, strength, factor = _single_gene_row(table, name, c2d6, c2c19, cyp2d6, cyp2c19)
    sources = sorted({row.source, table.caveat.source, *call_sources})
    citations.register_many(sources)
    return Recommendation(
        drug=name,
        guideline=table.guideline,
        phenotypes=phen,
        text=text,
        strength=strength,
        dose_factor=_factor(factor, row),
        caveat=table.caveat.text,
        sources=tuple(sources),
    )


_CpicHit = tuple[Sourced, str, CpicStrength, float | None]


def _combined_cell(
    table: CpicTable, name: str, c2d6: GenotypeCall, c2c19: GenotypeCall, cyp2c19: object
) -> _CpicHit:
    """The combined CYP2D6 x CYP2C19 grid cell: ``(row, text, strength, dose factor)``."""
    if name not in table.combined.drugs:
        raise InputError(
            "cyp2c19",
            cyp2c19,
            f"the combined CYP2D6 x CYP2C19 grid covers {table.combined.drugs} only; "
            f"for {name} ask for one gene at a time",
        )
    cell = next(
        c
        for c in table.combined.cells
        if c.cyp2d6 == c2d6.phenotype and c2c19.phenotype in c.cyp2c19
    )
    return cell, cell.text, cell.strength, cell.dose_factor


def _single_gene_row(
    table: CpicTable,
    name: str,
    c2d6: GenotypeCall | None,
    c2c19: GenotypeCall | None,
    cyp2d6: object,
    cyp2c19: object,
) -> _CpicHit:
    """The one-gene table row: ``(row, text, strength, dose factor)``."""
    gene, call = ("CYP2D6", c2d6) if c2d6 is not None else ("CYP2C19", c2c19)
    assert call is not None
    gt = table.cyp2d6 if gene == "CYP2D6" else table.cyp2c19
    if name not in gt.drugs:
        raise InputError(
            gene.lower(),
            cyp2d6 if gene == "CYP2D6" else cyp2c19,
            f"CPIC 2016 gives {gene} recommendations for {gt.drugs} only ({gt.scope_note})",
        )
    r = next(x for x in gt.rows if x.phenotype == call.phenotype)
    strength: CpicStrength = r.strength if name in gt.strength_given_for else "not_given"
    return r, r.text, strength, r.dose_factor


def dpwg_tca_drugs() -> tuple[str, ...]:
    """The drugs the DPWG TCA table covers (dose factors or advice), from its data.

    >>> dpwg_tca_drugs()
    ('amitriptyline', 'imipramine', 'nortriptyline')
    """
    table = dpwg_table()
    return tuple(sorted({f.drug for f in table.factors} | {a.drug for a in table.advice}))


def dpwg_dose_factor(drug: str, gene: str, phenotype: object) -> Quantity | None:
    """DPWG TCA dose factor (fraction of the normal dose), or None.

    None means the DPWG table gives no numeric dose change for that cell: the normal
    metaboliser, "no action", or advice without a number (e.g. imipramine CYP2C19 PM,
    whose factor is not in the evidence). The DPWG guideline's year and authors are
    UNVERIFIED (see the ``dpwg_tca`` reference).

    Parameters
    ----------
    drug : str
        ``"amitriptyline"``, ``"nortriptyline"`` or ``"imipramine"``.
    gene : str
        ``"CYP2D6"`` or ``"CYP2C19"``.
    phenotype : str, float or GenotypeCall
        Anything :func:`parse_genotype` accepts.

    >>> dpwg_dose_factor("amitriptyline", "CYP2D6", "*1x2/*1").value
    1.6
    >>> dpwg_dose_factor("amitriptyline", "CYP2D6", "NM") is None
    True
    """
    table = dpwg_table()
    name = _norm_drug(drug)
    covered = list(dpwg_tca_drugs())
    if name not in covered:
        raise UnknownNameError("drug in the DPWG TCA table", drug, covered)
    call = parse_genotype(gene, phenotype)
    for f in table.factors:
        if (f.drug, f.gene, f.phenotype) == (name, call.gene, call.phenotype):
            citations.register_many(sorted({f.source, *call.sources}))
            return f
    for a in table.advice:
        if (a.drug, a.gene) == (name, call.gene) and call.phenotype in a.phenotypes:
            citations.register(a.source)
    return None
