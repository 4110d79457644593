"""What a screen checked and what it could not: silence is never read as safety.

For one drug and one patient, :func:`checks` gives one :class:`Check` per domain
(interactions, dose limits, pharmacogenetics, age, kidney, liver, pregnancy and
lactation): ``checked`` with the rule ids that were applied, or ``not checked``
with the reason, either because the knowledge base holds no rule for this drug in
that domain ("no pharmacogenetic data for this drug in the knowledge base") or
because the patient's profile lacks the input ("no CrCl/eGFR given").

Examples
--------
>>> from neurodose.case.patient import load_patient
>>> cs = {c.domain: c for c in checks(load_patient({"age": 50}), "gabapentin")}
>>> cs["pharmacogenetics"].status
'not checked'
>>> cs["kidney"].status, cs["kidney"].reason
('not checked', 'no CrCl or eGFR given')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from neurodose.case.patient import Patient
from neurodose.knowledge import drug_names, record, resolve_name
from neurodose.knowledge.schema import DrugRecord
from neurodose.safety.context import cpic_drugs, drug_tags
from neurodose.safety.rules import Rule, load_rules

__all__ = ["DOMAINS", "Check", "checks", "rule_domains"]

#: the domains every assessment reports on, in display order
DOMAINS: tuple[str, ...] = (
    "interactions",
    "dose limits",
    "pharmacogenetics",
    "age",
    "kidney",
    "liver",
    "pregnancy and lactation",
    "comorbidities",
)

_HEPATIC = {"hepatic_impairment", "severe_hepatic_impairment"}


@dataclass(frozen=True)
class Check:
    """One domain of one drug's screen: checked (rules) or not checked (reason)."""

    drug: str
    domain: str
    status: str  # "checked" | "not checked"
    rules: tuple[str, ...]
    reason: str

    def text(self) -> str:
        """One line for the text report."""
        if self.status == "checked":
            return f"{self.domain}: checked ({len(self.rules)} rules)"
        return f"{self.domain}: NOT CHECKED: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "domain": self.domain,
            "status": self.status,
            "rules": list(self.rules),
            "reason": self.reason,
        }


def rule_domains(r: Rule) -> set[str]:
    """The domains a rule belongs to (from its kind and its clause)."""
    w = r.when
    out: set[str] = set()
    if r.kind == "pk_interaction" or w.comed_any or w.count is not None or w.acb_comed:
        out.add("interactions")
    if r.kind == "pgx" or w.cyp2d6_in or w.cyp2c19_in:
        out.add("pharmacogenetics")
    if r.kind in ("pk_level", "dose_limit"):
        out.add("dose limits")
    if w.age_min or w.age_max:
        out.add("age")
    labs = {lab.name for lab in w.lab}
    if labs & {"crcl", "crcl_ml_min", "egfr"}:
        out |= {"kidney", "dose limits"}
    if "child_pugh" in labs or set(w.conditions_any) & _HEPATIC:
        out.add("liver")
    if w.pregnant is not None or w.breastfeeding is not None:
        out.add("pregnancy and lactation")
    if set(w.conditions_any) - _HEPATIC:
        out.add("comorbidities")
    return out


def _statement_domain(sid: str) -> str:
    if sid in _HEPATIC:
        return "liver"
    if sid == "renal_impairment":
        return "kidney"
    return "interactions" if sid in drug_names() or sid == "maoi" else "comorbidities"


def _applies(r: Rule, rec: DrugRecord, tags: dict[str, bool]) -> bool:
    """Whether rule ``r`` can speak about the drug of ``rec`` (its kind has the data it
    reads, and the drug's tags match the rule's ``drug_any``/``drug_not``)."""
    w = r.when
    kind_check = _KIND_APPLIES.get(r.kind)
    if kind_check is not None and not kind_check(r, rec):
        return False
    if w.drug_any and not any(t in tags for t in w.drug_any):
        return False
    return not any(t in tags for t in w.drug_not)


def _has_pathways(r: Rule, rec: DrugRecord) -> bool:
    ip = rec.interactions
    return bool(ip.substrate_of or ip.inhibits or ip.induces)


def _has_tdm(r: Rule, rec: DrugRecord) -> bool:
    return rec.tdm is not None


def _has_mg_dose(r: Rule, rec: DrugRecord) -> bool:
    return any(
        q is not None and q.unit == "mg"
        for g in rec.doses.values()
        for q in (g.start, g.usual_low, g.maximum, g.usual_high)
    )


def _has_pgx(r: Rule, rec: DrugRecord) -> bool:
    if r.id == "phenoconversion":
        genes = {s.enzyme.upper() for s in rec.interactions.substrate_of}
        return bool(genes & {"CYP2D6", "CYP2C19"})
    return rec.name in cpic_drugs()


def _has_statements(r: Rule, rec: DrugRecord) -> bool:
    return bool(getattr(rec, r.statements or "contraindications"))


#: per rule kind: whether a drug's record holds what a rule of that kind reads
_KIND_APPLIES: dict[str, Callable[[Rule, DrugRecord], bool]] = {
    "pk_interaction": _has_pathways,
    "pk_level": _has_tdm,
    "dose_limit": _has_mg_dose,
    "pgx": _has_pgx,
    "record_statement": _has_statements,
}


def _missing_input(domain: str, p: Patient, daily_mg: float | None) -> str | None:
    if domain == "dose limits" and daily_mg is None:
        return "no dose given"
    if domain == "pharmacogenetics" and not p.genotypes:
        return "no CYP2D6/CYP2C19 genotype given (normal metaboliser assumed)"
    if domain == "kidney" and p.renal_function is None:
        return "no CrCl or eGFR given"
    if domain == "liver" and p.labs.get("child_pugh") is None and not (p.conditions & _HEPATIC):
        return "no Child-Pugh class or hepatic impairment given (normal liver function assumed)"
    if domain == "age" and p.age is None:
        return "no age given"
    return None


def checks(patient: Patient, drug: str, daily_mg: float | None = None) -> tuple[Check, ...]:
    """One :class:`Check` per domain in :data:`DOMAINS` for ``drug`` and ``patient``.

    ``daily_mg`` is the dose the screen judged (the plan's target for an option, the
    current dose for a current medicine); without it the dose limits are not checked.
    """
    name = resolve_name(drug)
    rec = record(name)
    tags = drug_tags(rec)
    by_domain: dict[str, list[str]] = {d: [] for d in DOMAINS}
    for r in load_rules():
        if r.when.comed_any and set(r.when.comed_any) & set(tags):
            by_domain["interactions"].append(r.id)  # this drug as the co-medication
        if not _applies(r, rec, tags):
            continue
        doms = rule_domains(r)
        if r.kind == "record_statement":
            doms = {_statement_domain(st.id) for st in getattr(rec, r.statements or "")}
        for d in doms:
            if r.id not in by_domain[d]:
                by_domain[d].append(r.id)
    out = []
    for d in DOMAINS:
        rules = tuple(by_domain[d])
        if not rules:
            why = f"no {d} rule or data for {rec.display_name} in the knowledge base"
            out.append(Check(name, d, "not checked", (), why))
            continue
        missing = _missing_input(d, patient, daily_mg)
        if missing:
            out.append(Check(name, d, "not checked", rules, missing))
        else:
            out.append(Check(name, d, "checked", rules, ""))
    unknown = _formulary_unknowns(name)
    if unknown:  # the interaction screen is partial for this drug: say what is missing
        out = [
            Check(name, c.domain, "not checked", c.rules, unknown)
            if c.domain == "interactions"
            else c
            for c in out
        ]
    return tuple(out)


def _formulary_unknowns(name: str) -> str:
    """What the formulary entry leaves unknown (``unknown``): named, never read as absent."""
    from neurodose.knowledge.substances import substance

    sub = substance(name)
    if sub is None or not sub.unknown:
        return ""
    return f"{sub.display}: not established in its formulary entry: {', '.join(sub.unknown)}"
