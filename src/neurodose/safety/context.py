"""Screening context: drug tags, ACB burden, phenoconversion, window-aware co-medication.

What every criterion (:mod:`neurodose.safety.criteria`) and evaluator
(:mod:`neurodose.safety.engine`) reads about one option for one patient.

Drug tags are computed from the knowledge base: the record's ``classes``, its
name, its true interaction flags (``serotonergic``, ``maoi``, ``cns_depressant``,
``opioid``, ``benzodiazepine_or_z``, ``lowers_seizure_threshold``), ``qt_risk``
(a CredibleMeds category other than none/unknown), ``anticholinergic`` (ACB >= 1),
``anticholinergic_definite`` (ACB >= 2) and ``acb3`` (ACB 3), and
``<enzyme>_inhibitor`` / ``<enzyme>_inhibitor_<strength>`` / ``inducer``. A tag
that comes from an unverified flag makes the finding unverified.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache

from neurodose import citations
from neurodose.case.patient import Medication, Patient
from neurodose.knowledge import record, resolve_name
from neurodose.knowledge.pgx import cpic_table
from neurodose.knowledge.registry import ByObject
from neurodose.knowledge.schema import DrugRecord, Quantity
from neurodose.safety.rules import Rule, load_rules

__all__ = [
    "INTERACTION_FLAGS",
    "Ctx",
    "PhenotypeState",
    "acb_score",
    "comeds_for",
    "cpic_drugs",
    "drug_tags",
    "effective_phenotypes",
    "fmt_threshold",
    "tags_view",
    "total_acb",
    "window_h",
]

#: the pharmacodynamic yes/no flags of ``InteractionProfile`` (knowledge schema), in
#: display order; one list for screening (:func:`drug_tags`) and for showing a drug
INTERACTION_FLAGS = (
    "serotonergic",
    "maoi",
    "cns_depressant",
    "opioid",
    "benzodiazepine_or_z",
    "lowers_seizure_threshold",
)


# ---------------------------------------------------------------------------- tags


def drug_tags(rec: DrugRecord) -> dict[str, bool]:
    """Rule tags of a drug, each mapped to whether its evidence is verified (a copy).

    Cached per record: the screen reads the tags of every co-medicine for every rule.
    """
    return dict(tags_view(rec))


def tags_view(rec: DrugRecord) -> Mapping[str, bool]:
    """The cached tags of a record, read-only (no copy): for the screen's inner loops."""
    return _TAG_CACHE(rec)


def _drug_tags(rec: DrugRecord) -> dict[str, bool]:
    """Rule tags of a drug, each mapped to whether its evidence is verified.

    >>> t = drug_tags(record("methadone"))
    >>> t["opioid"], t["serotonergic"]
    (True, False)
    """
    tags: dict[str, bool] = {c: True for c in rec.classes}
    tags[rec.name] = True
    ip = rec.interactions
    for flag in INTERACTION_FLAGS:
        f = getattr(ip, flag)
        if f is not None:
            if f.value:
                tags[flag] = f.verified
            else:
                tags.pop(flag, None)
    if ip.qt_risk is not None and ip.qt_risk.category in ("known", "possible", "conditional"):
        tags["qt_risk"] = ip.qt_risk.verified
    acb = ip.anticholinergic_acb
    if acb is not None and acb.point >= 1:
        tags["anticholinergic"] = acb.verified
        if acb.point >= 2:
            tags["anticholinergic_definite"] = acb.verified
        if acb.point >= 3:
            tags["acb3"] = acb.verified
    for e in ip.inhibits:
        tags[f"{e.enzyme.lower()}_inhibitor"] = e.verified
        tags[f"{e.enzyme.lower()}_inhibitor_{e.strength}"] = e.verified
    for e in ip.induces:
        tags["inducer"] = e.verified
        tags[f"{e.enzyme.lower()}_inducer"] = e.verified
    if rec.withdrawal is not None:
        tags[f"withdrawal_{rec.withdrawal.risk}"] = all(
            st.verified for st in rec.withdrawal.statements
        )
    _add_properties(rec, tags)
    if "sedating" in tags or "tca" in tags:
        tags.setdefault("cns_active", True)
    for c in ("snri", "ssri", "gabapentinoid", "antidepressant"):
        if c in tags:
            tags.setdefault("cns_active", True)
    return tags


#: property ids that also give a tag the rule files read
_PROPERTY_TAGS: dict[str, tuple[str, ...]] = {
    "qt_known": ("qt_risk",),
    "qt_possible": ("qt_risk",),
    "qt_conditional": ("qt_risk",),
    "acb1": ("anticholinergic",),
    "acb2": ("anticholinergic", "anticholinergic_definite"),
    "acb3": ("anticholinergic", "anticholinergic_definite", "acb3"),
    "maoi": ("maoi_irreversible",),
    "maoi_reversible": ("maoi",),
    "benzodiazepine_or_z": ("cns_depressant",),
    "opioid": ("cns_depressant",),
}


def _add_properties(rec: DrugRecord, tags: dict[str, bool]) -> None:
    """Add the record's property ids (formulary, classes, its own profile) as tags."""
    from neurodose.knowledge.substances import record_properties

    for pid, verified in record_properties(rec).items():
        tags.setdefault(pid, verified)
        for t in _PROPERTY_TAGS.get(pid, ()):
            tags.setdefault(t, verified)
        if "_inhibitor_" in pid:
            tags.setdefault(pid.split("_inhibitor_")[0] + "_inhibitor", verified)
        if "_inducer_" in pid:
            tags.setdefault("inducer", verified)
            tags.setdefault(pid.split("_inducer_")[0] + "_inducer", verified)


_TAG_CACHE: ByObject[DrugRecord, dict[str, bool]] = ByObject(_drug_tags)


def acb_score(rec: DrugRecord) -> float:
    """The drug's ACB score (0 when not listed)."""
    q = rec.interactions.anticholinergic_acb
    return q.point if q is not None else 0.0


def total_acb(patient: Patient, drug: str | None = None) -> float:
    """Total ACB score of the current medication plus ``drug`` (counted once)."""
    names = set(patient.current_names())
    if drug is not None:
        names.add(resolve_name(drug))
    total = 0.0
    for n in sorted(names):
        q = record(n).interactions.anticholinergic_acb
        if q is not None and q.point:
            total += q.point
            citations.register(q.source)  # cited on use: the scores that count
    return total


# ------------------------------------------------------------------ phenoconversion

_ORDER_2D6 = ("PM", "IM", "NM", "UM")


@dataclass(frozen=True)
class PhenotypeState:
    """Genotype phenotype and the effective one after phenoconversion, for one gene."""

    gene: str
    genotype_phenotype: str | None
    effective: str | None
    perpetrator: str | None = None
    strength: str | None = None
    sources: tuple[str, ...] = ()
    verified: bool = True


def _strongest_inhibitor(meds: Iterable[Medication], enzyme: str) -> tuple[str, str, bool] | None:
    order = {"strong": 0, "moderate": 1, "weak": 2, "unclassified": 3}
    best: tuple[str, str, bool] | None = None
    from neurodose.knowledge.substances import enzyme_profile

    for m in meds:
        for e in enzyme_profile(m.record)[0]:
            if (
                e.enzyme.upper() == enzyme
                and e.strength in ("strong", "moderate")
                and (best is None or order[e.strength] < order[best[1]])
            ):
                best = (m.name, e.strength, e.verified)
    return best


def effective_phenotypes(
    patient: Patient, comeds: Iterable[Medication], rule_: Rule | None = None
) -> dict[str, PhenotypeState]:
    """Genotype phenotype and phenotype after inhibition by co-medication, per gene.

    A strong inhibitor multiplies the CYP2D6 activity score by the rule's
    ``strong_as_factor`` (0: PM-like), a moderate one by ``moderate_as_factor``;
    without a genotype a normal metaboliser (``assumed_nm_score``) is assumed. For
    CYP2C19 a strong inhibitor gives PM and a moderate one IM (at most).
    """
    from neurodose.knowledge.pgx import phenotype_from_score

    r = rule_ or next(x for x in load_rules() if x.id == "phenoconversion")
    meds = [m for m in comeds if m.current]
    out: dict[str, PhenotypeState] = {}
    for gene in ("CYP2D6", "CYP2C19"):
        call = patient.genotypes.get(gene)
        gp = call.phenotype if call else None
        inh = _strongest_inhibitor(meds, gene)
        if inh is None:
            out[gene] = PhenotypeState(gene, gp, gp)
            continue
        name, strength, verified = inh
        if gene == "CYP2D6":
            if call is not None and call.activity_score is not None:
                score = call.activity_score
            elif gp is not None:
                score = {"PM": 0.0, "IM": 0.5, "NM": 2.0, "UM": 3.0}[gp]
            else:
                score = r.thresholds["assumed_nm_score"].point
            factor = r.thresholds[f"{strength}_as_factor"].point
            eff = phenotype_from_score("CYP2D6", score * factor)
            base = gp
            if base is not None and _ORDER_2D6.index(eff) > _ORDER_2D6.index(base):
                eff = base
        else:
            target = "PM" if strength == "strong" else "IM"
            base = gp
            order = ("PM", "IM", "NM", "RM", "UM")
            eff = target if base is None or order.index(base) > order.index(target) else base
        srcs = tuple(dict.fromkeys([r.source, *(t.source for t in r.thresholds.values())]))
        out[gene] = PhenotypeState(
            gene,
            gp,
            eff,
            perpetrator=name,
            strength=strength,
            sources=srcs,
            verified=verified and r.all_verified,
        )
    return out


# ------------------------------------------------------------------------ context


@dataclass(frozen=True)
class Ctx:
    """What the criteria and evaluators see: patient, option, its tags, co-medication."""

    patient: Patient
    drug: str
    rec: DrugRecord
    tags: Mapping[str, bool]
    comeds: tuple[Medication, ...]
    planned_daily_mg: float | None
    option_current: bool
    phen: Mapping[str, PhenotypeState] = field(default_factory=dict)
    option_stopped_days: float | None = None
    #: tag -> current co-medicines carrying it (built on first use; the screen's index)
    index: dict[str, list[tuple[Medication, bool]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    #: the co-medicines are the patient's own list less the option (the usual case): the
    #: patient's tag index, built once per patient, answers
    own_list: bool = False

    def by_tag(self, tag: str) -> list[tuple[Medication, bool]]:
        """Current co-medicines with ``tag`` and whether that tag is verified for each."""
        if self.own_list:
            return [
                mv for mv in _PATIENT_INDEX(self.patient).get(tag, ()) if mv[0].name != self.drug
            ]
        if not self.index and self.comeds:
            for m in self.comeds:
                if not m.current:
                    continue
                for t, v in tags_view(m.record).items():
                    self.index.setdefault(t, []).append((m, v))
            self.index.setdefault("", [])
        return self.index.get(tag, [])


def _patient_index(p: Patient) -> dict[str, list[tuple[Medication, bool]]]:
    idx: dict[str, list[tuple[Medication, bool]]] = {}
    for m in p.medications:
        if m.current:
            for t, v in tags_view(m.record).items():
                idx.setdefault(t, []).append((m, v))
    return idx


_PATIENT_INDEX: ByObject[Patient, dict[str, list[tuple[Medication, bool]]]] = ByObject(
    _patient_index, size=256
)


def fmt_threshold(q: Quantity) -> str:
    """A threshold for a message (value, unit, [UNVERIFIED])."""
    u = "" if q.unit in ("1", "score") else f" {q.unit}"
    unv = "" if q.verified else " [UNVERIFIED]"
    return f"{q.point:g}{u}{unv}"


def window_h(q: Quantity) -> float:
    """A window threshold in hours (days when the unit is not a time)."""
    return q.canonical() if q.dimension == "time" else q.point * 24.0


def comeds_for(ctx: Ctx, r: Rule, tags: list[str]) -> list[tuple[Medication, bool]]:
    """Co-medications carrying any of ``tags`` (with verified flag), window-aware."""
    win = r.thresholds[r.when.comed_window] if r.when.comed_window else None
    if win is None:  # current co-medicines only: the tag index answers
        seen: dict[str, tuple[Medication, bool]] = {}
        for t in tags:
            for m, v in ctx.by_tag(t):
                old = seen.get(m.name)
                seen[m.name] = (m, v and (old[1] if old else True))
        order = {m.name: i for i, m in enumerate(ctx.comeds)}
        return sorted(seen.values(), key=lambda mv: order[mv[0].name])
    out = []
    for m in ctx.comeds:
        if not m.current:
            if win is None or m.stopped_days_ago is None:
                continue
            if m.stopped_days_ago * 24.0 >= window_h(win):
                continue
        mt = tags_view(m.record)
        hit = [t for t in tags if t in mt]
        if hit:
            out.append((m, all(mt[t] for t in hit)))
    return out


@cache
def cpic_drugs() -> tuple[str, ...]:
    """Drugs with CPIC TCA genotype guidance in the knowledge base."""
    t = cpic_table()
    return tuple(sorted({*t.cyp2d6.drugs, *t.cyp2c19.drugs, *t.combined.drugs}))
