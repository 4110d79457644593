"""Screening rules as cited data: schema and loader for ``knowledge/rules/*.toml``
(each file loaded through :func:`~neurodose.knowledge.registry.load_validated`).

A rule has a tier (``contraindicated`` / ``avoid`` / ``caution`` / ``monitor`` /
``info``, mapped to the CDS Hooks card indicator ``critical`` / ``warning`` /
``info``), a mechanism, management text, a source and locator, and a declarative
``when`` clause. Every threshold the clause uses is a cited
:class:`~neurodose.knowledge.schema.Quantity` in ``thresholds`` and is referred
to by name; a threshold the evidence does not support has ``verified = false``.

``kind`` selects the evaluator: ``match`` (the declarative matcher only),
``record_statement`` (contraindications/cautions from the drug record whose id is
one of the patient's conditions), ``pk_interaction`` (enzyme inhibition/induction
between the option and co-medication, quantified by the PK engine where it can),
``pgx`` (CPIC/DPWG by dose band, after phenoconversion) and ``serotonergic_count``
(count of serotonergic agents) and ``dose_limit`` (daily dose against the drug
record's cited maximum and lowest dose). Nothing is ``eval``'d.

Examples
--------
>>> rules = load_rules()
>>> r = rule("duloxetine_crcl_below_30")
>>> r.tier, r.indicator, r.thresholds["crcl"].value
('contraindicated', 'critical', 30.0)
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from neurodose.errors import KnowledgeBaseError, SafetyRuleError, UnknownNameError
from neurodose.findings import INDICATOR, TIERS
from neurodose.knowledge.conditions import condition_ids
from neurodose.knowledge.registry import DATA_DIR, load_validated
from neurodose.knowledge.schema import Quantity, Sourced

__all__ = [
    "INDICATOR",
    "TIERS",
    "Match",
    "Rule",
    "SourceRef",
    "load_rule_file",
    "load_rules",
    "rule",
    "rules_by_file",
]

Tier = Literal["contraindicated", "avoid", "caution", "monitor", "info"]

RULES_DIR = DATA_DIR / "rules"

LABS = ("crcl_ml_min", "egfr", "crcl", "qtc_ms", "alt_u_per_l", "child_pugh")


def _lab_names() -> tuple[str, ...]:
    from neurodose.knowledge.measurements import measurement_defs

    return (*LABS, *measurement_defs())


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceRef(Sourced):
    """An additional source for a rule."""


class LabMatch(_Frozen):
    """Compare a lab value with a named threshold (``crcl`` = CrCl, else eGFR)."""

    name: str
    op: Literal["<", "<=", ">", ">=", "in"]
    threshold: str | None = None
    values: list[str] = Field(default_factory=list)


class CountMatch(_Frozen):
    """At least ``min`` (a threshold name) agents among option + co-medication with a tag."""

    tags: list[str]
    min: str


class EitherMatch(_Frozen):
    """A co-medicine with one of ``tags`` or one of ``conditions`` (either is enough)."""

    tags: list[str] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list)


class Match(_Frozen):
    """The declarative condition of a rule; every given clause must hold."""

    drug_any: list[str] = Field(default_factory=list)
    drug_not: list[str] = Field(default_factory=list)
    comed_any: list[str] = Field(default_factory=list)
    comed_window: str | None = Field(
        None, description="threshold name (days): stopped co-medication counts inside it"
    )
    conditions_any: list[str] = Field(default_factory=list)
    conditions_none: list[str] = Field(default_factory=list)
    comed_or_conditions: EitherMatch | None = None
    age_min: str | None = None
    age_max: str | None = None
    lab: list[LabMatch] = Field(default_factory=list)
    count: CountMatch | None = None
    acb_min: str | None = None
    acb_comed: bool | None = Field(
        None, description="true: at least one current co-medication is anticholinergic (ACB >= 1)"
    )
    pregnant: bool | None = None
    drives: bool | None = Field(
        None, description="true: the patient drives or operates machinery (profile `drives`)"
    )
    breastfeeding: bool | None = None
    cyp2d6_in: list[str] = Field(default_factory=list)
    cyp2c19_in: list[str] = Field(default_factory=list)
    option_current: bool | None = Field(
        None, description="true: only when the patient already takes the option"
    )
    stopped_within: str | None = Field(
        None, description="threshold name (days): the drug itself was stopped less than this ago"
    )


class Rule(Sourced):
    """One screening rule (cited)."""

    id: str
    title: str
    kind: Literal[
        "match",
        "record_statement",
        "pk_interaction",
        "pk_level",
        "pgx",
        "dose_limit",
        "residual",
        "label",
    ] = "match"
    tier: Tier
    mechanism: str
    management: str
    message: str
    key: str | None = Field(None, description="findings with the same key and drug are merged")
    thresholds: dict[str, Quantity] = Field(default_factory=dict)
    tiers: dict[str, Tier] = Field(default_factory=dict, description="tier per sub-case")
    texts: dict[str, str] = Field(default_factory=dict, description="message per sub-case")
    statements: str | None = Field(None, description="record_statement: contraindications|cautions")
    when: Match = Field(default_factory=Match)
    also: list[SourceRef] = Field(default_factory=list)
    also_codes: list[str] = Field(
        default_factory=list,
        description="general rule ids this rule's findings also answer to (a label-named "
        "case of a general rule, e.g. gabapentin_renal is a renal_dose_limit)",
    )

    @property
    def indicator(self) -> str:
        return INDICATOR[self.tier]

    @property
    def all_verified(self) -> bool:
        """False if the rule or any threshold it uses is not verified."""
        return self.verified and all(t.verified for t in self.thresholds.values())

    @property
    def sources(self) -> tuple[str, ...]:
        keys = [self.source, *(a.source for a in self.also)]
        keys += [t.source for t in self.thresholds.values()]
        return tuple(dict.fromkeys(keys))

    @model_validator(mode="after")
    def _check(self) -> Rule:
        m = self.when
        names = [m.comed_window, m.age_min, m.age_max, m.acb_min, m.stopped_within]
        names += [lab.threshold for lab in m.lab]
        if m.count is not None:
            names.append(m.count.min)
        for n in names:
            if n is not None and n not in self.thresholds:
                raise ValueError(
                    f"rule {self.id!r} uses threshold {n!r} that is not in its thresholds "
                    f"({', '.join(sorted(self.thresholds)) or 'none'})"
                )
        for lab in m.lab:
            if lab.name not in _lab_names():
                raise ValueError(
                    f"rule {self.id!r}: unknown lab {lab.name!r}; allowed {_lab_names()}"
                )
            if lab.op == "in" and not lab.values:
                raise ValueError(f"rule {self.id!r}: lab op 'in' needs values")
            if lab.op != "in" and lab.threshold is None:
                raise ValueError(f"rule {self.id!r}: lab op {lab.op!r} needs a threshold")
        for t in (*self.tiers.values(),):
            if t not in TIERS:
                raise ValueError(f"unknown tier {t!r}")
        if self.kind == "record_statement" and self.statements not in (
            "contraindications",
            "cautions",
        ):
            raise ValueError("record_statement rules need statements = contraindications|cautions")
        return self


class RuleFile(_Frozen):
    schema_version: Literal[1] = 1
    title: str
    description: str
    rules: list[Rule]


@cache
def rules_by_file() -> dict[str, RuleFile]:
    """All rule files, validated (schema, thresholds, sources, condition ids)."""
    out: dict[str, RuleFile] = {}
    seen: set[str] = set()
    known_conditions = set(condition_ids())
    for path in sorted(RULES_DIR.glob("*.toml")):
        rf = load_rule_file(path)
        for r in rf.rules:
            if r.id in seen:
                raise SafetyRuleError(f"{path}: duplicate rule id {r.id!r}")
            seen.add(r.id)
            either = r.when.comed_or_conditions
            for c in (
                *r.when.conditions_any,
                *r.when.conditions_none,
                *(either.conditions if either else ()),
            ):
                if c not in known_conditions:
                    err = UnknownNameError("condition", c, known_conditions)
                    raise SafetyRuleError(f"{path}: rule {r.id!r}: {err}")
        out[path.stem] = rf
    return out


def load_rule_file(path: Path) -> RuleFile:
    """One rule file through :func:`~neurodose.knowledge.registry.load_validated`
    (TOML, schema, thresholds, source keys); any error is a :class:`SafetyRuleError`
    naming the file and the field."""
    try:
        return load_validated(path, RuleFile)
    except KnowledgeBaseError as exc:
        raise SafetyRuleError(str(exc)) from None


def load_rules() -> list[Rule]:
    """Every rule, in file order."""
    return [r for rf in rules_by_file().values() for r in rf.rules]


def rule(rule_id: str) -> Rule:
    """One rule by id; unknown ids raise with close matches."""
    by_id = {r.id: r for r in load_rules()}
    if rule_id not in by_id:
        raise UnknownNameError("rule", rule_id, by_id)
    return by_id[rule_id]
