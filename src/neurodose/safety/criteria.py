"""Rule matching as a table of small criteria.

Each field of a rule's ``when`` clause (:class:`neurodose.safety.rules.Match`) is
checked by exactly one criterion: a small function registered once, under the
field's name, with :func:`criterion`. :func:`match` runs the criteria of the
fields a rule sets, in registration order, and stops at the first that fails. A
criterion returns ``False`` to reject the rule; it may add template values,
involved drugs and verification state to the :class:`Acc` it is given.

Adding a clause to the rule schema means adding one field to ``Match`` and one
criterion here; the test suite checks that every field has exactly one criterion
(fields that only modify another criterion are listed in :data:`MODIFIERS`).

Examples
--------
>>> sorted(CRITERIA)[:3]
['acb_comed', 'acb_min', 'age_max']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from neurodose.case.patient import Patient
from neurodose.errors import SafetyRuleError
from neurodose.knowledge import record
from neurodose.safety.context import (
    Ctx,
    acb_score,
    comeds_for,
    fmt_threshold,
    total_acb,
    window_h,
)
from neurodose.safety.rules import Match, Rule

__all__ = ["CRITERIA", "MODIFIERS", "Acc", "Criterion", "criterion", "match"]


@dataclass
class Acc:
    """What the criteria of one rule collect while they match."""

    vals: dict[str, Any]
    verified: bool
    involved: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)

    def result(self) -> dict[str, Any]:
        """Template values plus the private ``_conditions``/``_verified``/``_involved``."""
        return {
            **self.vals,
            "_conditions": self.conditions,
            "_verified": self.verified,
            "_involved": self.involved,
        }


#: a criterion: (context, rule, the clause field's value, accumulator) -> holds?
Criterion = Callable[[Ctx, Rule, Any, Acc], bool]

#: clause field name -> its criterion, in evaluation order
CRITERIA: dict[str, Criterion] = {}

#: clause fields that only modify another criterion (no criterion of their own)
MODIFIERS: dict[str, str] = {"comed_window": "comed_any"}


def criterion(name: str) -> Callable[[Criterion], Criterion]:
    """Register ``fn`` as the criterion of clause field ``name`` (once only)."""

    def deco(fn: Criterion) -> Criterion:
        if name in CRITERIA:
            raise SafetyRuleError(f"criterion {name!r} registered twice")
        if name not in Match.model_fields:
            raise SafetyRuleError(f"criterion {name!r} is not a field of the rule clause")
        CRITERIA[name] = fn
        return fn

    return deco


def _is_set(value: Any) -> bool:
    return value is not None and value != []


#: criteria that scan the co-medication list run last: a cheap patient fact decides first
_COST = {
    "comed_any": 2,
    "comed_or_conditions": 2,
    "count": 3,
    "acb_comed": 3,
    "acb_min": 3,
    "stopped_within": 2,
}

#: the criteria each rule sets, cheap ones first (rules are immutable: computed once)
_PLAN: dict[int, tuple[Rule, tuple[tuple[Criterion, Any], ...]]] = {}


def _plan(r: Rule) -> tuple[tuple[Criterion, Any], ...]:
    hit = _PLAN.get(id(r))
    if hit is not None and hit[0] is r:
        return hit[1]
    names = [name for name in CRITERIA if _is_set(getattr(r.when, name))]
    names.sort(key=lambda n: _COST.get(n, 1))  # patient facts before co-medication scans
    steps = tuple((CRITERIA[name], getattr(r.when, name)) for name in names)
    _PLAN[id(r)] = (r, steps)
    return steps


def match(ctx: Ctx, r: Rule) -> dict[str, Any] | None:
    """Run the criteria of the fields ``r.when`` sets; template values or None."""
    drug_any = r.when.drug_any
    if drug_any and not any(t in ctx.tags for t in drug_any):
        return None  # the common case, decided before anything is built
    acc = Acc(vals={"age": ctx.patient.age}, verified=r.all_verified)
    for crit, value in _plan(r):
        if not crit(ctx, r, value, acc):
            return None
    return acc.result()


# ------------------------------------------------------------------- the option


@criterion("drug_any")
def _drug_any(ctx: Ctx, r: Rule, tags: list[str], acc: Acc) -> bool:
    hit = [t for t in tags if t in ctx.tags]
    acc.verified = acc.verified and any(ctx.tags[t] for t in hit)
    return bool(hit)


@criterion("drug_not")
def _drug_not(ctx: Ctx, r: Rule, tags: list[str], acc: Acc) -> bool:
    return not any(t in ctx.tags for t in tags)


@criterion("option_current")
def _option_current(ctx: Ctx, r: Rule, want: bool, acc: Acc) -> bool:
    return bool(want == ctx.option_current)


# --------------------------------------------------------------- co-medication


@criterion("comed_any")
def _comed_any(ctx: Ctx, r: Rule, tags: list[str], acc: Acc) -> bool:
    hits = comeds_for(ctx, r, tags)
    if not hits:
        return False
    acc.verified = acc.verified and all(v for _, v in hits)
    acc.involved += [h.name for h, _ in hits]
    acc.vals["comeds"] = ", ".join(h.record.display_name for h, _ in hits)
    if r.when.comed_window:
        acc.vals["threshold"] = fmt_threshold(r.thresholds[r.when.comed_window])
    return True


@criterion("comed_or_conditions")
def _comed_or_conditions(ctx: Ctx, r: Rule, either: Any, acc: Acc) -> bool:
    """Either a co-medicine with one of ``either.tags`` or one of ``either.conditions``
    (a risk that arrives through a drug or through the patient; both are named)."""
    hits = comeds_for(ctx, r, either.tags)
    conds = [c for c in either.conditions if c in ctx.patient.conditions]
    if not hits and not conds:
        return False
    acc.verified = acc.verified and all(v for _, v in hits)
    acc.involved += [h.name for h, _ in hits]
    acc.conditions += conds
    from neurodose.knowledge.conditions import condition

    parts = [h.record.display_name for h, _ in hits]
    acc.vals["comeds"] = ", ".join(parts) if parts else "no co-medicine"
    labels = [condition(c).label.lower() for c in conds]
    acc.vals["either"] = ", ".join([*parts, *labels])  # what made the clause hold
    return True


# ------------------------------------------------------------------ conditions


@criterion("conditions_any")
def _conditions_any(ctx: Ctx, r: Rule, ids: list[str], acc: Acc) -> bool:
    acc.conditions = [c for c in ids if c in ctx.patient.conditions]
    return bool(acc.conditions)


@criterion("conditions_none")
def _conditions_none(ctx: Ctx, r: Rule, ids: list[str], acc: Acc) -> bool:
    return not any(c in ctx.patient.conditions for c in ids)


# ------------------------------------------------------------------------- age


@criterion("age_min")
def _age_min(ctx: Ctx, r: Rule, name: str, acc: Acc) -> bool:
    age = ctx.patient.age  # unknown age: an age criterion cannot hold
    return age is not None and age >= r.thresholds[name].point


@criterion("age_max")
def _age_max(ctx: Ctx, r: Rule, name: str, acc: Acc) -> bool:
    age = ctx.patient.age
    return age is not None and age < r.thresholds[name].point


# ------------------------------------------------------------------------ labs


def _lab_value(p: Patient, name: str) -> Any:
    if name == "crcl":
        return p.renal_function
    return p.labs.get(name)


_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": lambda v, t: v < t,
    "<=": lambda v, t: v <= t,
    ">": lambda v, t: v > t,
    ">=": lambda v, t: v >= t,
}


@criterion("lab")
def _lab(ctx: Ctx, r: Rule, labs: list[Any], acc: Acc) -> bool:
    for lab in labs:
        v = _lab_value(ctx.patient, lab.name)
        if lab.op == "in":
            if ("missing" if v is None else str(v)) not in lab.values:
                return False
            continue
        if v is None:
            return False
        q = r.thresholds[lab.threshold or ""]
        if not _OPS[lab.op](v, q.point):
            return False
        acc.vals["value"] = v
        if lab.op in ("<", ">"):
            acc.vals["threshold"] = fmt_threshold(q)
    return True


# ------------------------------------------------------- pregnancy, lactation


@criterion("pregnant")
def _pregnant(ctx: Ctx, r: Rule, want: bool, acc: Acc) -> bool:
    return bool(want == ctx.patient.pregnant)


@criterion("drives")
def _drives(ctx: Ctx, r: Rule, want: bool, acc: Acc) -> bool:
    return bool(want == ctx.patient.drives)


@criterion("breastfeeding")
def _breastfeeding(ctx: Ctx, r: Rule, want: bool, acc: Acc) -> bool:
    return bool(want == ctx.patient.breastfeeding)


# ---------------------------------------------------------- anticholinergic load


@criterion("acb_min")
def _acb_min(ctx: Ctx, r: Rule, name: str, acc: Acc) -> bool:
    p = ctx.patient
    total = total_acb(p, ctx.drug)
    q = r.thresholds[name]
    if total < q.point:
        return False
    acc.vals["acb"] = f"{total:g}"
    acc.vals["threshold"] = fmt_threshold(q)
    acc.involved += [n for n in p.current_names() if acb_score(record(n)) >= 1 and n != ctx.drug]
    return True


@criterion("acb_comed")
def _acb_comed(ctx: Ctx, r: Rule, want: bool, acc: Acc) -> bool:
    names = [n for n in ctx.patient.current_names() if n != ctx.drug]
    return any(acb_score(record(n)) >= 1 for n in names) == want


# ------------------------------------------------------------ counting agents


@criterion("count")
def _count(ctx: Ctx, r: Rule, count: Any, acc: Acc) -> bool:
    agents: list[str] = []
    if any(t in ctx.tags for t in count.tags):
        agents.append(ctx.drug)
    verified = acc.verified
    seen: dict[str, bool] = {}
    for t in count.tags:  # the screen's tag index: current co-medicines only
        for med, v in ctx.by_tag(t):
            if med.name != ctx.drug:
                seen[med.name] = seen.get(med.name, True) and v
    order = [m.name for m in ctx.comeds if m.name in seen]
    for name in order:
        agents.append(name)
        verified = verified and seen[name]
    if len(agents) < r.thresholds[count.min].point:
        return False
    acc.verified = verified
    acc.vals["count"] = len(agents)
    acc.vals["agents"] = ", ".join(record(a).display_name for a in agents)
    acc.involved += [a for a in agents if a != ctx.drug]
    return True


@criterion("stopped_within")
def _stopped_within(ctx: Ctx, r: Rule, name: str, acc: Acc) -> bool:
    days = ctx.option_stopped_days
    if days is None or days * 24.0 >= window_h(r.thresholds[name]):
        return False
    acc.vals["stopped"] = f"{days:g}"
    acc.vals["threshold"] = fmt_threshold(r.thresholds[name])
    w = ctx.rec.withdrawal
    acc.vals["risk"] = w.risk if w is not None else "unknown"
    return True


# ------------------------------------------------------------ pharmacogenetics


def _phenotype_in(gene: str) -> Criterion:
    def check(ctx: Ctx, r: Rule, allowed: list[str], acc: Acc) -> bool:
        st = ctx.phen.get(gene)
        if st is None or st.effective not in allowed:
            return False
        acc.vals[gene.lower()] = st.effective + (
            f" (phenoconverted by {st.perpetrator})" if st.perpetrator else ""
        )
        if st.perpetrator:
            acc.involved.append(st.perpetrator)
        return True

    check.__doc__ = f"Effective {gene} phenotype (after phenoconversion) is one of the listed."
    return check


criterion("cyp2d6_in")(_phenotype_in("CYP2D6"))
criterion("cyp2c19_in")(_phenotype_in("CYP2C19"))
